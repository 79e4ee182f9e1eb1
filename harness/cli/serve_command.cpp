// `sesam-emu serve`: runs the reference service until SIGINT/SIGTERM.
#include "examples/reference-service/reference_service.hpp"
#include "examples/reference-service/sample_dataset.hpp"
#include "harness/cli/command.hpp"
#include "harness/cli/exit_codes.hpp"
#include "harness/cli/interrupt_guard.hpp"

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <fmt/core.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <memory>
#include <thread>
#include <vector>

namespace sesam::harness {

namespace ref = sesam::reference;

namespace {

struct ServeArgs {
    std::string host = "127.0.0.1";
    unsigned short port = 5000;
    std::string data;
    bool quiet = false;
    unsigned threads = 0; ///< 0: one per core
};

int run_serve(const ServeArgs& args)
{
    ref::Dataset dataset;
    try {
        dataset = args.data.empty()
                      ? ref::Dataset::parse(ref::sample_dataset_json(), "built-in sample dataset")
                      : ref::Dataset::load(args.data);
    } catch (const ref::DatasetError& e) {
        throw UsageError(std::string(e.what()) + " (--data)");
    }

    boost::asio::io_context ioc;
    ref::ReferenceService::Options options;
    options.host = args.host;
    options.port = args.port;
    if (!args.quiet)
        options.log = [](const std::string& line) { fmt::print(stderr, "serve: {}\n", line); };
    ref::ReferenceService service(ioc, options, std::move(dataset));
    std::string url;
    try {
        url = service.start();
    } catch (const std::runtime_error& e) {
        throw UsageError(e.what());
    }
    // The handler is in place before the address is printed: a SIGTERM sent as soon as the
    // caller sees it must stop the service cleanly, not kill it.
    // A request being processed holds the context: after a second, the process exits anyway.
    ServerSignalStop signals(
        ioc,
        [&] {
            service.stop();
            ioc.stop();
        },
        std::chrono::seconds(1),
        exit_ok);
    fmt::print("listening on {}\n", url);
    std::fflush(stdout);
    // Connections are served on every core: the handlers share only read-only data and the
    // receiver, which is locked.
    const unsigned threads =
        args.threads > 0 ? args.threads : std::max(1u, std::thread::hardware_concurrency());
    std::vector<std::thread> workers;
    for (unsigned i = 1; i < threads; ++i)
        workers.emplace_back([&ioc] { ioc.run(); });
    ioc.run();
    for (auto& w : workers)
        w.join();
    signals.done();
    return exit_ok;
}

} // namespace

Command add_serve_command(CLI::App& app)
{
    auto args = std::make_shared<ServeArgs>();
    auto* cmd = app.add_subcommand(
        "serve",
        "Run the reference service, a correct implementation of every protocol role:\n"
        "GET /entities (pull: exclusive since, limit, _deleted tombstones), POST /receiver\n"
        "(json push receiver with the rules of docs/protocol.md#push-receiver-rules, its\n"
        "entities in a private SQLite file), GET /receiver/entities (what it holds) and\n"
        "POST /transform (a documented, deterministic http transform). Its first line on\n"
        "stdout is the URL it listens on.\n"
        "Stops cleanly on SIGINT/SIGTERM (exit 0).");
    cmd->add_option("--host", args->host, "Address to bind (an IP address)")
        ->default_str(args->host);
    cmd->add_option("--port", args->port, "Port to bind; 0 picks a free port")->default_str("5000");
    cmd->add_option("--data",
                    args->data,
                    "Dataset to serve: a JSON array or JSON lines of entities with string _id "
                    "(default: the built-in sample, fixtures/datasets/people.json)")
        ->check(CLI::ExistingFile);
    cmd->add_flag("--quiet", args->quiet, "Do not log requests on stderr");
    cmd->add_option(
           "--threads", args->threads, "Threads serving connections (default: one per core)")
        ->check(CLI::Range(1u, 256u));
    return {cmd, [args] { return run_serve(*args); }};
}

} // namespace sesam::harness
