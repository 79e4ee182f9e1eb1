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

TEST(LatencyHistogram, BucketsAreTheHistogramsOwnStepsInOrderAndHoldEverySample)
{
    LatencyHistogram h;
    for (const std::uint64_t v : {0u, 5u, 5u, 63u, 64u, 65u, 1000u, 1007u, 1008u, 250'000u})
        h.record(v);
    const auto buckets = h.buckets();
    std::uint64_t total = 0;
    for (std::size_t i = 0; i < buckets.size(); ++i) {
        EXPECT_LE(buckets[i].lower, buckets[i].upper) << i;
        EXPECT_GT(buckets[i].count, 0u) << i;
        if (i > 0) {
            EXPECT_GT(buckets[i].lower, buckets[i - 1].upper) << i;
        }
        total += buckets[i].count;
    }
    EXPECT_EQ(total, h.count());
    // Below 128 µs a bucket per microsecond; 1000 and 1007 share [1000, 1007] (steps of 8 µs
    // between 512 and 1024), 1008 starts the next one.
    ASSERT_EQ(buckets.size(), 8u);
    EXPECT_EQ(buckets[0].lower, 0u);
    EXPECT_EQ(buckets[1].lower, 5u);
    EXPECT_EQ(buckets[1].upper, 5u);
    EXPECT_EQ(buckets[1].count, 2u);
    EXPECT_EQ(buckets[3].lower, 64u);
    EXPECT_EQ(buckets[3].upper, 64u);
    EXPECT_EQ(buckets[5].lower, 1000u);
    EXPECT_EQ(buckets[5].upper, 1007u);
    EXPECT_EQ(buckets[5].count, 2u);
    EXPECT_EQ(buckets[6].lower, 1008u);
    EXPECT_LE(buckets[7].lower, 250'000u);
    EXPECT_GE(buckets[7].upper, 250'000u);
}

TEST(LatencyHistogram, FewerStepsMergeBucketsWithinEachPowerOfTwo)
{
    LatencyHistogram h;
    for (std::uint64_t v = 1; v < 4096; v += 3)
        h.record(v);
    h.record(2);
    // One step per power of two: [1,1], [2,3], [4,7] … [2048,4095].
    const auto octaves = h.buckets(1);
    ASSERT_EQ(octaves.size(), 12u);
    for (std::size_t i = 0; i < octaves.size(); ++i) {
        EXPECT_EQ(octaves[i].lower, std::uint64_t{1} << i);
        EXPECT_EQ(octaves[i].upper, (std::uint64_t{2} << i) - 1);
    }
    // Four steps: [1024, 1279], [1280, 1535], … and the counts add up whatever the steps.
    const auto quarters = h.buckets(4);
    std::uint64_t total = 0;
    for (const auto& b : quarters)
        total += b.count;
    EXPECT_EQ(total, h.count());
    const auto at = std::find_if(
        quarters.begin(), quarters.end(), [](const auto& b) { return b.lower == 1280; });
    ASSERT_NE(at, quarters.end());
    EXPECT_EQ(at->upper, 1535u);
    EXPECT_EQ(at->count, 85u); // 1282, 1285, … 1534
    EXPECT_EQ(h.buckets(5).size(), quarters.size()) << "rounded down to a power of two";
}

TEST(LatencyHistogram, TheLastBucketIsOpenAndReachesMax)
{
    LatencyHistogram h;
    h.record(UINT64_MAX / 2);
    const auto buckets = h.buckets();
    ASSERT_EQ(buckets.size(), 1u);
    EXPECT_EQ(buckets[0].upper, UINT64_MAX / 2);
    EXPECT_TRUE(LatencyHistogram().buckets().empty());
}

} // namespace
} // namespace sesam::harness
