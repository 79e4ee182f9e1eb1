#pragma once

#include <array>
#include <cstdint>
#include <vector>

namespace sesam::harness {

/// Latencies in microseconds, counted in log-linear buckets as an HDR histogram counts them:
/// every power of two from 1 µs to about 35 minutes split in 64 equal steps, so a percentile is
/// within 1/64 (1.6 %) of the true value, in fixed memory whatever the number of samples.
class LatencyHistogram {
public:
    void record(std::uint64_t micros) noexcept;
    void merge(const LatencyHistogram& other) noexcept;

    std::uint64_t count() const noexcept { return count_; }
    std::uint64_t max() const noexcept { return max_; }
    std::uint64_t min() const noexcept { return count_ ? min_ : 0; }
    double mean() const noexcept
    {
        return count_ ? static_cast<double>(sum_) / static_cast<double>(count_) : 0.0;
    }

    /// The smallest recorded value v such that at least `percent` % of the samples are ≤ v,
    /// as the upper end of its bucket (never above max()); 0 when empty.
    std::uint64_t percentile(double percent) const noexcept;

    /// A range of latencies and how many samples fell in it.
    struct Bucket {
        std::uint64_t lower = 0; ///< µs, the smallest value it holds
        std::uint64_t upper = 0; ///< µs, the largest value it holds
        std::uint64_t count = 0;
    };

    /// The non-empty buckets in increasing order, for drawing the distribution: every power of
    /// two split in `steps` equal steps (1 to 64, rounded down to a power of two; 64 gives the
    /// histogram's own buckets), so that bars of one drawing have equal widths on a log scale.
    /// Values below `steps` get a bucket each; the last bucket is open and reaches max().
    std::vector<Bucket> buckets(unsigned steps = 64) const;

private:
    static constexpr int kSubBits = 6;  // 64 steps per power of two
    static constexpr int kBuckets = 32; // up to 2^(32+6) µs: beyond any timeout
    static constexpr std::size_t kSlots = (kBuckets + 1) << kSubBits;

    static std::size_t slot_of(std::uint64_t micros) noexcept;
    static std::uint64_t upper_of(std::size_t slot) noexcept;
    static std::uint64_t lower_of(std::size_t slot) noexcept;

    std::array<std::uint64_t, kSlots> counts_{};
    std::uint64_t count_ = 0;
    std::uint64_t sum_ = 0;
    std::uint64_t min_ = UINT64_MAX;
    std::uint64_t max_ = 0;
};

} // namespace sesam::harness
