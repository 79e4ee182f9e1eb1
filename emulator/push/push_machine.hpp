#pragma once

#include "emulator/push/push_sequence.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace sesam::emulator {

/// The json sink's and the pump's write settings (docs/protocol.md#push-request, #push-empty-batch,
/// #push-receiver-rules).
struct PushSettings {
    std::size_t batch_size = 100; ///< entities per POST (asserted >= 1)
    /// docs/protocol.md#push-empty-batch [UNCONFIRMED]: on, per the docs
    bool incremental_trailing_empty_batch = true;
    unsigned batch_retries = 3;                ///< retries of a failed request
    bool fallback_to_single_entities = true;   ///< after a batch fails for good
    unsigned max_consecutive_write_errors = 1; ///< the sync stops at this many (asserted >= 1)
};

/// How the receiver answered one request.
enum class PushResult : std::uint8_t {
    acknowledged, ///< any 2xx (docs/protocol.md#push-receiver-rules)
    conflict,     ///< 409: stop at once, no retry (docs/protocol.md#push-receiver-rules)
    failed,       ///< any other status, a transport error, a timeout: a write error
};

/// The next thing the driver does.
struct PushAction {
    enum class Kind : std::uint8_t { send, done };
    Kind kind = Kind::done;
    PushParams params;     ///< for send
    std::size_t first = 0; ///< for send: the entities [first, first + count) of the sync
    std::size_t count = 0; ///< 0 for the trailing empty batch, whose `first` is the entity count
    bool retry = false;    ///< for send: the same request again (same request_id)
};

/// How a sync ended.
struct PushOutcome {
    enum class Stop : std::uint8_t { none, conflict, write_errors };
    Stop stop = Stop::none;
    /// Entities [0, acknowledged_prefix) were all acknowledged: the offset may advance over
    /// them and no further (docs/protocol.md#push-receiver-rules "the offset advances only over
    /// what was acknowledged").
    std::size_t acknowledged_prefix = 0;
    std::vector<std::size_t> failed; ///< entities that failed for good, in order
    /// Full syncs: the request carrying is_last was acknowledged, the receiver saw the whole
    /// sequence (entities skipped on the way are in `failed`). Incremental syncs: the sync ran to
    /// its end and nothing failed for good (a batch delivered by its single-entity fallback counts
    /// as delivered).
    bool complete = false;
    std::uint64_t requests = 0; ///< requests sent, retries included
    std::uint64_t retries = 0;

    bool ok() const noexcept { return stop == Stop::none && failed.empty() && complete; }
};

/// The whole decision logic of one json sink sync, with no I/O (docs/protocol.md#push). The driver
/// calls next(), performs the action, and reports the result, until next() returns done.
///
/// Rules:
/// - batches of `batch_size` entities in order; then the trailing empty batch: always in a full
///   sync (it carries is_last), in an incremental sync only when
///   `incremental_trailing_empty_batch` (docs/protocol.md#push-empty-batch); a full sync of zero
///   entities is the one empty request, with both is_first and is_last;
/// - a failed request is retried up to `batch_retries` times with the same params;
/// - a data batch of more than one entity that still fails is then sent one entity at a time
///   (one attempt each, a new request_id each) when `fallback_to_single_entities`;
/// - an entity (or a batch without fallback, or a batch of one) that fails for good is one write
///   error; a success resets the count; at `max_consecutive_write_errors` consecutive errors the
///   sync stops; below it, the failed entities are skipped and the sync goes on;
/// - the trailing empty batch failing for good stops the sync (a write error);
/// - 409 stops the sync at once, without retries;
/// - report() without a pending send (one handed out by next()) is a bug (asserted).
class PushMachine {
public:
    PushMachine(std::string sequence_id,
                bool is_full,
                std::size_t entity_count,
                PushSettings settings);

    /// The next action. Calling it again before report() returns the same action.
    const PushAction& next();

    /// The result of the last `send` action.
    void report(PushResult result);

    /// Final once next() returned done.
    const PushOutcome& outcome() const noexcept { return outcome_; }

    const PushSequence& sequence() const noexcept { return sequence_; }

private:
    void plan_next();
    void start_batch(std::size_t first); ///< the data batch at `first`, the trailing one, or done
    void advance();                      ///< past the settled request in flight
    void write_error(std::size_t first, std::size_t count);
    void finish(PushOutcome::Stop stop);

    enum class Phase : std::uint8_t { data, singles, trailing, done };

    PushSequence sequence_;
    const std::size_t count_;
    const PushSettings settings_;
    Phase phase_ = Phase::data;
    bool in_flight_ = false; ///< action_ was handed out and awaits report()
    unsigned attempts_ = 0;  ///< sends so far of the current request (0: not begun yet)
    std::size_t batch_begin_ = 0;
    std::size_t batch_end_ = 0;
    std::size_t single_ = 0; ///< the entity sent alone, in the singles phase
    unsigned consecutive_errors_ = 0;
    PushAction action_;
    PushOutcome outcome_;
};

} // namespace sesam::emulator
