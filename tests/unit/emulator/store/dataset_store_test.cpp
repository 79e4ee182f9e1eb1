#include "emulator/store/dataset_store.hpp"
#include "emulator/store/state_store.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <csignal>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace sesam::emulator {
namespace {

/// A stored version, copied out of the visit callback.
struct Version {
    std::int64_t updated = 0;
    std::string id;
    bool deleted = false;
    std::optional<std::int64_t> previous;
    std::string json;
};

std::vector<Version>
collect(const std::function<void(const std::function<bool(const StoredEntity&)>&)>& read)
{
    std::vector<Version> out;
    read([&](const StoredEntity& e) {
        out.push_back({e.updated, e.id, e.deleted, e.previous, std::string(e.json)});
        return true;
    });
    return out;
}

/// The message of the std::invalid_argument that `write` throws for `text`.
std::string write_error(DatasetStore::Load& load, std::string_view text)
{
    try {
        load.write(text);
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
    return "<no error>";
}

class DatasetStoreTest : public ::testing::Test {
protected:
    DatasetStoreTest() : state_(StateStore::open(":memory:")), store_(state_)
    {
        store_.set_clock([this] { return now_++; });
    }

    std::vector<Version> latest(std::string_view dataset = "people", std::int64_t after = -1)
    {
        return collect([&](const auto& visit) { store_.latest_since(dataset, after, visit); });
    }

    std::vector<Version> versions(std::string_view id, std::string_view dataset = "people")
    {
        return collect([&](const auto& visit) { store_.versions(dataset, id, visit); });
    }

    /// Writes `entities` in one committed load.
    LoadSummary load(const std::vector<std::string>& entities,
                     bool full = false,
                     std::string_view dataset = "people")
    {
        auto load = store_.begin_load(dataset, full);
        for (const auto& entity : entities)
            load.write(entity);
        return load.commit();
    }

    std::int64_t now_ = 1700000000000000;
    StateStore state_;
    DatasetStore store_;
};

// ---- entity_hash ----

TEST(EntityHash, IsThirtyTwoLowerCaseHexCharacters)
{
    const auto hash = entity_hash(R"({"_id": "a", "name": "Kari"})");
    ASSERT_EQ(hash.size(), 32U);
    EXPECT_EQ(hash.find_first_not_of("0123456789abcdef"), std::string::npos) << hash;
}

TEST(EntityHash, PinnedValue)
{
    // MurmurHash3 x64 128, seed 0, of {"_deleted":false,"_id":"person-1","name":"Kari"}: a change
    // of the algorithm or the canonical form would change every stored `_hash`.
    EXPECT_EQ(entity_hash(R"({"_id": "person-1", "name": "Kari"})"),
              "29711fa35549e4300a71a8d387b9a709");
}

TEST(EntityHash, KeyOrderAndWhitespaceDoNotMatter)
{
    const auto hash = entity_hash(R"({"_id":"a","x":1,"y":{"b":[1,{"q":2,"p":3}],"a":"s"}})");
    EXPECT_EQ(entity_hash(R"( { "y" : { "a" : "s", "b" : [ 1, { "p" : 3, "q" : 2 } ] },
                                "x" : 1, "_id" : "a" } )"),
              hash);
    EXPECT_EQ(entity_hash(R"({"y":{"a":"s","b":[1,{"p":3,"q":2}]},"_id":"a","x":1})"), hash);
}

TEST(EntityHash, EveryValueCounts)
{
    const auto hash = entity_hash(R"({"_id":"a","x":1,"y":{"b":[1,2]}})");
    EXPECT_NE(entity_hash(R"({"_id":"b","x":1,"y":{"b":[1,2]}})"), hash);
    EXPECT_NE(entity_hash(R"({"_id":"a","x":2,"y":{"b":[1,2]}})"), hash);
    EXPECT_NE(entity_hash(R"({"_id":"a","x":1.0,"y":{"b":[1,2]}})"), hash);
    EXPECT_NE(entity_hash(R"({"_id":"a","x":"1","y":{"b":[1,2]}})"), hash);
    EXPECT_NE(entity_hash(R"({"_id":"a","x":1,"y":{"b":[2,1]}})"), hash);
    EXPECT_NE(entity_hash(R"({"_id":"a","x":1,"y":{"c":[1,2]}})"), hash);
    EXPECT_NE(entity_hash(R"({"_id":"a","x":1,"y":{"b":[1,2]},"z":null})"), hash);
    EXPECT_NE(entity_hash(R"({"_id":"a","x":1,"y":{"b":[1,2]},"_deleted":true})"), hash);
}

TEST(EntityHash, DeletedIsNormalisedToABoolean)
{
    const auto live = entity_hash(R"({"_id":"a","x":1})");
    EXPECT_EQ(entity_hash(R"({"_id":"a","x":1,"_deleted":false})"), live);
    EXPECT_EQ(entity_hash(R"({"_id":"a","x":1,"_deleted":"true"})"), live);
    EXPECT_EQ(entity_hash(R"({"_id":"a","x":1,"_deleted":1})"), live);
    EXPECT_EQ(entity_hash(R"({"_id":"a","x":1,"_deleted":null})"), live);
    EXPECT_EQ(entity_hash(R"({"_id":"a","x":1,"_deleted":[true]})"), live);
    EXPECT_NE(entity_hash(R"({"_id":"a","x":1,"_deleted":true})"), live);
}

TEST(EntityHash, OnlyIdAndDeletedOfTheReservedFieldsCount)
{
    const auto hash = entity_hash(R"({"_id":"a","x":1})");
    EXPECT_EQ(entity_hash(R"({"_updated":7,"_id":"a","_previous":6,"_ts":1,"_hash":"ff","x":1,
                             "_filtered":true,"_foo":{"bar":[1]},"_":0})"),
              hash);
    // docs/protocol.md#reserved-fields: reserved only at the root
    EXPECT_NE(entity_hash(R"({"_id":"a","x":1,"y":{"_updated":1}})"),
              entity_hash(R"({"_id":"a","x":1,"y":{}})"));
}

