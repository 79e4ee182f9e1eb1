#include "emulator/transform/transform_client.hpp"

#include <algorithm>

namespace sesam::emulator {

namespace {

constexpr std::size_t kErrorBodyBytes = kErrorBodyShown;

/// Validates the transform's answer as it arrives and keeps its bytes, up to a cap: a batch's
/// answer adds nothing to the output until it has parsed whole (a failed batch adds nothing).
/// Only the bytes are held, so memory is the answer's size, not a multiple of it.
class OutputSink final : public ResponseSink {
public:
    OutputSink(const EntityStreamParser::Options& options, std::uint64_t max_answer_bytes)
        : parser_([](const EntityView&) {}, options), max_answer_bytes_(max_answer_bytes)
    {
    }
    void on_head(const HttpResponseHead& head) override
    {
        status = head.status;
        reason = head.reason;
    }
    bool on_body(std::string_view bytes) override
    {
        bytes_received += bytes.size();
        if (!is_success(status)) {
            if (error_body.size() < kErrorBodyBytes)
                error_body.append(bytes.substr(0, kErrorBodyBytes - error_body.size()));
            return true;
        }
        if (body_bytes + bytes.size() > max_answer_bytes_) {
            over_cap = true;
            return false;
        }
        // Kept in the blocks it came in: no reallocation of one large buffer, so memory is the
        // answer's size (and the cap holds it), not twice that.
        // Small pieces (a chunked body of tiny chunks) are gathered into blocks of 64 KiB.
        constexpr std::size_t kBlock = 64 * 1024;
        if (body.empty() ||
            body.back().size() + bytes.size() > std::max(kBlock, body.back().capacity())) {
            body.emplace_back();
            body.back().reserve(std::max(kBlock, bytes.size()));
        }
        body.back().append(bytes);
        body_bytes += bytes.size();
        if (auto error = parser_.feed(bytes)) {
            stream_error = std::move(error);
            return false;
        }
        return true;
    }
    void finish()
    {
        if (is_success(status) && !stream_error)
            stream_error = parser_.finish();
    }
    const EntityStreamParser& parser() const { return parser_; }

    int status = 0;
    std::string reason;
    std::string error_body;
    std::vector<std::string> body; ///< the answer as received, once it is 2xx
    std::uint64_t body_bytes = 0;
    std::uint64_t bytes_received = 0;
    bool over_cap = false;
    std::optional<StreamError> stream_error;

private:
    EntityStreamParser parser_;
    std::uint64_t max_answer_bytes_;
};

} // namespace

TransformClient::TransformClient(Transport& transport,
                                 TransformOptions options,
                                 EntityHandler on_output)
    : transport_(transport), options_(std::move(options)), on_output_(std::move(on_output)),
      started_(std::chrono::steady_clock::now())
{
    if (options_.batch_size == 0)
        options_.batch_size = 1;
    batch_ = "[";
}

bool TransformClient::add(std::string_view entity_json)
{
    if (report_.failure)
        return false;
    if (in_batch_ > 0)
        batch_ += ',';
    batch_ += entity_json;
    ++in_batch_;
    ++report_.summary.entities_in;
    if (in_batch_ == options_.batch_size)
        return send_batch();
    return true;
}

TransformReport TransformClient::finish()
{
    if (!report_.failure && in_batch_ > 0)
        send_batch();
    report_.summary.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    return std::move(report_);
}

bool TransformClient::send_batch()
{
    auto& summary = report_.summary;
    const std::size_t number = ++summary.batches;
    const std::size_t first = summary.entities_in - in_batch_;
    batch_ += ']';

    HttpRequest request;
    request.method = "POST";
    request.url = options_.url;
    request.headers = options_.headers;
    if (!find_header(request.headers, "Content-Type"))
        // docs/protocol.md#http-transform
        set_header(request.headers, "Content-Type", "application/json");
    request.body = std::move(batch_);
    summary.bytes_sent += request.body.size();

    OutputSink sink(options_.parser, options_.max_answer_bytes);
    auto sent = transport_.send(request, sink);
    summary.bytes_received += sink.bytes_received;
    const auto name = "batch " + std::to_string(number) + " (entities " + std::to_string(first) +
                      "-" + std::to_string(first + in_batch_ - 1) + "): " + describe(request);

    batch_.clear();
    batch_ += '[';
    in_batch_ = 0;

    auto fail = [&](std::string message, bool interrupted = false) {
        report_.failure = TransformFailure{interrupted, name + ": " + std::move(message)};
        return false;
    };
    // docs/protocol.md#http-transform: any non-2xx status fails the run
    if (sink.status != 0 && !is_success(sink.status)) {
        const auto message = describe_status(sink.status, sink.reason, sink.error_body);
        return fail(message);
    }
    if (sink.over_cap)
        return fail("the answer is larger than " + std::to_string(options_.max_answer_bytes >> 20) +
                    " MiB (--max-answer-mb), the most held of one batch's answer; stopped "
                    "reading after " +
                    std::to_string(sink.body_bytes) + " bytes");
    if (sink.stream_error)
        return fail("bad body: " + sink.stream_error->message + " (byte " +
                    std::to_string(sink.stream_error->offset) + ")");
    if (!sent)
        return fail(sent.error().detail, sent.error().code == TransportErrc::interrupted);
    // docs/protocol.md#http-transform: a truncated body fails on parse
    sink.finish();
    if (sink.stream_error)
        return fail("bad body: " + sink.stream_error->message + " (byte " +
                    std::to_string(sink.stream_error->offset) + ")");
    // The answer parsed whole: the same bytes again, now handing each entity on.
    EntityStreamParser output(
        [&](const EntityView& e) {
            ++summary.entities_out;
            on_output_(e);
        },
        options_.parser);
    for (const auto& block : sink.body)
        output.feed(block);
    output.finish();
    if (sink.parser().single_object())
        summary.warnings.push_back(name +
                                   ": the answer is a single object, not an array; taken as one "
                                   "entity (docs/protocol.md#conventions parser tolerance)");
    if (sink.parser().skipped_values() > 0)
        summary.warnings.push_back(name + ": " + std::to_string(sink.parser().skipped_values()) +
                                   " values in the answer are not objects and were skipped");
    return true;
}

} // namespace sesam::emulator
