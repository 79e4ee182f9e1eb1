#pragma once

#include "emulator/http/transport.hpp"
#include "emulator/push/push_machine.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sesam::emulator {

class DatasetStore;
class StateStore;

/// The json sink's configuration (docs/protocol.md#push-request) and the pump's write settings
/// (docs/protocol.md#push-receiver-rules).
struct PushOptions {
    /// absolute http URL; may carry its own query string (docs/protocol.md#conventions)
    std::string url;
    HttpHeaders headers;
    std::string dataset; ///< the local dataset the pipe reads
    PushSettings settings;
    bool full = false; ///< a full sync even when an offset is stored
};

/// Figures of one sync.
struct PushSummary {
    bool full_sync = true;
    std::string sequence_id;
    std::size_t entities = 0; ///< entities acknowledged by the receiver
    std::size_t deleted = 0;  ///< of them, `_deleted: true`
    std::size_t failed = 0;   ///< entities that failed for good
    std::uint64_t requests = 0;
    std::uint64_t retries = 0;
    std::uint64_t bytes = 0; ///< request body bytes sent
    std::optional<std::int64_t> offset_before;
    std::optional<std::int64_t> offset_after;
    double seconds = 0;
};

/// Why a sync failed. `kind` maps to exit codes: service and conflict → 3, interrupted → 130,
/// store → 4.
struct PushFailure {
    enum class Kind : std::uint8_t { service, conflict, interrupted, store };
    Kind kind = Kind::service;
    std::string message; ///< one line naming the request
};

struct PushReport {
    PushSummary summary;
    std::optional<PushFailure> failure;
    bool ok() const noexcept { return !failure.has_value(); }
};

/// The json sink client (docs/protocol.md#push): pushes a dataset as a Sesam pipe with a json sink
/// does. The first run (no offset) and `full` runs are full syncs of the latest version of every
/// entity; later runs are incremental syncs of what changed since the stored offset. The decisions
/// (batches, params, retries, fallback, 409) are PushMachine's; this class does the I/O.
///
/// The offset is the dataset's `_updated`. It advances only over entities the receiver
/// acknowledged; a full sync that did not complete, or a 409, forgets it, so that the next run
/// starts a new full sequence (docs/protocol.md#push-receiver-rules).
class PushClient {
public:
    PushClient(Transport& transport,
               StateStore& state,
               DatasetStore& datasets,
               PushOptions options);

    /// Runs one sync for `pipe` (whose offset is used). Never throws for receiver behaviour.
    PushReport run(const std::string& pipe);

private:
    Transport& transport_;
    StateStore& state_;
    DatasetStore& datasets_;
    PushOptions options_;
};

} // namespace sesam::emulator
