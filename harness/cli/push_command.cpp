// `sesam-emu push URL`: loads entities into a local dataset and pushes it as a json sink
// (docs/protocol.md#push).
#include "emulator/entity/run_seed.hpp"
#include "emulator/http/beast_transport.hpp"
#include "emulator/http/url.hpp"
#include "emulator/push/push_client.hpp"
#include "emulator/store/dataset_store.hpp"
#include "emulator/store/state_store.hpp"
#include "harness/cli/command.hpp"
#include "harness/cli/entity_input.hpp"
#include "harness/cli/exit_codes.hpp"
#include "harness/cli/http_options.hpp"
#include "harness/cli/input_interrupt.hpp"
#include "harness/cli/interrupt_guard.hpp"
#include "harness/cli/node_options.hpp"

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <chrono>
#include <memory>
#include <stdexcept>

namespace sesam::harness {

namespace em = sesam::emulator;

namespace {

struct PushArgs {
    std::string url;
    std::string input;
    std::string dataset;
    std::string pipe;
    std::string state = ".sesam-emu/state.db";
    bool full = false;
    bool reset = false;
    bool no_deletion_tracking = false;
    em::PushSettings settings;
    HttpArgs http;
    std::optional<std::uint64_t> seed;
};

std::string offset_text(const std::optional<std::int64_t>& offset)
{
    return offset ? std::to_string(*offset) : std::string("none");
}

void load_input(const PushArgs& args, em::DatasetStore& datasets, const std::string& dataset)
{
    const auto started = std::chrono::steady_clock::now();
    // docs/protocol.md#pull-full-incremental: a load is a full load (deletion tracking) unless told
    // otherwise
    auto load = datasets.begin_load(dataset, !args.no_deletion_tracking);
    load_entities(args.input, load);
    const auto s = load.commit();
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    fmt::print(stderr,
               "load: {} entities into dataset '{}': {} written, {} unchanged, {} deleted by "
               "deletion tracking, {:.2f} s\n",
               s.received,
               dataset,
               s.written,
               s.unchanged,
               s.deleted_by_tracking,
               seconds);
}

int run_push(const PushArgs& args)
{
    if (args.seed)
        em::seed_run(*args.seed);
    if (auto bad = em::check_http_url(args.url))
        throw UsageError(bad->message);
    if (args.settings.batch_size == 0)
        throw UsageError("--batch-size must be at least 1");
    if (args.settings.max_consecutive_write_errors == 0)
        throw UsageError("--max-consecutive-write-errors must be at least 1");
    em::PushOptions options;
    options.url = args.url;
    options.headers = args.http.parsed_headers();
    options.settings = args.settings;
    options.full = args.full;
    // Every line printed, and the names kept in the store, go through one masking rule.
    const auto redactor = args.http.redactor();
    options.dataset =
        args.dataset.empty() ? redactor.redact(em::strip_query(args.url)) : args.dataset;
    const auto transport_options = args.http.transport_options();
    const auto pipe = args.pipe.empty()
                          ? "push " + options.dataset + " -> " + redactor.redact(args.url)
                          : args.pipe;

    if (args.state.empty()) // SQLite would use a temporary database and keep nothing
        throw UsageError("--state: the path is empty");
    std::optional<em::StateStore> state;
    std::optional<em::DatasetStore> datasets;
    try {
        state.emplace(em::StateStore::open(args.state));
        datasets.emplace(*state);
        if (args.reset)
            state->reset_offset(pipe);
    } catch (const em::StoreError& e) {
        throw UsageError(std::string(e.what()) + " (--state)");
    }
    if (!args.input.empty()) {
        // SIGINT/SIGTERM while loading: the load is rolled back and push exits 130 (main).
        InputInterruptGuard interruptible;
        load_input(args, *datasets, options.dataset);
    }

    boost::asio::io_context ioc;
    em::BeastTransport transport(ioc, transport_options);
    InterruptGuard guard(ioc, transport);
    const auto recorder = args.http.recorder(transport);
    em::PushClient client(client_transport(recorder, transport), *state, *datasets, options);
    const auto report = client.run(pipe);

    const auto& s = report.summary;
    fmt::print(stderr,
               "push: {} sync, {} entities acknowledged ({} deleted), {} failed, {} requests "
               "({} retries), {}, offset {} -> {}, {:.2f} s [sequence {}]\n",
               s.full_sync ? "full" : "incremental",
               s.entities,
               s.deleted,
               s.failed,
               s.requests,
               s.retries,
               format_bytes(s.bytes),
               offset_text(s.offset_before),
               offset_text(s.offset_after),
               s.seconds,
               s.sequence_id);
    if (report.ok())
        return finish_recording(recorder.get(), "push", exit_ok);
    fmt::print(stderr, "sesam-emu push: error: {}\n", redactor.redact(report.failure->message));
    switch (report.failure->kind) {
    case em::PushFailure::Kind::interrupted:
        return exit_interrupted;
    case em::PushFailure::Kind::store:
        return exit_internal;
    default:
        return guard.interrupted() ? exit_interrupted : exit_service_failed;
    }
}

} // namespace

Command add_push_command(CLI::App& app)
{
    auto args = std::make_shared<PushArgs>();
    auto* cmd = app.add_subcommand(
        "push",
        "Push a local dataset to a service as Sesam's json sink does (docs/protocol.md#push):\n"
        "batches with sequence_id, request_id, previous_request_id, is_full, is_first/is_last,\n"
        "the trailing empty batch, retries and 409 handling. The first run (and --full, --reset)\n"
        "is a full sync; later runs send what changed since the stored offset.");
    cmd->add_option("URL", args->url, "The receiver's URL, e.g. http://localhost:5000/receiver")
        ->required();
    cmd->add_option("--input",
                    args->input,
                    "Entities to write into the dataset first, as a dataset sink would (a JSON "
                    "array or JSON lines; - is stdin)");
    cmd->add_option("--dataset", args->dataset, "The local dataset (default: the URL)");
    cmd->add_option("--batch-size", args->settings.batch_size, "Entities per request")
        ->default_str("100")
        ->check(CLI::Range(std::size_t{1}, kMaxCount));
    cmd->add_flag("--full", args->full, "A full sync, even with a stored offset");
    cmd->add_flag("--reset", args->reset, "Forget the stored offset first (a full sync)");
    cmd->add_flag("--no-deletion-tracking",
                  args->no_deletion_tracking,
                  "--input holds only changes: entities it lacks are not deleted");
    cmd->add_option("--batch-retries", args->settings.batch_retries, "Retries of a failed request")
        ->default_str("3");
    cmd->add_option("--fallback-to-single-entities",
                    args->settings.fallback_to_single_entities,
                    "After a batch fails, send its entities one at a time (true|false)")
        ->default_str("true");
    cmd->add_option("--max-consecutive-write-errors",
                    args->settings.max_consecutive_write_errors,
                    "Stop the sync after this many write errors in a row")
        ->default_str("1");
    cmd->add_option("--incremental-empty-batch",
                    args->settings.incremental_trailing_empty_batch,
                    "End incremental syncs with an empty batch too (true|false)")
        ->default_str("true");
    cmd->add_option("--state", args->state, "The store file (offsets and datasets)")
        ->default_str(args->state);
    cmd->add_option("--pipe", args->pipe, "Whose offset to use (default: dataset and URL)");
    add_http_options(*cmd, args->http);
    add_seed_option(*cmd, args->seed);
    return {cmd, [args] { return run_push(*args); }};
}

} // namespace sesam::harness
