#include "emulator/http/beast_transport.hpp"
#include "emulator/pull/pull_client.hpp"
#include "emulator/store/state_store.hpp"
#include "tests/support/reference_fixture.hpp"
#include "tests/support/scripted_server.hpp"

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <set>
#include <thread>

namespace sesam::emulator {
namespace {

using namespace std::chrono_literals;
using testing::RawConnection;
using testing::RawRequest;
using testing::RunningReferenceService;
using testing::ScriptedServer;

reference::Dataset numbered(int n, int deleted_every = 0)
{
    std::string lines;
    for (int i = 0; i < n; ++i) {
        nlohmann::json e{{"_id", "e" + std::to_string(i)}, {"n", i}, {"when", "~t2024-01-01"}};
        if (deleted_every && i % deleted_every == 0)
            e["_deleted"] = true;
        lines += e.dump() + "\n";
    }
    return reference::Dataset::parse(lines, "test");
}

/// A pull run's entities and report.
struct PullRun {
    PullReport report;
    std::vector<std::string> ids;
    std::vector<std::string> bytes;
};

class PullClientTest : public ::testing::Test {
protected:
    PullRun pull(PullOptions options, const std::string& pipe = "pipe")
    {
        BeastTransport transport(ioc, TransportOptions{5s, read_timeout});
        PullClient client(transport, &store, std::move(options));
        PullRun run;
        run.report = client.run(pipe, [&](const EntityView& e) {
            run.ids.push_back(e.id);
            run.bytes.emplace_back(e.bytes);
        });
        return run;
    }
    static PullOptions chronological(const std::string& url, std::size_t page = 0)
    {
        PullOptions o;
        o.url = url;
        o.supports_since = true;
        o.is_chronological = true;
        if (page)
            o.page_size = page;
        return o;
    }
    static std::vector<std::string> targets(const ScriptedServer& s)
    {
        std::vector<std::string> out;
        for (const auto& r : s.requests())
            out.push_back(r.target);
        return out;
    }

