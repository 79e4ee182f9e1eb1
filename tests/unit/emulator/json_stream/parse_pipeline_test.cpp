#include "emulator/json_stream/parse_pipeline.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace sesam::emulator {
namespace {

std::string body_of(int n)
{
    std::string body = "[";
    for (int i = 0; i < n; ++i)
        body += (i ? "," : "") + std::string(R"({"_id":"e)") + std::to_string(i) + "\"}";
    return body + "]";
}

TEST(ParsePipeline, DeliversEveryEntityInOrderAcrossSmallBlocks)
{
    std::vector<std::string> ids;
    EntityStreamParser parser([&](const EntityView& e) { ids.push_back(e.id); });
    const auto body = body_of(2000);
    {
        ParsePipeline pipeline(
            parser, [] { return false; }, 2);
        for (std::size_t i = 0; i < body.size(); i += 7)
            ASSERT_TRUE(pipeline.push(std::string_view(body).substr(i, 7)));
        EXPECT_FALSE(pipeline.drain());
    }
    EXPECT_FALSE(parser.finish());
    ASSERT_EQ(ids.size(), 2000u);
    for (int i = 0; i < 2000; ++i)
        ASSERT_EQ(ids[i], "e" + std::to_string(i));
}

TEST(ParsePipeline, AParseErrorStopsPushesAndIsReturned)
{
    EntityStreamParser parser([](const EntityView&) {});
    ParsePipeline pipeline(parser, [] { return false; });
    ASSERT_TRUE(pipeline.push("[{},"));
    pipeline.push("]");
    const auto error = pipeline.drain();
    ASSERT_TRUE(error);
    EXPECT_EQ(error->offset, 4u);
    EXPECT_FALSE(pipeline.push("{}]")) << "after an error nothing more is taken";
}

TEST(ParsePipeline, StopRequestedByACallbackEndsParsing)
{
    int seen = 0;
    bool stop = false;
    EntityStreamParser parser([&](const EntityView&) { stop = ++seen == 3; });
    ParsePipeline pipeline(
        parser, [&] { return stop; }, 1);
    const auto body = body_of(10);
    bool accepted = true;
    for (char c : body)
        accepted = pipeline.push(std::string_view(&c, 1)) && accepted;
    EXPECT_FALSE(pipeline.drain());
    EXPECT_FALSE(accepted);
    EXPECT_EQ(seen, 3);
}

TEST(ParsePipeline, AnExceptionInACallbackIsRethrownByDrain)
{
    EntityStreamParser parser([](const EntityView&) { throw std::runtime_error("disk full"); });
    ParsePipeline pipeline(parser, [] { return false; });
    pipeline.push(R"([{"_id":"a"}])");
    EXPECT_THROW(pipeline.drain(), std::runtime_error);
}

TEST(ParsePipeline, NothingPushedDrainsAtOnce)
{
    EntityStreamParser parser([](const EntityView&) {});
    ParsePipeline pipeline(parser, [] { return false; });
    EXPECT_FALSE(pipeline.drain());
}

} // namespace
} // namespace sesam::emulator
