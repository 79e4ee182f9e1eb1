#include "emulator/store/dataset_store.hpp"
#include "emulator/store/state_store.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
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
    // The scan of latest_since: latest_entities through its covering index (no second lookup
    // by id per row), each version by its primary key.
    const auto plan = query(state,
                            "EXPLAIN QUERY PLAN SELECT v.updated, v.id, v.deleted, v.previous,"
                            " v.json FROM datasets d JOIN latest_entities l ON l.ds = d.ds"
                            " JOIN entity_versions v ON v.ds = l.ds AND v.updated = l.updated"
                            " WHERE d.name = 'p' AND l.updated > -1 AND l.filtered = 0"
                            " ORDER BY l.updated");
    std::string text;
    for (const auto& row : plan)
        text += row + "\n";
    EXPECT_NE(text.find("USING COVERING INDEX latest_entities_by_updated_filtered"),
              std::string::npos)
        << text;
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
