#pragma once

#include "emulator/json_stream/entity_stream_parser.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace sesam::emulator {

/// An `_updated` value used as an offset: opaque, but its JSON type is kept
/// (docs/protocol.md#pull-request, #real-services).
struct SinceValue {
    enum class Kind : std::uint8_t { number, string, other };
    Kind kind = Kind::string;
    /// number: the token text (`42`); string: the decoded text; other: the raw JSON text.
    std::string text;

    static SinceValue number(std::string digits) { return {Kind::number, std::move(digits)}; }
    static SinceValue string(std::string text) { return {Kind::string, std::move(text)}; }

    /// The `_updated` of an entity, or nullopt when it is missing or null.
    static std::optional<SinceValue> from_entity(const EntityView& entity);

    /// Parses an offset as stored (JSON text). nullopt when the text is not JSON.
    static std::optional<SinceValue> from_json(std::string_view json);

    /// JSON text for the store: `42`, `"2024-01-01T10:00:00Z"`.
    std::string to_json() const;

    /// The `since` query value (docs/protocol.md#pull-request): integers as digits, strings
    /// verbatim (the URL layer encodes them), anything else as its JSON text.
    const std::string& query_value() const noexcept { return text; }

    friend bool operator==(const SinceValue&, const SinceValue&) = default;
};

/// Orders two offsets of the same kind (numbers numerically, strings by code point); nullopt when
/// they are not comparable (different kinds, or `other`).
std::optional<int> compare_since(const SinceValue& a, const SinceValue& b);

/// The continuation strategies of the json source (docs/protocol.md#pull-continuation), chosen in
/// this order.
enum class SinceStrategy : std::uint8_t { none, chronological, max };

/// docs/protocol.md#pull-continuation "Strategy selection": chronological, else max, else none.
SinceStrategy
choose_strategy(bool supports_since, bool is_chronological, bool is_since_comparable) noexcept;

const char* to_string(SinceStrategy strategy) noexcept;

/// The offset bookkeeping of one run, with no I/O (docs/protocol.md#pull-continuation):
/// - none: `since` is never sent and nothing is stored;
/// - max: the offset to store is the largest `_updated` seen (never below the stored offset),
///   and only if the run succeeds;
/// - chronological: the offset follows the last `_updated` seen; a checkpoint is due every
///   `checkpoint_interval` entities so that a failed run resumes from the last one.
class SinceTracker {
public:
    SinceTracker(SinceStrategy strategy,
                 std::optional<SinceValue> stored_offset,
                 std::optional<SinceValue> initial_since,
                 std::size_t checkpoint_interval = 10000);

    SinceStrategy strategy() const noexcept { return strategy_; }

    /// `since` of the run's first request: the stored offset, else the initial since value, and
    /// never without a strategy (docs/protocol.md#pull-request). nullopt means a full run.
    std::optional<SinceValue> first_since() const;

    /// Records the `_updated` of the next entity. Returns an error text when, under the max
    /// strategy, it cannot be ordered against the values seen before.
    std::optional<std::string> observe(const SinceValue& updated);

    /// Chronological only: the offset to store now when a checkpoint is due, else nullopt.
    std::optional<SinceValue> take_checkpoint();

    /// The offset to store when the run succeeds; nullopt leaves the stored offset unchanged.
    std::optional<SinceValue> offset_on_success() const;

private:
    SinceStrategy strategy_;
    std::optional<SinceValue> stored_;
    std::optional<SinceValue> initial_;
    std::size_t checkpoint_interval_;
    std::optional<SinceValue> candidate_; ///< last (chronological) or largest (max) seen
    std::size_t since_checkpoint_ = 0;
};

} // namespace sesam::emulator