TEST(EntityHash, ReadingWithoutAndWithTheDomAgree)
{
    // A duplicate key makes the store read the entity through nlohmann::json's DOM (the last value
    // wins); the single-pass reading of the same content must give the same canonical text.
    const std::string content =
        R"("_id":"ø\u00e6\"\\\/\n\t\b\f\r\u0001\u001f\u007f","s":"~xunknown tag",)"
        R"("t":"~t2015-12-31","u":"~~f","n":[-0,1.50,1e2,-2.5E-3,18446744073709551615,)"
        R"(-9223372036854775808,123456789012345678901234567890,true,false,null],)"
        R"("o":{"z":{},"a":[],"m":[[],{}],"é":1,"e":2,"Z":3,"_x":"nested"},"":"empty key")";
    EXPECT_EQ(entity_hash("{\"n\":0," + content + "}"), entity_hash("{" + content + "}"));
    EXPECT_EQ(entity_hash(R"({"_id":"a","o":{"dup":1,"x":[1,{"k":1,"k":2}],"dup":2}})"),
              entity_hash(R"({"_id":"a","o":{"x":[1,{"k":2}],"dup":2}})"));
}

/// `_hash` of `{"_id":"e",<first_member><members>}` read in one pass, and read through the DOM
/// alone; "<error>" when the reading throws.
std::pair<std::string, std::string> fast_and_dom_hash(const std::string& first_member,
                                                      const std::string& members)
{
    const auto hash = [](const auto& read, const std::string& text) {
        try {
            return read(text);
        } catch (const std::invalid_argument&) {
            return std::string("<error>");
        }
    };
    const std::string text = "{\"_id\":\"e\"," + first_member + members + "}";
    return {hash([](const std::string& t) { return entity_hash(t); }, text),
            hash([](const std::string& t) { return entity_hash_by_dom(t); }, text)};
}

TEST(EntityHash, TheSinglePassAndTheDomAgreeOnEveryKindOfNumberAndString)
{
    // Every value here is read by the single pass (simdjson); the DOM (nlohmann) is the
    // reference. Numbers are written as nlohmann reads them: an integer token that fits 64 bits as
    // an integer (-0 as 0), every other number as a double in dump()'s shortest form.
    for (const char* value : {"0",
                              "-0",
                              "7",
                              "-7",
                              "9223372036854775807",
                              "-9223372036854775808",
                              "9223372036854775808",
                              "18446744073709551615",
                              "1.0",
                              "-0.0",
                              "1.50",
                              "0.1",
                              "1e2",
                              "1E+2",
                              "-2.5E-3",
                              "123.456e10",
                              "1e308",
                              "1.7976931348623157e308",
                              "5e-324",
                              "2.2250738585072014e-308",
                              "1e-400",
                              "0.30000000000000004",
                              "3.141592653589793238",
                              "100000000000000000000.5",
                              R"("")",
                              R"("plain")",
                              R"("ø\u00e6 \ud83d\ude00")",
                              R"("\"\\\/\b\f\n\r\t")",
                              R"("\u0000\u0001\u001f\u007f\u0080")",
                              R"("~t2015-12-31")",
                              R"("~xunknown tag")",
                              R"("~~f")",
                              "true",
                              "false",
                              "null",
                              "[]",
                              "{}",
                              "[[],{}]",
                              R"({"b":1,"a":{"d":[1,2.5,"x"],"c":null}})",
                              R"([{"z":1,"y":2},{"é":1,"e":2,"Z":3}])"}) {
        const auto [fast, dom] = fast_and_dom_hash(std::string("\"v\":") + value, "");
        EXPECT_EQ(fast, dom) << value;
        EXPECT_NE(fast, "<error>") << value;
    }
}

