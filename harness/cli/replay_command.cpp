// `sesam-emu replay serve FIXTURE`: answers requests with the responses of a recorded run.
// `sesam-emu replay against FIXTURE URL`: re-sends a recorded run's requests to a service and
// compares what it answers with what was recorded.
#include "emulator/http/beast_transport.hpp"
#include "emulator/http/url.hpp"
#include "harness/cli/command.hpp"
#include "harness/cli/exit_codes.hpp"
#include "harness/cli/http_options.hpp"
#include "harness/cli/interrupt_guard.hpp"
#include "harness/cli/service_options.hpp"
#include "harness/fixture/replay_against.hpp"
#include "harness/fixture/replay_index.hpp"
#include "harness/fixture/replay_server.hpp"
#include "harness/report/reporter.hpp"

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <deque>
#include <memory>

namespace sesam::harness {

namespace em = sesam::emulator;

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
    } catch (const FixtureError& e) {
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

struct ReplayAgainstArgs {
    std::string fixture;
    std::string url;
    std::vector<std::string> ignore_fields;
    std::vector<std::string> reports;
    std::size_t max_diffs = 20;
    HttpArgs http;
    ServiceArgs service_under_test;
};

/// Prints an outcome's lines, every one through `redactor`: a difference shows decoded JSON, in
/// which a secret the service echoed in another escape is plain.
void print_outcome(const ExchangeOutcome& o, std::size_t max_diffs, const Redactor& redactor)
{
    using Result = ExchangeOutcome::Result;
    auto line = [&](const std::string& text) { fmt::print("{}\n", redactor.redact(text)); };
    switch (o.result) {
    case Result::same:
        line("SAME  " + o.id + (o.message.empty() ? "" : ": " + o.message));
        return;
    case Result::skipped:
        line("SKIP  " + o.id + ": " + o.message);
        return;
    case Result::differs:
        line("DIFF  " + o.id + ": " + o.message);
        break;
    case Result::service_failed:
        line("FAIL  " + o.id + ": " + o.message);
        break;
    }
    line("        request: " + o.request);
    if (!o.body)
        return;
    const auto& diffs = o.body->differences;
    for (std::size_t i = 0; i < diffs.size() && i < max_diffs; ++i)
        line("        " + describe_difference(diffs[i]));
    if (diffs.size() > max_diffs)
        line(fmt::format("        … and {} more (--max-diffs)", diffs.size() - max_diffs));
}

int run_replay_against(const ReplayAgainstArgs& args)
{
    if (auto bad = em::check_http_url(args.url))
        throw UsageError(bad->message);
    Fixture fixture;
    try {
        fixture = read_fixture(args.fixture);
    } catch (const FixtureError& e) {
        throw UsageError(e.what());
    }
    if (fixture.exchanges.empty())
        throw UsageError(args.fixture + ": the fixture holds no exchanges");
    ReplayOptions options;
    options.service_url = args.url;
    options.headers = args.http.parsed_headers();
    options.redactor = args.http.redactor();
    for (const auto& secret : restored_secrets(fixture, args.url))
        options.redactor.add_secret(secret);
    try {
        options.filter = FieldFilter(args.ignore_fields);
    } catch (const std::invalid_argument& e) {
        throw UsageError(std::string(e.what()) + " (--ignore-field)");
    }
    try {
        // Every recorded URL must rebase before anything is sent.
        for (const auto& x : fixture.exchanges)
            rebase_url(x.url, fixture.exchanges.front().url, args.url);
    } catch (const std::invalid_argument& e) {
        throw UsageError(e.what());
    }
    std::vector<std::unique_ptr<Reporter>> files;
    for (const auto& spec : args.reports) {
        try {
            files.push_back(make_file_reporter(spec));
        } catch (const std::invalid_argument& e) {
            throw UsageError(e.what());
        }
    }
    auto reporter =
        make_redacting_reporter(make_multi_reporter(std::move(files)), options.redactor);
    const auto transport_options = args.http.transport_options();
    const auto spec = args.service_under_test.spec(args.url);

    boost::asio::io_context ioc;
    em::BeastTransport transport(ioc, transport_options);
    SignalWatch signals(ioc, transport);
    const auto recorder = args.http.recorder(transport);
    auto& client = client_transport(recorder, transport);
    std::unique_ptr<ServiceUnderTest> service;
    if (spec) {
        try {
            service = ServiceUnderTest::start(*spec, &signals.flag());
        } catch (const ServiceStartError& e) {
            fmt::print(stderr, "sesam-emu replay: error: {}\n", e.what());
            return signals.flag() ? exit_interrupted : exit_service_failed;
        }
    }

    RunInfo run{options.redactor.redact(args.url), {}, SESAM_EMU_VERSION, "sesam-emu.replay"};
    for (const auto& x : fixture.exchanges)
        if (std::find(run.roles.begin(), run.roles.end(), role_of(x)) == run.roles.end())
            run.roles.push_back(role_of(x));
    try {
        reporter->begin(run);
    } catch (const std::exception& e) {
        throw UsageError(std::string(e.what()) + " (--report)");
    }
    fmt::print("replay: {} exchanges from {} against {}\n",
               fixture.exchanges.size(),
               args.fixture,
               run.service_url);
    for (const auto& warning : replay_warnings(fixture, options))
        fmt::print(stderr, "sesam-emu replay: warning: {}\n", warning);
    std::fflush(stdout);

    const auto start = std::chrono::steady_clock::now();
    RunSummary summary;
    std::size_t differ = 0;
    bool service_failed = false;
    std::deque<ExchangeOutcome> outcomes; // the reporters keep views of their ids until end()
    for (std::size_t n = 1; n <= fixture.exchanges.size() && !service_failed; ++n) {
        auto outcome = replay_exchange(fixture, n, client, options);
        if (signals.flag())
            break;
        const auto& o = outcomes.emplace_back(std::move(outcome));
        print_outcome(o, args.max_diffs, options.redactor);
        std::fflush(stdout);
        const auto result = to_check_result(o, args.max_diffs);
        reporter->check_started(result.info);
        reporter->check_finished(result);
        switch (o.result) {
        case ExchangeOutcome::Result::same:
            ++summary.passed;
            break;
        case ExchangeOutcome::Result::skipped:
            ++summary.skipped;
            break;
        case ExchangeOutcome::Result::service_failed:
            service_failed = true;
            ++summary.failed;
            break;
        case ExchangeOutcome::Result::differs:
            ++summary.failed;
            ++differ;
            break;
        }
    }
    summary.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (service && summary.failed > 0)
        summary.service_output_tail = service->output_tail();
    reporter->end(summary);
    if (service)
        service->stop();
    const auto done = summary.passed + summary.failed + summary.skipped;
    fmt::print("replay: {} of {} exchanges: {} same, {} differ, {} failed, {} skipped, {:.2f} s\n",
               done,
               fixture.exchanges.size(),
               summary.passed,
               differ,
               service_failed ? 1 : 0,
               summary.skipped,
               summary.seconds);
    if (!summary.service_output_tail.empty())
        fmt::print(stderr,
                   "sesam-emu replay: the service's last output lines:\n{}",
                   summary.service_output_tail);
    if (signals.flag())
        return finish_recording(recorder.get(), "replay", exit_interrupted);
    if (service_failed) {
        fmt::print(
            stderr, "sesam-emu replay: error: the service failed: {}\n", outcomes.back().message);
        return finish_recording(recorder.get(), "replay", exit_service_failed);
    }
    if (summary.passed + differ == 0) {
        // Nothing reached the service and was compared: that is no evidence of anything.
        fmt::print(stderr,
                   "sesam-emu replay: error: nothing was compared: every exchange was skipped\n");
        return finish_recording(recorder.get(), "replay", exit_findings);
    }
    return finish_recording(recorder.get(), "replay", differ > 0 ? exit_findings : exit_ok);
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

    auto against_args = std::make_shared<ReplayAgainstArgs>();
    auto* against = replay->add_subcommand(
        "against",
        "Send the recorded requests of FIXTURE, in order, to the service at URL (which takes\n"
        "the place of the recorded URL: host and port always, and the path when URL has one\n"
        "other than /; query parameters in URL replace recorded ones of the same name), and\n"
        "compare each answer with the recorded one: the status, then the body. Lists of\n"
        "entities are compared by _id, in any order, field by field, leaving out _ts, _hash\n"
        "and --ignore-field paths; other bodies as a whole. Recorded headers that were\n"
        "redacted (***) are not sent: give them again with --header. With --exec or --image\n"
        "the service is started first, waited for, and removed on every way out.\n"
        "Exit 0: every answer as recorded; 1: something differs; 2: bad fixture or flag;\n"
        "3: the service cannot be reached or does not answer within the read timeout (the\n"
        "replay stops there); 130: interrupted.");
    against->add_option("FIXTURE", against_args->fixture, "The fixture file")->required();
    against->add_option("URL", against_args->url, "The service to replay against")->required();
    against
        ->add_option("--ignore-field",
                     against_args->ignore_fields,
                     "Leave this field out of entity comparisons: a dot path, * for any one key "
                     "or index, e.g. _updated, address.since, tags.*.ts (repeatable)")
        ->allow_extra_args(false);
    against
        ->add_option("--report",
                     against_args->reports,
                     "Also write a report, one testcase per exchange: junit:PATH, json:PATH or "
                     "html:PATH (repeatable)")
        ->allow_extra_args(false);
    against
        ->add_option("--max-diffs",
                     against_args->max_diffs,
                     "Differences shown per exchange, and given as evidence in reports (all are "
                     "counted)")
        ->default_str("20")
        ->check(CLI::NonNegativeNumber);
    add_http_options(*against, against_args->http, kTestReadTimeout);
    add_service_options(*against, against_args->service_under_test);

    return {replay, [args, serve, against_args, against] {
                if (serve->parsed())
                    return run_replay_serve(*args);
                if (against->parsed())
                    return run_replay_against(*against_args);
                return static_cast<int>(exit_usage);
            }};
}

} // namespace sesam::harness
