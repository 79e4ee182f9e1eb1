#include "harness/cli/node_options.hpp"

#include "emulator/entity/run_seed.hpp"
#include "emulator/store/state_store.hpp"
#include "harness/cli/command.hpp"
#include "harness/cli/exit_codes.hpp"

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <tuple>

namespace sesam::harness {

std::pair<std::string, std::string> split_assignment(const std::string& text, const char* flag)
{
    const auto eq = text.find('=');
    if (eq == std::string::npos || eq == 0)
        throw UsageError(std::string(flag) + ": '" + text.substr(0, eq) + "' is not NAME=VALUE");
    return {text.substr(0, eq), text.substr(eq + 1)};
}

void add_system_overrides(const node::Plan& plan,
                          const std::vector<std::string>& system_exec,
                          const std::vector<std::string>& system_url,
                          node::RunOptions& options)
{
    for (const auto& [flag, values, target] :
         {std::tuple{"--system-exec", &system_exec, &options.system_exec},
          std::tuple{"--system-url", &system_url, &options.system_url}}) {
        for (const auto& value : *values) {
            auto [id, what] = split_assignment(value, flag);
            if (!plan.system(id))
                throw UsageError(std::string(flag) + " " + id + ": no such system");
            (*target)[id] = what;
        }
    }
}

node::Plan NodeArgs::plan(bool profile_given) const
{
    node::VariableSources sources;
    sources.profile = profile;
    for (const auto& f : variable_files)
        sources.variable_files.emplace_back(f);
    for (const auto& v : vars)
        sources.vars.push_back(split_assignment(v, "--var"));
    for (const auto& f : secrets_files)
        sources.secrets_files.emplace_back(f);
    for (const auto& s : secrets)
        sources.secrets.push_back(split_assignment(s, "--secret"));
    sources.allow_undefined = allow_undefined;

    std::optional<std::filesystem::path> whitelist;
    if (!whitelist_file.empty())
        whitelist = whitelist_file;
    const auto config_read = node::load_config(config, whitelist);
    const auto variables = node::load_variables(config_read.root, sources, profile_given);
    node::PlanOptions options;
    options.pipes = pipes;
    options.skip_unsupported = skip_unsupported;
    return node::make_plan(config_read, variables, options);
}

void add_node_options(CLI::App& cmd, NodeArgs& args, bool with_pipe_selection, bool for_check)
{
    if (!for_check)
        cmd.add_option("CONFIG",
                       args.config,
                       "The node configuration: a folder in sesam-py's layout (pipes/, systems/, "
                       "node-metadata.conf.json, <profile>-env.json, expected/, testdata/) or one "
                       "JSON file holding an array of pipes and systems")
            ->required();
    cmd.add_option("--profile",
                   args.profile,
                   "Read the variables of <profile>-env.json in CONFIG, as sesam-py does" +
                       std::string(for_check ? " (with --pipe)" : ""))
        ->default_str("test");
    cmd.add_option("--variables",
                   args.variable_files,
                   "A JSON object of variables ($ENV); repeatable, later files win over earlier "
                   "ones and over the profile's file")
        ->allow_extra_args(false);
    cmd.add_option("--var", args.vars, "NAME=VALUE: a variable (a string), winning over files")
        ->allow_extra_args(false);
    cmd.add_option("--secrets-file",
                   args.secrets_files,
                   "A JSON object of secrets ($SECRET), optionally with {\"systems\": {\"<id>\": "
                   "{...}}} of system-local secrets that win for that system; repeatable")
        ->allow_extra_args(false);
    if (!for_check)
        cmd.add_option("--secret",
                       args.secrets,
                       "NAME=VALUE: a secret; its value never appears in any output, log, report, "
                       "fixture or state file")
            ->allow_extra_args(false);
    cmd.add_flag("--allow-undefined",
                 args.allow_undefined,
                 "Leave an undefined $ENV/$SECRET reference as written instead of refusing the "
                 "configuration");
    cmd.add_option("--whitelist-file",
                   args.whitelist_file,
                   "Read only the files it lists (sesam-py's format: one relative path a line)");
    if (!for_check)
        cmd.add_flag("--skip-unsupported",
                     args.skip_unsupported,
                     "Leave out pipes with a stage sesam-emu does not run (dtl, sql, …) and no "
                     "expected/ or testdata/ file to stand in for its output");
    if (with_pipe_selection)
        cmd.add_option("--pipe", args.pipes, "Run only this pipe; repeatable (default: all)")
            ->allow_extra_args(false);
}

node::RunOptions RunArgs::options(const node::Plan& plan) const
{
    auto options = run;
    add_system_overrides(plan, system_exec, system_url, options);
    if (seed)
        emulator::seed_run(*seed);
    options.memory_limit_mb = memory_limit;
    if (!record.empty())
        options.record = record;
    options.ready_timeout = std::chrono::milliseconds(static_cast<long long>(ready_timeout * 1000));
    return options;
}

void add_run_options(CLI::App& cmd, RunArgs& args)
{
    cmd.add_option("--state", args.run.state, "The store file: offsets, datasets, sequences")
        ->default_str(args.run.state);
    cmd.add_option("--max-rounds",
                   args.run.max_rounds,
                   "Stop with an error when the pipes still change after this many rounds")
        ->default_str("100")
        ->check(CLI::Range(1, 100000));
    cmd.add_option("--system-exec",
                   args.system_exec,
                   "ID=COMMAND: start system ID from a shell command instead of its image, with "
                   "its environment plus PORT, a free loopback port it must listen on")
        ->allow_extra_args(false);
    cmd.add_option(
           "--system-url", args.system_url, "ID=URL: system ID is a service already running at URL")
        ->allow_extra_args(false);
    cmd.add_option("--record",
                   args.record,
                   "Record every exchange with the systems into this fixture (JSON lines, "
                   "secrets masked), as the other commands' --record does");
    cmd.add_option("--ready-timeout",
                   args.ready_timeout,
                   "Seconds a started system has to accept a TCP connection")
        ->default_str("30")
        ->check(CLI::Range(0.1, 3600.0));
    cmd.add_option("--memory-limit",
                   args.memory_limit,
                   "MiB: hold every started system's peak memory to this instead of its "
                   "docker.memory (default 128, as Sesam enforces); 0 turns the check off")
        ->check(CLI::Range(0L, 1'000'000L));
    add_seed_option(cmd, args.seed);
}

void add_seed_option(CLI::App& cmd, std::optional<std::uint64_t>& seed)
{
    cmd.add_option("--seed",
                   seed,
                   "Make what the run invents reproducible: sequence ids, generated entities and "
                   "the datasets' _ts clock (from 2026-01-01, 1 ms per write), so two recordings "
                   "differ only in their timings");
}

std::optional<int> run_node(const node::Plan& plan,
                            const node::RunOptions& options,
                            const Redactor& redactor,
                            const char* command)
{
    for (const auto& line : plan.notes)
        fmt::print(stderr, "{}: {}\n", command, redactor.redact(line));
    try {
        node::run_plan(plan, options, redactor, [](const std::string& line) {
            fmt::print(stderr, "{}\n", line);
        });
    } catch (const node::SystemFailure& e) {
        fmt::print(stderr, "sesam-emu {}: error: {}\n", command, e.what());
        return static_cast<int>(exit_service_failed);
    } catch (const node::RunInterrupted& e) {
        fmt::print(stderr, "sesam-emu: interrupted: {}\n", e.what());
        return static_cast<int>(exit_interrupted);
    } catch (const emulator::StoreError& e) {
        throw UsageError(std::string(e.what()) + " (--state)");
    }
    return std::nullopt;
}

} // namespace sesam::harness