TEST(EntityHash, RandomEntitiesHashTheSameInOnePassAndThroughTheDom)
{
    std::mt19937 rng(20261206); // fixed: a failure is reproducible
    const auto pick = [&](std::size_t n) {
        return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng);
    };
    const std::vector<std::string> strings = {R"("")",
                                              R"("a")",
                                              R"("Ola Nordmann")",
                                              R"("line\nbreak")",
                                              R"("q\"uote")",
                                              R"("\u00f8")",
                                              R"("ø")",
                                              R"("\ud83d\ude00")",
                                              R"("tab\there")",
                                              R"("\/")",
                                              R"("~:hr:1")",
                                              R"("~f1.5")",
                                              R"("~t2020-01-01T00:00:00Z")",
                                              R"("~uc1f9a1a0-7e0e-4b1e-9b59-8a1f5c9e6b7f")",
                                              R"("~bAAE=")",
                                              R"("~~x")",
                                              R"("~rhttp://x/")",
                                              R"("~f")",
                                              R"("~tnot a time")"};
    const std::vector<std::string> numbers = {"0",
                                              "-0",
                                              "1",
                                              "-1",
                                              "42",
                                              "9007199254740993",
                                              "-9223372036854775808",
                                              "18446744073709551615",
                                              "0.5",
                                              "-0.0",
                                              "1e10",
                                              "1.25e-7",
                                              "6.02214076E23",
                                              "1e-320",
                                              "0.1",
                                              "2.5",
                                              "-3.75",
                                              "1e400",
                                              "123456789012345678901234567890",
                                              "3.141592653589793238462",
                                              "12345678901234567890.0",
                                              "-0.000000000000000000001234"};
    const std::vector<std::string> keys = {
        "a", "b", "name", "z", "Z", "é", "e", "_x", "_id", "", "key with space", "aa", "a\u0062"};
    std::function<std::string(int)> value = [&](int depth) -> std::string {
        switch (depth > 2 ? pick(4) : pick(6)) {
        case 0:
            return strings[pick(strings.size())];
        case 1:
            return numbers[pick(numbers.size())];
        case 2:
            return std::vector<std::string>{"true", "false", "null"}[pick(3)];
        case 3:
            return std::vector<std::string>{"[]", "{}"}[pick(2)];
        case 4: {
            std::string out = "[";
            for (std::size_t i = 0, n = pick(4); i < n; ++i)
                out += (i ? "," : "") + value(depth + 1);
            return out + "]";
        }
        default: {
            std::string out = "{";
            for (std::size_t i = 0, n = pick(4); i < n; ++i)
                out += (i ? ",\"" : "\"") + keys[pick(keys.size())] + "\":" + value(depth + 1);
            return out + "}";
        }
        }
    };
    int agreed = 0;
    int errors = 0;
    for (int i = 0; i < 3000; ++i) {
        std::string members;
        for (std::size_t m = 0, n = pick(5); m < n; ++m)
            members += ",\"f" + std::to_string(m) + "\":" + value(0);
        const auto [fast, dom] = fast_and_dom_hash("\"first\":" + value(0), members);
        ASSERT_EQ(fast, dom) << "first differing entity: " << members;
        ++(fast == "<error>" ? errors : agreed);
    }
    // Both kinds of outcome were met: the comparison covered hashes, not only refusals.
    EXPECT_GT(agreed, 1000);
    EXPECT_GT(errors, 100);
}

TEST(EntityHash, NestingDeeperThanAThousandLevelsIsRefusedNotACrash)
{
    const auto nested = [](std::size_t depth) {
        return R"({"_id":"a","x":)" + std::string(depth, '[') + std::string(depth, ']') + "}";
    };
    EXPECT_EQ(entity_hash(nested(1000)), entity_hash_by_dom(nested(1000)));
    EXPECT_EQ(entity_hash(nested(1023)), entity_hash_by_dom(nested(1023))); // 1024 levels in all
    for (const std::size_t depth : {1024U, 50000U}) {
        for (const auto& read : {entity_hash, entity_hash_by_dom}) {
            try {
                read(nested(depth));
                ADD_FAILURE() << depth << " levels were taken";
            } catch (const std::invalid_argument& e) {
                EXPECT_STREQ(e.what(), "entity is nested more than 1024 levels deep");
            }
        }
    }
    // Brackets inside strings do not count.
    EXPECT_NO_THROW(entity_hash(R"({"_id":"a","s":")" + std::string(5000, '[') + "\"}"));
}

TEST(EntityHash, NotAnEntityIsAnError)
{
    EXPECT_THROW(entity_hash("[1]"), std::invalid_argument);
    EXPECT_THROW(entity_hash(R"({"x":1})"), std::invalid_argument);
    EXPECT_THROW(entity_hash("{"), std::invalid_argument);
}

// ---- writing ----

TEST_F(DatasetStoreTest, UpdatedCountsFromZero)
{
    EXPECT_EQ(store_.max_updated("people"), std::nullopt);
    const auto summary = load({R"({"_id":"a"})", R"({"_id":"b"})", R"({"_id":"c"})"});
    EXPECT_EQ(summary.received, 3U);
    EXPECT_EQ(summary.written, 3U);
    EXPECT_EQ(summary.unchanged, 0U);
    const auto all = latest();
    ASSERT_EQ(all.size(), 3U);
    EXPECT_EQ(all[0].updated, 0);
    EXPECT_EQ(all[0].id, "a");
    EXPECT_EQ(all[1].updated, 1);
    EXPECT_EQ(all[2].updated, 2);
    EXPECT_EQ(all[2].id, "c");
    EXPECT_EQ(store_.max_updated("people"), 2);
    load({R"({"_id":"d"})"});
    EXPECT_EQ(store_.max_updated("people"), 3);
}

TEST_F(DatasetStoreTest, StoredTextHasTheReservedFieldsFirst)
{
    load({R"({"name":"Kari","_id":"p-1","age":42,"address":{"city":"Tromsø","zip":"9008"}})"});
    const auto all = latest();
    ASSERT_EQ(all.size(), 1U);
    const auto hash = entity_hash(R"({"_id":"p-1","name":"Kari","age":42,
                                      "address":{"city":"Tromsø","zip":"9008"}})");
    EXPECT_EQ(all[0].json,
              R"({"_id":"p-1","_deleted":false,"_updated":0,"_previous":null,)"
              R"("_ts":1700000000000000,"_hash":")" +
                  hash + R"(","name":"Kari","age":42,"address":{"city":"Tromsø","zip":"9008"}})");
    EXPECT_FALSE(all[0].deleted);
    EXPECT_EQ(all[0].previous, std::nullopt);
}

