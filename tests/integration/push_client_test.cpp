#include "emulator/http/beast_transport.hpp"
#include "emulator/push/push_client.hpp"
#include "emulator/store/dataset_store.hpp"
#include "emulator/store/state_store.hpp"
#include "tests/support/reference_fixture.hpp"
#include "tests/support/scripted_server.hpp"

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <regex>

namespace sesam::emulator {
namespace {

using namespace std::chrono_literals;
using testing::RawConnection;
using testing::RawRequest;
using testing::RunningReferenceService;
using testing::ScriptedServer;

std::string person(int i, const std::string& extra = "")
{
    return R"({"_id":"p)" + std::to_string(i) + R"(","n":)" + std::to_string(i) + extra + "}";
}

/// The query parameters of a request target, in order.
std::vector<std::pair<std::string, std::string>> params_of(const std::string& target)
{
    std::vector<std::pair<std::string, std::string>> out;
    auto q = target.find('?');
    if (q == std::string::npos)
        return out;
    std::string rest = target.substr(q + 1);
    std::regex pair("([^&=]+)=([^&]*)");
    for (std::sregex_iterator it(rest.begin(), rest.end(), pair), end; it != end; ++it)
        out.emplace_back((*it)[1], (*it)[2]);
    return out;
}

std::string param(const std::string& target, const std::string& name)
{
    for (const auto& [k, v] : params_of(target))
        if (k == name)
            return v;
    return "<absent>";
}

class PushClientTest : public ::testing::Test {
protected:
    void load(const std::vector<std::string>& entities, bool full = true)
    {
        auto l = datasets.begin_load("people", full);
        for (const auto& e : entities)
            l.write(e);
        l.commit();
    }
    void load_range(int from, int to, const std::string& extra = "")
    {
        std::vector<std::string> entities;
        for (int i = from; i < to; ++i)
            entities.push_back(person(i, extra));
        load(entities);
    }
    PushReport push(const std::string& url, PushSettings settings = {}, bool full = false)
    {
        BeastTransport transport(ioc, TransportOptions{5s, 5s});
        PushOptions options;
        options.url = url;
        options.dataset = "people";
        options.settings = settings;
        options.full = full;
        PushClient client(transport, state, datasets, options);
        return client.run("pipe");
    }
    static std::size_t entities_in(const RawRequest& r)
    {
        return nlohmann::json::parse(r.body).size();
    }

