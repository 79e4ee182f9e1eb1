#pragma once

#include "harness/node/node_runner.hpp"
#include "harness/node/plan.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace CLI {
class App;
} // namespace CLI

namespace sesam::harness {

/// The options that read a node configuration (`plan`, `run`, `check --pipe`): CONFIG, the
/// variable and secret sources, the whitelist and the pipe selection.
struct NodeArgs {
    std::string config;
    std::string profile = "test";
    std::vector<std::string> variable_files;
    std::vector<std::string> vars; ///< NAME=VALUE
    std::vector<std::string> secrets_files;
    std::vector<std::string> secrets; ///< NAME=VALUE
    bool allow_undefined = false;
    std::string whitelist_file;
    std::vector<std::string> pipes;
    bool skip_unsupported = false;

    /// Loads CONFIG and makes the plan. Throws node::ConfigError (exit 2) listing every problem,
    /// UsageError for a bad flag value.
    node::Plan plan(bool profile_given) const;
};

/// Adds CONFIG (positional), --secret and --skip-unsupported (unless `for_check`: check has its
/// own positional and --secret), and --profile, --variables, --var, --secrets-file,
/// --allow-undefined and --whitelist-file; --pipe when `with_pipe_selection`.
void add_node_options(CLI::App& cmd,
                      NodeArgs& args,
                      bool with_pipe_selection,
                      bool for_check = false);

/// Fills `options.system_exec` and `options.system_url` from `ID=COMMAND` and `ID=URL` values;
/// throws UsageError naming the flag for a bad value or an id that is no system of `plan`.
void add_system_overrides(const node::Plan& plan,
                          const std::vector<std::string>& system_exec,
                          const std::vector<std::string>& system_url,
                          node::RunOptions& options);

/// The options of `run` that `test` takes too.
struct RunArgs {
    node::RunOptions run;
    std::vector<std::string> system_exec; ///< ID=COMMAND
    std::vector<std::string> system_url;  ///< ID=URL
    double ready_timeout = 30;
    std::string record;
    std::optional<std::uint64_t> seed; ///< --seed: applied by options()
    std::optional<long> memory_limit;  ///< --memory-limit MiB

    /// The run options for `plan`: overrides checked against its systems (UsageError).
    node::RunOptions options(const node::Plan& plan) const;
};

/// Adds --state, --max-rounds, --system-exec, --system-url, --record, --ready-timeout,
/// --memory-limit and --seed.
void add_run_options(CLI::App& cmd, RunArgs& args);

/// Adds --seed (emulator::seed_run) to `cmd`; `push`, `check`, `run`, `test` and `load` take it.
void add_seed_option(CLI::App& cmd, std::optional<std::uint64_t>& seed);

/// Runs `plan` as `run` does, its summary lines on stderr. Returns nullopt when every pipe ran,
/// else the exit code after printing why: 3 a system or service failed (with its log tail), 130
/// interrupted. Throws UsageError for a store that cannot be used.
std::optional<int> run_node(const node::Plan& plan,
                            const node::RunOptions& options,
                            const Redactor& redactor,
                            const char* command);

/// Splits `NAME=VALUE` (the first `=`); throws UsageError naming `flag` when there is none or
/// the name is empty.
std::pair<std::string, std::string> split_assignment(const std::string& text, const char* flag);

} // namespace sesam::harness
