#pragma once

#include "harness/fixture/redactor.hpp"
#include "harness/node/plan.hpp"

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>

namespace sesam::harness {
class ServiceUnderTest;
}

namespace sesam::harness::node {

/// How `run` runs a plan.
struct RunOptions {
    std::string state = ".sesam-emu/state.db"; ///< offsets, datasets and push sequences
    bool reset = false;                        ///< forget offsets and datasets first
    /// sesam-py's run-all-pipes cap (docs/protocol.md#config-test-run)
    int max_rounds = 100;
    std::map<std::string, std::string> system_exec; ///< id → command (PORT set to a free port)
    std::map<std::string, std::string> system_url;  ///< id → URL of a running service
    std::chrono::milliseconds ready_timeout{std::chrono::seconds(30)};
    std::filesystem::path log_dir = ".sesam-emu/logs"; ///< `<system>.log`, secrets masked
    std::optional<std::string> record; ///< a fixture of every exchange (fixtures/README.md)
    /// `--memory-limit`: the peak memory every started system is held to, in MiB, instead of its
    /// docker.memory; 0 turns the check off.
    std::optional<long> memory_limit_mb;
    /// Pipes whose entities are also kept at these stages (`source`, `before-transforms`,
    /// `after-transforms`), each in the dataset stage_dataset() names; for `test` specs with a
    /// `stage` (docs/protocol.md#config-test-spec). Held in memory during the pipe's run.
    std::map<std::string, std::set<std::string>> keep_stages;
};

/// The dataset that holds `pipe`'s entities at `stage`: its output dataset for `sink`, else
/// `PIPE@STAGE` (`@` is in no Sesam id, so no pipe writes it).
std::string stage_dataset(const PipePlan& pipe, const std::string& stage);

/// A system started for a run or a check, and where its log goes.
struct StartedSystem {
    std::unique_ptr<std::ofstream> log; ///< each line of its output, secrets masked
    std::filesystem::path log_path;
    std::unique_ptr<ServiceUnderTest> service; ///< none with --system-url
    std::string root;                          ///< `http://127.0.0.1:PORT/` for a microservice
    std::string how;                           ///< `command …`, `image …`, `--system-url`

    StartedSystem();
    StartedSystem(StartedSystem&&) noexcept;
    StartedSystem& operator=(StartedSystem&&) noexcept;
    ~StartedSystem();
};

/// A system or a service failed: the message names the pipe, the system and the request, and
/// ends with the tail of the system's log (exit 3).
class SystemFailure : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// A run cut short by SIGINT/SIGTERM (exit 130); systems are removed first.
class RunInterrupted : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// Starts a microservice system as a node would (docs/protocol.md#config-microservice-system): from
/// `docker.image` through the docker CLI, its port published on 127.0.0.1 at a free port, with its
/// environment, memory (`--memory`), cpu_quota (`--cpus`) and hosts (`--add-host`); or from
/// `options.system_exec` with PORT set; or not at all with `options.system_url`. Waits until it
/// accepts a TCP connection. Throws SystemFailure (with its output) or RunInterrupted.
StartedSystem start_system(const SystemPlan& system,
                           const RunOptions& options,
                           const Redactor& redactor,
                           const std::atomic<bool>* interrupted);

/// The `Authorization` value of `authentication: basic`
/// (docs/protocol.md#config-microservice-system): `Basic ` and the base64 of `username:password`.
std::string basic_authorization(const std::string& username, const std::string& password);

/// Runs the pipes of a plan that run, in the order of the dataset graph, round after round until
/// two rounds in a row change nothing (docs/protocol.md#config-test-run, #config-conclusions), with
/// the systems they use started first and removed on every way out. `print` gets one summary line
/// per pipe run and a total, with every secret masked. Throws ConfigError (a plan that does not
/// settle, a bad stage option), SystemFailure, RunInterrupted.
void run_plan(const Plan& plan,
              const RunOptions& options,
              const Redactor& redactor,
              const std::function<void(const std::string&)>& print);

/// The entity `json` (one object) with namespaces added (docs/protocol.md#config-namespaces): `_id`
/// gets `identity:`, every property not starting with `_` or `$` gets `property:`.
std::string
add_namespaces(std::string_view json, const std::string& identity, const std::string& property);
/// The entity with namespaces removed: `ns:key` → `key`, an `_id` `ns:x` → `x`, and namespaced
/// identifiers `~:ns:x` → `~:x` in property values (also in lists), as endpoint and json sinks
/// send them.
std::string remove_namespaces(std::string_view json);

} // namespace sesam::harness::node