TEST_F(DatasetStoreTest, StoredTextIsCompactWithNormalisedEscapes)
{
    load({"{ \"_id\" : \"q\\\"1\" ,\n \"s\" : \"a\\/b\\u00e6\\u0001\\n\" , \"f\" : 1.50, "
          "\"e\" : {} , \"l\" : [ ] }"});
    const auto all = latest();
    ASSERT_EQ(all.size(), 1U);
    EXPECT_EQ(all[0].id, "q\"1");
    EXPECT_EQ(all[0].json,
              R"({"_id":"q\"1","_deleted":false,"_updated":0,"_previous":null,)"
              R"("_ts":1700000000000000,"_hash":")" +
                  entity_hash(all[0].json) + R"(","s":"a/bæ\u0001\n","f":1.5,"e":{},"l":[]})");
}

TEST_F(DatasetStoreTest, UnderscoreFieldsOfTheInputAreDropped)
{
    load({R"({"_updated":99,"_id":"a","_foo":1,"_ts":5,"_hash":"x","_previous":3,"x":1,)"
          R"("nested":{"_x":1,"_updated":2},"_deleted":"yes"})"});
    const auto all = latest();
    ASSERT_EQ(all.size(), 1U);
    EXPECT_EQ(all[0].json,
              R"({"_id":"a","_deleted":false,"_updated":0,"_previous":null,"_ts":1700000000000000,)"
              R"("_hash":")" +
                  entity_hash(R"({"_id":"a","x":1,"nested":{"_x":1,"_updated":2}})") +
                  R"(","x":1,"nested":{"_x":1,"_updated":2}})");
}

TEST_F(DatasetStoreTest, OnlyLiteralTrueDeletes)
{
    load({R"({"_id":"a","_deleted":true})",
          R"({"_id":"b","_deleted":"true"})",
          R"({"_id":"c","_deleted":1})"});
    const auto all = latest();
    ASSERT_EQ(all.size(), 3U);
    EXPECT_TRUE(all[0].deleted);
    EXPECT_TRUE(all[0].json.starts_with(R"({"_id":"a","_deleted":true,"_updated":0,)"))
        << all[0].json;
    EXPECT_FALSE(all[1].deleted);
    EXPECT_FALSE(all[2].deleted);
}

TEST_F(DatasetStoreTest, PreviousChainsTheVersionsOfAnEntity)
{
    load({R"({"_id":"a","v":1})", R"({"_id":"b","v":1})"});
    load({R"({"_id":"a","v":2})"});
    load({R"({"_id":"c","v":1})", R"({"_id":"a","v":3})"});
    const auto all = versions("a");
    ASSERT_EQ(all.size(), 3U);
    EXPECT_EQ(all[0].updated, 0);
    EXPECT_EQ(all[0].previous, std::nullopt);
    EXPECT_EQ(all[1].updated, 2);
    EXPECT_EQ(all[1].previous, 0);
    EXPECT_EQ(all[2].updated, 4);
    EXPECT_EQ(all[2].previous, 2);
    EXPECT_EQ(all[2].json,
              R"({"_id":"a","_deleted":false,"_updated":4,"_previous":2,"_ts":1700000000000004,)"
              R"("_hash":")" +
                  entity_hash(R"({"_id":"a","v":3})") + R"(","v":3})");
    EXPECT_EQ(versions("b").size(), 1U);
    EXPECT_TRUE(versions("nobody").empty());
}

TEST_F(DatasetStoreTest, AFreshDatasetStillChainsAnIdSeenTwiceInOneLoad)
{
    // A load into an empty dataset inserts first; a second version of an id in the same load
    // must still find the first.
    auto load = store_.begin_load("people", true);
    EXPECT_EQ(load.write(R"({"_id":"a","x":1})"), WriteOutcome::written);
    EXPECT_EQ(load.write(R"({"_id":"b","x":1})"), WriteOutcome::written);
    EXPECT_EQ(load.write(R"({"_id":"a","x":2})"), WriteOutcome::written);
    EXPECT_EQ(load.write(R"({"_id":"a","x":2})"), WriteOutcome::unchanged);
    const auto summary = load.commit();
    EXPECT_EQ(summary.written, 3U);
    EXPECT_EQ(summary.unchanged, 1U);
    const auto a = versions("a");
    ASSERT_EQ(a.size(), 2U);
    EXPECT_EQ(a[0].previous, std::nullopt);
    EXPECT_EQ(a[1].previous, 0);
    const auto now = latest();
    ASSERT_EQ(now.size(), 2U);
    EXPECT_EQ(now[0].id, "b");
    EXPECT_EQ(now[1].id, "a");
    EXPECT_EQ(now[1].updated, 2);
}