    boost::asio::io_context ioc;
    StateStore store = StateStore::open(":memory:");
    std::chrono::milliseconds read_timeout = 5s;
};

// docs/protocol.md#pull-paging, #pull-example: pages continue from the last entity's _updated until
// an empty page
TEST_F(PullClientTest, FullThenIncrementalWithPagingAgainstReferenceService)
{
    RunningReferenceService service(numbered(10, 4));
    auto first = pull(chronological(service.base_url() + "entities", 3));
    ASSERT_TRUE(first.report.ok()) << first.report.failure->message;
    EXPECT_EQ(first.report.summary.entities, 10u);
    EXPECT_EQ(first.report.summary.deleted, 3u);  // e0, e4, e8
    EXPECT_EQ(first.report.summary.requests, 5u); // 3+3+3+1, then the empty page
    EXPECT_TRUE(first.report.summary.full_run);
    EXPECT_FALSE(first.report.summary.offset_before);
    EXPECT_EQ(first.report.summary.offset_after, SinceValue::number("9"));
    EXPECT_EQ(store.load_offset("pipe"), "9");
    EXPECT_EQ(std::set<std::string>(first.ids.begin(), first.ids.end()).size(), 10u);
    EXPECT_EQ(first.bytes.front(),
              R"({"_deleted":true,"_id":"e0","n":0,"when":"~t2024-01-01","_updated":0})")
        << "entities are handed on exactly as received";

    auto second = pull(chronological(service.base_url() + "entities", 3));
    ASSERT_TRUE(second.report.ok());
    EXPECT_FALSE(second.report.summary.full_run);
    EXPECT_EQ(second.report.summary.entities, 0u);
    EXPECT_EQ(second.report.summary.requests, 1u);
    EXPECT_EQ(store.load_offset("pipe"), "9");
}

TEST_F(PullClientTest, StopOnShortPageSavesTheEmptyRequest)
{
    RunningReferenceService service(numbered(10));
    auto options = chronological(service.base_url() + "entities", 3);
    options.stop_on_short_page = true;
    auto run = pull(options);
    ASSERT_TRUE(run.report.ok());
    EXPECT_EQ(run.report.summary.entities, 10u);
    EXPECT_EQ(run.report.summary.requests, 4u);
}

// docs/protocol.md#pull-request: the exact requests, with parameters added to the URL's own query
// string
TEST_F(PullClientTest, RequestsCarrySinceLimitAndKeepTheUrlsQuery)
{
    ScriptedServer server([](const RawRequest& r, RawConnection& c) {
        if (r.target.find("since=") == std::string::npos)
            c.write(ScriptedServer::response(
                200, R"([{"_id":"a","_updated":"2024-01-02T09:00:00+01:00"}])"));
        else
            c.write(ScriptedServer::response(200, "[]"));
    });
    auto run = pull(chronological(server.base_url() + "/contacts?scope=all", 2));
    ASSERT_TRUE(run.report.ok()) << run.report.failure->message;
    EXPECT_EQ(targets(server),
              (std::vector<std::string>{
                  "/contacts?scope=all&limit=2",
                  "/contacts?scope=all&since=2024-01-02T09%3A00%3A00%2B01%3A00&limit=2"}));
    EXPECT_EQ(store.load_offset("pipe"), "\"2024-01-02T09:00:00+01:00\"");
}

TEST_F(PullClientTest, NoSinceWithoutSupportsSinceEvenWithAStoredOffset)
{
    store.save_offset("pipe", "5");
    ScriptedServer server([](const RawRequest&, RawConnection& c) {
        c.write(ScriptedServer::response(200, R"([{"_id":"a","_updated":7}])"));
    });
    PullOptions o;
    o.url = server.base_url() + "/e";
    auto run = pull(o);
    ASSERT_TRUE(run.report.ok());
    EXPECT_EQ(targets(server), std::vector<std::string>{"/e"});
    EXPECT_EQ(store.load_offset("pipe"), "5") << "no strategy: the offset is not touched";
}

TEST_F(PullClientTest, InitialSinceValueOnlyWithoutStoredOffset)
{
    ScriptedServer server([](const RawRequest&, RawConnection& c) {
        c.write(ScriptedServer::response(200, R"([{"_id":"a","_updated":30}])"));
    });
    auto o = chronological(server.base_url() + "/e");
    o.initial_since_value = "20";
    ASSERT_TRUE(pull(o).report.ok());
    ASSERT_TRUE(pull(o).report.ok());
    EXPECT_EQ(targets(server), (std::vector<std::string>{"/e?since=20", "/e?since=30"}));
}

// docs/protocol.md#pull-continuation max: the largest _updated, stored only on success
TEST_F(PullClientTest, MaxStrategyStoresTheLargestValueOnlyOnSuccess)
{
    bool fail = false;
    ScriptedServer server([&](const RawRequest&, RawConnection& c) {
        if (fail)
            c.write(
                ScriptedServer::response(200, R"([{"_id":"d","_updated":50},{"_id":"e","_upd)"));
        else
            c.write(ScriptedServer::response(
                200,
                R"([{"_id":"a","_updated":5},{"_id":"b","_updated":9},{"_id":"c","_updated":7}])"));
    });
    PullOptions o;
    o.url = server.base_url() + "/e";
    o.supports_since = true;
    auto run = pull(o);
    ASSERT_TRUE(run.report.ok());
    EXPECT_EQ(store.load_offset("pipe"), "9");
    fail = true;
    run = pull(o);
    ASSERT_FALSE(run.report.ok());
    EXPECT_EQ(store.load_offset("pipe"), "9") << "a failed max run leaves the offset";
    EXPECT_EQ(targets(server).back(), "/e?since=9");
}

/// Chunked answer of entities x<from>..x<to> with _updated = n, cut short after them when `cut`.
std::string chunked_entities(int from, int to, bool cut)
{
    std::string body = "[";
    for (int i = from; i <= to; ++i)
        body += (i > from ? "," : "") + std::string(R"({"_id":"x)") + std::to_string(i) +
                R"(","_updated":)" + std::to_string(i) + "}";
    body += cut ? ",{\"_id\":\"x" : "]";
    char size[32];
    std::snprintf(size, sizeof size, "%zx\r\n", body.size());
    return "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + std::string(size) + body +
           "\r\n" + (cut ? "" : "0\r\n\r\n");
}

// docs/protocol.md#real-services, #pull-continuation (the first wins): a cut-short body moves no
// offset, even past a due checkpoint
TEST_F(PullClientTest, NoCheckpointFromAResponseThatIsCutShort)
{
    ScriptedServer server([](const RawRequest&, RawConnection& c) {
        c.write(chunked_entities(1, 5, true));
        c.close();
    });
    auto o = chronological(server.base_url() + "/e");
    o.checkpoint_interval = 2;
    auto run = pull(o);
    ASSERT_FALSE(run.report.ok());
    EXPECT_EQ(run.report.summary.entities, 5u);
    EXPECT_FALSE(store.load_offset("pipe"));
}

// docs/protocol.md#pull-continuation chronological: a failed run resumes from the last checkpoint
// (of a whole page)
TEST_F(PullClientTest, ChronologicalFailureResumesFromTheLastCompletePage)
{
    ScriptedServer server([](const RawRequest& r, RawConnection& c) {
        if (r.target.find("since=4") != std::string::npos) {
            c.write(chunked_entities(5, 5, true));
            c.close();
        } else if (r.target.find("since=2") != std::string::npos) {
            c.write(chunked_entities(3, 4, false));
        } else {
            c.write(chunked_entities(1, 2, false));
        }
    });
    auto o = chronological(server.base_url() + "/e", 2);
    o.checkpoint_interval = 2;
    auto run = pull(o);
    ASSERT_FALSE(run.report.ok());
    EXPECT_EQ(run.report.summary.entities, 5u);
    EXPECT_EQ(store.load_offset("pipe"), "4") << "pages 1 and 2 parsed whole; page 3 did not";
}

// An offset never covers entities that did not reach the output
TEST_F(PullClientTest, AnOutputThatCannotBeWrittenStopsTheRunBeforeTheOffsetMoves)
{
    RunningReferenceService service(numbered(6));
    BeastTransport transport(ioc, TransportOptions{5s, 5s});
    PullClient client(transport, &store, chronological(service.base_url() + "entities", 2));
    int flushes = 0;
    auto report = client.run(
        "pipe",
        [](const EntityView&) {},
        [&]() -> std::optional<std::string> {
            ++flushes;
            return std::string("No space left on device");
        });
    ASSERT_FALSE(report.ok());
    EXPECT_EQ(report.failure->kind, PullFailure::Kind::output);
    EXPECT_EQ(report.failure->message, "cannot write the output: No space left on device");
    EXPECT_EQ(flushes, 1);
    EXPECT_FALSE(store.load_offset("pipe"));
}

TEST_F(PullClientTest, SubsetIsSentWithPythonSpacing)
{
    ScriptedServer server(
        [](const RawRequest&, RawConnection& c) { c.write(ScriptedServer::response(200, "[]")); });
    PullOptions o;
    o.url = server.base_url() + "/e";
    o.subset = R"(["eq","_S.vowel",true])";
    ASSERT_TRUE(pull(o).report.ok());
    EXPECT_EQ(targets(server).at(0), "/e?subset=%5B%22eq%22%2C+%22_S.vowel%22%2C+true%5D");
}

TEST_F(PullClientTest, IfSourceEmptyFail)
{
    RunningReferenceService service(numbered(0));
    PullOptions o;
    o.url = service.base_url() + "entities";
    o.if_source_empty = IfSourceEmpty::fail;
    auto run = pull(o);
    ASSERT_FALSE(run.report.ok());
    EXPECT_EQ(run.report.failure->message,
              "the source returned no entities and if_source_empty is \"fail\"");
    o.if_source_empty = IfSourceEmpty::accept;
    EXPECT_TRUE(pull(o).report.ok());
}

// docs/protocol.md#real-services: a 200 is not success unless the whole body is one JSON array
TEST_F(PullClientTest, CutShortBodyFailsNamingTheRequest)
{
    ScriptedServer server([](const RawRequest&, RawConnection& c) {
        c.write("HTTP/1.1 200 OK\r\nConnection: "
                "close\r\n\r\n[{\"_id\":\"a\",\"_updated\":1},{\"_id\":");
        c.close();
    });
    auto o = chronological(server.base_url() + "/e");
    auto run = pull(o);
    ASSERT_FALSE(run.report.ok());
    EXPECT_EQ(run.report.failure->kind, PullFailure::Kind::service);
    const auto& m = run.report.failure->message;
    EXPECT_EQ(m.rfind("GET " + server.base_url() + "/e: bad body: ", 0), 0u) << m;
    EXPECT_NE(m.find("cut short"), std::string::npos) << m;
    EXPECT_FALSE(store.load_offset("pipe")) << "no checkpoint was due: the offset stays unset";
}

TEST_F(PullClientTest, NonJsonTextAfterA200FailsWithTheByteOffset)
{
    ScriptedServer server([](const RawRequest&, RawConnection& c) {
        c.write("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n[{\"_id\":\"a\"}\nTraceback (most "
                "recent call last):");
        c.close();
    });
    PullOptions o;
    o.url = server.base_url() + "/e";
    auto run = pull(o);
    ASSERT_FALSE(run.report.ok());
    EXPECT_NE(run.report.failure->message.find("(byte 13)"), std::string::npos)
        << run.report.failure->message;
}

TEST_F(PullClientTest, ServerErrorFailsWithStatusAndBody)
{
    ScriptedServer server([](const RawRequest&, RawConnection& c) {
        c.write(ScriptedServer::response(500, "database\nis down", "", "text/plain"));
    });
    PullOptions o;
    o.url = server.base_url() + "/e";
    auto run = pull(o);
    ASSERT_FALSE(run.report.ok());
    EXPECT_EQ(run.report.failure->message,
              "GET " + server.base_url() + "/e: status 500 Error; body: database is down");
}

TEST_F(PullClientTest, ServiceSlowerThanTheReadTimeoutFails)
{
    ScriptedServer server([](const RawRequest&, RawConnection& c) {
        std::this_thread::sleep_for(700ms);
        c.write(ScriptedServer::response(200, "[]"));
    });
    read_timeout = 150ms;
    PullOptions o;
    o.url = server.base_url() + "/e";
    auto run = pull(o);
    ASSERT_FALSE(run.report.ok());
    EXPECT_EQ(run.report.failure->message,
              "GET " + server.base_url() + "/e: no response within the read timeout of 150 ms");
}

TEST_F(PullClientTest, ServiceIgnoringSinceStopsPagingWithAClearError)
{
    ScriptedServer server([](const RawRequest&, RawConnection& c) {
        c.write(ScriptedServer::response(200,
                                         R"([{"_id":"a","_updated":1},{"_id":"b","_updated":2}])"));
    });
    auto run = pull(chronological(server.base_url() + "/e", 2));
    ASSERT_FALSE(run.report.ok());
    EXPECT_EQ(run.report.summary.requests, 2u);
    EXPECT_NE(run.report.failure->message.find("paging made no progress"), std::string::npos)
        << run.report.failure->message;
}

TEST_F(PullClientTest, ConnectionCloseServiceWorksAcrossPages)
{
    ScriptedServer server([](const RawRequest& r, RawConnection& c) {
        const bool first = r.target.find("since") == std::string::npos;
        c.write(ScriptedServer::response(
            200, first ? R"([{"_id":"a","_updated":1}])" : "[]", "Connection: close\r\n"));
        c.close();
    });
    auto run = pull(chronological(server.base_url() + "/e", 1));
    ASSERT_TRUE(run.report.ok()) << run.report.failure->message;
    EXPECT_EQ(run.report.summary.requests, 2u);
    EXPECT_EQ(server.connections(), 2u);
}

// docs/protocol.md#conventions parser tolerance
TEST_F(PullClientTest, SingleObjectBodyIsOneEntityWithAWarning)
{
    ScriptedServer server([](const RawRequest&, RawConnection& c) {
        c.write(ScriptedServer::response(200, R"({"_id":"solo"})"));
    });
    PullOptions o;
    o.url = server.base_url() + "/e";
    auto run = pull(o);
    ASSERT_TRUE(run.report.ok());
    EXPECT_EQ(run.ids, std::vector<std::string>{"solo"});
    ASSERT_EQ(run.report.summary.warnings.size(), 1u);
    EXPECT_NE(run.report.summary.warnings[0].find("single object"), std::string::npos);
}

// docs/protocol.md#transit rule 3: a malformed known tag fails the run, naming entity and field
TEST_F(PullClientTest, BadTransitValueFailsNamingEntityAndField)
{
    ScriptedServer server([](const RawRequest&, RawConnection& c) {
        c.write(ScriptedServer::response(200, R"([{"born":"~t2015-13-01","_id":"p-1"}])"));
    });
    PullOptions o;
    o.url = server.base_url() + "/e";
    auto run = pull(o);
    ASSERT_FALSE(run.report.ok());
    EXPECT_NE(run.report.failure->message.find("\"p-1\""), std::string::npos)
        << run.report.failure->message;
    EXPECT_NE(run.report.failure->message.find("born"), std::string::npos)
        << run.report.failure->message;
}

// docs/protocol.md#reserved-fields: _id is always a string
TEST_F(PullClientTest, NumericIdFails)
{
    ScriptedServer server([](const RawRequest&, RawConnection& c) {
        c.write(ScriptedServer::response(200, R"([{"_id":"a"},{"_id":17}])"));
    });
    PullOptions o;
    o.url = server.base_url() + "/e";
    auto run = pull(o);
    ASSERT_FALSE(run.report.ok());
    EXPECT_EQ(run.report.failure->message,
              "GET " + server.base_url() +
                  "/e: entity at index 1 (byte 13): _id must be a string, got 17");
}

TEST(PullOptionsValidate, PagingNeedsAllThreeContinuationProperties)
{
    PullOptions o;
    o.url = "http://127.0.0.1:1/e";
    o.page_size = 10;
    o.supports_since = true;
    ASSERT_TRUE(validate(o));
    EXPECT_EQ(*validate(o),
              "page_size needs supports_since, is_chronological and is_since_comparable all true "
              "(docs/protocol.md#pull-continuation)");
    o.is_chronological = true;
    EXPECT_FALSE(validate(o));
    o.is_since_comparable = false;
    EXPECT_TRUE(validate(o));
    o.is_since_comparable = true;
    o.subset = "[broken";
    EXPECT_EQ(*validate(o), "subset is not valid JSON: [broken");
}

} // namespace
} // namespace sesam::emulator
