#include "emulator/http/beast_transport.hpp"
#include "tests/support/reference_fixture.hpp"

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>

namespace sesam::emulator {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

/// The reference service over real HTTP on 127.0.0.1, driven as Sesam drives it.
class ReferenceServiceTest : public ::testing::Test {
protected:
    HttpResponse exchange(const std::string& method,
                          const std::string& path,
                          std::string body = {},
                          std::optional<std::string> content_type = "application/json")
    {
        HttpRequest request;
        request.method = method;
        request.url = service.base_url() + path;
        request.body = std::move(body);
        if (content_type)
            set_header(request.headers, "Content-Type", *content_type);
        auto response = transport.fetch(request);
        EXPECT_TRUE(response) << describe(request);
        return response ? *response : HttpResponse{};
    }
    HttpResponse push(const std::string& query, const json& entities)
    {
        return exchange("POST", "receiver?" + query, entities.dump());
    }
    HttpResponse get(const std::string& path) { return exchange("GET", path, {}, std::nullopt); }
    json held() { return json::parse(get("receiver/entities").body); }

    testing::RunningReferenceService service{
        reference::Dataset::parse("{\"_id\":\"a\"}\n{\"_id\":\"b\"}\n", "test")};
    boost::asio::io_context ioc;
    BeastTransport transport{ioc, TransportOptions{5s, 5s}};
};

// docs/protocol.md#push-example: a full sync R1 is_first, R2, R3 empty is_last, then deletion
// detection
TEST_F(ReferenceServiceTest, FullSyncOverHttpDetectsDeletions)
{
    ASSERT_EQ(
        push("sequence_id=inc&is_full=false&request_id=1", json{{{"_id", "gone"}}}).head.status,
        200);
    const std::string full = "sequence_id=3f0c-e1&is_full=true";
    EXPECT_EQ(
        push(full + "&request_id=R1&is_first=true", json{{{"_id", "x"}, {"n", 1}}}).head.status,
        200);
    EXPECT_EQ(
        push(full + "&request_id=R2&previous_request_id=R1", json{{{"_id", "y"}}}).head.status,
        200);
    EXPECT_EQ(held(), json::parse(R"([{"_id":"gone"},{"_id":"x","n":1},{"_id":"y"}])"));
    const auto last =
        push(full + "&request_id=R3&previous_request_id=R2&is_last=true", json::array());
    EXPECT_EQ(last.head.status, 200);
    EXPECT_EQ(json::parse(last.body)["ok"], true);
    EXPECT_EQ(held(), json::parse(R"([{"_id":"x","n":1},{"_id":"y"}])"));
}

// docs/protocol.md#push-receiver-rules: out of sequence is 409 with a message
TEST_F(ReferenceServiceTest, BrokenChainIs409)
{
    ASSERT_EQ(
        push("sequence_id=s&is_full=true&request_id=1&is_first=true", json::array()).head.status,
        200);
    const auto r =
        push("sequence_id=s&is_full=true&request_id=2&previous_request_id=0", json{{{"_id", "a"}}});
    EXPECT_EQ(r.head.status, 409);
    EXPECT_EQ(json::parse(r.body)["error"],
              R"(previous_request_id "0" does not follow the last request_id "1" of sequence "s")");
    EXPECT_EQ(held(), json::array());
}

// docs/protocol.md#push-request: query values are URL-decoded; booleans are "true" or "false"
TEST_F(ReferenceServiceTest, QueryParameters)
{
    EXPECT_EQ(
        push("sequence_id=a%20b&is_full=true&request_id=r%261&is_first=true", json{{{"_id", "e"}}})
            .head.status,
        200);
    EXPECT_EQ(
        push("sequence_id=a+b&is_full=true&request_id=r2&previous_request_id=r%261", json::array())
            .head.status,
        200);
    EXPECT_EQ(push("is_full=yes", json::array()).head.status, 400);
    EXPECT_EQ(push("is_full=true", json::array()).head.status, 400); // no sequence_id
    EXPECT_EQ(held(), json::parse(R"([{"_id":"e"}])"));
}

// docs/protocol.md#real-services: some receivers compare the header exactly; this one takes
// parameters too
TEST_F(ReferenceServiceTest, ContentType)
{
    const std::string body = R"([{"_id":"a"}])";
    const auto text = exchange("POST", "receiver", body, "text/plain");
    EXPECT_EQ(text.head.status, 415);
    EXPECT_NE(json::parse(text.body)["error"].get<std::string>().find("text/plain"),
              std::string::npos);
    EXPECT_EQ(exchange("POST", "transform", body, "text/plain").head.status, 415);
    EXPECT_EQ(held(), json::array());

    EXPECT_EQ(exchange("POST", "receiver", body, "application/json; charset=UTF-8").head.status,
              200);
    EXPECT_EQ(exchange("POST", "receiver", R"([{"_id":"b"}])", std::nullopt).head.status, 200);
    EXPECT_EQ(held(), json::parse(R"([{"_id":"a"},{"_id":"b"}])"));
}

TEST_F(ReferenceServiceTest, BadBodiesAre400)
{
    EXPECT_EQ(exchange("POST", "receiver", "[{\"_id\":").head.status, 400);
    const auto no_id = exchange("POST", "receiver", R"([{"id":"a"}])");
    EXPECT_EQ(no_id.head.status, 400);
    EXPECT_EQ(json::parse(no_id.body)["error"], R"(entity 0 has no string "_id")");
    EXPECT_EQ(exchange("POST", "transform", "not json").head.status, 400);
    EXPECT_EQ(exchange("POST", "transform", R"({"_id":"a"})").head.status, 400);
    EXPECT_EQ(get("receiver").head.status, 405);

    // Nesting a JSON value copies and prints recursively: too deep a body is refused, not a crash.
    const auto deep =
        R"([{"_id":"a","x":)" + std::string(100000, '[') + std::string(100000, ']') + "}]";
    for (const char* path : {"receiver", "transform"}) {
        const auto r = exchange("POST", path, deep);
        EXPECT_EQ(r.head.status, 400) << path;
        EXPECT_EQ(json::parse(r.body)["error"], "the body is nested deeper than 512 levels");
    }
    EXPECT_EQ(get("").head.status, 200) << "still serving";
}

// docs/protocol.md#http-transform: the answer replaces the batch
TEST_F(ReferenceServiceTest, Transform)
{
    const auto r = exchange("POST", "transform", R"([{"_id":"a","name":"Ann"},{"_id":"b"}])");
    EXPECT_EQ(r.head.status, 200);
    EXPECT_EQ(find_header(r.head.headers, "Content-Type"), "application/json");
    EXPECT_EQ(r.body,
              R"([{"_id":"a","field_count":1,"name":"Ann","transformed":true},)"
              R"({"_id":"b","field_count":0,"transformed":true}])");
    const auto empty = exchange("POST", "transform", "[]");
    EXPECT_EQ(empty.head.status, 200);
    EXPECT_EQ(empty.body, "[]");
}

TEST_F(ReferenceServiceTest, SourceAndDescriptionStillServed)
{
    const auto entities = get("entities?since=0");
    EXPECT_EQ(entities.head.status, 200);
    EXPECT_EQ(entities.body, R"([{"_id":"b","_updated":1}])");
    const auto root = json::parse(get("").body);
    EXPECT_EQ(root["roles"]["sink"], "POST /receiver");
    EXPECT_EQ(root["roles"]["transform"], "POST /transform");
}

} // namespace
} // namespace sesam::emulator
