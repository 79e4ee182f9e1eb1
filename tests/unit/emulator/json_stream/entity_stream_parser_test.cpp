#include "emulator/entity/transit.hpp"
#include "emulator/json_stream/entity_stream_parser.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <optional>
#include <ostream>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace sesam::emulator {
namespace {

using Options = EntityStreamParser::Options;

/// An EntityView copied out of the callback.
struct Seen {
    std::string bytes;
    std::size_t index = 0;
    std::uint64_t offset = 0;
    JsonKind id_kind = JsonKind::missing;
    std::string id;
    JsonKind updated_kind = JsonKind::missing;
    std::string updated;
    JsonKind deleted_kind = JsonKind::missing;
    bool deleted = false;
    bool has_line_breaks = false;

    friend bool operator==(const Seen&, const Seen&) = default;
};

struct Outcome {
    std::vector<Seen> entities;
    std::optional<std::uint64_t> error_offset;
    std::string error;
    std::size_t skipped = 0;
    bool single_object = false;
    std::uint64_t bytes_seen = 0; ///< only without an error: how much a feed saw depends on chunks

    friend bool operator==(const Outcome&, const Outcome&) = default;
};

void PrintTo(const Outcome& out, std::ostream* os)
{
    *os << out.entities.size() << " entities, " << out.skipped << " skipped";
    for (const Seen& e : out.entities) {
        *os << "\n  #" << e.index << " @" << e.offset << " id=" << e.id << " " << e.bytes;
    }
    if (out.error_offset) {
        *os << "\n  error at " << *out.error_offset << ": " << out.error;
    }
}

/// Feeds `body` in chunks whose sizes `next_size` picks, then finishes (unless a feed failed).
template <typename NextSize>
Outcome run(std::string_view body, const Options& options, NextSize next_size)
{
    Outcome out;
    EntityStreamParser parser(
        [&](const EntityView& v) {
            out.entities.push_back(Seen{std::string(v.bytes),
                                        v.index,
                                        v.offset,
                                        v.id_kind,
                                        v.id,
                                        v.updated_kind,
                                        v.updated,
                                        v.deleted_kind,
                                        v.deleted,
                                        v.has_line_breaks});
        },
        options);
    std::optional<StreamError> error;
    for (std::size_t at = 0; at < body.size() && !error;) {
        const std::size_t n = std::min(next_size(), body.size() - at);
        error = parser.feed(body.substr(at, n));
        at += n;
    }
    if (!error) {
        error = parser.finish();
    }
    if (error) {
        out.error_offset = error->offset;
        out.error = error->message;
        // A failed parser stays failed with the same error.
        const auto again = parser.feed("[]");
        EXPECT_TRUE(again && again->offset == error->offset && again->message == error->message);
    }
    out.skipped = parser.skipped_values();
    out.single_object = parser.single_object();
    if (!error) {
        out.bytes_seen = parser.bytes_seen();
    }
    EXPECT_EQ(parser.entities(), out.entities.size());
    return out;
}

/// Parses `body` fed whole, one byte at a time and in random chunks; all three must agree.
Outcome parse(std::string_view body, const Options& options = {})
{
    const Outcome whole = run(body, options, [&] { return body.size(); });
    const Outcome bytewise = run(body, options, [] { return std::size_t{1}; });
    std::mt19937 rng(20240527);
    std::uniform_int_distribution<std::size_t> size(1, 40);
    const Outcome chunked = run(body, options, [&] { return size(rng); });
    EXPECT_EQ(whole, bytewise) << "1-byte feeding differs for: " << body;
    EXPECT_EQ(whole, chunked) << "random chunks differ for: " << body;
    return whole;
}

/// The error of a body that must fail, as "offset: message".
std::string error_of(std::string_view body, const Options& options = {})
{
    const Outcome out = parse(body, options);
    EXPECT_TRUE(out.error_offset.has_value()) << "no error for: " << body;
    return std::to_string(out.error_offset.value_or(0)) + ": " + out.error;
}

std::uint64_t offset_of(std::string_view body, std::string_view needle)
{
    return body.find(needle);
}

std::string transit_error(std::string_view label_and_field, std::string_view value)
{
    const char* problem = check_transit(value);
    EXPECT_NE(problem, nullptr) << value;
    return std::string(label_and_field) + (problem ? problem : "") + "; value \"" +
           std::string(value) + "\"";
}

TEST(EntityStreamParser, SeveralEntitiesWithExactFacts)
{
    const std::string body = R"([{"_id":"a","_updated":1,"x":[1,2]},)"
                             "\n"
                             R"( {"_id":"b","_deleted":true,"_updated":"s1"}, {"_id":"c"}])";
    const Outcome out = parse(body);
    ASSERT_FALSE(out.error_offset) << out.error;
    ASSERT_EQ(out.entities.size(), 3U);

    const Seen& a = out.entities[0];
    EXPECT_EQ(a.bytes, R"({"_id":"a","_updated":1,"x":[1,2]})");
    EXPECT_EQ(a.index, 0U);
    EXPECT_EQ(a.offset, 1U);
    EXPECT_EQ(a.id_kind, JsonKind::string);
    EXPECT_EQ(a.id, "a");
    EXPECT_EQ(a.updated_kind, JsonKind::number);
    EXPECT_EQ(a.updated, "1");
    EXPECT_EQ(a.deleted_kind, JsonKind::missing);
    EXPECT_FALSE(a.deleted);
    EXPECT_FALSE(a.has_line_breaks);

    const Seen& b = out.entities[1];
    EXPECT_EQ(b.bytes, R"({"_id":"b","_deleted":true,"_updated":"s1"})");
    EXPECT_EQ(b.index, 1U);
    EXPECT_EQ(b.offset, offset_of(body, R"({"_id":"b")"));
    EXPECT_EQ(b.id, "b");
    EXPECT_EQ(b.updated_kind, JsonKind::string);
    EXPECT_EQ(b.updated, "s1");
    EXPECT_EQ(b.deleted_kind, JsonKind::boolean);
    EXPECT_TRUE(b.deleted);

    const Seen& c = out.entities[2];
    EXPECT_EQ(c.bytes, R"({"_id":"c"})");
    EXPECT_EQ(c.index, 2U);
    EXPECT_EQ(c.offset, offset_of(body, R"({"_id":"c"})"));
    EXPECT_EQ(c.updated_kind, JsonKind::missing);
    EXPECT_EQ(c.updated, "");

    EXPECT_EQ(out.skipped, 0U);
    EXPECT_FALSE(out.single_object);
    EXPECT_EQ(out.bytes_seen, body.size());
}

TEST(EntityStreamParser, UpdatedKeepsItsKindAndText)
{
    const Outcome out =
        parse(R"([{"_updated":42},{"_updated":"2016-06-26T10:46:13\u002e35\"Z"},)"
              R"({"_updated":-1.5e3},{},{"_updated":{"a": [1]}},{"_updated":null}])");
    ASSERT_FALSE(out.error_offset) << out.error;
    ASSERT_EQ(out.entities.size(), 6U);
    EXPECT_EQ(out.entities[0].updated_kind, JsonKind::number);
    EXPECT_EQ(out.entities[0].updated, "42");
    EXPECT_EQ(out.entities[1].updated_kind, JsonKind::string);
    EXPECT_EQ(out.entities[1].updated, "2016-06-26T10:46:13.35\"Z");
    EXPECT_EQ(out.entities[2].updated_kind, JsonKind::number);
    EXPECT_EQ(out.entities[2].updated, "-1.5e3");
    EXPECT_EQ(out.entities[3].updated_kind, JsonKind::missing);
    EXPECT_EQ(out.entities[3].updated, "");
    EXPECT_EQ(out.entities[4].updated_kind, JsonKind::object);
    EXPECT_EQ(out.entities[4].updated, R"({"a": [1]})");
    EXPECT_EQ(out.entities[5].updated_kind, JsonKind::null);
    EXPECT_EQ(out.entities[5].updated, "null");
}

