// `sesam-emu plan CONFIG`: what a run of a node configuration would do, starting nothing.
#include "harness/cli/command.hpp"
#include "harness/cli/exit_codes.hpp"
#include "harness/cli/node_options.hpp"

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <memory>

namespace sesam::harness {

Command add_plan_command(CLI::App& app)
{
    auto args = std::make_shared<NodeArgs>();
    auto* cmd = app.add_subcommand(
        "plan",
        "Print what `run` would do with a Sesam node configuration, without starting anything:\n"
        "every system (image or URL, port, memory, environment with secrets masked) and every\n"
        "pipe in run order (source -> transforms -> sink, what stands in, what is left out).");
    add_node_options(*cmd, *args, true);
    cmd->footer("Exit codes: 0 the plan was printed, 2 the configuration has problems (each named "
                "with its file and JSON path).");
    return {cmd, [args, cmd] {
                const auto plan = args->plan(cmd->count("--profile") > 0);
                fmt::print("{}", node::format_plan(plan));
                return static_cast<int>(exit_ok);
            }};
}

} // namespace sesam::harness
