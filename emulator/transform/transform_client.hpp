#pragma once

#include "emulator/http/transport.hpp"
#include "emulator/json_stream/entity_stream_parser.hpp"

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sesam::emulator {

/// The http transform's configuration (docs/protocol.md#http-transform).
struct TransformOptions {
    /// absolute http URL; may carry its own query string (docs/protocol.md#conventions)
    std::string url;
    HttpHeaders headers;
    std::size_t batch_size = 100; ///< entities per POST (docs/protocol.md#http-transform default)
    /// The largest answer to one batch that is held (as received) until it has parsed whole; a
    /// larger one fails the run naming this cap.
    std::uint64_t max_answer_bytes = std::uint64_t{256} << 20;
    EntityStreamParser::Options parser;
};

struct TransformSummary {
    std::size_t entities_in = 0;
    std::size_t entities_out = 0;
    std::size_t batches = 0;
    std::uint64_t bytes_sent = 0;
    std::uint64_t bytes_received = 0;
    double seconds = 0;
    std::vector<std::string> warnings;
};

/// Why a run failed: the message names the batch and the request. Exit code 3 (130 when
/// interrupted).
struct TransformFailure {
    bool interrupted = false;
    std::string message;
};

struct TransformReport {
    TransformSummary summary;
    std::optional<TransformFailure> failure;
    bool ok() const noexcept { return !failure.has_value(); }
};

/// The http transform client (docs/protocol.md#http-transform): POSTs batches of up to `batch_size`
/// entities, exactly as given, and hands on what comes back, in order: the returned array replaces
/// the batch (the service may drop, split or create entities). A non-2xx status, a body that is not
/// one complete JSON array, or a cut-short body fails the run naming the batch; a bare object
/// counts as one entity, with a warning (parser tolerance: docs/protocol.md#conventions,
/// #real-services).
class TransformClient {
public:
    using EntityHandler = std::function<void(const EntityView&)>;

    TransformClient(Transport& transport, TransformOptions options, EntityHandler on_output);

    /// Adds one input entity (its JSON text). Sends a batch when it is full. Returns false once
    /// the run has failed (see finish()).
    bool add(std::string_view entity_json);

    /// Sends what is left and returns the report.
    TransformReport finish();

private:
    bool send_batch();

    Transport& transport_;
    TransformOptions options_;
    EntityHandler on_output_;
    std::string batch_; ///< the request body being assembled
    std::size_t in_batch_ = 0;
    std::chrono::steady_clock::time_point started_;
    TransformReport report_;
};

} // namespace sesam::emulator
