// `sesam-emu run CONFIG`: runs a node configuration's pipes locally, with its systems started.
#include "harness/cli/command.hpp"
#include "harness/cli/exit_codes.hpp"
#include "harness/cli/node_options.hpp"
#include "harness/node/node_runner.hpp"

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <memory>

namespace sesam::harness {

namespace {

struct RunCommandArgs {
    NodeArgs node;
    RunArgs run;
};

} // namespace

Command add_run_command(CLI::App& app)
{
    auto args = std::make_shared<RunCommandArgs>();
    auto* cmd = app.add_subcommand(
        "run",
        "Run the pipes of a Sesam node configuration locally, as a node would: the systems they\n"
        "use started (from docker.image, --system-exec or --system-url), the pipes in the order\n"
        "of the dataset graph, round after round until two rounds change nothing. Offsets,\n"
        "datasets and push sequences are kept in --state, so a second run is incremental.");
    add_node_options(*cmd, args->node, true);
    add_run_options(*cmd, args->run);
    cmd->add_flag("--reset",
                  args->run.run.reset,
                  "Forget the offsets, datasets and push sequences of the pipes first");
    cmd->footer("Exit codes: 0 done, 2 configuration error, 3 a system or service failed (its "
                "log tail is printed), 130 interrupted (systems removed).");
    return {cmd, [args, cmd] {
                auto plan = args->node.plan(cmd->count("--profile") > 0);
                const auto options = args->run.options(plan);
                Redactor redactor;
                for (const auto& secret : plan.secret_values)
                    redactor.add_secret(secret);
                if (const auto failed = run_node(plan, options, redactor, "run"))
                    return *failed;
                return static_cast<int>(exit_ok);
            }};
}

} // namespace sesam::harness
