#include "emulator/push/push_sequence.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string_view>

namespace sesam::emulator {
namespace {

using Query = std::vector<std::pair<std::string, std::string>>;

/// 8-4-4-4-12 lower-case hex digits, version 4, variant 0b10.
bool is_uuid4(std::string_view id)
{
    if (id.size() != 36)
        return false;
    for (std::size_t i = 0; i < id.size(); ++i) {
        const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? id[i] != '-' : std::string_view("0123456789abcdef").find(id[i]) == id.npos)
            return false;
    }
    return id[14] == '4' && std::string_view("89ab").find(id[19]) != id.npos;
}

// docs/protocol.md#push-request, #defaults: the parameter order, and flags only when true
TEST(PushParamsQuery, SendsEveryParameterInTheDocumentedOrder)
{
    const PushParams p{.sequence_id = "s",
                       .request_id = "2",
                       .previous_request_id = "1",
                       .is_full = true,
                       .is_first = true,
                       .is_last = true};
    EXPECT_EQ(p.query(),
              (Query{{"sequence_id", "s"},
                     {"is_full", "true"},
                     {"request_id", "2"},
                     {"previous_request_id", "1"},
                     {"is_first", "true"},
                     {"is_last", "true"}}));
}

TEST(PushParamsQuery, LeavesOutAbsentAndFalseParametersButNotIsFull)
{
    const PushParams p{.sequence_id = "s", .request_id = "1", .previous_request_id = std::nullopt};
    EXPECT_EQ(p.query(), (Query{{"sequence_id", "s"}, {"is_full", "false"}, {"request_id", "1"}}));
}

TEST(PushParamsQuery, IsLastWithoutIsFirst)
{
    const PushParams p{.sequence_id = "s",
                       .request_id = "3",
                       .previous_request_id = "2",
                       .is_full = true,
                       .is_last = true};
    EXPECT_EQ(p.query(),
              (Query{{"sequence_id", "s"},
                     {"is_full", "true"},
                     {"request_id", "3"},
                     {"previous_request_id", "2"},
                     {"is_last", "true"}}));
}

// docs/protocol.md#push-example, the full sync driven through the sequence alone
TEST(PushSequence, WorkedFullExample)
{
    PushSequence seq("seq", true);
    EXPECT_EQ(seq.begin_request(false),
              (PushParams{.sequence_id = "seq",
                          .request_id = "1",
                          .previous_request_id = std::nullopt,
                          .is_full = true,
                          .is_first = true}));
    seq.acknowledge();
    EXPECT_EQ(
        seq.begin_request(false),
        (PushParams{
            .sequence_id = "seq", .request_id = "2", .previous_request_id = "1", .is_full = true}));
    seq.acknowledge();
    EXPECT_EQ(seq.begin_request(true),
              (PushParams{.sequence_id = "seq",
                          .request_id = "3",
                          .previous_request_id = "2",
                          .is_full = true,
                          .is_last = true}));
    seq.acknowledge();
    EXPECT_EQ(seq.requests(), 3U);
    EXPECT_EQ(seq.last_acknowledged(), "3");
}

// docs/protocol.md#push-request: is_first and is_last only in full syncs
TEST(PushSequence, IncrementalNeverSendsFirstOrLast)
{
    PushSequence seq("seq", false);
    EXPECT_EQ(seq.begin_request(false),
              (PushParams{.sequence_id = "seq",
                          .request_id = "1",
                          .previous_request_id = std::nullopt,
                          .is_full = false}));
    seq.acknowledge();
    EXPECT_EQ(seq.begin_request(true),
              (PushParams{.sequence_id = "seq", .request_id = "2", .previous_request_id = "1"}));
    EXPECT_FALSE(seq.is_full());
    EXPECT_EQ(seq.sequence_id(), "seq");
}

TEST(PushSequence, UnacknowledgedRequestsDoNotMoveTheChain)
{
    PushSequence seq("seq", true);
    EXPECT_FALSE(seq.last_acknowledged());
    EXPECT_EQ(seq.begin_request(false).request_id, "1");
    const PushParams second = seq.begin_request(false); // the first was never acknowledged
    EXPECT_EQ(second.request_id, "2");
    EXPECT_FALSE(second.previous_request_id);
    EXPECT_TRUE(second.is_first) << "nothing acknowledged yet";
    seq.acknowledge();
    EXPECT_EQ(seq.last_acknowledged(), "2");
    seq.begin_request(false); // 3, never acknowledged
    const PushParams fourth = seq.begin_request(false);
    EXPECT_EQ(fourth.request_id, "4");
    EXPECT_EQ(fourth.previous_request_id, "2");
    EXPECT_FALSE(fourth.is_first);
    EXPECT_EQ(seq.requests(), 4U);
}

TEST(PushSequence, CurrentIsTheRequestInFlightUnchanged)
{
    PushSequence seq("seq", true);
    const PushParams begun = seq.begin_request(true);
    EXPECT_EQ(seq.current(), begun);
    EXPECT_EQ(seq.current(), begun);
    EXPECT_EQ(seq.requests(), 1U);
    EXPECT_TRUE(begun.is_first);
    EXPECT_TRUE(begun.is_last);
}

TEST(PushSequence, RequestIdsCountInDecimal)
{
    PushSequence seq("seq", false);
    std::string id;
    for (int i = 0; i < 12; ++i)
        id = seq.begin_request(false).request_id;
    EXPECT_EQ(id, "12");
}

// docs/protocol.md#push-request, #defaults: sequence_id is a UUIDv4
TEST(NewSequenceId, IsCanonicalLowerCaseUuidVersion4)
{
    EXPECT_TRUE(is_uuid4("3f0c2a1e-9b7d-4c11-a2e4-0123456789ab"));
    EXPECT_FALSE(is_uuid4("3F0C2A1E-9B7D-4C11-A2E4-0123456789AB"));
    EXPECT_FALSE(is_uuid4("3f0c2a1e-9b7d-1c11-a2e4-0123456789ab"));
    EXPECT_FALSE(is_uuid4("3f0c2a1e-9b7d-4c11-c2e4-0123456789ab"));
    EXPECT_FALSE(is_uuid4("3f0c2a1e9b7d4c11a2e40123456789ab"));

    std::set<std::string> seen;
    std::set<char> variants;
    for (int i = 0; i < 200; ++i) {
        const std::string id = new_sequence_id();
        EXPECT_TRUE(is_uuid4(id)) << id;
        variants.insert(id[19]);
        seen.insert(id);
    }
    EXPECT_EQ(seen.size(), 200U);
    EXPECT_GE(variants.size(), 3U) << "the variant digit carries two random bits";
}

} // namespace
} // namespace sesam::emulator
