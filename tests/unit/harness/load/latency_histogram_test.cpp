#include "harness/load/latency_histogram.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

namespace sesam::harness {
namespace {

TEST(LatencyHistogram, EmptyIsZero)
{
    LatencyHistogram h;
    EXPECT_EQ(h.count(), 0u);
    EXPECT_EQ(h.percentile(99), 0u);
    EXPECT_EQ(h.max(), 0u);
    EXPECT_EQ(h.mean(), 0.0);
}

TEST(LatencyHistogram, SmallValuesAreExact)
{
    LatencyHistogram h;
    for (std::uint64_t v = 1; v <= 10; ++v)
        h.record(v);
    EXPECT_EQ(h.percentile(50), 5u);
    EXPECT_EQ(h.percentile(90), 9u);
    EXPECT_EQ(h.percentile(100), 10u);
    EXPECT_EQ(h.min(), 1u);
    EXPECT_DOUBLE_EQ(h.mean(), 5.5);
}

TEST(LatencyHistogram, PercentilesAreWithinOneSixtyFourthOfTheSortedSamples)
{
    std::mt19937_64 random(7);
    std::lognormal_distribution<double> latency(7.0, 1.5); // ~1 ms, a long tail
    std::vector<std::uint64_t> samples;
    LatencyHistogram a;
    LatencyHistogram b;
    for (int i = 0; i < 100'000; ++i) {
        const auto v = static_cast<std::uint64_t>(latency(random));
        samples.push_back(v);
        (i % 2 ? a : b).record(v);
    }
    a.merge(b);
    std::sort(samples.begin(), samples.end());
    EXPECT_EQ(a.count(), samples.size());
    EXPECT_EQ(a.max(), samples.back());
    for (const double p : {50.0, 95.0, 99.0, 99.9}) {
        const auto exact = samples[static_cast<std::size_t>(std::ceil(p / 100 * 100'000)) - 1];
        const auto got = a.percentile(p);
        EXPECT_GE(got, exact) << p;
        EXPECT_LE(static_cast<double>(got), static_cast<double>(exact) * (1 + 1.0 / 64) + 1) << p;
    }
}

TEST(LatencyHistogram, HugeValuesLandInTheLastBucketAndMaxStaysExact)
{
    LatencyHistogram h;
    h.record(UINT64_MAX / 2);
    h.record(3);
    EXPECT_EQ(h.max(), UINT64_MAX / 2);
    EXPECT_EQ(h.percentile(100), UINT64_MAX / 2);
    EXPECT_EQ(h.percentile(50), 3u);
}

} // namespace
} // namespace sesam::harness
