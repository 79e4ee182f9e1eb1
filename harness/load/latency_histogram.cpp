#include "harness/load/latency_histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace sesam::harness {

// Slot layout: values below 64 µs have a slot each; above, the power of two p (value in
// [2^p, 2^(p+1)), p >= 6) has 64 slots of width 2^(p-6).
std::size_t LatencyHistogram::slot_of(std::uint64_t micros) noexcept
{
    if (micros < (1u << kSubBits))
        return static_cast<std::size_t>(micros);
    const int p = static_cast<int>(std::bit_width(micros)) - 1; // micros in [2^p, 2^(p+1))
    const int shift = p - kSubBits;
    const auto sub = static_cast<std::size_t>((micros >> shift) - (std::uint64_t{1} << kSubBits));
    const auto slot = (static_cast<std::size_t>(shift + 1) << kSubBits) + sub;
    return std::min(slot, kSlots - 1);
}

std::uint64_t LatencyHistogram::upper_of(std::size_t slot) noexcept
{
    if (slot < (1u << kSubBits))
        return slot;
    const int shift = static_cast<int>(slot >> kSubBits) - 1;
    const std::uint64_t sub = slot & ((1u << kSubBits) - 1);
    const std::uint64_t low = ((std::uint64_t{1} << kSubBits) + sub) << shift;
    return low + (std::uint64_t{1} << shift) - 1;
}

std::uint64_t LatencyHistogram::lower_of(std::size_t slot) noexcept
{
    if (slot < (1u << kSubBits))
        return slot;
    const int shift = static_cast<int>(slot >> kSubBits) - 1;
    const std::uint64_t sub = slot & ((1u << kSubBits) - 1);
    return ((std::uint64_t{1} << kSubBits) + sub) << shift;
}

void LatencyHistogram::record(std::uint64_t micros) noexcept
{
    ++counts_[slot_of(micros)];
    ++count_;
    sum_ += micros;
    min_ = std::min(min_, micros);
    max_ = std::max(max_, micros);
}

void LatencyHistogram::merge(const LatencyHistogram& other) noexcept
{
    for (std::size_t i = 0; i < kSlots; ++i)
        counts_[i] += other.counts_[i];
    count_ += other.count_;
    sum_ += other.sum_;
    min_ = std::min(min_, other.min_);
    max_ = std::max(max_, other.max_);
}

std::uint64_t LatencyHistogram::percentile(double percent) const noexcept
{
    if (count_ == 0)
        return 0;
    const auto rank = std::max<std::uint64_t>(
        1, static_cast<std::uint64_t>(std::ceil(percent / 100.0 * static_cast<double>(count_))));
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < kSlots; ++i) {
        seen += counts_[i];
        if (seen >= rank)
            return i + 1 == kSlots ? max_ : std::min(upper_of(i), max_); // the last is open
    }
    return max_;
}

std::vector<LatencyHistogram::Bucket> LatencyHistogram::buckets(unsigned steps) const
{
    steps = std::bit_floor(std::clamp(steps, 1u, 1u << kSubBits));
    const int step_bits = std::countr_zero(steps);
    std::vector<Bucket> out;
    for (std::size_t i = 0; i < kSlots; ++i) {
        if (counts_[i] == 0)
            continue;
        // A step is at least as wide as a slot and aligned with it: a slot lies in one step.
        const std::uint64_t value = lower_of(i);
        std::uint64_t lower = value, upper = value;
        if (value >= steps) {
            const int shift = static_cast<int>(std::bit_width(value)) - 1 - step_bits;
            lower = (value >> shift) << shift;
            upper = lower + (std::uint64_t{1} << shift) - 1;
        }
        if (!out.empty() && out.back().lower == lower)
            out.back().count += counts_[i];
        else
            out.push_back({lower, upper, counts_[i]});
    }
    if (counts_[kSlots - 1] != 0)
        out.back().upper = std::max(out.back().upper, max_); // the last slot is open
    return out;
}

} // namespace sesam::harness