TEST_F(DatasetStoreTest, ABatchWritesWhatWritingEachEntityWrites)
{
    const std::vector<std::string> entities = {
        R"({"_id":"a","x":1,"_updated":9})",
        R"({"_id":"b","_deleted":true})",
        R"({"_id":"c","_filtered":true,"y":[1,{"q":"\u00e6"}]})",
        R"({"_id":"a","x":2})",
        R"({"_id":"b","_deleted":true})"};
    const auto one_by_one = load(entities, true, "one");
    now_ = 1700000000000000; // the same `_ts` values again
    EntityBatch batch;
    for (const auto& entity : entities)
        batch.add(entity);
    EXPECT_THROW(batch.add(R"({"_id":7})"), std::invalid_argument);
    EXPECT_THROW(batch.add(R"({"_id":"d","t":"~tnot a time"})"), std::invalid_argument);
    EXPECT_EQ(batch.size(), entities.size()); // a bad entity adds nothing
    auto batched = store_.begin_load("batched", true);
    batched.write(batch);
    const auto summary = batched.commit();
    EXPECT_EQ(summary.received, one_by_one.received);
    EXPECT_EQ(summary.written, one_by_one.written);
    EXPECT_EQ(summary.unchanged, one_by_one.unchanged);
    std::vector<std::string> a;
    std::vector<std::string> b;
    for (const auto& v : collect([&](const auto& visit) { store_.versions("one", "a", visit); }))
        a.push_back(v.json);
    for (const auto& v :
         collect([&](const auto& visit) { store_.versions("batched", "a", visit); }))
        b.push_back(v.json);
    EXPECT_EQ(a, b);
    ASSERT_EQ(a.size(), 2U);
    batch.clear();
    EXPECT_EQ(batch.size(), 0U);
    EXPECT_EQ(batch.bytes(), 0U);
}

TEST_F(DatasetStoreTest, UnchangedWritesWriteNothing)
{
    load({R"({"_id":"a","x":1,"y":2})"});
    auto again = store_.begin_load("people", false);
    EXPECT_EQ(again.write(R"({ "y": 2, "_updated": 17, "x": 1, "_id": "a", "_deleted": false })"),
              WriteOutcome::unchanged);
    EXPECT_EQ(again.write(R"({"_id":"b"})"), WriteOutcome::written);
    EXPECT_EQ(again.write(R"({"_id":"b"})"), WriteOutcome::unchanged);
    const auto summary = again.commit();
    EXPECT_EQ(summary.received, 3U);
    EXPECT_EQ(summary.written, 1U);
    EXPECT_EQ(summary.unchanged, 2U);
    EXPECT_EQ(versions("a").size(), 1U);
    EXPECT_EQ(versions("b").at(0).updated, 1); // the counter did not move for "a"
    EXPECT_EQ(store_.max_updated("people"), 1);
}

TEST_F(DatasetStoreTest, FilteredFlagChangeIsAChange)
{
    load({R"({"_id":"a","x":1})"});
    auto again = store_.begin_load("people", false);
    EXPECT_EQ(again.write(R"({"_id":"a","x":1,"_filtered":true})"), WriteOutcome::written);
    EXPECT_EQ(again.write(R"({"_id":"a","x":1,"_filtered":true})"), WriteOutcome::unchanged);
    EXPECT_EQ(again.write(R"({"_id":"a","x":1,"_filtered":"yes"})"), WriteOutcome::written);
    again.commit();
    const auto all = versions("a");
    ASSERT_EQ(all.size(), 3U);
    EXPECT_EQ(entity_hash(all[0].json), entity_hash(all[1].json));
}

TEST_F(DatasetStoreTest, BadEntitiesAreErrorsThatWriteNothing)
{
    auto load = store_.begin_load("people", true);
    EXPECT_EQ(write_error(load, R"({"_id":"a",)"), "entity is not valid JSON");
    EXPECT_EQ(write_error(load, R"(["_id","a"])"), "entity is not a JSON object, got array");
    EXPECT_EQ(write_error(load, R"("a")"), "entity is not a JSON object, got string");
    EXPECT_EQ(write_error(load, R"({"id":"a"})"), "entity has no _id");
    EXPECT_EQ(write_error(load, R"({"_id":5})"), "_id must be a string, got 5");
    EXPECT_EQ(write_error(load, R"({"_id":{"a":1}})"), R"(_id must be a string, got {"a":1})");
    const auto bad_date = write_error(load, R"({"_id":"p-1","x":{"born":"~t1980-13-01"}})");
    EXPECT_NE(bad_date.find(R"(entity "p-1": field "x.born": )"), std::string::npos) << bad_date;
    const auto dropped = write_error(load, R"({"_id":"p-1","_ts":"~fnot-a-number"})");
    EXPECT_NE(dropped.find(R"(field "_ts")"), std::string::npos) << dropped;
    EXPECT_EQ(load.write(R"({"_id":"ok"})"), WriteOutcome::written);
    const auto summary = load.commit();
    EXPECT_EQ(summary.received, 1U);
    const auto all = latest();
    ASSERT_EQ(all.size(), 1U);
    EXPECT_EQ(all[0].id, "ok");
    EXPECT_EQ(all[0].updated, 0);
}

TEST_F(DatasetStoreTest, DuplicateKeysKeepTheLastValueAtTheFirstPlace)
{
    load({R"({"_id":"x","a":1,"b":2,"a":3,"_id":"a"})"});
    const auto all = latest();
    ASSERT_EQ(all.size(), 1U);
    EXPECT_EQ(all[0].id, "a");
    EXPECT_EQ(all[0].json.substr(all[0].json.size() - 14), R"(","a":3,"b":2})");
    EXPECT_EQ(entity_hash(all[0].json), entity_hash(R"({"_id":"a","b":2,"a":3})"));

    load({R"({"_id":"x","_id":"y"})"});
    EXPECT_EQ(latest().at(1).json,
              R"({"_id":"y","_deleted":false,"_updated":1,"_previous":null,)"
              R"("_ts":1700000000000001,"_hash":")" +
                  entity_hash(R"({"_id":"y"})") + R"("})");
}

// ---- loads ----

