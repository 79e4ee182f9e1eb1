#include "emulator/entity/entity.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <optional>
#include <ostream>
#include <string>

namespace sesam::emulator {

void PrintTo(const EntityProblem& p, std::ostream* os)
{
    *os << "{id \"" << p.id << "\", field \"" << p.field << "\", message \"" << p.message << "\"}";
}

namespace {

using nlohmann::json;

json parse(const char* text)
{
    return json::parse(text);
}

std::optional<EntityProblem> problem(json entity, IdRule rule = IdRule::optional_id)
{
    return validate_entity(entity, rule);
}

/// The field of the problem found in `text`, or "<none>" when the entity is valid.
std::string problem_field(const char* text)
{
    const auto found = problem(parse(text));
    return found ? found->field : "<none>";
}

TEST(EntityFields, ReservedFieldsStartWithUnderscore)
{
    EXPECT_TRUE(is_reserved_field("_id"));
    EXPECT_TRUE(is_reserved_field("_deleted"));
    EXPECT_TRUE(is_reserved_field("_anything"));
    EXPECT_TRUE(is_reserved_field("_"));
    EXPECT_FALSE(is_reserved_field("id_"));
    EXPECT_FALSE(is_reserved_field("$ids"));
    EXPECT_FALSE(is_reserved_field(""));
}

TEST(EntityId, StringIdIsReturned)
{
    EXPECT_EQ(entity_id(parse(R"({"_id": "p-1", "name": "Kari"})")), "p-1");
    EXPECT_EQ(entity_id(parse(R"({"_id": ""})")), "");
}

TEST(EntityId, MissingOrNonStringIdIsNullopt)
{
    EXPECT_EQ(entity_id(parse(R"({"name": "Kari"})")), std::nullopt);
    EXPECT_EQ(entity_id(parse(R"({"_id": 17})")), std::nullopt);
    EXPECT_EQ(entity_id(parse(R"({"_id": null})")), std::nullopt);
    EXPECT_EQ(entity_id(parse(R"({"x": {"_id": "nested"}})")), std::nullopt);
    EXPECT_EQ(entity_id(parse(R"(["_id"])")), std::nullopt);
    EXPECT_EQ(entity_id(parse(R"("p-1")")), std::nullopt);
}

TEST(EntityDeleted, OnlyBooleanTrueMeansDeleted)
{
    EXPECT_TRUE(is_deleted(parse(R"({"_id": "a", "_deleted": true})")));
    EXPECT_FALSE(is_deleted(parse(R"({"_id": "a", "_deleted": false})")));
    EXPECT_FALSE(is_deleted(parse(R"({"_id": "a", "_deleted": "true"})")));
    EXPECT_FALSE(is_deleted(parse(R"({"_id": "a", "_deleted": 1})")));
    EXPECT_FALSE(is_deleted(parse(R"({"_id": "a", "_deleted": null})")));
    EXPECT_FALSE(is_deleted(parse(R"({"_id": "a", "_deleted": [true]})")));
    EXPECT_FALSE(is_deleted(parse(R"({"_id": "a"})")));
    EXPECT_FALSE(is_deleted(parse(R"({"x": {"_deleted": true}})")));
    EXPECT_FALSE(is_deleted(parse("true")));
}

TEST(EntityValidate, PushedEntityFromTheSpecIsValid)
{
    const json entity = parse(R"({
        "_id": "person-17",
        "_deleted": false,
        "_updated": 4711,
        "_previous": 4102,
        "_ts": 1716800000123456,
        "_hash": "9d8255209c3e1d318e8cf2cab7a3a73e",
        "name": "Kari",
        "born": "~t1980-02-01T00:00:00Z",
        "salary": "~f612345.50",
        "employer": "~:hr-org:42",
        "homepage": "~rhttps://example.org/kari",
        "photo": "~bAAECAwQF",
        "ext_id": "~u531a379e-31bb-4ce1-8690-158dceb64be6",
        "score": 0.75
    })");
    EXPECT_EQ(validate_entity(entity, IdRule::required_id), std::nullopt);
    EXPECT_EQ(validate_entity(entity, IdRule::optional_id), std::nullopt);
}

TEST(EntityValidate, NonObjectEntityIsAProblem)
{
    EXPECT_EQ(problem(parse("[1, 2]")),
              (EntityProblem{"", "", "entity must be a JSON object, got an array"}));
    EXPECT_EQ(problem(parse("42")),
              (EntityProblem{"", "", "entity must be a JSON object, got a number"}));
    EXPECT_EQ(problem(parse(R"("p-1")")),
              (EntityProblem{"", "", "entity must be a JSON object, got a string"}));
    EXPECT_EQ(problem(parse("null"), IdRule::required_id),
              (EntityProblem{"", "", "entity must be a JSON object, got null"}));
}

TEST(EntityValidate, NonStringIdIsAlwaysAProblem)
{
    const EntityProblem number{"", "_id", "_id must be a string, got a number"};
    EXPECT_EQ(problem(parse(R"({"_id": 17})"), IdRule::optional_id), number);
    EXPECT_EQ(problem(parse(R"({"_id": 17})"), IdRule::required_id), number);
    EXPECT_EQ(problem(parse(R"({"_id": null})")),
              (EntityProblem{"", "_id", "_id must be a string, got null"}));
    EXPECT_EQ(problem(parse(R"({"_id": {"a": 1}})")),
              (EntityProblem{"", "_id", "_id must be a string, got an object"}));
    EXPECT_EQ(problem(parse(R"({"_id": true})")),
              (EntityProblem{"", "_id", "_id must be a string, got a boolean"}));
}

TEST(EntityValidate, MissingIdIsAProblemOnlyWhenRequired)
{
    EXPECT_EQ(problem(parse(R"({"name": "Kari"})"), IdRule::optional_id), std::nullopt);
    EXPECT_EQ(problem(parse(R"({"name": "Kari"})"), IdRule::required_id),
              (EntityProblem{"", "_id", "_id is missing"}));
    EXPECT_EQ(problem(parse("{}"), IdRule::required_id),
              (EntityProblem{"", "_id", "_id is missing"}));
}

TEST(EntityValidate, BadTransitValueNamesEntityAndField)
{
    EXPECT_EQ(problem(parse(R"({"_id": "p-1", "born": "~t2015-13-01"})")),
              (EntityProblem{"p-1", "born", "~t value \"2015-13-01\" has month 13"}));
    EXPECT_EQ(
        problem(parse(R"({"born": "~t2015-02-29"})")),
        (EntityProblem{"", "born", "~t value \"2015-02-29\" has day 29, but 2015-02 has 28 days"}));
    EXPECT_EQ(problem(parse(R"({"_id": "p-1", "salary": "~f"})")),
              (EntityProblem{"p-1", "salary", "transit value \"~f\" has an empty payload"}));
}

TEST(EntityValidate, NestedFieldPaths)
{
    EXPECT_EQ(problem_field(R"({"_id": "p-1", "address": {"since": "~tyesterday"}})"),
              "address.since");
    EXPECT_EQ(problem_field(R"({"_id": "p-1", "tags": ["~x", "~f1", "~f1.5x"]})"), "tags[2]");
    EXPECT_EQ(problem_field(R"({"_id": "p-1", "a": {"b": [{"c": "~bZg="}]}})"), "a.b[0].c");
    EXPECT_EQ(problem_field(R"({"_id": "p-1", "m": [[], ["~u123"]]})"), "m[1][0]");
    EXPECT_EQ(problem_field(R"({"_id": "p-1", "x": {"_id": "~t0000-01-01"}})"), "x._id");
}

TEST(EntityValidate, NestedProblemCarriesTheDecodeMessage)
{
    EXPECT_EQ(problem(parse(R"({"_id": "p-1", "a": {"b": [{"c": "~bZg="}]}})")),
              (EntityProblem{"p-1",
                             "a.b[0].c",
                             "~b value \"Zg=\" has length 3, which is not a multiple of 4"}));
}

TEST(EntityValidate, FirstProblemInKeyOrderIsReported)
{
    // nlohmann::json keeps object keys sorted, so "first" means first by key.
    EXPECT_EQ(problem_field(R"({"b": "~t2015-13-01", "a": "~fx"})"), "a");
}

TEST(EntityValidate, IdValueItselfIsTransitChecked)
{
    EXPECT_EQ(problem(parse(R"({"_id": "~:crm:1"})")), std::nullopt);
    EXPECT_EQ(
        problem(parse(R"({"_id": "~t2015"})")),
        (EntityProblem{"~t2015",
                       "_id",
                       "~t value \"2015\" " +
                           std::string("is not one of the four ISO-8601 forms YYYY-MM-DD[Z] or "
                                       "YYYY-MM-DDTHH:MM:SS[.fffffffff]Z")}));
}

TEST(EntityValidate, KeysThatLookLikeTransitAreIgnored)
{
    EXPECT_EQ(problem(parse(R"({"_id": "p-1", "~t2015-13-01": "x", "~f": {"~bZ": 1}})")),
              std::nullopt);
}

TEST(EntityValidate, UnknownTagsAndNonStringsAreFine)
{
    EXPECT_EQ(problem(parse(R"({"_id": "p-1", "a": "~x", "b": "~~t", "c": "~d1.5", "d": "~",
                                "e": 1.5, "f": null, "g": true, "h": [], "i": {}})")),
              std::nullopt);
}

TEST(EntityValidate, NestedUnderscoreFieldsAreOrdinary)
{
    EXPECT_EQ(problem(parse(R"({"_id": "p-1", "x": {"_id": 17, "_deleted": "yes"}})"),
                      IdRule::required_id),
              std::nullopt);
}

TEST(EntityDescribe, WithIdAndField)
{
    EXPECT_EQ(describe({"p-1", "born", "~t value \"2015-13-01\" has month 13"}),
              "entity \"p-1\": field \"born\": ~t value \"2015-13-01\" has month 13");
}

TEST(EntityDescribe, WithoutId)
{
    EXPECT_EQ(describe({"", "_id", "_id is missing"}),
              "entity without _id: field \"_id\": _id is missing");
}

TEST(EntityDescribe, WithoutField)
{
    EXPECT_EQ(describe({"", "", "entity must be a JSON object, got an array"}),
              "entity without _id: entity must be a JSON object, got an array");
    EXPECT_EQ(describe({"p-1", "", "something"}), "entity \"p-1\": something");
}

TEST(EntityDescribe, OfAValidationProblem)
{
    const auto found = problem(parse(R"({"_id": "p-1", "address": {"since": "~t2015-04-31"}})"));
    ASSERT_TRUE(found.has_value());
    EXPECT_EQ(describe(*found),
              "entity \"p-1\": field \"address.since\": ~t value \"2015-04-31\" has day 31, but "
              "2015-04 has 30 days");
}

} // namespace

} // namespace sesam::emulator
