#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace sesam::emulator {

/// The query parameters of one json sink request (docs/protocol.md#push-request).
struct PushParams {
    std::string sequence_id;
    std::string request_id;
    /// The last acknowledged request_id: absent on every request before the first 2xx (the
    /// first request, its retries, and any fallback or skipped request begun before it).
    std::optional<std::string> previous_request_id{};
    bool is_full = false;
    /// Sent (as `true`) only in a full sync, on every request before the first 2xx (the first
    /// request, its retries, and any fallback or skipped request begun before it).
    bool is_first = false;
    bool is_last = false; ///< sent (as `true`) only on the last request of a full sync

    /// In the order they are sent: sequence_id, is_full, request_id, previous_request_id,
    /// is_first, is_last; booleans lower-case; is_first/is_last only when true
    /// (docs/protocol.md#push-request, #defaults).
    std::vector<std::pair<std::string, std::string>> query() const;

    friend bool operator==(const PushParams&, const PushParams&) = default;
};

/// The request chain of one sync (docs/protocol.md#push-request, #push-empty-batch,
/// #push-full-sync, #push-receiver-rules), with no I/O.
///
/// - `request_id` is a decimal counter from 1 within the sequence (docs/protocol.md#defaults);
/// - `previous_request_id` is the `request_id` of the last request the receiver acknowledged
///   (2xx), so a retried or single-entity request never breaks the chain the receiver saw;
/// - `is_first` is true only in a full sync, and only while nothing has been acknowledged yet (a
///   retry of the first request, or its single-entity fallback, still carries it);
/// - `is_last` is true only in a full sync, on the request the caller marks as the last one.
class PushSequence {
public:
    PushSequence(std::string sequence_id, bool is_full);

    /// Starts a new request: a new `request_id`, chained to the last acknowledged one.
    /// `last` marks the final request of the sync (the trailing empty batch, normally).
    const PushParams& begin_request(bool last);

    /// The request in flight, unchanged, for a retry (same `request_id`). Only after
    /// begin_request() (asserted).
    const PushParams& current() const;

    /// The request in flight was answered with a 2xx. Only after begin_request() (asserted).
    void acknowledge();

    bool is_full() const noexcept { return is_full_; }
    const std::string& sequence_id() const noexcept { return sequence_id_; }
    /// The `request_id` of the last acknowledged request, if any.
    const std::optional<std::string>& last_acknowledged() const noexcept { return acknowledged_; }
    /// Requests begun so far.
    std::uint64_t requests() const noexcept { return counter_; }

private:
    std::string sequence_id_;
    bool is_full_;
    std::uint64_t counter_ = 0;
    std::optional<std::string> acknowledged_;
    PushParams current_;
};

/// A fresh UUIDv4 in canonical lower-case form, for `sequence_id` (docs/protocol.md#push-request).
std::string new_sequence_id();

} // namespace sesam::emulator
