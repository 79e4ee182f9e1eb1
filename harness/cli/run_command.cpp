// `sesam-emu run CONFIG`: runs a node configuration's pipes locally, with its systems started.
#include "emulator/store/state_store.hpp"
#include "harness/cli/command.hpp"
#include "harness/cli/exit_codes.hpp"
#include "harness/cli/node_options.hpp"
#include "harness/node/node_runner.hpp"

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <memory>

namespace sesam::harness {

namespace {

struct RunArgs {
    NodeArgs node;
    node::RunOptions run;
    std::vector<std::string> system_exec;
    std::vector<std::string> system_url;
    double ready_timeout = 30;
    std::string record;
};

} // namespace

Command add_run_command(CLI::App& app)
{
    auto args = std::make_shared<RunArgs>();
    auto* cmd = app.add_subcommand(
        "run",
        "Run the pipes of a Sesam node configuration locally, as a node would: the systems they\n"
        "use started (from docker.image, --system-exec or --system-url), the pipes in the order\n"
        "of the dataset graph, round after round until two rounds change nothing. Offsets,\n"
        "datasets and push sequences are kept in --state, so a second run is incremental.");
    add_node_options(*cmd, args->node, true);
    cmd->add_option("--state", args->run.state, "The store file: offsets, datasets, sequences")
        ->default_str(args->run.state);
    cmd->add_flag("--reset",
                  args->run.reset,
                  "Forget the offsets, datasets and push sequences of the pipes first");
    cmd->add_option("--max-rounds",
                    args->run.max_rounds,
                    "Stop with an error when the pipes still change after this many rounds")
        ->default_str("100")
        ->check(CLI::Range(1, 100000));
    cmd->add_option("--system-exec",
                    args->system_exec,
                    "ID=COMMAND: start system ID from a shell command instead of its image, with "
                    "its environment plus PORT, a free loopback port it must listen on")
        ->allow_extra_args(false);
    cmd->add_option("--system-url",
                    args->system_url,
                    "ID=URL: system ID is a service already running at URL")
        ->allow_extra_args(false);
    cmd->add_option("--record",
                    args->record,
                    "Record every exchange with the systems into this fixture (JSON lines, "
                    "secrets masked), as the other commands' --record does");
    cmd->add_option("--ready-timeout",
                    args->ready_timeout,
                    "Seconds a started system has to accept a TCP connection")
        ->default_str("30")
        ->check(CLI::Range(0.1, 3600.0));
    cmd->footer("Exit codes: 0 done, 2 configuration error, 3 a system or service failed (its "
                "log tail is printed), 130 interrupted (systems removed).");
    return {cmd, [args, cmd] {
                auto plan = args->node.plan(cmd->count("--profile") > 0);
                add_system_overrides(plan, args->system_exec, args->system_url, args->run);
                if (!args->record.empty())
                    args->run.record = args->record;
                args->run.ready_timeout =
                    std::chrono::milliseconds(static_cast<long long>(args->ready_timeout * 1000));
                Redactor redactor;
                for (const auto& secret : plan.secret_values)
                    redactor.add_secret(secret);
                for (const auto& line : plan.notes)
                    fmt::print(stderr, "run: {}\n", redactor.redact(line));
                try {
                    node::run_plan(plan, args->run, redactor, [](const std::string& line) {
                        fmt::print(stderr, "{}\n", line);
                    });
                } catch (const node::SystemFailure& e) {
                    fmt::print(stderr, "sesam-emu run: error: {}\n", e.what());
                    return static_cast<int>(exit_service_failed);
                } catch (const node::RunInterrupted& e) {
                    fmt::print(stderr, "sesam-emu: interrupted: {}\n", e.what());
                    return static_cast<int>(exit_interrupted);
                } catch (const emulator::StoreError& e) {
                    throw UsageError(std::string(e.what()) + " (--state)");
                }
                return static_cast<int>(exit_ok);
            }};
}

} // namespace sesam::harness
