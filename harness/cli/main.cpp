// sesam-emu: main only maps argv to a subcommand and exceptions to exit codes.
#include "harness/cli/command.hpp"
#include "harness/cli/exit_codes.hpp"
#include "harness/fixture/fixture_writer.hpp"
#include "harness/node/config.hpp"
#include "harness/report/report_file.hpp"

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <csignal>
#include <exception>
#include <string_view>
#include <vector>

int main(int argc, char** argv)
{
    using namespace sesam::harness;
    // A closed pipe (`sesam-emu pull … | head`) becomes a write error (EPIPE) that is reported
    // and stops the run before an offset moves, instead of killing the process.
    std::signal(SIGPIPE, SIG_IGN);
    set_recorded_command_line(argc, argv); // the header line of a --record fixture
    CLI::App app{
        "sesam-emu plays the Sesam side of Sesam's HTTP protocols (json source, json sink,\n"
        "http transform) against a microservice, locally and in CI."};
    app.name("sesam-emu");
    app.set_version_flag("--version", SESAM_EMU_VERSION);
    app.require_subcommand(1, 1);
    app.footer("Exit codes: 0 success, 1 conformance failures, 2 usage or configuration error,\n"
               "3 the service failed, 4 internal error, 5 nothing selected, 130 interrupted.");

    std::vector<Command> commands{add_check_command(app),
                                  add_pull_command(app),
                                  add_push_command(app),
                                  add_transform_command(app),
                                  add_serve_command(app),
                                  add_replay_command(app),
                                  add_plan_command(app),
                                  add_run_command(app),
                                  add_dataset_command(app),
                                  add_test_command(app),
                                  add_load_command(app),
                                  add_report_command(app)};

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        if (e.get_exit_code() == 0)
            return app.exit(e); // --help, --version
        fmt::print(stderr, "sesam-emu: error: {}\nRun 'sesam-emu --help' for usage.\n", e.what());
        return exit_usage;
    }
    try {
        for (auto& command : commands)
            if (command.app->parsed())
                return command.run();
        return exit_usage;
    } catch (const Interrupted& e) {
        fmt::print(stderr, "sesam-emu: interrupted: {}\n", e.what());
        return exit_interrupted;
    } catch (const node::ConfigError& e) {
        // One line per problem, each naming its file and JSON path.
        std::string_view rest = e.what();
        while (!rest.empty()) {
            const auto nl = rest.find('\n');
            fmt::print(stderr, "sesam-emu: error: {}\n", rest.substr(0, nl));
            rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
        }
        return exit_usage;
    } catch (const UsageError& e) {
        fmt::print(stderr, "sesam-emu: error: {}\n", e.what());
        return exit_usage;
    } catch (const ReportWriteError& e) {
        fmt::print(stderr, "sesam-emu: error: {}\n", e.what());
        return exit_internal;
    } catch (const std::exception& e) {
        fmt::print(stderr, "sesam-emu: internal error: {}\n", e.what());
        return exit_internal;
    } catch (...) {
        fmt::print(stderr, "sesam-emu: internal error: unknown exception\n");
        return exit_internal;
    }
}