TEST(EntityStreamParser, OnlyLiteralTrueDeletes)
{
    const Outcome out =
        parse(R"([{"_deleted":true},{"_deleted":false},{"_deleted":"true"},{"_deleted":1},{}])");
    ASSERT_FALSE(out.error_offset) << out.error;
    ASSERT_EQ(out.entities.size(), 5U);
    EXPECT_EQ(out.entities[0].deleted_kind, JsonKind::boolean);
    EXPECT_TRUE(out.entities[0].deleted);
    EXPECT_EQ(out.entities[1].deleted_kind, JsonKind::boolean);
    EXPECT_FALSE(out.entities[1].deleted);
    EXPECT_EQ(out.entities[2].deleted_kind, JsonKind::string);
    EXPECT_FALSE(out.entities[2].deleted);
    EXPECT_EQ(out.entities[3].deleted_kind, JsonKind::number);
    EXPECT_FALSE(out.entities[3].deleted);
    EXPECT_EQ(out.entities[4].deleted_kind, JsonKind::missing);
    EXPECT_FALSE(out.entities[4].deleted);
}

TEST(EntityStreamParser, OnlyRootKeysAreReserved)
{
    const Outcome out = parse(R"([{"a":{"_id":"inner","_deleted":true,"_updated":5},"_id":"outer",)"
                              R"("l":[{"_id":"x"}]},{"n":{"_id":"only-nested"}}])");
    ASSERT_FALSE(out.error_offset) << out.error;
    ASSERT_EQ(out.entities.size(), 2U);
    EXPECT_EQ(out.entities[0].id, "outer");
    EXPECT_EQ(out.entities[0].deleted_kind, JsonKind::missing);
    EXPECT_EQ(out.entities[0].updated_kind, JsonKind::missing);
    EXPECT_EQ(out.entities[1].id_kind, JsonKind::missing);
    EXPECT_EQ(out.entities[1].id, "");
}

