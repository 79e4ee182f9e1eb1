#include "examples/reference-service/dataset.hpp"
#include "examples/reference-service/sample_dataset.hpp"

#include <gtest/gtest.h>

namespace sesam::reference {
namespace {

TEST(Dataset, NumbersEntitiesInFileOrder)
{
    auto d = Dataset::parse(R"([{"_id":"a","_updated":"x"},{"_id":"b"}])", "t");
    ASSERT_EQ(d.entities().size(), 2u);
    EXPECT_EQ(d.entities()[0].json, R"({"_id":"a","_updated":0})");
    EXPECT_EQ(d.entities()[1].json, R"({"_id":"b","_updated":1})");
}

TEST(Dataset, JsonLinesSkipBlankLines)
{
    auto d = Dataset::parse("{\"_id\":\"a\"}\n\n{\"_id\":\"b\",\"_deleted\":true}\n", "t");
    ASSERT_EQ(d.entities().size(), 2u);
    EXPECT_EQ(d.entities()[1].json, R"({"_id":"b","_deleted":true,"_updated":1})");
}

// docs/protocol.md#pull-request: since is exclusive; docs/protocol.md#pull-paging: limit caps the
// page
TEST(Dataset, AfterIsExclusiveAndLimited)
{
    auto d =
        Dataset::parse("{\"_id\":\"a\"}\n{\"_id\":\"b\"}\n{\"_id\":\"c\"}\n{\"_id\":\"d\"}", "t");
    auto page = d.after(0, 2);
    ASSERT_EQ(page.size(), 2u);
    EXPECT_EQ(page[0]->updated, 1);
    EXPECT_EQ(page[1]->updated, 2);
    EXPECT_EQ(d.after(-1, 0).size(), 4u);
    EXPECT_EQ(d.after(3, 0).size(), 0u);
}

TEST(Dataset, ErrorsNameTheFileAndPlace)
{
    auto message = [](std::string_view text) {
        try {
            Dataset::parse(text, "people.json");
        } catch (const DatasetError& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    EXPECT_EQ(message("{\"_id\":\"a\"}\n{oops}\n"), "people.json: line 2: not valid JSON");
    EXPECT_EQ(message("[{\"_id\":1}]"), "people.json: entity 0: _id must be a string, got 1");
    EXPECT_EQ(message("[{\"x\":1}]"), "people.json: entity 0: entity has no _id");
    EXPECT_EQ(message("[1]"), "people.json: entity 0: an entity must be a JSON object");
    EXPECT_EQ(message("[{\"_id\":\"a\"}"), "people.json: not a valid JSON array");
    const std::string deep = std::string(100000, '[') + std::string(100000, ']');
    EXPECT_EQ(message("[" + deep + "]"), "people.json: nested deeper than 512 levels");
    EXPECT_EQ(message("{\"_id\":\"a\"}\n{\"x\":" + deep + "}\n"),
              "people.json: line 2: nested deeper than 512 levels");
}

TEST(Dataset, BuiltInSampleLoads)
{
    auto d = Dataset::parse(sample_dataset_json(), "sample");
    EXPECT_EQ(d.entities().size(), 14u);
}

} // namespace
} // namespace sesam::reference