TEST_F(DatasetStoreTest, FullLoadDeletesWhatItDidNotSee)
{
    load({R"({"_id":"a","x":1})",
          R"({"_id":"b","x":1})",
          R"({"_id":"c","x":1})",
          R"({"_id":"d","x":1,"_deleted":true})"},
         true);
    const auto summary = load({R"({"_id":"b","x":1})", R"({"_id":"e","x":1})"}, true);
    EXPECT_EQ(summary.received, 2U);
    EXPECT_EQ(summary.written, 1U);
    EXPECT_EQ(summary.unchanged, 1U);
    EXPECT_EQ(summary.deleted_by_tracking, 2U);

    const auto all = latest();
    ASSERT_EQ(all.size(), 5U);
    EXPECT_EQ(all[0].id, "b"); // unchanged: still version 1
    EXPECT_EQ(all[0].updated, 1);
    EXPECT_EQ(all[1].id, "d"); // deleted already: no new version
    EXPECT_EQ(all[1].updated, 3);
    EXPECT_EQ(all[2].id, "e");
    EXPECT_EQ(all[3].id, "a");
    EXPECT_EQ(all[3].updated, 5);
    EXPECT_TRUE(all[3].deleted);
    EXPECT_EQ(all[3].previous, 0);
    EXPECT_EQ(all[3].json,
              R"({"_id":"a","_deleted":true,"_updated":5,"_previous":0,"_ts":1700000000000005,)"
              R"("_hash":")" +
                  entity_hash(R"({"_id":"a","x":1,"_deleted":true})") + R"(","x":1})");
    EXPECT_EQ(all[4].id, "c");
    EXPECT_EQ(all[4].updated, 6);

    // the tombstones are not seen again: a third full load of nothing deletes only b and e
    EXPECT_EQ(load({}, true).deleted_by_tracking, 2U);
    EXPECT_EQ(store_.max_updated("people"), 8);
}

TEST_F(DatasetStoreTest, FullLoadDoesNotDeleteWhatItChanged)
{
    load({R"({"_id":"a","x":1})", R"({"_id":"b","x":1})"}, true);
    const auto summary =
        load({R"({"_id":"a","x":2})", R"({"_id":"b","x":1,"_deleted":true})"}, true);
    EXPECT_EQ(summary.written, 2U);
    EXPECT_EQ(summary.deleted_by_tracking, 0U);
    EXPECT_EQ(versions("a").size(), 2U);
    EXPECT_EQ(versions("b").size(), 2U);
}

TEST_F(DatasetStoreTest, DeletionTrackingKeepsTheFilteredFlag)
{
    load({R"({"_id":"a","_filtered":true})", R"({"_id":"b"})"}, true);
    EXPECT_EQ(load({R"({"_id":"b"})"}, true).deleted_by_tracking, 1U);
    const auto visible = latest();
    ASSERT_EQ(visible.size(), 1U);
    EXPECT_EQ(visible[0].id, "b");
    const auto a = versions("a");
    ASSERT_EQ(a.size(), 2U);
    EXPECT_TRUE(a[1].deleted);
}

TEST_F(DatasetStoreTest, IncrementalLoadDoesNotTrackDeletions)
{
    load({R"({"_id":"a"})", R"({"_id":"b"})"}, true);
    const auto summary = load({R"({"_id":"b","x":1})"}, false);
    EXPECT_EQ(summary.deleted_by_tracking, 0U);
    const auto all = latest();
    ASSERT_EQ(all.size(), 2U);
    EXPECT_FALSE(all[0].deleted);
    EXPECT_FALSE(all[1].deleted);
}

TEST_F(DatasetStoreTest, UncommittedLoadIsRolledBack)
{
    load({R"({"_id":"a"})"});
    {
        auto load = store_.begin_load("people", true);
        load.write(R"({"_id":"b"})");
        load.write(R"({"_id":"a","x":1})");
    }
    {
        auto load = store_.begin_load("other", false);
        load.write(R"({"_id":"c"})");
        auto moved = std::move(load);
    }
    const auto all = latest();
    ASSERT_EQ(all.size(), 1U);
    EXPECT_EQ(all[0].id, "a");
    EXPECT_EQ(store_.max_updated("people"), 0);
    EXPECT_EQ(store_.max_updated("other"), std::nullopt);
    load({R"({"_id":"b"})"});
    EXPECT_EQ(versions("b").at(0).updated, 1);
}

TEST_F(DatasetStoreTest, OneLoadAtATime)
{
    auto first = store_.begin_load("people", false);
    EXPECT_THROW(store_.begin_load("other", false), StoreError);
    first.write(R"({"_id":"a"})");
    first.commit();
    EXPECT_THROW(first.commit(), std::logic_error);
    EXPECT_EQ(latest().size(), 1U);
}

TEST_F(DatasetStoreTest, DatasetsHaveTheirOwnCounters)
{
    load({R"({"_id":"a"})", R"({"_id":"b"})"}, true, "one");
    load({R"({"_id":"a"})"}, true, "two");
    EXPECT_EQ(store_.max_updated("one"), 1);
    EXPECT_EQ(store_.max_updated("two"), 0);
    EXPECT_EQ(latest("two").at(0).updated, 0);
    // a full load of one dataset does not delete in another
    EXPECT_EQ(load({}, true, "two").deleted_by_tracking, 1U);
    EXPECT_FALSE(latest("one").at(0).deleted);
    EXPECT_TRUE(latest("people").empty());
}

// ---- reading ----