TEST(EntityStreamParser, KeysAreComparedUnescaped)
{
    const Outcome out =
        parse(R"([{"\u005fid":"a\u00e9\n","_del\u0065ted":true,"_updated\u0000":1}])");
    ASSERT_FALSE(out.error_offset) << out.error;
    ASSERT_EQ(out.entities.size(), 1U);
    EXPECT_EQ(out.entities[0].id_kind, JsonKind::string);
    EXPECT_EQ(out.entities[0].id, "a\xc3\xa9\n");
    EXPECT_TRUE(out.entities[0].deleted);
    EXPECT_EQ(out.entities[0].updated_kind, JsonKind::missing);
}

TEST(EntityStreamParser, DuplicateRootKeysLastWins)
{
    const Outcome out = parse(R"([{"_id":"a","_id":"b"},{"_id":"a","_id":17},{"_id":[1, 2]}])");
    ASSERT_FALSE(out.error_offset) << out.error;
    ASSERT_EQ(out.entities.size(), 3U);
    EXPECT_EQ(out.entities[0].id_kind, JsonKind::string);
    EXPECT_EQ(out.entities[0].id, "b");
    EXPECT_EQ(out.entities[1].id_kind, JsonKind::number);
    EXPECT_EQ(out.entities[1].id, "17");
    EXPECT_EQ(out.entities[2].id_kind, JsonKind::array);
    EXPECT_EQ(out.entities[2].id, "[1, 2]");
}

TEST(EntityStreamParser, WhitespaceAndLineBreaks)
{
    const std::string first = "{\n  \"_id\" : \"a\" ,\r\n  \"v\":\t[ 1 , 2 ]\n}";
    const std::string second = "{ \"_id\": \"b\\n\" }";
    const std::string body = " \r\n[\n" + first + "\n,\t" + second + "\n]\n ";
    const Outcome out = parse(body);
    ASSERT_FALSE(out.error_offset) << out.error;
    ASSERT_EQ(out.entities.size(), 2U);
    EXPECT_EQ(out.entities[0].bytes, first);
    EXPECT_EQ(out.entities[0].offset, 5U);
    EXPECT_TRUE(out.entities[0].has_line_breaks);
    EXPECT_EQ(out.entities[1].bytes, second);
    EXPECT_EQ(out.entities[1].id, "b\n");
    EXPECT_FALSE(out.entities[1].has_line_breaks); // an escaped \n is not a line break
}

TEST(EntityStreamParser, ScalarsAndArraysInTheArrayAreSkipped)
{
    const Outcome out = parse(
        R"([1, "s", [1, [2, {"_id":"in-array"}]], {"_id":"a"},null,true,-0.5e-3 ,{"_id":"b"}])");
    ASSERT_FALSE(out.error_offset) << out.error;
    ASSERT_EQ(out.entities.size(), 2U);
    EXPECT_EQ(out.entities[0].id, "a");
    EXPECT_EQ(out.entities[0].index, 0U);
    EXPECT_EQ(out.entities[1].id, "b");
    EXPECT_EQ(out.entities[1].index, 1U);
    EXPECT_EQ(out.skipped, 6U);
}

