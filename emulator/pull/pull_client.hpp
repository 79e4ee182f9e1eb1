#pragma once

#include "emulator/http/transport.hpp"
#include "emulator/json_stream/entity_stream_parser.hpp"
#include "emulator/pull/since_tracker.hpp"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace sesam::emulator {

class StateStore;

/// What a run does when the source yields no entities (docs/protocol.md#pull-continuation
/// `if_source_empty`).
enum class IfSourceEmpty : std::uint8_t { accept, fail };

/// The json source's properties (docs/protocol.md#pull-continuation), named as in a pipe
/// configuration.
struct PullOptions {
    /// absolute http URL; may carry its own query string (docs/protocol.md#conventions)
    std::string url;
    HttpHeaders headers;
    bool supports_since = false;
    bool is_chronological = false;
    bool is_since_comparable = true;
    std::optional<std::size_t> page_size;
    std::optional<std::string> initial_since_value;
    std::optional<std::string> subset; ///< JSON text of a DTL expression
    /// docs/protocol.md#pull-paging [UNCONFIRMED]: paging stops on an empty page; optionally on a
    /// short one too.
    bool stop_on_short_page = false;
    IfSourceEmpty if_source_empty = IfSourceEmpty::accept;
    std::size_t checkpoint_interval = 10000; ///< chronological checkpoints, in entities
    EntityStreamParser::Options parser;
};

/// Checks the option combinations Sesam rejects (docs/protocol.md#pull-continuation: page_size
/// needs supports_since, is_chronological and is_since_comparable). Returns a one-line message, or
/// nullopt when valid.
std::optional<std::string> validate(const PullOptions& options);

/// The `subset` value as Sesam sends it: the expression re-serialised with Python's json.dumps
/// spacing (docs/protocol.md#pull-request subset encoding). nullopt when `json_text` is not JSON.
std::optional<std::string> subset_query_value(std::string_view json_text);

/// Figures of one run.
struct PullSummary {
    std::size_t entities = 0;
    std::size_t deleted = 0;
    std::size_t requests = 0;
    std::uint64_t bytes = 0; ///< response body bytes
    std::optional<SinceValue> offset_before;
    std::optional<SinceValue> offset_after;
    SinceStrategy strategy = SinceStrategy::none;
    bool full_run = true;
    double seconds = 0;
    std::vector<std::string> warnings;
};

/// Why a run failed. `kind` maps to exit codes: service → 3, interrupted → 130, store and
/// output (the entities could not be written) → 4.
struct PullFailure {
    enum class Kind : std::uint8_t { service, interrupted, store, output };
    Kind kind = Kind::service;
    std::string message; ///< one line naming the request, e.g. `GET http://…?since=4: status 500`
};

/// The result of a run: the figures (also of a failed run, up to the failure) and the failure.
struct PullReport {
    PullSummary summary;
    std::optional<PullFailure> failure;
    bool ok() const noexcept { return !failure.has_value(); }
};

/// The `json` source client (docs/protocol.md#pull): GET requests with `since`, `limit` and
/// `subset`, paging, the continuation strategies, and the offset kept in the store between runs.
class PullClient {
public:
    using EntityHandler = std::function<void(const EntityView&)>;
    /// Makes every entity handed on so far durable; returns what went wrong, if anything.
    using OutputFlush = std::function<std::optional<std::string>()>;
    /// What went wrong with the output already, if anything (nullopt while it is fine).
    using OutputFailure = std::function<std::optional<std::string>()>;

    /// `store` may be null: then no offset is read or kept.
    PullClient(Transport& transport, StateStore* store, PullOptions options);

    /// Runs the source once for `pipe` (whose offset is used), handing each entity to
    /// `on_entity` as it arrives. `flush_output`, when given, is called before every offset is
    /// stored, so an offset never covers entities that did not reach the output.
    /// `output_failure`, when given, is asked after every entity: a failed output (a closed pipe)
    /// stops the run at once, even against a source that never ends. Never throws for service
    /// behaviour; see PullReport.
    PullReport run(const std::string& pipe,
                   const EntityHandler& on_entity,
                   const OutputFlush& flush_output = {},
                   const OutputFailure& output_failure = {});

private:
    Transport& transport_;
    StateStore* store_;
    PullOptions options_;
};

} // namespace sesam::emulator