    boost::asio::io_context ioc;
    StateStore state = StateStore::open(":memory:");
    DatasetStore datasets{state};
};

// docs/protocol.md#push-example worked example: 150 entities, batch_size 100 → 100, 50, then []
// with is_last
TEST_F(PushClientTest, FullSyncHasTheDocumentedRequests)
{
    load_range(0, 150);
    ScriptedServer server([](const RawRequest&, RawConnection& c) {
        c.write(ScriptedServer::response(200, "Thanks!", "", "text/plain"));
    });
    auto report = push(server.base_url() + "/receiver");
    ASSERT_TRUE(report.ok()) << report.failure->message;
    auto requests = server.requests();
    ASSERT_EQ(requests.size(), 3u);
    const auto seq = report.summary.sequence_id;
    EXPECT_TRUE(std::regex_match(
        seq, std::regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")))
        << seq;
    using P = std::vector<std::pair<std::string, std::string>>;
    EXPECT_EQ(
        params_of(requests[0].target),
        (P{{"sequence_id", seq}, {"is_full", "true"}, {"request_id", "1"}, {"is_first", "true"}}));
    EXPECT_EQ(params_of(requests[1].target),
              (P{{"sequence_id", seq},
                 {"is_full", "true"},
                 {"request_id", "2"},
                 {"previous_request_id", "1"}}));
    EXPECT_EQ(params_of(requests[2].target),
              (P{{"sequence_id", seq},
                 {"is_full", "true"},
                 {"request_id", "3"},
                 {"previous_request_id", "2"},
                 {"is_last", "true"}}));
    EXPECT_EQ(entities_in(requests[0]), 100u);
    EXPECT_EQ(entities_in(requests[1]), 50u);
    EXPECT_EQ(requests[2].body, "[]");
    for (const auto& r : requests) {
        EXPECT_EQ(r.method, "POST");
        EXPECT_NE(r.head.find("Content-Type: application/json\r\n"), std::string::npos) << r.head;
    }
    // docs/protocol.md#reserved-fields: pushed entities carry the dataset's reserved fields
    auto first = nlohmann::json::parse(requests[0].body)[0];
    EXPECT_EQ(first["_id"], "p0");
    EXPECT_EQ(first["_deleted"], false);
    EXPECT_EQ(first["_updated"], 0);
    EXPECT_TRUE(first["_previous"].is_null());
    EXPECT_TRUE(first["_ts"].is_number_integer());
    EXPECT_EQ(first["_hash"].get<std::string>().size(), 32u);
    EXPECT_EQ(report.summary.entities, 150u);
    EXPECT_EQ(report.summary.offset_after, 149);
    EXPECT_EQ(state.load_offset("pipe"), "149");
}

TEST_F(PushClientTest, FullThenIncrementalAgainstTheReferenceReceiver)
{
    RunningReferenceService service(reference::Dataset{});
    const auto url = service.base_url() + "receiver";
    load_range(0, 30);
    auto first = push(url, PushSettings{.batch_size = 7});
    ASSERT_TRUE(first.ok()) << first.failure->message;
    EXPECT_TRUE(first.summary.full_sync);
    EXPECT_EQ(first.summary.requests, 6u); // 5 data batches and the empty one

    // p3 changes, p4 disappears (deletion tracking writes a tombstone), p30 is new
    std::vector<std::string> next;
    for (int i = 0; i < 31; ++i)
        if (i != 4)
            next.push_back(person(i, i == 3 ? R"(,"changed":true)" : ""));
    load(next);
    auto second = push(url, PushSettings{.batch_size = 7});
    ASSERT_TRUE(second.ok()) << second.failure->message;
    EXPECT_FALSE(second.summary.full_sync);
    EXPECT_EQ(second.summary.entities, 3u);
    EXPECT_EQ(second.summary.deleted, 1u);
    EXPECT_EQ(second.summary.requests, 2u);

    BeastTransport transport(ioc, TransportOptions{});
    HttpRequest get;
    get.url = service.base_url() + "receiver/entities";
    auto held = nlohmann::json::parse(transport.fetch(get)->body);
    ASSERT_EQ(held.size(), 30u);
    std::set<std::string> ids;
    for (const auto& e : held)
        ids.insert(e["_id"].get<std::string>());
    EXPECT_FALSE(ids.count("p4"));
    EXPECT_TRUE(ids.count("p30"));
}

TEST_F(PushClientTest, AHeaderOverridesTheContentType)
{
    load_range(0, 1);
    ScriptedServer server(
        [](const RawRequest&, RawConnection& c) { c.write(ScriptedServer::response(200, "")); });
    BeastTransport transport(ioc, TransportOptions{5s, 5s});
    PushOptions options;
    options.url = server.base_url() + "/r?ms_do_skip_empty_data=1";
    options.dataset = "people";
    options.headers = {{"content-type", "application/json; charset=UTF-8"}, {"X-Key", "k"}};
    PushClient client(transport, state, datasets, options);
    ASSERT_TRUE(client.run("pipe").ok());
    const auto r = server.requests().at(0);
    EXPECT_NE(r.head.find("content-type: application/json; charset=UTF-8\r\n"), std::string::npos)
        << r.head;
    EXPECT_EQ(r.head.find("Content-Type: application/json\r\n"), std::string::npos) << r.head;
    EXPECT_EQ(r.target.rfind("/r?ms_do_skip_empty_data=1&sequence_id=", 0), 0u) << r.target;
}

// docs/protocol.md#real-services: some receivers answer 500 to the trailing empty batch
TEST_F(PushClientTest, FailingEmptyBatchFailsTheSyncAndTheNextRunIsFullAgain)
{
    load_range(0, 3);
    ScriptedServer server([](const RawRequest& r, RawConnection& c) {
        c.write(
            ScriptedServer::response(r.body == "[]" ? 500 : 200, r.body == "[]" ? "no data" : ""));
    });
    auto report = push(server.base_url() + "/r");
    ASSERT_FALSE(report.ok());
    EXPECT_EQ(report.failure->kind, PushFailure::Kind::service);
    EXPECT_NE(
        report.failure->message.find("status 500 Error; body: no data (the trailing empty batch)"),
        std::string::npos)
        << report.failure->message;
    EXPECT_EQ(report.summary.requests, 5u)
        << "one data batch, then the empty one tried 1 + 3 times";
    EXPECT_FALSE(state.load_offset("pipe")) << "the full sequence never completed";
    auto again = push(server.base_url() + "/r");
    EXPECT_TRUE(again.summary.full_sync);
}

TEST_F(PushClientTest, ServiceUnavailableThenSuccessIsRetriedWithTheSameRequestId)
{
    load_range(0, 2);
    int calls = 0;
    ScriptedServer server([&](const RawRequest&, RawConnection& c) {
        c.write(ScriptedServer::response(++calls == 1 ? 503 : 200, ""));
    });
    auto report = push(server.base_url() + "/r");
    ASSERT_TRUE(report.ok()) << report.failure->message;
    EXPECT_EQ(report.summary.retries, 1u);
    auto requests = server.requests();
    ASSERT_EQ(requests.size(), 3u);
    EXPECT_EQ(requests[0].target, requests[1].target);
    EXPECT_EQ(requests[0].body, requests[1].body);
    EXPECT_EQ(param(requests[2].target, "previous_request_id"), "1");
}

// docs/protocol.md#push-receiver-rules: 409 stops the sync; a full sync restarts from the beginning
// with a new sequence
TEST_F(PushClientTest, ConflictStopsAndTheNextRunIsAFullSync)
{
    load_range(0, 4);
    bool conflict = false;
    ScriptedServer server([&](const RawRequest&, RawConnection& c) {
        c.write(ScriptedServer::response(conflict ? 409 : 200, conflict ? "broken chain" : ""));
    });
    ASSERT_TRUE(push(server.base_url() + "/r").ok());
    load_range(0, 4, R"(,"v":2)");
    conflict = true;
    auto report = push(server.base_url() + "/r");
    ASSERT_FALSE(report.ok());
    EXPECT_EQ(report.failure->kind, PushFailure::Kind::conflict);
    EXPECT_FALSE(report.summary.full_sync);
    EXPECT_EQ(report.summary.requests, 1u) << "no retry after 409";
    EXPECT_FALSE(state.load_offset("pipe"));
    conflict = false;
    auto next = push(server.base_url() + "/r");
    ASSERT_TRUE(next.ok());
    EXPECT_TRUE(next.summary.full_sync);
    EXPECT_NE(next.summary.sequence_id, report.summary.sequence_id);
    EXPECT_EQ(param(server.requests().back().target, "is_full"), "true");
}

TEST_F(PushClientTest, BatchFailureFallsBackToSingleEntities)
{
    load_range(0, 3);
    ScriptedServer server([](const RawRequest& r, RawConnection& c) {
        c.write(ScriptedServer::response(entities_in(r) > 1 ? 500 : 200, ""));
    });
    auto report = push(server.base_url() + "/r", PushSettings{.batch_size = 3, .batch_retries = 1});
    ASSERT_TRUE(report.ok()) << report.failure->message;
    EXPECT_EQ(report.summary.entities, 3u);
    auto requests = server.requests();
    // the batch twice (1 retry), then each entity alone, then the empty batch
    ASSERT_EQ(requests.size(), 6u);
    for (int i = 2; i < 5; ++i)
        EXPECT_EQ(entities_in(requests[i]), 1u);
    EXPECT_EQ(param(requests[5].target, "is_last"), "true");
}

// docs/protocol.md#push-receiver-rules: the offset advances only over what the receiver
// acknowledged
TEST_F(PushClientTest, OffsetStopsAtTheFirstUnacknowledgedEntity)
{
    load_range(0, 2);
    bool fail_third = false;
    ScriptedServer server([&](const RawRequest& r, RawConnection& c) {
        const bool bad = fail_third && r.body.find("\"p2\"") != std::string::npos;
        c.write(ScriptedServer::response(bad ? 500 : 200, ""));
    });
    ASSERT_TRUE(push(server.base_url() + "/r").ok());
    EXPECT_EQ(state.load_offset("pipe"), "1");
    std::vector<std::string> all;
    for (int i = 0; i < 5; ++i)
        all.push_back(person(i));
    load(all); // p2, p3, p4 new: _updated 2, 3, 4
    fail_third = true;
    auto report = push(server.base_url() + "/r", PushSettings{.batch_size = 1, .batch_retries = 0});
    ASSERT_FALSE(report.ok());
    EXPECT_EQ(report.summary.failed, 1u);
    EXPECT_EQ(state.load_offset("pipe"), "1") << "p2 (_updated 2) was not acknowledged";
}

// A full sync that skipped a failed entity is not clean: the receiver deleted it at is_last,
// so the offset must not move and the next run is full again.
TEST_F(PushClientTest, FullSyncWithAFailedEntityKeepsNoOffset)
{
    load_range(0, 4);
    ScriptedServer server([](const RawRequest& r, RawConnection& c) {
        c.write(
            ScriptedServer::response(r.body.find("\"p2\"") != std::string::npos ? 500 : 200, ""));
    });
    PushSettings settings{.batch_size = 2, .batch_retries = 0, .max_consecutive_write_errors = 2};
    auto report = push(server.base_url() + "/r", settings);
    ASSERT_FALSE(report.ok());
    EXPECT_EQ(report.summary.failed, 1u);
    EXPECT_EQ(report.summary.entities, 3u);
    EXPECT_FALSE(state.load_offset("pipe"));
    auto again = push(server.base_url() + "/r", settings);
    EXPECT_TRUE(again.summary.full_sync);
}

TEST_F(PushClientTest, IncrementalEmptyBatchCanBeTurnedOff)
{
    load_range(0, 2);
    ScriptedServer server(
        [](const RawRequest&, RawConnection& c) { c.write(ScriptedServer::response(200, "")); });
    ASSERT_TRUE(push(server.base_url() + "/r").ok());
    load_range(0, 2, R"(,"v":2)");
    auto report =
        push(server.base_url() + "/r", PushSettings{.incremental_trailing_empty_batch = false});
    ASSERT_TRUE(report.ok());
    auto requests = server.requests();
    ASSERT_EQ(requests.size(), 3u) << "full: data + empty; incremental: data only";
    EXPECT_EQ(param(requests.back().target, "is_full"), "false");
    EXPECT_EQ(param(requests.back().target, "is_first"), "<absent>");
    EXPECT_EQ(entities_in(requests.back()), 2u);
}

TEST_F(PushClientTest, FilteredEntitiesAreKeptOutAndDeletedOnesGoOut)
{
    load({person(0), R"({"_id":"f","_filtered":true})", R"({"_id":"d","_deleted":true})"});
    ScriptedServer server(
        [](const RawRequest&, RawConnection& c) { c.write(ScriptedServer::response(200, "")); });
    auto report = push(server.base_url() + "/r");
    ASSERT_TRUE(report.ok());
    auto body = nlohmann::json::parse(server.requests().at(0).body);
    ASSERT_EQ(body.size(), 2u);
    EXPECT_EQ(body[0]["_id"], "p0");
    EXPECT_EQ(body[1]["_id"], "d");
    EXPECT_EQ(body[1]["_deleted"], true);
    EXPECT_EQ(report.summary.deleted, 1u);
}

TEST_F(PushClientTest, EmptyDatasetFullSyncIsOneRequestWithFirstAndLast)
{
    ScriptedServer server(
        [](const RawRequest&, RawConnection& c) { c.write(ScriptedServer::response(200, "")); });
    auto report = push(server.base_url() + "/r");
    ASSERT_TRUE(report.ok());
    auto requests = server.requests();
    ASSERT_EQ(requests.size(), 1u);
    EXPECT_EQ(requests[0].body, "[]");
    EXPECT_EQ(param(requests[0].target, "is_first"), "true");
    EXPECT_EQ(param(requests[0].target, "is_last"), "true");
}

TEST_F(PushClientTest, UnreachableReceiverFailsNamingTheRequest)
{
    load_range(0, 1);
    auto report = push("http://127.0.0.1:9/r", PushSettings{.batch_retries = 0});
    ASSERT_FALSE(report.ok());
    EXPECT_NE(report.failure->message.find("POST http://127.0.0.1:9/r?sequence_id="),
              std::string::npos)
        << report.failure->message;
    EXPECT_NE(report.failure->message.find("connect to 127.0.0.1:9"), std::string::npos);
}

} // namespace
} // namespace sesam::emulator