TEST(EntityStreamParser, SingleObjectIsOneEntity)
{
    const Outcome out = parse(" \n{\"_id\":\"a\",\"_updated\":3} \n");
    ASSERT_FALSE(out.error_offset) << out.error;
    ASSERT_EQ(out.entities.size(), 1U);
    EXPECT_TRUE(out.single_object);
    EXPECT_EQ(out.entities[0].bytes, R"({"_id":"a","_updated":3})");
    EXPECT_EQ(out.entities[0].offset, 2U);
    EXPECT_EQ(out.entities[0].updated, "3");
}

TEST(EntityStreamParser, ObjectWrapperIsASingleObject)
{
    // docs/protocol.md#pull-response: {"result":[...]} is not the protocol; the tolerant parser
    // sees one entity.
    const Outcome out = parse(R"({"result":[{"_id":"a"},{"_id":"b"}]})");
    ASSERT_FALSE(out.error_offset) << out.error;
    ASSERT_EQ(out.entities.size(), 1U);
    EXPECT_TRUE(out.single_object);
    EXPECT_EQ(out.entities[0].id_kind, JsonKind::missing);
    EXPECT_EQ(out.entities[0].bytes, R"({"result":[{"_id":"a"},{"_id":"b"}]})");
}

TEST(EntityStreamParser, EmptyArrays)
{
    for (const std::string_view body : {"[]", " [ \n ] \n"}) {
        const Outcome out = parse(body);
        EXPECT_FALSE(out.error_offset) << out.error;
        EXPECT_TRUE(out.entities.empty());
        EXPECT_EQ(out.skipped, 0U);
        EXPECT_FALSE(out.single_object);
    }
}

TEST(EntityStreamParser, EntitySpanningManyChunksIsPassedWhole)
{
    std::string body =
        R"([{"_id":"big","s":")" + std::string(5000, 'x') + R"(\"\\"}, {"_id":"small"}])";
    const Outcome out = parse(body);
    ASSERT_FALSE(out.error_offset) << out.error;
    ASSERT_EQ(out.entities.size(), 2U);
    EXPECT_EQ(out.entities[0].bytes, body.substr(1, body.find(", {") - 1));
    EXPECT_EQ(out.entities[1].id, "small");
}

TEST(EntityStreamParser, EntitiesInOneChunkAreNotCopied)
{
    const std::string body = R"([{"_id":"a"},{"_id":"b"}])";
    std::vector<const char*> seen;
    EntityStreamParser parser([&](const EntityView& v) { seen.push_back(v.bytes.data()); });
    EXPECT_FALSE(parser.feed(body));
    EXPECT_FALSE(parser.finish());
    ASSERT_EQ(seen.size(), 2U);
    EXPECT_EQ(seen[0], body.data() + 1);
    EXPECT_EQ(seen[1], body.data() + 13);
}

TEST(EntityStreamParser, EmptyAndWhitespaceBodies)
{
    EXPECT_EQ(error_of(""), "0: body is empty, expected a JSON array of entities");
    EXPECT_EQ(error_of(" \r\n\t"),
              "4: body holds only whitespace, expected a JSON array of entities");
}

TEST(EntityStreamParser, TopLevelScalarsAreRejected)
{
    EXPECT_EQ(error_of(R"("abc")"), "0: body is a JSON string, not an array of entities");
    EXPECT_EQ(error_of(" 42"), "1: body is a JSON number, not an array of entities");
    EXPECT_EQ(error_of("-1"), "0: body is a JSON number, not an array of entities");
    EXPECT_EQ(error_of("true"),
              "0: expected '[' (an array of entities) at the start of the body, got 't'");
    EXPECT_EQ(error_of("\nnull"),
              "1: expected '[' (an array of entities) at the start of the body, got 'n'");
    EXPECT_EQ(error_of("<html>"),
              "0: expected '[' (an array of entities) at the start of the body, got '<'");
}