TEST_F(DatasetStoreTest, LatestSinceIsInUpdatedOrderAfterTheOffset)
{
    load({R"({"_id":"a"})", R"({"_id":"b"})", R"({"_id":"c"})", R"({"_id":"d","_filtered":true})"});
    load({R"({"_id":"a","x":1})", R"({"_id":"c","_filtered":true})"});
    auto ids = [](const std::vector<Version>& all) {
        std::string out;
        for (const auto& v : all)
            out += v.id + "@" + std::to_string(v.updated) + " ";
        return out;
    };
    EXPECT_EQ(ids(latest()), "b@1 a@4 ");
    EXPECT_EQ(ids(latest("people", 1)), "a@4 ");
    EXPECT_EQ(ids(latest("people", 4)), "");
    EXPECT_EQ(ids(latest("nothing")), "");

    load({R"({"_id":"e"})", R"({"_id":"f"})"});
    std::vector<std::string> seen;
    store_.latest_since("people", -1, [&](const StoredEntity& e) {
        seen.push_back(e.id);
        return seen.size() < 2;
    });
    EXPECT_EQ(seen, (std::vector<std::string>{"b", "a"}));
}

/// The rows of `sql` on the store's connection, each row's columns joined by '|'.
std::vector<std::string> query(StateStore& state, const char* sql)
{
    sqlite3_stmt* st = nullptr;
    std::vector<std::string> rows;
    if (sqlite3_prepare_v2(state.handle(), sql, -1, &st, nullptr) != SQLITE_OK)
        return {std::string("cannot prepare: ") + sqlite3_errmsg(state.handle())};
    while (sqlite3_step(st) == SQLITE_ROW) {
        std::string row;
        for (int c = 0; c < sqlite3_column_count(st); ++c) {
            const auto* text = sqlite3_column_text(st, c);
            row += (c ? "|" : "") + std::string(text ? reinterpret_cast<const char*>(text) : "");
        }
        rows.push_back(row);
    }
    sqlite3_finalize(st);
    return rows;
}

TEST(DatasetStore, APushReadsOnlyTheCoveringIndexAndTheVersions)
{
    auto state = StateStore::open(":memory:");
    {
        DatasetStore store(state);
        // A store made before the covering index: the narrower index only.
        ASSERT_EQ(sqlite3_exec(state.handle(),
                               "DROP INDEX latest_entities_by_updated_filtered;"
                               "CREATE INDEX latest_entities_by_updated"
                               " ON latest_entities (ds, updated);",
                               nullptr,
                               nullptr,
                               nullptr),
                  SQLITE_OK);
    }
    DatasetStore store(state); // opened again: the covering index replaces the narrower one
    EXPECT_EQ(query(state,
                    "SELECT name FROM sqlite_master WHERE type = 'index'"
                    " AND tbl_name = 'latest_entities' AND sql IS NOT NULL"),
              std::vector<std::string>{"latest_entities_by_updated_filtered"});
    // The two scans of latest_since: latest_entities through its covering index (no second
    // lookup by id per row), the versions in their primary key's order.
    const auto plan = [&](const char* sql) {
        std::string text;
        for (const auto& row : query(state, (std::string("EXPLAIN QUERY PLAN ") + sql).c_str()))
            text += row + "\n";
        return text;
    };
    const auto latest = plan("SELECT updated FROM latest_entities"
                             " WHERE ds = 1 AND updated > -1 AND filtered = 0 ORDER BY updated");
    EXPECT_NE(latest.find("USING COVERING INDEX latest_entities_by_updated_filtered"),
              std::string::npos)
        << latest;
    EXPECT_EQ(latest.find("TEMP B-TREE"), std::string::npos) << latest; // no sort
    const auto versions = plan("SELECT updated, id, deleted, previous, json FROM entity_versions"
                               " WHERE ds = 1 AND updated >= 0 ORDER BY updated");
    EXPECT_NE(versions.find("USING PRIMARY KEY (ds=? AND updated>?)"), std::string::npos)
        << versions;
    EXPECT_EQ(versions.find("TEMP B-TREE"), std::string::npos) << versions;
}

TEST_F(DatasetStoreTest, LatestSinceJumpsOverLongRunsOfSupersededVersions)
{
    // k@0, a@1, then b changed 20 times (b@2..b@22), c@23 filtered, d@24; then a again (a@25)
    // and b once more (b@26). Between k@0 and d@24 lie 23 superseded or filtered versions.
    std::vector<std::string> entities = {R"({"_id":"k"})", R"({"_id":"a","v":0})"};
    for (int i = 0; i <= 20; ++i)
        entities.push_back(R"({"_id":"b","v":)" + std::to_string(i) + "}");
    entities.push_back(R"({"_id":"c","_filtered":true})");
    entities.push_back(R"({"_id":"d"})");
    entities.push_back(R"({"_id":"a","v":1})");
    entities.push_back(R"({"_id":"b","v":21})");
    load(entities);
    const auto ids = [&](std::int64_t after) {
        std::vector<std::string> out;
        for (const auto& v : latest("people", after))
            out.push_back(v.id + "@" + std::to_string(v.updated));
        return out;
    };
    EXPECT_EQ(ids(-1), (std::vector<std::string>{"k@0", "d@24", "a@25", "b@26"}));
    EXPECT_EQ(ids(10), (std::vector<std::string>{"d@24", "a@25", "b@26"}));
    EXPECT_EQ(ids(24), (std::vector<std::string>{"a@25", "b@26"}));
    EXPECT_EQ(ids(26), std::vector<std::string>{});
    load({R"({"_id":"e"})", R"({"_id":"d","x":1})"}); // e@27, d@28
    EXPECT_EQ(ids(-1), (std::vector<std::string>{"k@0", "a@25", "b@26", "e@27", "d@28"}));
    // A visit that stops early stops the scan.
    int visited = 0;
    store_.latest_since("people", -1, [&](const StoredEntity&) { return ++visited < 2; });
    EXPECT_EQ(visited, 2);
}

