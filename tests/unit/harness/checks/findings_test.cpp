// Findings: how much evidence a failed check keeps, and how its message counts the rest.
#include "harness/checks/check.hpp"

#include <gtest/gtest.h>

namespace sesam::harness {
namespace {

constexpr CheckInfo kInfo{
    "source.test", Role::source, Severity::error, "a test", "docs/protocol.md#how-to-read"};

Evidence numbered(std::size_t i)
{
    return {"GET http://h/e", "e" + std::to_string(i), "_id", "x", "y", "curl"};
}

TEST(FindingsTest, NothingFoundPasses)
{
    Findings none;
    EXPECT_TRUE(none.empty());
    EXPECT_EQ(none.count(), 0u);
    const auto r = std::move(none).verdict(kInfo, "things are wrong");
    EXPECT_EQ(r.verdict, Verdict::passed);
    EXPECT_TRUE(r.evidence.empty());
}

TEST(FindingsTest, KeepsTheFirstTenAndCountsTheRest)
{
    Findings found;
    for (std::size_t i = 0; i < kMaxEvidence + 2; ++i)
        found.add(numbered(i));
    EXPECT_EQ(found.count(), kMaxEvidence + 2);
    const auto r = std::move(found).verdict(kInfo, "things are wrong");
    EXPECT_EQ(r.verdict, Verdict::failed);
    EXPECT_EQ(r.message, "12 things are wrong (evidence shows 10, 2 more not shown)");
    ASSERT_EQ(r.evidence.size(), kMaxEvidence);
    EXPECT_EQ(r.evidence.front().entity_id, "e0");
    EXPECT_EQ(r.evidence.back().entity_id, "e9") << "the first ones are kept";
}

TEST(FindingsTest, FailKeepsItsMessageWhenNothingWasLeftOut)
{
    Findings found;
    found.add(numbered(0));
    const auto r = std::move(found).fail(kInfo, "one thing is wrong");
    EXPECT_EQ(r.verdict, Verdict::failed);
    EXPECT_EQ(r.message, "one thing is wrong");
    EXPECT_EQ(r.evidence.size(), 1u);
}

} // namespace
} // namespace sesam::harness
