// `sesam-emu load URL --role ROLE`: Sesam's access pattern at scale, measured.
#include "emulator/http/beast_transport.hpp"
#include "emulator/http/url.hpp"
#include "harness/cli/command.hpp"
#include "harness/cli/entity_input.hpp"
#include "harness/cli/exit_codes.hpp"
#include "harness/cli/http_options.hpp"
#include "harness/cli/interrupt_guard.hpp"
#include "harness/cli/node_options.hpp"
#include "harness/cli/service_options.hpp"
#include "harness/load/load_runner.hpp"
#include "harness/report/html_report.hpp"
#include "harness/report/report_file.hpp"
#include "harness/runner/service_under_test.hpp"

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sesam::harness {

namespace {

namespace em = sesam::emulator;

struct LoadArgs {
    std::string url;
    std::string role;
    std::size_t entities = 100'000;
    std::string input;
    std::size_t batch_size = 100;
    unsigned concurrency = 1;
    double duration = 0;
    bool supports_since = false;
    std::size_t page_size = 0;
    std::optional<std::uint64_t> seed;
    std::optional<double> min_rate;
    std::optional<double> max_p99;
    std::optional<std::uint64_t> max_errors;
    std::vector<std::string> reports;
    HttpArgs http;
    ServiceArgs service;
};

double ms(std::uint64_t micros)
{
    return static_cast<double>(micros) / 1000.0;
}

nlohmann::ordered_json latency_json(const LatencyHistogram& h)
{
    return {{"p50", ms(h.percentile(50))},
            {"p95", ms(h.percentile(95))},
            {"p99", ms(h.percentile(99))},
            {"max", ms(h.max())},
            {"mean", h.mean() / 1000.0},
            {"count", h.count()}};
}

std::string latency_line(const LatencyHistogram& h)
{
    return fmt::format("p50 {:.2f}, p95 {:.2f}, p99 {:.2f}, max {:.2f}",
                       ms(h.percentile(50)),
                       ms(h.percentile(95)),
                       ms(h.percentile(99)),
                       ms(h.max()));
}

/// A report `load` writes: `json:PATH` or `html:PATH`.
struct LoadReport {
    bool html = false;
    std::string path;

    std::string_view what() const { return html ? "HTML report" : "JSON report"; }
};

LoadReport load_report(const std::string& spec)
{
    const auto colon = spec.find(':');
    const auto kind = spec.substr(0, colon);
    if (colon == std::string::npos || colon + 1 == spec.size() ||
        (kind != "json" && kind != "html"))
        throw UsageError("--report " + spec + ": load writes json:PATH or html:PATH");
    LoadReport report{kind == "html", spec.substr(colon + 1)};
    try {
        check_report_path(report.path, report.what());
    } catch (const std::invalid_argument& e) {
        throw UsageError(std::string(e.what()) + " (--report)");
    }
    return report;
}

int run_load_command(const LoadArgs& args)
{
    if (auto bad = em::check_http_url(pipe_url(args.url, 0)))
        throw UsageError(bad->message);
    LoadOptions o;
    o.role = args.role == "source" ? Role::source
             : args.role == "sink" ? Role::sink
                                   : Role::transform;
    o.url = args.url;
    o.headers = args.http.parsed_headers();
    o.transport = args.http.transport_options();
    o.batch_size = args.batch_size;
    o.concurrency = args.concurrency;
    if (args.duration > 0)
        o.duration = std::chrono::duration<double>(args.duration);
    o.supports_since = args.supports_since || args.page_size > 0;
    o.page_size = args.page_size;
    o.seed = args.seed;
    if (!args.http.record.empty())
        throw UsageError("--record: load does not record (thousands of exchanges; record a "
                         "check or a pull instead)");
    if (o.role == Role::source && !args.input.empty())
        throw UsageError("--input: a source is pulled from, it is sent nothing");
    if (o.role == Role::sink && o.concurrency > 1 && o.url.find("{pipe}") == std::string::npos)
        fmt::print(stderr,
                   "load: note: {} pipes push to one URL; a receiver keeps one full sync at a "
                   "time (docs/protocol.md#push-receiver-rules), so expect 409s: put {{pipe}} in "
                   "the URL to give each pipe its own (e.g. /receivers/pipe-{{pipe}}/entities)\n",
                   o.concurrency);
    std::vector<LoadReport> reports;
    for (const auto& r : args.reports)
        reports.push_back(load_report(r));
    const auto redactor = args.http.redactor();

    std::vector<std::string> entities;
    if (o.role != Role::source) {
        if (!args.input.empty())
            read_entities(args.input, [&](std::string_view e, std::size_t) {
                entities.emplace_back(e);
                return true;
            });
        else
            entities = generated_entities(args.entities, args.seed.value_or(20261206));
    }

    boost::asio::io_context ioc;
    em::BeastTransport transport(ioc, {});
    SignalWatch signals(ioc, transport);
    std::unique_ptr<ServiceUnderTest> service;
    if (const auto spec = args.service.spec(pipe_url(args.url, 0))) {
        try {
            service = ServiceUnderTest::start(*spec, &signals.flag());
        } catch (const ServiceStartError& e) {
            fmt::print(stderr, "sesam-emu load: error: {}\n", e.what());
            return signals.flag() ? exit_interrupted : exit_service_failed;
        }
    }
    const double service_cpu_before = service ? service->usage().cpu_seconds : 0;

    const std::string description = fmt::format(
        "{} {}, {}{}",
        o.concurrency,
        o.concurrency == 1 ? "pipe" : "pipes at once",
        o.role == Role::source
            ? (o.page_size ? fmt::format("pages of {}", o.page_size) : std::string("full pulls"))
            : fmt::format("{} entities in batches of {}", entities.size(), o.batch_size),
        o.duration ? fmt::format(", for {:.0f} s", args.duration) : "");
    fmt::print("load: {} {}, {}\n", args.role, redactor.redact(args.url), description);
    auto figures = run_load(o, entities, &signals.flag());
    // Error kinds may quote the service (a reason phrase): every output shows them redacted.
    std::map<std::string, std::uint64_t> errors;
    for (const auto& [kind, count] : figures.errors)
        errors[redactor.redact(kind)] += count;
    figures.errors = std::move(errors);
    std::optional<ServiceUsage> usage;
    if (service)
        usage = service->usage();

    fmt::print("load: {} entities in {:.2f} s: {:.0f} entities/s, {:.1f} MB/s; {} requests, {} "
               "errors\n",
               figures.entities,
               figures.seconds,
               figures.entities_per_second(),
               figures.megabytes_per_second(),
               figures.requests,
               figures.error_count());
    for (const auto& [kind, count] : figures.errors)
        fmt::print("load:   {} × {}\n", count, kind);
    fmt::print("load: latency ms: {}\n", latency_line(figures.latency));
    if (o.role == Role::source)
        fmt::print("load: first byte ms: {}\n", latency_line(figures.first_byte));
    std::string cpu = fmt::format("load: CPU: sesam-emu {:.2f} s", figures.cpu_seconds);
    if (usage && usage->known)
        cpu += fmt::format(", service {:.2f} s; service peak memory {:.1f} MB ({})",
                           usage->cpu_seconds - service_cpu_before,
                           static_cast<double>(usage->peak_rss_bytes) / 1e6,
                           usage->source);
    fmt::print("{}\n", cpu);

    // Thresholds for CI: each one missed is named.
    std::vector<std::string> missed;
    if (args.min_rate && figures.entities_per_second() < *args.min_rate)
        missed.push_back(fmt::format(
            "--min-rate {:g}: {:.0f} entities/s", *args.min_rate, figures.entities_per_second()));
    if (args.max_p99 && ms(figures.latency.percentile(99)) > *args.max_p99)
        missed.push_back(fmt::format(
            "--max-p99 {:g}: p99 {:.2f} ms", *args.max_p99, ms(figures.latency.percentile(99))));
    if (args.max_errors && figures.error_count() > *args.max_errors)
        missed.push_back(
            fmt::format("--max-errors {}: {} errors", *args.max_errors, figures.error_count()));
    for (const auto& m : missed)
        fmt::print("load: MISSED {}\n", m);

    nlohmann::ordered_json report = {{"role", args.role},
                                     {"url", redactor.redact(args.url)},
                                     {"concurrency", o.concurrency},
                                     {"batch_size", o.batch_size},
                                     {"seconds", figures.seconds},
                                     {"entities", figures.entities},
                                     {"entities_per_s", figures.entities_per_second()},
                                     {"mb_per_s", figures.megabytes_per_second()},
                                     {"requests", figures.requests},
                                     {"errors", figures.error_count()},
                                     {"errors_by_kind", figures.errors},
                                     {"latency_ms", latency_json(figures.latency)},
                                     {"harness_cpu_s", figures.cpu_seconds},
                                     {"missed", missed},
                                     {"sesam_emu_version", SESAM_EMU_VERSION}};
    if (o.role == Role::source)
        report["first_byte_ms"] = latency_json(figures.first_byte);
    if (usage && usage->known) {
        report["service_cpu_s"] = usage->cpu_seconds - service_cpu_before;
        report["service_peak_rss_mb"] = static_cast<double>(usage->peak_rss_bytes) / 1e6;
    }
    LoadPageInfo page;
    page.role = o.role;
    page.url = redactor.redact(args.url);
    page.description = description;
    if (usage && usage->known) {
        page.service_cpu_seconds = usage->cpu_seconds - service_cpu_before;
        page.service_peak_rss_mb = static_cast<double>(usage->peak_rss_bytes) / 1e6;
        page.service_usage_source = redactor.redact(usage->source);
    }
    page.thresholds = args.min_rate || args.max_p99 || args.max_errors;
    page.missed = missed;
    page.sesam_emu_version = SESAM_EMU_VERSION;
    for (const auto& r : reports)
        write_report_file(
            r.path, r.html ? load_report_html(page, figures) : report.dump(2) + "\n", r.what());
    if (service)
        service->stop();
    if (signals.flag()) {
        fmt::print(stderr, "sesam-emu: interrupted: the load run was stopped\n");
        return exit_interrupted;
    }
    return missed.empty() ? static_cast<int>(exit_ok) : static_cast<int>(exit_findings);
}

} // namespace

Command add_load_command(CLI::App& app)
{
    auto args = std::make_shared<LoadArgs>();
    auto* cmd = app.add_subcommand(
        "load",
        "Drive a service with Sesam's access pattern at scale and measure it: a sink gets full\n"
        "and incremental syncs in batches, a transform gets every batch, a source is pulled in\n"
        "full (and continued with since). Prints entities/s, MB/s, requests, errors by kind and\n"
        "the latency percentiles (p50, p95, p99, max); with --exec or --image the service is\n"
        "started, and its CPU time and peak memory are reported beside sesam-emu's own.");
    cmd->add_option("URL",
                    args->url,
                    "The service's URL for the role; {pipe} in it becomes each pipe's number "
                    "(1, 2, …), so that concurrent sink pipes push to receivers of their own")
        ->required();
    cmd->add_option("--role", args->role, "source, sink or transform")
        ->required()
        ->check(CLI::IsMember({"source", "sink", "transform"}));
    cmd->add_option("--entities", args->entities, "sink, transform: how many entities to send")
        ->default_str("100000")
        ->check(CLI::Range(std::size_t{1}, kMaxCount));
    cmd->add_option("--input",
                    args->input,
                    "sink, transform: send these entities (a JSON array or JSON lines) instead "
                    "of generated ones");
    cmd->add_option("--batch-size", args->batch_size, "sink, transform: entities per request")
        ->default_str("100")
        ->check(CLI::Range(std::size_t{1}, kMaxCount));
    cmd->add_option("--concurrency",
                    args->concurrency,
                    "Independent pipes at once, each with its own connection (a node runs many "
                    "pipes against one service)")
        ->default_str("1")
        ->check(CLI::Range(1u, 1024u));
    cmd->add_option("--duration",
                    args->duration,
                    "Seconds: repeat rounds until the time is up (default: one round per pipe)")
        ->check(CLI::Range(0.001, 86400.0));
    cmd->add_flag("--supports-since",
                  args->supports_since,
                  "source: continue each full pull with since = the last _updated");
    cmd->add_option("--page-size", args->page_size, "source: pull in pages of limit=N with since")
        ->check(CLI::Range(std::size_t{1}, kMaxCount));
    add_seed_option(*cmd, args->seed);
    cmd->add_option(
           "--min-rate", args->min_rate, "Exit 1 when fewer entities per second are reached")
        ->check(CLI::PositiveNumber);
    cmd->add_option("--max-p99", args->max_p99, "Exit 1 when the p99 latency exceeds MS")
        ->check(CLI::PositiveNumber);
    cmd->add_option("--max-errors", args->max_errors, "Exit 1 when there are more errors");
    cmd->add_option("--report",
                    args->reports,
                    "Also write the figures: json:PATH (entities_per_s, requests, errors, "
                    "latency_ms p50/p95/p99/max, service_peak_rss_mb, …) or html:PATH (a "
                    "self-contained page with the latency histogram) (repeatable)")
        ->allow_extra_args(false);
    add_http_options(*cmd, args->http, kTestReadTimeout);
    add_service_options(*cmd, args->service);
    cmd->footer("Exit codes: 0 done (every threshold met), 1 a threshold missed (each is named), 2 "
                "usage error, 3 the service could not be started, 130 interrupted.");
    return {cmd, [args] { return run_load_command(*args); }};
}

} // namespace sesam::harness
