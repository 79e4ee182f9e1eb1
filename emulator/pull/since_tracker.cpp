#include "emulator/pull/since_tracker.hpp"

#include <nlohmann/json.hpp>

#include <cstdlib>

namespace sesam::emulator {

namespace {

bool is_plain_integer(std::string_view s)
{
    return s.find_first_of(".eE") == std::string_view::npos;
}

int compare_integers(std::string_view a, std::string_view b)
{
    const bool neg_a = !a.empty() && a[0] == '-';
    const bool neg_b = !b.empty() && b[0] == '-';
    if (neg_a != neg_b)
        return neg_a ? -1 : 1;
    if (neg_a) {
        a.remove_prefix(1);
        b.remove_prefix(1);
    }
    int magnitude = 0;
    if (a.size() != b.size())
        magnitude = a.size() < b.size() ? -1 : 1;
    else if (a != b)
        magnitude = a < b ? -1 : 1;
    return neg_a ? -magnitude : magnitude;
}

} // namespace

std::optional<SinceValue> SinceValue::from_entity(const EntityView& entity)
{
    switch (entity.updated_kind) {
    case JsonKind::missing:
    case JsonKind::null:
        return std::nullopt;
    case JsonKind::number:
        return SinceValue{Kind::number, entity.updated};
    case JsonKind::string:
        return SinceValue{Kind::string, entity.updated};
    default:
        return SinceValue{Kind::other, entity.updated};
    }
}

std::optional<SinceValue> SinceValue::from_json(std::string_view json)
{
    auto value = nlohmann::json::parse(json, nullptr, false);
    if (value.is_discarded() || value.is_null())
        return std::nullopt;
    if (value.is_string())
        return SinceValue{Kind::string, value.get<std::string>()};
    if (value.is_number())
        return SinceValue{Kind::number, std::string(json)};
    return SinceValue{Kind::other, value.dump()};
}

std::string SinceValue::to_json() const
{
    if (kind == Kind::string)
        return nlohmann::json(text).dump();
    return text;
}

std::optional<int> compare_since(const SinceValue& a, const SinceValue& b)
{
    if (a.kind != b.kind || a.kind == SinceValue::Kind::other)
        return std::nullopt;
    if (a.kind == SinceValue::Kind::string)
        return a.text < b.text ? -1 : (a.text == b.text ? 0 : 1);
    if (is_plain_integer(a.text) && is_plain_integer(b.text))
        return compare_integers(a.text, b.text);
    const long double x = std::strtold(a.text.c_str(), nullptr);
    const long double y = std::strtold(b.text.c_str(), nullptr);
    return x < y ? -1 : (x == y ? 0 : 1);
}

SinceStrategy
choose_strategy(bool supports_since, bool is_chronological, bool is_since_comparable) noexcept
{
    // docs/protocol.md#pull-continuation strategy selection, in this order
    if (supports_since && is_chronological)
        return SinceStrategy::chronological;
    if (supports_since && is_since_comparable)
        return SinceStrategy::max;
    return SinceStrategy::none;
}

const char* to_string(SinceStrategy strategy) noexcept
{
    switch (strategy) {
    case SinceStrategy::none:
        return "none";
    case SinceStrategy::chronological:
        return "chronological";
    case SinceStrategy::max:
        return "max";
    }
    return "none";
}

SinceTracker::SinceTracker(SinceStrategy strategy,
                           std::optional<SinceValue> stored_offset,
                           std::optional<SinceValue> initial_since,
                           std::size_t checkpoint_interval)
    : strategy_(strategy), stored_(std::move(stored_offset)), initial_(std::move(initial_since)),
      checkpoint_interval_(checkpoint_interval == 0 ? 1 : checkpoint_interval)
{
}

std::optional<SinceValue> SinceTracker::first_since() const
{
    // docs/protocol.md#pull-request: since only with supports_since and a stored offset or
    // initial_since_value
    if (strategy_ == SinceStrategy::none)
        return std::nullopt;
    return stored_ ? stored_ : initial_;
}

std::optional<std::string> SinceTracker::observe(const SinceValue& updated)
{
    switch (strategy_) {
    case SinceStrategy::none:
        return std::nullopt;
    case SinceStrategy::chronological:
        // docs/protocol.md#pull-continuation: the offset moves forward with every entity seen
        candidate_ = updated;
        ++since_checkpoint_;
        return std::nullopt;
    case SinceStrategy::max: {
        if (!candidate_) {
            // The offset never moves back: a service that ignores since
            // (docs/protocol.md#real-services) and returns older values leaves it where it was.
            auto order = stored_ ? compare_since(updated, *stored_) : std::nullopt;
            candidate_ = order && *order < 0 ? *stored_ : updated;
            return std::nullopt;
        }
        auto order = compare_since(updated, *candidate_);
        if (!order)
            return "_updated " + updated.to_json() + " cannot be ordered against " +
                   candidate_->to_json() +
                   " seen before (the max strategy needs comparable values of one type)";
        if (*order > 0)
            candidate_ = updated;
        return std::nullopt;
    }
    }
    return std::nullopt;
}

std::optional<SinceValue> SinceTracker::take_checkpoint()
{
    if (strategy_ != SinceStrategy::chronological || since_checkpoint_ < checkpoint_interval_)
        return std::nullopt;
    since_checkpoint_ = 0;
    return candidate_;
}

std::optional<SinceValue> SinceTracker::offset_on_success() const
{
    // docs/protocol.md#pull-continuation: max stores the largest value seen, chronological the
    // last; nothing seen leaves the stored offset as it is
    if (strategy_ == SinceStrategy::none)
        return std::nullopt;
    return candidate_;
}

} // namespace sesam::emulator
