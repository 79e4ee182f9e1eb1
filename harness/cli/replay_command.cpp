// `sesam-emu replay serve FIXTURE`: answers requests with the responses of a recorded run.
#include "harness/cli/command.hpp"
#include "harness/cli/exit_codes.hpp"
#include "harness/fixture/replay_index.hpp"
#include "harness/fixture/replay_server.hpp"

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <fmt/core.h>

#include <csignal>
#include <cstdio>
#include <memory>

namespace sesam::harness {

namespace {

struct ReplayServeArgs {
    std::string fixture;
    std::string host = "127.0.0.1";
    unsigned short port = 5000;
    std::vector<std::string> ignore_params;
    bool strict = false;
};

int run_replay_serve(const ReplayServeArgs& args)
{
    ReplayIndex index;
    try {
        index = ReplayIndex::load(args.fixture, args.ignore_params);
    } catch (const ReplayError& e) {
        throw UsageError(e.what());
    }

    boost::asio::io_context ioc;
    ReplayServer::Options options;
    options.host = args.host;
    options.port = args.port;
    options.log = [](const std::string& line) { fmt::print(stderr, "replay: {}\n", line); };
    ReplayServer server(ioc, options, std::move(index));
    // Before the URL is printed: a SIGTERM right after it must still stop cleanly.
    boost::asio::signal_set signals(ioc, SIGINT, SIGTERM);
    std::string url;
    try {
        url = server.start();
    } catch (const std::runtime_error& e) {
        throw UsageError(e.what());
    }
    fmt::print("listening on {}\n", url);
    std::fflush(stdout);

    signals.async_wait([&](const boost::system::error_code&, int) {
        server.stop();
        ioc.stop();
    });
    ioc.run();
    if (args.strict && server.unmatched() > 0) {
        fmt::print(
            stderr, "replay: {} request(s) matched no recorded exchange\n", server.unmatched());
        return exit_findings;
    }
    return exit_ok;
}

} // namespace

Command add_replay_command(CLI::App& app)
{
    auto* replay = app.add_subcommand("replay", "Replay a recorded run (a --record fixture)");
    replay->require_subcommand(1, 1);

    auto args = std::make_shared<ReplayServeArgs>();
    auto* serve = replay->add_subcommand(
        "serve",
        "Serve the recorded responses of FIXTURE, like the recorded service: each request is\n"
        "matched by method, path and query parameters (any order; request_id,\n"
        "previous_request_id and sequence_id ignored). The n-th identical request gets the\n"
        "n-th recorded response; after the last one, the last one is repeated. A request never\n"
        "recorded gets 501 naming the nearest recorded one. First stdout line: the URL.\n"
        "Stops on SIGINT/SIGTERM (exit 0; with --strict, 1 if any request was unmatched).");
    serve->add_option("FIXTURE", args->fixture, "The fixture file (sesam-emu … --record FILE)")
        ->required();
    serve->add_option("--host", args->host, "Address to bind (an IP address)")
        ->default_str(args->host);
    serve->add_option("--port", args->port, "Port to bind; 0 picks a free port")
        ->default_str("5000");
    serve->add_option("--ignore-param",
                      args->ignore_params,
                      "A query parameter to leave out of matching (repeatable)");
    serve->add_flag("--strict", args->strict, "Exit 1 on stop if any request was unmatched");
    // `replay against` can be added next to `serve`; `run` dispatches on the parsed one.
    return {replay, [args, serve] {
                if (serve->parsed())
                    return run_replay_serve(*args);
                return static_cast<int>(exit_usage);
            }};
}

} // namespace sesam::harness