TEST(EntityStreamParser, BodiesCutShort)
{
    EXPECT_EQ(error_of(R"([{"_id":"a"},{"_id":"b")"),
              "23: body ends at byte 23 inside entity 1 starting at byte 13 (cut short)");
    EXPECT_EQ(
        error_of(R"([{"_id":"a)"),
        "10: body ends at byte 10 inside a string in entity 0 starting at byte 1 (cut short)");
    EXPECT_EQ(
        error_of(R"([{"_id":"a\)"),
        "11: body ends at byte 11 inside a string in entity 0 starting at byte 1 (cut short)");
    EXPECT_EQ(error_of("[{},"),
              "4: body ends at byte 4 inside the array, expected an entity after ',' (cut short)");
    EXPECT_EQ(error_of("[{} \n"),
              "5: body ends at byte 5 inside the array, expected ',' or ']' (cut short)");
    EXPECT_EQ(error_of(" ["),
              "2: body ends at byte 2 inside the array, expected an entity or ']' (cut short)");
    EXPECT_EQ(error_of("[1, 23"),
              "6: body ends at byte 6 inside a value starting at byte 4 (cut short)");
    EXPECT_EQ(error_of(R"([1, "ab)"),
              "7: body ends at byte 7 inside a string in a value starting at byte 4 (cut short)");
    EXPECT_EQ(error_of(R"({"_id":"a")"),
              "10: body ends at byte 10 inside entity 0 starting at byte 0 (cut short)");
}

TEST(EntityStreamParser, TrailingBytesAfterTheEnd)
{
    EXPECT_EQ(error_of("[{}]x"), "4: unexpected 'x' after the end of the array");
    EXPECT_EQ(error_of("[{}] \n{}"), "6: unexpected '{' after the end of the array");
    EXPECT_EQ(error_of("[][]"), "2: unexpected '[' after the end of the array");
    EXPECT_EQ(error_of("{}{}"), "2: unexpected '{' after the end of the object");
    EXPECT_EQ(error_of("[{}]\x01"), "4: unexpected 0x01 after the end of the array");
}

TEST(EntityStreamParser, ArraySyntaxErrors)
{
    EXPECT_EQ(error_of("[{},]"), "4: expected an entity after ',', got ']'");
    EXPECT_EQ(error_of("[{},,{}]"), "4: expected an entity after ',', got ','");
    EXPECT_EQ(error_of("[,{}]"), "1: expected an entity or ']' after '[', got ','");
    EXPECT_EQ(error_of("[{} {}]"), "4: expected ',' or ']' after an array element, got '{'");
    EXPECT_EQ(error_of("[{}}]"), "3: expected ',' or ']' after an array element, got '}'");
    EXPECT_EQ(error_of("[1x]"), "2: expected the end of the value, got 'x'");
    EXPECT_EQ(error_of("[x]"), "1: expected a value, got 'x'");
}

TEST(EntityStreamParser, ObjectSyntaxErrors)
{
    EXPECT_EQ(error_of(R"([{"a":1 "b":2}])"),
              "8: expected ',' or '}' after an object member, got '\"'");
    EXPECT_EQ(error_of(R"([{"a":1,}])"), "8: expected '\"' to start a key after ',', got '}'");
    EXPECT_EQ(error_of(R"([{a:1}])"), "2: expected '\"' or '}' after '{', got 'a'");
    EXPECT_EQ(error_of(R"([{"a" 1}])"), "6: expected ':' after an object key, got '1'");
    EXPECT_EQ(error_of(R"([{"a":}])"), "6: expected a value, got '}'");
    EXPECT_EQ(error_of(R"([{"a":[1,]}])"), "9: expected a value, got ']'");
    EXPECT_EQ(error_of(R"([{"a":[1}])"), "8: expected ',' or ']' after an array element, got '}'");
    EXPECT_EQ(error_of(R"([{"a":1]])"), "7: expected ',' or '}' after an object member, got ']'");
}

TEST(EntityStreamParser, BadLiterals)
{
    EXPECT_EQ(error_of(R"([{"a":tru}])"), "9: expected the literal true, got '}' after \"tru\"");
    EXPECT_EQ(error_of(R"([{"a":flase}])"), "7: expected the literal false, got 'l' after \"f\"");
    EXPECT_EQ(error_of("[nul]"),
              "4: expected the literal null, got the end of the value after \"nul\"");
    EXPECT_EQ(error_of("[True]"), "1: expected a value, got 'T'");
    EXPECT_EQ(error_of(R"([{"a":nullx}])"),
              "10: expected ',' or '}' after an object member, got 'x'");
}

