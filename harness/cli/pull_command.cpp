// `sesam-emu pull URL`: runs the json source client once (docs/protocol.md#pull).
#include "emulator/http/beast_transport.hpp"
#include "emulator/http/url.hpp"
#include "emulator/pull/pull_client.hpp"
#include "emulator/store/state_store.hpp"
#include "harness/cli/command.hpp"
#include "harness/cli/entity_output.hpp"
#include "harness/cli/exit_codes.hpp"
#include "harness/cli/http_options.hpp"
#include "harness/cli/interrupt_guard.hpp"

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <fmt/core.h>

#include <chrono>
#include <csignal>
#include <memory>

namespace sesam::harness {

namespace em = sesam::emulator;

namespace {

struct PullArgs {
    std::string url;
    bool supports_since = false;
    bool is_chronological = false;
    bool is_since_comparable = true;
    std::size_t page_size = 0;
    std::string initial_since_value;
    std::string subset;
    HttpArgs http;
    std::string state = ".sesam-emu/state.db";
    std::string pipe;
    bool reset = false;
    std::string output = "-";
    std::string format = "json";
    bool stop_on_short_page = false;
    std::string if_source_empty = "accept";
    std::size_t checkpoint_interval = 10000;
};

std::string offset_text(const std::optional<em::SinceValue>& offset)
{
    return offset ? offset->to_json() : std::string("none");
}

int run_pull(const PullArgs& args)
{
    em::PullOptions options;
    options.url = args.url;
    options.headers = args.http.parsed_headers();
    options.supports_since = args.supports_since;
    options.is_chronological = args.is_chronological;
    options.is_since_comparable = args.is_since_comparable;
    if (args.page_size > 0)
        options.page_size = args.page_size;
    if (!args.initial_since_value.empty())
        options.initial_since_value = args.initial_since_value;
    if (!args.subset.empty())
        options.subset = args.subset;
    options.stop_on_short_page = args.stop_on_short_page;
    options.if_source_empty =
        args.if_source_empty == "fail" ? em::IfSourceEmpty::fail : em::IfSourceEmpty::accept;
    options.checkpoint_interval = args.checkpoint_interval;
    if (auto problem = em::validate(options))
        throw UsageError(*problem);
    const auto transport_options = args.http.transport_options();

    // Every line printed, and the pipe name kept in the store, go through one masking rule.
    const auto redactor = args.http.redactor();
    const auto pipe = args.pipe.empty() ? redactor.redact(args.url) : args.pipe;
    if (args.state.empty()) // SQLite would use a temporary database and keep nothing
        throw UsageError("--state: the path is empty");
    std::optional<em::StateStore> store;
    try {
        store.emplace(em::StateStore::open(args.state));
        if (args.reset)
            store->reset_offset(pipe);
    } catch (const em::StoreError& e) {
        throw UsageError(std::string(e.what()) + " (--state)");
    }

    EntityOutput output(args.output,
                        args.format == "jsonl" ? OutputFormat::jsonl : OutputFormat::json);

    boost::asio::io_context ioc;
    em::BeastTransport transport(ioc, transport_options);
    InterruptGuard guard(ioc, transport);
    const auto recorder = args.http.recorder(transport);

    em::PullClient client(client_transport(recorder, transport), &*store, options);
    auto report = client.run(
        pipe,
        [&](const em::EntityView& entity) { output.write(entity.bytes, entity.has_line_breaks); },
        [&] { return output.flush(); },
        [&] { return output.failure(); });
    if (auto problem = output.close(); problem && report.ok())
        report.failure =
            em::PullFailure{em::PullFailure::Kind::output, "cannot write the output: " + *problem};

    for (const auto& warning : report.summary.warnings)
        fmt::print(stderr, "sesam-emu pull: warning: {}\n", redactor.redact(warning));
    const auto& s = report.summary;
    fmt::print(stderr,
               "pull: {} entities ({} deleted), {} requests, {}, offset {} -> {}, {:.2f} s "
               "[{} run, {} strategy]\n",
               s.entities,
               s.deleted,
               s.requests,
               format_bytes(s.bytes),
               offset_text(s.offset_before),
               offset_text(s.offset_after),
               s.seconds,
               s.full_run ? "full" : "incremental",
               em::to_string(s.strategy));
    if (report.ok())
        return finish_recording(recorder.get(), "pull", exit_ok);
    fmt::print(stderr, "sesam-emu pull: error: {}\n", redactor.redact(report.failure->message));
    if (guard.interrupted() || report.failure->kind == em::PullFailure::Kind::interrupted)
        return exit_interrupted;
    if (report.failure->kind == em::PullFailure::Kind::store ||
        report.failure->kind == em::PullFailure::Kind::output)
        return finish_recording(recorder.get(), "pull", exit_internal);
    return finish_recording(recorder.get(), "pull", exit_service_failed);
}

} // namespace

Command add_pull_command(CLI::App& app)
{
    auto args = std::make_shared<PullArgs>();
    auto* cmd = app.add_subcommand(
        "pull",
        "Pull entities from a service as Sesam's json source does (docs/protocol.md#pull):\n"
        "GET with since, limit and subset, paging, offsets kept between runs. Entities are\n"
        "written as received.");
    cmd->add_option("URL", args->url, "The service's URL, e.g. http://localhost:5000/entities")
        ->required();
    cmd->add_flag("--supports-since", args->supports_since, "Send since and keep the offset");
    cmd->add_flag("--is-chronological",
                  args->is_chronological,
                  "The service returns entities in increasing _updated order");
    cmd->add_option("--is-since-comparable",
                    args->is_since_comparable,
                    "_updated values can be ordered (true|false)")
        ->default_str("true");
    cmd->add_option("--page-size",
                    args->page_size,
                    "Page with limit=N, continuing from the last entity's _updated until an "
                    "empty page (needs --supports-since --is-chronological)")
        ->check(CLI::Range(std::size_t{1}, kMaxCount));
    cmd->add_option("--initial-since-value",
                    args->initial_since_value,
                    "since for a run without a stored offset");
    cmd->add_option("--subset", args->subset, "A DTL expression (JSON) sent as subset");
    cmd->add_option("--state", args->state, "The store file with the offsets")
        ->default_str(args->state);
    cmd->add_option("--pipe", args->pipe, "Whose offset to use (default: the URL)");
    cmd->add_flag("--reset", args->reset, "Forget the stored offset first: a full run");
    cmd->add_option("-o,--output", args->output, "Where to write the entities (- is stdout)")
        ->default_str("-");
    cmd->add_option("--format", args->format, "json (one array) or jsonl (one entity per line)")
        ->check(CLI::IsMember({"json", "jsonl"}))
        ->default_str("json");
    cmd->add_flag("--stop-on-short-page",
                  args->stop_on_short_page,
                  "Also stop paging on a page shorter than --page-size");
    cmd->add_option("--if-source-empty",
                    args->if_source_empty,
                    "accept, or fail a run that yields no entities")
        ->check(CLI::IsMember({"accept", "fail"}))
        ->default_str("accept");
    add_http_options(*cmd, args->http);
    cmd->add_option("--checkpoint-interval",
                    args->checkpoint_interval,
                    "Chronological strategy: store the offset every N entities")
        ->default_str("10000")
        ->check(CLI::Range(std::size_t{1}, kMaxCount));
    return {cmd, [args] { return run_pull(*args); }};
}

} // namespace sesam::harness
