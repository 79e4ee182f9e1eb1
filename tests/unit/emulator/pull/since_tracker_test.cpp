#include "emulator/pull/since_tracker.hpp"

#include <gtest/gtest.h>

namespace sesam::emulator {
namespace {

SinceValue num(const char* s)
{
    return SinceValue::number(s);
}
SinceValue str(const char* s)
{
    return SinceValue::string(s);
}

// docs/protocol.md#pull-continuation strategy selection order
TEST(ChooseStrategy, FollowsTheDocumentedOrder)
{
    EXPECT_EQ(choose_strategy(false, false, true), SinceStrategy::none);
    EXPECT_EQ(choose_strategy(false, true, true), SinceStrategy::none);
    EXPECT_EQ(choose_strategy(true, true, true), SinceStrategy::chronological);
    EXPECT_EQ(choose_strategy(true, true, false), SinceStrategy::chronological);
    EXPECT_EQ(choose_strategy(true, false, true), SinceStrategy::max);
    EXPECT_EQ(choose_strategy(true, false, false), SinceStrategy::none);
}

// docs/protocol.md#pull-request: since only with supports_since and a stored offset or an initial
// value
TEST(FirstSince, NeverWithoutAStrategy)
{
    SinceTracker t(SinceStrategy::none, num("5"), str("x"));
    EXPECT_FALSE(t.first_since());
}

TEST(FirstSince, StoredOffsetBeatsInitialValue)
{
    EXPECT_EQ(SinceTracker(SinceStrategy::max, num("5"), str("0")).first_since(), num("5"));
    EXPECT_EQ(SinceTracker(SinceStrategy::max, std::nullopt, str("0")).first_since(), str("0"));
    EXPECT_FALSE(
        SinceTracker(SinceStrategy::chronological, std::nullopt, std::nullopt).first_since());
}

// docs/protocol.md#pull-continuation max: the largest value seen, not the last
TEST(MaxStrategy, StoresTheLargestValueSeen)
{
    SinceTracker t(SinceStrategy::max, std::nullopt, std::nullopt);
    for (auto* v : {"3", "10", "7", "9"})
        EXPECT_FALSE(t.observe(num(v)));
    EXPECT_EQ(t.offset_on_success(), num("10"));
    EXPECT_FALSE(t.take_checkpoint()) << "max stores only at the end of a successful run";
}

TEST(MaxStrategy, ComparesNumbersNumericallyAndStringsByCodePoint)
{
    SinceTracker t(SinceStrategy::max, std::nullopt, std::nullopt);
    EXPECT_FALSE(t.observe(num("9")));
    EXPECT_FALSE(t.observe(num("10")));
    EXPECT_FALSE(t.observe(num("-20")));
    EXPECT_EQ(t.offset_on_success(), num("10"));

    SinceTracker s(SinceStrategy::max, std::nullopt, std::nullopt);
    EXPECT_FALSE(s.observe(str("2024-01-02T00:00:00Z")));
    EXPECT_FALSE(s.observe(str("2024-01-10T00:00:00Z")));
    EXPECT_FALSE(s.observe(str("2023-12-31T00:00:00Z")));
    EXPECT_EQ(s.offset_on_success(), str("2024-01-10T00:00:00Z"));
}

TEST(MaxStrategy, MixedTypesAreAnError)
{
    SinceTracker t(SinceStrategy::max, std::nullopt, std::nullopt);
    EXPECT_FALSE(t.observe(num("9")));
    auto problem = t.observe(str("10"));
    ASSERT_TRUE(problem);
    EXPECT_EQ(*problem,
              "_updated \"10\" cannot be ordered against 9 seen before (the max strategy needs "
              "comparable values of one type)");
}

TEST(MaxStrategy, NeverMovesBelowTheStoredOffset)
{
    SinceTracker t(SinceStrategy::max, num("50"), std::nullopt);
    EXPECT_FALSE(t.observe(num("3")));
    EXPECT_FALSE(t.observe(num("7")));
    EXPECT_EQ(t.offset_on_success(), num("50"));
    SinceTracker u(SinceStrategy::max, num("50"), std::nullopt);
    EXPECT_FALSE(u.observe(num("60")));
    EXPECT_EQ(u.offset_on_success(), num("60"));
}

TEST(MaxStrategy, NothingSeenLeavesStoredOffset)
{
    SinceTracker t(SinceStrategy::max, num("5"), std::nullopt);
    EXPECT_FALSE(t.offset_on_success());
}

// docs/protocol.md#pull-continuation chronological: the offset follows the last entity; checkpoints
// during the run
TEST(ChronologicalStrategy, FollowsTheLastEntityAndCheckpoints)
{
    SinceTracker t(SinceStrategy::chronological, std::nullopt, std::nullopt, 3);
    EXPECT_FALSE(t.observe(num("1")));
    EXPECT_FALSE(t.observe(num("2")));
    EXPECT_FALSE(t.take_checkpoint());
    EXPECT_FALSE(t.observe(num("3")));
    EXPECT_EQ(t.take_checkpoint(), num("3"));
    EXPECT_FALSE(t.take_checkpoint()) << "one checkpoint per interval";
    EXPECT_FALSE(t.observe(num("5")));
    EXPECT_FALSE(t.observe(num("4")));
    EXPECT_EQ(t.offset_on_success(), num("4")) << "chronological trusts the order: last, not max";
}

TEST(NoStrategy, StoresNothing)
{
    SinceTracker t(SinceStrategy::none, std::nullopt, std::nullopt, 1);
    EXPECT_FALSE(t.observe(num("1")));
    EXPECT_FALSE(t.take_checkpoint());
    EXPECT_FALSE(t.offset_on_success());
}

TEST(SinceValue, JsonRoundTripKeepsType)
{
    EXPECT_EQ(num("42").to_json(), "42");
    EXPECT_EQ(str("a\"b").to_json(), "\"a\\\"b\"");
    EXPECT_EQ(SinceValue::from_json("42"), num("42"));
    EXPECT_EQ(SinceValue::from_json("\"2024-01-01\""), str("2024-01-01"));
    EXPECT_FALSE(SinceValue::from_json("{broken"));
    EXPECT_EQ(str("2016-06-26T10:46:13.351474Z").query_value(), "2016-06-26T10:46:13.351474Z");
    EXPECT_EQ(num("1700000000000").query_value(), "1700000000000");
}

TEST(CompareSince, IntegersOfDifferentLengthAndSign)
{
    EXPECT_EQ(compare_since(num("100"), num("99")), 1);
    EXPECT_EQ(compare_since(num("-100"), num("-99")), -1);
    EXPECT_EQ(compare_since(num("5"), num("5")), 0);
    EXPECT_EQ(compare_since(num("1.5"), num("2")), -1);
    EXPECT_FALSE(compare_since(num("1"), str("1")));
}

} // namespace
} // namespace sesam::emulator