TEST(EntityStreamParser, BadNumbers)
{
    EXPECT_EQ(error_of("[01]"),
              "2: expected '.', 'e' or the end of the number after a leading 0, got '1'");
    EXPECT_EQ(error_of(R"([{"n":-01}])"),
              "8: expected '.', 'e' or the end of the number after a leading 0, got '1'");
    EXPECT_EQ(error_of(R"([{"n":1.}])"), "8: expected a digit after the decimal point, got '}'");
    EXPECT_EQ(error_of(R"([{"n":.5}])"), "6: expected a value, got '.'");
    EXPECT_EQ(error_of("[-]"), "2: expected a digit to start the number, got the end of the value");
    EXPECT_EQ(error_of(R"([{"n":-a}])"), "7: expected a digit to start the number, got 'a'");
    EXPECT_EQ(error_of("[+1]"), "1: expected a value, got '+'");
    EXPECT_EQ(error_of(R"([{"n":1e}])"), "8: expected a digit in the exponent, got '}'");
    EXPECT_EQ(error_of(R"([{"n":1E+}])"), "9: expected a digit in the exponent, got '}'");
    EXPECT_EQ(error_of(R"([{"n":0x1F}])"),
              "7: expected ',' or '}' after an object member, got 'x'");
}

TEST(EntityStreamParser, BadStrings)
{
    EXPECT_EQ(
        error_of(R"([{"s":"a\x"}])"),
        R"(8: expected one of \" \\ \/ \b \f \n \r \t \u in a string, got '\' followed by 'x')");
    EXPECT_EQ(error_of(R"([{"s":"\u12G4"}])"), R"(11: expected 4 hex digits after \u, got 'G')");
    EXPECT_EQ(error_of(R"([{"s":"\u12"}])"), R"(11: expected 4 hex digits after \u, got '"')");
    EXPECT_EQ(error_of("[{\"s\":\"a\nb\"}]"),
              "8: expected an escaped character in a string, got the raw control byte 0x0a");
    EXPECT_EQ(error_of("[{\"s\x1f\":1}]"),
              "4: expected an escaped character in a string, got the raw control byte 0x1f");
    EXPECT_EQ(error_of("[\"\t\"]"),
              "2: expected an escaped character in a string, got the raw control byte 0x09");
}

TEST(EntityStreamParser, NestingIsLimited)
{
    Options options;
    options.max_depth = 3;
    const std::string ok = R"([{"a":{"b":[]}}])";
    EXPECT_FALSE(parse(ok, options).error_offset);
    const std::string deep = R"([{"a":{"b":{"c":{}}}}])";
    EXPECT_EQ(error_of(deep, options),
              std::to_string(deep.find(R"({})")) +
                  ": expected at most 3 nested arrays and objects (max_depth), got '{' opening "
                  "one more");

    // The default limit, far below any stack overflow.
    const std::string at_limit = "[{\"a\":" + std::string(511, '[') + std::string(511, ']') + "}]";
    EXPECT_FALSE(parse(at_limit).error_offset);
    const std::string too_deep =
        "[{\"a\":" + std::string(100000, '[') + std::string(100000, ']') + "}]";
    EXPECT_EQ(error_of(too_deep),
              std::to_string(6 + 511) +
                  ": expected at most 512 nested arrays and objects (max_depth), got '[' opening "
                  "one more");
}

TEST(EntityStreamParser, MaxEntityBytes)
{
    Options options;
    options.max_entity_bytes = 22;
    const std::string at_limit = R"([{"_id":"twenty-bytes"}, {"_id":"a"}])";
    ASSERT_EQ(std::string_view(R"({"_id":"twenty-bytes"})").size(), 22U);
    const Outcome ok = parse(at_limit, options);
    EXPECT_FALSE(ok.error_offset) << ok.error;
    EXPECT_EQ(ok.entities.size(), 2U);

    options.max_entity_bytes = 20;
    const Outcome out = parse(R"([{"_id":"a"},{"_id":"bbbbbbbbbbbbbbbbbbbbbb"},{}])", options);
    ASSERT_EQ(out.entities.size(), 1U);
    EXPECT_EQ(out.error_offset, 13U + 20U);
    EXPECT_EQ(out.error,
              "expected an element of at most 20 bytes (max_entity_bytes), got a larger one "
              "starting at byte 13");
    // Skipped values count too, and so does an element that never ends.
    EXPECT_EQ(error_of(R"([1,"xxxxxxxxxxxxxxxxxxxxxxxxx)", options),
              "23: expected an element of at most 20 bytes (max_entity_bytes), got a larger one "
              "starting at byte 3");
}

TEST(EntityStreamParser, TransitErrorNamesIdIndexAndFieldEvenWhenIdComesLater)
{
    const std::string body = R"([{},{},{}, {"name":"Kari","born":"~t2015-13-01","_id":"p-1"}])";
    const Outcome out = parse(body);
    EXPECT_EQ(out.entities.size(), 3U);
    EXPECT_EQ(out.error_offset, offset_of(body, R"("~t2015)"));
    EXPECT_EQ(out.error,
              transit_error(R"(entity "p-1" (index 3): field "born": )", "~t2015-13-01"));
}

TEST(EntityStreamParser, TransitErrorsAtAnyDepth)
{
    const std::string nested = R"([{"_id":"a","address":{"street":"x","since":"~tbad"}}])";
    EXPECT_EQ(error_of(nested),
              std::to_string(offset_of(nested, R"("~tbad)")) + ": " +
                  transit_error(R"(entity "a" (index 0): field "address.since": )", "~tbad"));

    const std::string in_list = R"([{"tags":["x","~f1.5",  "~f"],"_id":"b"}])";
    EXPECT_EQ(error_of(in_list),
              std::to_string(offset_of(in_list, R"("~f")")) + ": " +
                  transit_error(R"(entity "b" (index 0): field "tags[2]": )", "~f"));

    const std::string deep = R"([{"m":[[1,{"u":"~unot-a-uuid"}]]}])";
    EXPECT_EQ(
        error_of(deep),
        std::to_string(offset_of(deep, R"("~u)")) + ": " +
            transit_error(R"(entity without _id (index 0): field "m[0][1].u": )", "~unot-a-uuid"));

    const std::string numeric_id = R"([{"_id":7,"k\u0065y":"~bnot base64!"}])";
    EXPECT_EQ(error_of(numeric_id),
              std::to_string(offset_of(numeric_id, R"("~b)")) + ": " +
                  transit_error(R"(entity with _id 7 (index 0): field "key": )", "~bnot base64!"));

    const std::string skipped = R"([1, ["a", "~tnope"]])";
    EXPECT_EQ(error_of(skipped),
              "10: " + transit_error(R"(value at byte 4 (not an entity): at "[1]": )", "~tnope"));

    const std::string top_string = R"(["~f1.2.3"])";
    EXPECT_EQ(error_of(top_string),
              "1: " + transit_error("value at byte 1 (not an entity): ", "~f1.2.3"));
}

TEST(EntityStreamParser, TransitFirstBadValueIsReported)
{
    const std::string body = R"([{"a":"~tbad","b":"~fbad","_id":"x"}])";
    EXPECT_EQ(error_of(body),
              std::to_string(offset_of(body, R"("~tbad)")) + ": " +
                  transit_error(R"(entity "x" (index 0): field "a": )", "~tbad"));
}

TEST(EntityStreamParser, EscapedTildeIsStillTransit)
{
    const std::string body = R"([{"_id":"e","d":"\u007et2015-13-01"}])";
    EXPECT_EQ(error_of(body),
              std::to_string(offset_of(body, R"("\u007e)")) + ": " +
                  transit_error(R"(entity "e" (index 0): field "d": )", "~t2015-13-01"));
}

TEST(EntityStreamParser, SyntaxErrorOutranksTransitError)
{
    EXPECT_EQ(error_of(R"([{"a":"~tbad", x}])"),
              "15: expected '\"' to start a key after ',', got 'x'");
}

TEST(EntityStreamParser, ValidTransitKeysAndUnknownTagsAreFine)
{
    const Outcome out = parse(
        R"([{"_id":"~:crm:1","~tkey":"~xunknown","t":"~t2015-12-31","f":"~f-12.50","one":"~",)"
        R"("r":"~rhttp://x/","~":"~~t","u":"~u531a379e-31bb-4ce1-8690-158dceb64be6",)"
        R"("b":"~bAAECAwQF","dt":"~t2015-01-02T03:04:05.123456789Z","_updated":"~t2015-12-31Z"}])");
    ASSERT_FALSE(out.error_offset) << out.error;
    ASSERT_EQ(out.entities.size(), 1U);
    EXPECT_EQ(out.entities[0].id, "~:crm:1");
    EXPECT_EQ(out.entities[0].updated, "~t2015-12-31Z");
}

TEST(EntityStreamParser, TransitCheckCanBeTurnedOff)
{
    Options options;
    options.check_transit = false;
    const Outcome out = parse(R"([{"_id":"a","born":"~t2015-13-01"}])", options);
    EXPECT_FALSE(out.error_offset) << out.error;
    EXPECT_EQ(out.entities.size(), 1U);
}

TEST(InspectElement, ValidatesAStandaloneValue)
{
    const Options options;
    EntityView view;
    view.index = 9;
    auto error = inspect_element(R"({"_id":"a"} x)", 100, options, view);
    ASSERT_TRUE(error);
    EXPECT_EQ(error->offset, 112U);
    EXPECT_EQ(error->message, "expected the end of the value, got 'x'");

    error = inspect_element(R"("abc)", 5, options, view);
    ASSERT_TRUE(error);
    EXPECT_EQ(error->offset, 5U);
    EXPECT_EQ(error->message, "expected '\"' to close the string, got the end of the value");

    error = inspect_element(R"({"born":"~t2015-13-01","_id":"q"})", 0, options, view);
    ASSERT_TRUE(error);
    EXPECT_EQ(error->message,
              transit_error(R"(entity "q" (index 9): field "born": )", "~t2015-13-01"));

    EXPECT_FALSE(inspect_element(R"( {"_id":"z","_updated":5} )", 7, options, view));
    EXPECT_EQ(view.index, 9U);
    EXPECT_EQ(view.id, "z");
    EXPECT_EQ(view.updated, "5");
    EXPECT_EQ(view.offset, 7U);
}

TEST(InspectElement, AgreesWithNlohmannOnGrammar)
{
    const Options options;
    const std::vector<std::string> samples = {
        "0",
        "-0",
        "-0.0e-0",
        "1E5",
        "1e+5",
        "00",
        "1.",
        ".1",
        "-",
        "--1",
        "1e",
        "1ee1",
        "+1",
        "0x10",
        "1.2.3",
        "12a",
        "true",
        "tru",
        "truee",
        "nul",
        "null",
        "falsee",
        "\"\"",
        "\"\\u00e9\"",
        "\"\\uABCD\"",
        "\"\\ug000\"",
        "\"\\a\"",
        "\"\\'\"",
        "\"\\/\"",
        "\"a\tb\"",
        "\"a\x7f\"",
        "[]",
        "[1,]",
        "[,1]",
        "[1 2]",
        "{}",
        "{,}",
        "{\"a\"}",
        "{\"a\":}",
        "{\"a\":1,}",
        "{1:2}",
        "{\"a\":1]",
        "[1}",
        "[[[]]]",
        "[[[]]",
        "[]]",
        "{\"a\":[{}]}",
        " [ 1 , { } ] ",
        "{\"a\" : 1 , \"b\" : [ true , false , null ] }",
        "{\"a\":1}{",
    };
    for (const std::string& s : samples) {
        EntityView view;
        const bool ours = !inspect_element(s, 0, options, view).has_value();
        EXPECT_EQ(ours, nlohmann::json::accept(s)) << s;
    }
}

TEST(EntityStreamParser, AgreesWithNlohmannOnGeneratedEntities)
{
    std::mt19937 rng(7);
    nlohmann::json array = nlohmann::json::array();
    for (int i = 0; i < 300; ++i) {
        nlohmann::json e = {{"_id", "id-" + std::to_string(i) + (i % 7 == 0 ? "\"\n\u00e9" : "")},
                            {"n", rng() % 1000},
                            {"f", static_cast<double>(rng() % 1000) / 7.0},
                            {"s", std::string(rng() % 50, static_cast<char>('a' + i % 26))},
                            {"nested", {{"_id", "x"}, {"l", {1, "two", nullptr, false}}}},
                            {"t", "~t2015-01-02T03:04:05Z"}};
        if (i % 3 == 0) {
            e["_updated"] = i;
        }
        if (i % 5 == 0) {
            e["_deleted"] = i % 10 == 0;
        }
        array.push_back(e);
    }
    const std::string body = array.dump(1) + "\n";
    const Outcome out = parse(body);
    ASSERT_FALSE(out.error_offset) << out.error;
    ASSERT_EQ(out.entities.size(), array.size());
    for (std::size_t i = 0; i < array.size(); ++i) {
        const Seen& seen = out.entities[i];
        EXPECT_EQ(nlohmann::json::parse(seen.bytes), array[i]);
        EXPECT_EQ(body.substr(seen.offset, seen.bytes.size()), seen.bytes);
        EXPECT_EQ(seen.id, array[i]["_id"].get<std::string>());
        EXPECT_EQ(seen.updated, array[i].contains("_updated") ? array[i]["_updated"].dump() : "");
        EXPECT_EQ(seen.deleted, array[i].value("_deleted", false));
        EXPECT_TRUE(seen.has_line_breaks);
    }
}

} // namespace
} // namespace sesam::emulator
