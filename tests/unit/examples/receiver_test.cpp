#include "examples/reference-service/receiver.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <vector>

namespace sesam::reference {
namespace {

using nlohmann::json;

PushRequest incremental(std::string request_id, std::optional<std::string> previous = {})
{
    PushRequest r;
    r.sequence_id = "inc";
    r.request_id = std::move(request_id);
    r.previous_request_id = std::move(previous);
    return r;
}

/// A request of full sequence `sequence`; `previous` empty means it is the first.
PushRequest full(std::string sequence,
                 std::string request_id,
                 std::optional<std::string> previous = {},
                 bool is_last = false)
{
    PushRequest r;
    r.sequence_id = std::move(sequence);
    r.request_id = std::move(request_id);
    r.is_full = true;
    r.is_first = !previous;
    r.previous_request_id = std::move(previous);
    r.is_last = is_last;
    return r;
}

json entity(const std::string& id, int n = 0)
{
    return {{"_id", id}, {"n", n}};
}

json tombstone(const std::string& id)
{
    return {{"_id", id}, {"_deleted", true}};
}

std::vector<std::string> ids(const Receiver& receiver)
{
    std::vector<std::string> out;
    for (const auto& e : receiver.entities())
        out.push_back(e["_id"].get<std::string>());
    return out;
}

using Ids = std::vector<std::string>;

// docs/protocol.md#push-receiver-rules: incremental requests are applied as they come, the last
// write wins
TEST(Receiver, IncrementalRequestsAreApplied)
{
    Receiver r;
    EXPECT_EQ(r.post(incremental("1"), json{entity("b", 1), entity("a")}).status, 200);
    EXPECT_EQ(r.post(incremental("2", "1"), json{entity("b", 2)}).status, 200);
    EXPECT_EQ(r.entities(), json::parse(R"([{"_id":"a","n":0},{"_id":"b","n":2}])"));
}

// docs/protocol.md#push-receiver-rules: incremental parameters may be ignored, even without any
TEST(Receiver, IncrementalWithoutParametersIsApplied)
{
    Receiver r;
    EXPECT_EQ(r.post(PushRequest{}, json{entity("a")}).status, 200);
    EXPECT_EQ(ids(r), Ids{"a"});
}

// docs/protocol.md#push-receiver-rules: batches are re-sent after failures; applying one twice
// changes nothing
TEST(Receiver, RedeliveredIncrementalBatchIsIdempotent)
{
    Receiver r;
    const json batch{entity("a", 1), tombstone("b"), entity("c", 3)};
    ASSERT_EQ(r.post(incremental("1"), json{entity("b")}).status, 200);
    ASSERT_EQ(r.post(incremental("2", "1"), batch).status, 200);
    const auto once = r.entities();
    EXPECT_EQ(r.post(incremental("2", "1"), batch).status, 200);
    EXPECT_EQ(r.entities(), once);
    EXPECT_EQ(ids(r), (Ids{"a", "c"}));
}

// docs/protocol.md#push-full-sync: `_deleted: true` removes the entity; anything but the literal
// true does not
TEST(Receiver, DeletedTrueRemovesTheEntity)
{
    Receiver r;
    ASSERT_EQ(r.post(incremental("1"), json{entity("a"), entity("b"), entity("c")}).status, 200);
    const json batch{tombstone("a"),
                     {{"_id", "b"}, {"_deleted", "true"}},
                     {{"_id", "c"}, {"_deleted", false}},
                     tombstone("never-held")};
    EXPECT_EQ(r.post(incremental("2", "1"), batch).status, 200);
    EXPECT_EQ(r.entities(),
              json::parse(R"([{"_id":"b","_deleted":"true"},{"_id":"c","_deleted":false}])"));
}

// docs/protocol.md#push-empty-batch: the empty batch is a no-op success
TEST(Receiver, EmptyBatchIsANoOp)
{
    Receiver r;
    ASSERT_EQ(r.post(incremental("1"), json{entity("a")}).status, 200);
    EXPECT_EQ(r.post(incremental("2", "1"), json::array()).status, 200);
    EXPECT_EQ(ids(r), Ids{"a"});
}

// docs/protocol.md#push-example, #push-full-sync: R1 is_first, R2, R3 empty is_last; what was not
// seen is deleted
TEST(Receiver, FullSequenceDetectsDeletions)
{
    Receiver r;
    ASSERT_EQ(r.post(incremental("1"), json{entity("old"), entity("a", 0)}).status, 200);
    EXPECT_EQ(r.post(full("S", "R1"), json{entity("a", 1), entity("b", 1)}).status, 200);
    EXPECT_EQ(r.post(full("S", "R2", "R1"), json{entity("c", 1), tombstone("d")}).status, 200);
    EXPECT_EQ(ids(r), (Ids{"a", "b", "c", "old"})); // nothing deleted before is_last
    const auto last = r.post(full("S", "R3", "R2", true), json::array());
    EXPECT_EQ(last.status, 200);
    EXPECT_NE(last.message.find("1 entities not seen were deleted"), std::string::npos)
        << last.message;
    EXPECT_EQ(r.entities(),
              json::parse(R"([{"_id":"a","n":1},{"_id":"b","n":1},{"_id":"c","n":1}])"));
}

// docs/protocol.md#push-full-sync: a deleted entity in the sequence counts as seen, and stays
// deleted
TEST(Receiver, DeletedEntitiesCountAsSeen)
{
    Receiver r;
    ASSERT_EQ(r.post(incremental("1"), json{entity("a"), entity("b")}).status, 200);
    EXPECT_EQ(r.post(full("S", "R1", {}, true), json{tombstone("a"), entity("b")}).status, 200);
    EXPECT_EQ(ids(r), Ids{"b"});
}

// docs/protocol.md#push-empty-batch: a full run with no entities is one `[]` with is_first and
// is_last: all deleted
TEST(Receiver, EmptyFullSyncDeletesEverything)
{
    Receiver r;
    ASSERT_EQ(r.post(incremental("1"), json{entity("a"), entity("b")}).status, 200);
    EXPECT_EQ(r.post(full("S", "R1", {}, true), json::array()).status, 200);
    EXPECT_EQ(r.entities(), json::array());
}

// docs/protocol.md#push-receiver-rules: the empty batch counts in the request chain
TEST(Receiver, EmptyBatchCountsInTheChain)
{
    Receiver r;
    ASSERT_EQ(r.post(full("S", "R1"), json{entity("a")}).status, 200);
    EXPECT_EQ(r.post(full("S", "R2", "R1"), json::array()).status, 200);
    EXPECT_EQ(r.post(full("S", "R3", "R1"), json{entity("b")}).status, 409);
    EXPECT_EQ(r.post(full("S", "R3", "R2"), json{entity("b")}).status, 200);
    EXPECT_EQ(ids(r), (Ids{"a", "b"}));
}

// docs/protocol.md#push-receiver-rules: 409 when previous_request_id is not the last request_id,
// naming both
TEST(Receiver, BrokenChainIsAConflict)
{
    Receiver r;
    ASSERT_EQ(r.post(full("abc", "3"), json{entity("a")}).status, 200);
    ASSERT_EQ(r.post(full("abc", "4", "3"), json{entity("b")}).status, 200);
    const auto answer = r.post(full("abc", "5", "3"), json{entity("c")});
    EXPECT_EQ(answer.status, 409);
    EXPECT_EQ(
        answer.message,
        R"(previous_request_id "3" does not follow the last request_id "4" of sequence "abc")");
    EXPECT_EQ(ids(r), (Ids{"a", "b"})); // a rejected request changes nothing

    auto missing = full("abc", "5", "4");
    missing.previous_request_id.reset();
    missing.is_first = false;
    EXPECT_EQ(r.post(missing, json::array()).status, 409);
    // The chain still continues from "4".
    EXPECT_EQ(r.post(full("abc", "5", "4"), json::array()).status, 200);
}

// docs/protocol.md#push-receiver-rules: is_full may not change within a sequence, either way
TEST(Receiver, IsFullChangingIsAConflict)
{
    Receiver r;
    ASSERT_EQ(r.post(full("S", "R1"), json{entity("a")}).status, 200);
    auto incremental_in_full = full("S", "R2", "R1");
    incremental_in_full.is_full = false;
    const auto answer = r.post(incremental_in_full, json{entity("b")});
    EXPECT_EQ(answer.status, 409);
    EXPECT_EQ(answer.message, R"(is_full=false but sequence "S" started with is_full=true)");

    ASSERT_EQ(r.post(incremental("1"), json{entity("c")}).status, 200);
    EXPECT_EQ(r.post(full("inc", "2"), json{entity("d")}).status, 409);
    EXPECT_EQ(ids(r), (Ids{"a", "c"}));
}

// docs/protocol.md#push-receiver-rules: is_first on a request known not to be the first
TEST(Receiver, LateIsFirstIsAConflict)
{
    Receiver r;
    ASSERT_EQ(r.post(full("S", "R1"), json{entity("a")}).status, 200);
    ASSERT_EQ(r.post(full("S", "R2", "R1"), json{entity("b")}).status, 200);
    const auto answer = r.post(full("S", "R3"), json{entity("c")});
    EXPECT_EQ(answer.status, 409);
    EXPECT_EQ(answer.message, R"(is_first on request "R3" but sequence "S" has already started)");
    EXPECT_EQ(ids(r), (Ids{"a", "b"}));
}

// docs/protocol.md#push-receiver-rules: without is_first, the sequence must be the active one
TEST(Receiver, UnknownSequenceWithoutIsFirstIsAConflict)
{
    Receiver r;
    EXPECT_EQ(r.post(full("S", "R2", "R1"), json{entity("a")}).status, 409);
    ASSERT_EQ(r.post(full("T", "R1"), json::array()).status, 200);
    EXPECT_EQ(r.post(full("S", "R2", "R1"), json{entity("a")}).status, 409);
    EXPECT_EQ(r.entities(), json::array());
}

// docs/protocol.md#push-receiver-rules: one full sequence at a time; a new sequence replaces the
// active one
TEST(Receiver, NewIsFirstReplacesTheActiveSequence)
{
    Receiver r;
    ASSERT_EQ(r.post(full("old", "R1"), json{entity("a"), entity("b")}).status, 200);
    EXPECT_EQ(r.post(full("new", "R1"), json{entity("b", 2)}).status, 200);
    // The replaced sequence cannot continue.
    EXPECT_EQ(r.post(full("old", "R2", "R1"), json{entity("c")}).status, 409);
    EXPECT_EQ(r.post(full("new", "R2", "R1", true), json::array()).status, 200);
    EXPECT_EQ(r.entities(), json::parse(R"([{"_id":"b","n":2}])"));
}

// docs/protocol.md#push-receiver-rules: an incremental request does not touch the active full
// sequence
TEST(Receiver, IncrementalDoesNotTouchTheFullSequence)
{
    Receiver r;
    ASSERT_EQ(r.post(full("S", "R1"), json{entity("a")}).status, 200);
    EXPECT_EQ(r.post(incremental("X"), json{entity("b")}).status, 200);
    EXPECT_EQ(r.post(full("S", "R2", "R1", true), json::array()).status, 200);
    EXPECT_EQ(ids(r), Ids{"a"}); // b came outside the full sequence: not seen, deleted
}

// An incremental write of an entity the active full sequence already sent keeps it seen; a
// second full sync marks afresh, so what only the first one sent is deleted at its is_last.
TEST(Receiver, SeenMarksBelongToTheirFullSequence)
{
    Receiver r;
    ASSERT_EQ(r.post(full("S", "R1"), json{entity("a"), entity("b")}).status, 200);
    EXPECT_EQ(r.post(incremental("X"), json{entity("a", 2)}).status, 200);
    EXPECT_EQ(r.post(full("S", "R2", "R1", true), json::array()).status, 200);
    EXPECT_EQ(r.entities(), json::parse(R"([{"_id":"a","n":2},{"_id":"b","n":0}])"));
    EXPECT_EQ(r.post(full("T", "R1"), json{entity("b", 3)}).status, 200);
    EXPECT_EQ(r.post(full("T", "R2", "R1", true), json::array()).status, 200);
    EXPECT_EQ(r.entities(), json::parse(R"([{"_id":"b","n":3}])"));
}

// The entities live in the receiver's own file, ordered by `_id` bytes as std::string orders
// them, and move with it; two receivers share nothing.
TEST(Receiver, EachReceiverHasItsOwnStoreAndMovesWithIt)
{
    Receiver a;
    Receiver b;
    ASSERT_EQ(
        a.post(incremental("1"), json{entity("z"), entity("B"), entity("é"), entity("a")}).status,
        200);
    EXPECT_EQ(ids(a), (Ids{"B", "a", "z", "é"}));
    EXPECT_EQ(ids(b), Ids{});
    Receiver moved(std::move(a));
    EXPECT_EQ(ids(moved), (Ids{"B", "a", "z", "é"}));
    b = std::move(moved);
    EXPECT_EQ(ids(b), (Ids{"B", "a", "z", "é"}));
}

// Many entities, written in batches, read back whole: nothing is lost on the way to the file.
TEST(Receiver, ManyEntitiesSurviveTheStore)
{
    Receiver r;
    std::string previous;
    for (int batch = 0; batch < 20; ++batch) {
        auto entities = json::array();
        for (int i = 0; i < 500; ++i)
            entities.push_back(entity("e" + std::to_string(batch * 500 + i), batch));
        const auto id = "R" + std::to_string(batch);
        const auto request = batch == 0 ? full("S", id) : full("S", id, previous);
        ASSERT_EQ(r.post(request, entities).status, 200);
        previous = id;
    }
    ASSERT_EQ(r.post(full("S", "last", previous, true), json::array()).status, 200);
    const auto held = r.entities();
    ASSERT_EQ(held.size(), 10000u);
    EXPECT_EQ(held[0], entity("e0", 0));
    EXPECT_EQ(held.back(), entity("e9999", 19));
}

// docs/protocol.md#push-receiver-rules: a re-send of the last request is a no-op, also of the first
// one
TEST(Receiver, ResentLastRequestIsANoOp)
{
    Receiver r;
    ASSERT_EQ(r.post(full("S", "R1"), json{entity("a")}).status, 200);
    EXPECT_EQ(r.post(full("S", "R1"), json{entity("a"), entity("x")}).status, 200);
    EXPECT_EQ(ids(r), Ids{"a"});
    ASSERT_EQ(r.post(full("S", "R2", "R1"), json{entity("b")}).status, 200);
    const auto again = r.post(full("S", "R2", "R1"), json{entity("b", 9)});
    EXPECT_EQ(again.status, 200);
    EXPECT_EQ(again.message, R"(request "R2" of sequence "S" was already applied)");
    EXPECT_EQ(r.entities(), json::parse(R"([{"_id":"a","n":0},{"_id":"b","n":0}])"));
    // An older request is not the last one: out of order.
    EXPECT_EQ(r.post(full("S", "R1"), json{entity("a")}).status, 409);
}

// docs/protocol.md#push-full-sync, #push-receiver-rules: a re-sent is_last after completion does
// not delete a second time
TEST(Receiver, ResentIsLastDoesNotDeleteAgain)
{
    Receiver r;
    ASSERT_EQ(r.post(full("S", "R1"), json{entity("a")}).status, 200);
    ASSERT_EQ(r.post(full("S", "R2", "R1", true), json::array()).status, 200);
    ASSERT_EQ(r.post(incremental("1"), json{entity("b")}).status, 200);
    EXPECT_EQ(r.post(full("S", "R2", "R1", true), json::array()).status, 200);
    EXPECT_EQ(ids(r), (Ids{"a", "b"}));
    // After is_last, the sequence takes no further requests.
    EXPECT_EQ(r.post(full("S", "R3", "R2"), json{entity("c")}).status, 409);
    EXPECT_EQ(ids(r), (Ids{"a", "b"}));
}

TEST(Receiver, FullRequestNeedsSequenceAndRequestId)
{
    Receiver r;
    auto no_sequence = full("S", "R1");
    no_sequence.sequence_id.reset();
    EXPECT_EQ(r.post(no_sequence, json{entity("a")}).status, 400);
    auto no_request = full("S", "R1");
    no_request.request_id.reset();
    EXPECT_EQ(r.post(no_request, json{entity("a")}).status, 400);
    EXPECT_EQ(r.entities(), json::array());
}

// docs/protocol.md#push-request: the body is a JSON array of entities with string `_id`
TEST(Receiver, BodyMustBeAnArrayOfEntitiesWithStringId)
{
    Receiver r;
    auto status_and_message = [&](const json& body) {
        auto answer = r.post(incremental("1"), body);
        return std::to_string(answer.status) + " " + answer.message;
    };
    EXPECT_EQ(status_and_message(entity("a")), "400 the body must be a JSON array of entities");
    EXPECT_EQ(status_and_message(json{entity("a"), 1}), "400 entity 1 is not a JSON object");
    EXPECT_EQ(status_and_message(json{entity("a"), json::object()}),
              R"(400 entity 1 has no string "_id")");
    EXPECT_EQ(status_and_message(json{{{"_id", 7}}}), R"(400 entity 0 has no string "_id")");
    EXPECT_EQ(r.entities(), json::array()); // entity "a" of a rejected batch is not applied
}

// docs/protocol.md#http-transform: same order, each entity with `transformed` and `field_count`
// added
TEST(ReferenceTransform, AddsTwoFields)
{
    const auto in = json::parse(R"([{"_id":"b","x":1,"y":[2],"_updated":5},
                                    {"_id":"a","_deleted":true},
                                    {}])");
    const auto out = reference_transform(in);
    ASSERT_TRUE(out);
    EXPECT_EQ(out->dump(),
              R"([{"_id":"b","_updated":5,"field_count":2,"transformed":true,"x":1,"y":[2]},)"
              R"({"_deleted":true,"_id":"a","field_count":0,"transformed":true},)"
              R"({"field_count":0,"transformed":true}])");
}

TEST(ReferenceTransform, EmptyInEmptyOut)
{
    const auto out = reference_transform(json::array());
    ASSERT_TRUE(out);
    EXPECT_EQ(*out, json::array());
}

TEST(ReferenceTransform, RejectsAnythingButAnArrayOfObjects)
{
    EXPECT_FALSE(reference_transform(json::object()));
    EXPECT_FALSE(reference_transform(json::parse(R"([{"_id":"a"},2])")));
    EXPECT_FALSE(reference_transform(json("text")));
}

} // namespace
} // namespace sesam::reference