TEST(DatasetStore, PersistsAcrossReopen)
{
    const auto dir = std::filesystem::temp_directory_path() /
                     ("sesam-dataset-store-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    const auto path = (dir / "state.db").string();
    {
        auto state = StateStore::open(path);
        DatasetStore store(state);
        auto load = store.begin_load("people", true);
        load.write(R"({"_id":"a","x":1})");
        load.write(R"({"_id":"b","x":1})");
        load.commit();
    }
    {
        auto state = StateStore::open(path);
        DatasetStore store(state);
        EXPECT_EQ(store.max_updated("people"), 1);
        auto load = store.begin_load("people", true);
        EXPECT_EQ(load.write(R"({"_id":"a","x":1})"), WriteOutcome::unchanged);
        EXPECT_EQ(load.write(R"({"_id":"c","x":1})"), WriteOutcome::written);
        EXPECT_EQ(load.commit().deleted_by_tracking, 1U);
    }
    auto state = StateStore::open(path);
    DatasetStore store(state);
    std::vector<std::string> seen;
    store.latest_since("people", -1, [&](const StoredEntity& e) {
        seen.push_back(e.id + "@" + std::to_string(e.updated) + (e.deleted ? " deleted" : ""));
        return true;
    });
    EXPECT_EQ(seen, (std::vector<std::string>{"a@0", "c@2", "b@3 deleted"}));
    std::filesystem::remove_all(dir);
}

} // namespace
} // namespace sesam::emulator

namespace sesam::emulator {
namespace {

std::filesystem::path fresh_dir(const std::string& name)
{
    const auto dir = std::filesystem::temp_directory_path() /
                     ("sesam-" + name + "-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    return dir;
}

TEST(DatasetStore, ALoadsCommitLeavesTheCheckpointToAThreadOfItsOwn)
{
    const auto dir = fresh_dir("checkpoint");
    const auto path = (dir / "state.db").string();
    auto state = StateStore::open(path);
    DatasetStore store(state);
    EXPECT_EQ(query(state, "PRAGMA page_size"), std::vector<std::string>{"65536"});
    EXPECT_EQ(query(state, "PRAGMA wal_autocheckpoint"), std::vector<std::string>{"1000"});
    {
        auto load = store.begin_load("people", true);
        // No automatic checkpoint inside the load's commit.
        EXPECT_EQ(query(state, "PRAGMA wal_autocheckpoint"), std::vector<std::string>{"0"});
        for (int i = 0; i < 5000; ++i)
            load.write(R"({"_id":"e)" + std::to_string(i) + R"(","text":")" +
                       std::string(200, 'x') + "\"}");
        load.commit();
    }
    EXPECT_EQ(query(state, "PRAGMA wal_autocheckpoint"), std::vector<std::string>{"1000"});
    // The checkpointer thread takes neither SIGINT nor SIGTERM (they go to the threads that wait
    // for them): every thread but this one blocks both.
    const auto main_tid = std::to_string(::getpid());
    int other_threads = 0;
    for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
        if (task.path().filename() == main_tid)
            continue;
        std::ifstream status(task.path() / "status");
        std::string line;
        while (std::getline(status, line) && line.rfind("SigBlk:", 0) != 0) {
        }
        const auto blocked = std::stoull(line.substr(7), nullptr, 16);
        EXPECT_TRUE(blocked & (1ULL << (SIGINT - 1))) << line;
        EXPECT_TRUE(blocked & (1ULL << (SIGTERM - 1))) << line;
        ++other_threads;
    }
    EXPECT_EQ(other_threads, 1);
    state.finish_checkpoint();
    // The load reached the database file: its commit did not checkpoint, so the thread did.
    EXPECT_GT(std::filesystem::file_size(path), 5000U * 200U);
    const auto frames = query(state, "PRAGMA wal_checkpoint(PASSIVE)");
    ASSERT_EQ(frames.size(), 1U);
    const auto busy_log_done = frames[0];
    const auto log = busy_log_done.substr(2, busy_log_done.find('|', 2) - 2);
    EXPECT_EQ(busy_log_done, "0|" + log + "|" + log);
    {
        auto rolled_back = store.begin_load("people", true);
        rolled_back.write(R"({"_id":"x"})");
    }
    EXPECT_EQ(query(state, "PRAGMA wal_autocheckpoint"), std::vector<std::string>{"1000"});
    std::filesystem::remove_all(dir);
}

TEST(DatasetStore, ACrashRightAfterTheCommitKeepsTheLoad)
{
    const auto dir = fresh_dir("crash");
    const auto path = (dir / "state.db").string();
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        // No destructor runs: the background checkpoint may not have started.
        auto state = StateStore::open(path);
        DatasetStore store(state);
        auto load = store.begin_load("people", true);
        for (int i = 0; i < 3000; ++i)
            load.write(R"({"_id":"e)" + std::to_string(i) + R"(","n":)" + std::to_string(i) + "}");
        load.commit();
        ::_exit(0);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status));
    auto state = StateStore::open(path);
    DatasetStore store(state);
    EXPECT_EQ(store.count_since("people", -1), 3000U);
    EXPECT_EQ(store.max_updated("people"), 2999);
    std::filesystem::remove_all(dir);
}

} // namespace
} // namespace sesam::emulator
