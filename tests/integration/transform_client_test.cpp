#include "emulator/http/beast_transport.hpp"
#include "emulator/transform/transform_client.hpp"
#include "tests/support/reference_fixture.hpp"
#include "tests/support/scripted_server.hpp"

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>

namespace sesam::emulator {
namespace {

using namespace std::chrono_literals;
using testing::RawConnection;
using testing::RawRequest;
using testing::RunningReferenceService;
using testing::ScriptedServer;

class TransformClientTest : public ::testing::Test {
protected:
    TransformReport run(const std::string& url, int entities, std::size_t batch_size = 100)
    {
        BeastTransport transport(ioc, TransportOptions{5s, 5s});
        TransformOptions options;
        options.url = url;
        options.batch_size = batch_size;
        TransformClient client(transport, options, [&](const EntityView& e) {
            output.push_back(nlohmann::json::parse(e.bytes));
        });
        for (int i = 0; i < entities; ++i)
            if (!client.add(R"({"_id":"e)" + std::to_string(i) + R"(","n":)" + std::to_string(i) +
                            "}"))
                break;
        return client.finish();
    }

    boost::asio::io_context ioc;
    std::vector<nlohmann::json> output;
};

// docs/protocol.md#http-transform: batches of batch_size; the answers replace the batches, in order
TEST_F(TransformClientTest, BatchesThroughTheReferenceTransformInOrder)
{
    RunningReferenceService service(reference::Dataset{});
    auto report = run(service.base_url() + "transform", 250);
    ASSERT_TRUE(report.ok()) << report.failure->message;
    EXPECT_EQ(report.summary.batches, 3u);
    EXPECT_EQ(report.summary.entities_in, 250u);
    ASSERT_EQ(output.size(), 250u);
    for (int i = 0; i < 250; ++i) {
        EXPECT_EQ(output[i]["_id"], "e" + std::to_string(i));
        EXPECT_EQ(output[i]["transformed"], true);
        EXPECT_EQ(output[i]["field_count"], 1);
    }
}

TEST_F(TransformClientTest, FanOutReplacesTheBatch)
{
    ScriptedServer server([](const RawRequest& r, RawConnection& c) {
        auto in = nlohmann::json::parse(r.body);
        nlohmann::json out = nlohmann::json::array();
        for (const auto& e : in) {
            out.push_back({{"_id", e["_id"].get<std::string>() + "-a"}});
            out.push_back({{"_id", e["_id"].get<std::string>() + "-b"}});
        }
        c.write(ScriptedServer::response(200, out.dump()));
    });
    auto report = run(server.base_url() + "/t", 3, 2);
    ASSERT_TRUE(report.ok());
    ASSERT_EQ(output.size(), 6u);
    EXPECT_EQ(output[5]["_id"], "e2-b");
    EXPECT_EQ(server.requests().at(0).body, R"([{"_id":"e0","n":0},{"_id":"e1","n":1}])");
    EXPECT_NE(server.requests().at(0).head.find("Content-Type: application/json\r\n"),
              std::string::npos);
}

TEST_F(TransformClientTest, CutShortAnswerFailsNamingTheBatchAndAddsNothing)
{
    ScriptedServer server([](const RawRequest&, RawConnection& c) {
        const std::string part = R"([{"_id":"a"},{"_id":"b"},{"_id)";
        char size[16];
        std::snprintf(size, sizeof size, "%zx\r\n", part.size());
        c.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + std::string(size) + part +
                "\r\n");
        c.close();
    });
    auto report = run(server.base_url() + "/t", 5, 2);
    ASSERT_FALSE(report.ok());
    EXPECT_EQ(report.summary.batches, 1u) << "the run stops at the first failed batch";
    EXPECT_EQ(report.failure->message.rfind(
                  "batch 1 (entities 0-1): POST " + server.base_url() + "/t: ", 0),
              0u)
        << report.failure->message;
    EXPECT_TRUE(output.empty()) << "a failed batch's answer never reaches the output";
    EXPECT_EQ(report.summary.entities_out, 0u);
}

// docs/protocol.md#conventions parser tolerance: when emulating, a bare object is one entity, with
// a warning
TEST_F(TransformClientTest, BareObjectAnswerIsOneEntityWithAWarning)
{
    ScriptedServer server([](const RawRequest&, RawConnection& c) {
        c.write(ScriptedServer::response(200, R"({"_id":"only"})"));
    });
    auto report = run(server.base_url() + "/t", 2);
    ASSERT_TRUE(report.ok());
    ASSERT_EQ(output.size(), 1u);
    EXPECT_EQ(output[0]["_id"], "only");
    ASSERT_EQ(report.summary.warnings.size(), 1u);
    EXPECT_NE(report.summary.warnings[0].find("single object"), std::string::npos);
}

TEST_F(TransformClientTest, ErrorStatusFailsWithTheStatusAndBody)
{
    ScriptedServer server([](const RawRequest&, RawConnection& c) {
        c.write(ScriptedServer::response(500, "KeyError: 'name'", "", "text/plain"));
    });
    auto report = run(server.base_url() + "/t", 1);
    ASSERT_FALSE(report.ok());
    EXPECT_EQ(report.failure->message,
              "batch 1 (entities 0-0): POST " + server.base_url() +
                  "/t: status 500 Error; body: KeyError: 'name'");
}

TEST_F(TransformClientTest, GarbageAnswerFailsWithTheByteOffset)
{
    ScriptedServer server([](const RawRequest&, RawConnection& c) {
        c.write(ScriptedServer::response(200, "[{\"_id\":\"a\"}] trailing"));
    });
    auto report = run(server.base_url() + "/t", 1);
    ASSERT_FALSE(report.ok());
    EXPECT_NE(report.failure->message.find("(byte 14)"), std::string::npos)
        << report.failure->message;
}

TEST_F(TransformClientTest, NoInputSendsNothing)
{
    ScriptedServer server(
        [](const RawRequest&, RawConnection& c) { c.write(ScriptedServer::response(200, "[]")); });
    auto report = run(server.base_url() + "/t", 0);
    ASSERT_TRUE(report.ok());
    EXPECT_EQ(server.requests().size(), 0u);
    EXPECT_EQ(report.summary.batches, 0u);
}

} // namespace
} // namespace sesam::emulator
