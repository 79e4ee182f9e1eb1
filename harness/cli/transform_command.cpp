// `sesam-emu transform URL`: sends entities through an http transform
// (docs/protocol.md#http-transform).
#include "emulator/http/beast_transport.hpp"
#include "emulator/http/url.hpp"
#include "emulator/transform/transform_client.hpp"
#include "harness/cli/command.hpp"
#include "harness/cli/entity_input.hpp"
#include "harness/cli/entity_output.hpp"
#include "harness/cli/exit_codes.hpp"
#include "harness/cli/http_options.hpp"
#include "harness/cli/input_interrupt.hpp"
#include "harness/cli/interrupt_guard.hpp"

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <memory>

namespace sesam::harness {

namespace em = sesam::emulator;

namespace {

struct TransformArgs {
    std::string url;
    std::string input;
    std::string output = "-";
    std::string format = "json";
    std::size_t batch_size = 100;
    std::uint64_t max_answer_mb = 256;
    HttpArgs http;
};

int run_transform(const TransformArgs& args)
{
    if (auto bad = em::check_http_url(args.url))
        throw UsageError(bad->message);
    em::TransformOptions options;
    options.url = args.url;
    options.headers = args.http.parsed_headers();
    options.batch_size = args.batch_size;
    options.max_answer_bytes = args.max_answer_mb << 20;
    const auto transport_options = args.http.transport_options();
    const auto redactor = args.http.redactor(); // for every line printed

    EntityOutput output(args.output,
                        args.format == "jsonl" ? OutputFormat::jsonl : OutputFormat::json);
    boost::asio::io_context ioc;
    em::BeastTransport transport(ioc, transport_options);
    InterruptGuard guard(ioc, transport);
    InputInterruptGuard interruptible; // a blocked read of --input returns too
    const auto recorder = args.http.recorder(transport);
    em::TransformClient client(
        client_transport(recorder, transport), options, [&](const em::EntityView& e) {
            output.write(e.bytes, e.has_line_breaks);
        });
    // A closed or full output stops the run: nothing more is sent.
    read_entities(args.input, [&](std::string_view entity, std::size_t) {
        return client.add(entity) && !output.failure();
    });
    const auto report = client.finish();
    const auto output_problem = output.close();

    for (const auto& warning : report.summary.warnings)
        fmt::print(stderr, "sesam-emu transform: warning: {}\n", redactor.redact(warning));
    const auto& s = report.summary;
    fmt::print(stderr,
               "transform: {} entities in, {} out, {} batches, {} sent, {} received, {:.2f} s\n",
               s.entities_in,
               s.entities_out,
               s.batches,
               format_bytes(s.bytes_sent),
               format_bytes(s.bytes_received),
               s.seconds);
    if (report.ok() && output_problem) {
        fmt::print(
            stderr, "sesam-emu transform: error: cannot write the output: {}\n", *output_problem);
        return exit_internal;
    }
    if (report.ok())
        return finish_recording(recorder.get(), "transform", exit_ok);
    fmt::print(
        stderr, "sesam-emu transform: error: {}\n", redactor.redact(report.failure->message));
    return report.failure->interrupted || guard.interrupted() ? exit_interrupted
                                                              : exit_service_failed;
}

} // namespace

Command add_transform_command(CLI::App& app)
{
    auto args = std::make_shared<TransformArgs>();
    auto* cmd = app.add_subcommand(
        "transform",
        "Send entities through a service as Sesam's http transform does\n"
        "(docs/protocol.md#http-transform): POST batches; each answer (a JSON array) replaces\n"
        "its batch, in order.");
    cmd->add_option("URL", args->url, "The transform's URL, e.g. http://localhost:5000/transform")
        ->required();
    cmd->add_option(
           "--input", args->input, "Entities to send (a JSON array or JSON lines; - is stdin)")
        ->required();
    cmd->add_option("-o,--output", args->output, "Where to write the result (- is stdout)")
        ->default_str("-");
    cmd->add_option("--format", args->format, "json (one array) or jsonl (one entity per line)")
        ->check(CLI::IsMember({"json", "jsonl"}))
        ->default_str("json");
    cmd->add_option("--batch-size", args->batch_size, "Entities per request")
        ->default_str("100")
        ->check(CLI::Range(std::size_t{1}, kMaxCount));
    cmd->add_option("--max-answer-mb",
                    args->max_answer_mb,
                    "The largest answer to one batch, held until it parses whole (MiB)")
        ->default_str("256")
        ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 20));
    add_http_options(*cmd, args->http);
    return {cmd, [args] { return run_transform(*args); }};
}

} // namespace sesam::harness
