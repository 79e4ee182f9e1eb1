// `load`: Sesam's access pattern at scale against real servers on loopback: what is sent, what
// is counted, and the CLI's figures, thresholds and report.
#include "examples/reference-service/dataset.hpp"
#include "harness/load/load_runner.hpp"
#include "tests/support/cli_fixture.hpp"
#include "tests/support/reference_fixture.hpp"
#include "tests/support/scripted_server.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <set>
#include <thread>

namespace sesam::testing {
namespace {

using harness::LoadOptions;
using harness::Role;
using harness::run_load;
using ::testing::HasSubstr;
using ::testing::Not;

std::string param(const std::string& target, const std::string& name)
{
    const auto at = target.find(name + "=");
    if (at == std::string::npos)
        return "";
    const auto end = target.find('&', at);
    return target.substr(at + name.size() + 1,
                         end == std::string::npos ? std::string::npos : end - at - name.size() - 1);
}

TEST(LoadRunner, ASinkGetsAFullSyncWithItsTrailingBatchThenAnIncrementalOne)
{
    ScriptedServer server(
        [](const RawRequest&, RawConnection& c) { c.write(ScriptedServer::response(200, "")); });
    LoadOptions o;
    o.role = Role::sink;
    o.url = server.base_url() + "/receiver";
    o.batch_size = 100;
    const auto figures = run_load(o, harness::generated_entities(250, 1));
    const auto requests = server.requests();
    ASSERT_EQ(requests.size(), 5u); // 3 batches, the empty is_last one, 1 incremental
    EXPECT_EQ(figures.requests, 5u);
    EXPECT_EQ(figures.entities, 350u); // 250 in full, the first 100 again incrementally
    EXPECT_EQ(figures.error_count(), 0u);
    const auto full = param(requests[0].target, "sequence_id");
    for (int i = 0; i < 4; ++i) {
        EXPECT_EQ(param(requests[i].target, "sequence_id"), full);
        EXPECT_EQ(param(requests[i].target, "is_full"), "true");
        EXPECT_EQ(param(requests[i].target, "request_id"), std::to_string(i + 1));
    }
    EXPECT_EQ(param(requests[0].target, "is_first"), "true");
    EXPECT_EQ(param(requests[1].target, "previous_request_id"), "1");
    EXPECT_EQ(param(requests[3].target, "is_last"), "true");
    EXPECT_EQ(requests[3].body, "[]");
    EXPECT_NE(param(requests[4].target, "sequence_id"), full);
    EXPECT_EQ(param(requests[4].target, "is_full"), "false");
    EXPECT_EQ(nlohmann::json::parse(requests[2].body).size(), 50u);
}

TEST(LoadRunner, ErrorsAreCountedByKindAndTheRunGoesOn)
{
    int n = 0;
    ScriptedServer server([&n](const RawRequest&, RawConnection& c) {
        c.write(ScriptedServer::response(++n % 2 ? 503 : 200, "busy"));
    });
    LoadOptions o;
    o.role = Role::transform;
    o.url = server.base_url() + "/transform";
    o.batch_size = 10;
    const auto figures = run_load(o, harness::generated_entities(40, 1));
    EXPECT_EQ(figures.requests, 4u);
    EXPECT_EQ(figures.errors.at("status 503"), 2u);
    // A 200 whose body is not a JSON array of entities is an error of a transform too.
    EXPECT_EQ(figures.errors.at("body is not a JSON array of entities"), 2u);
    EXPECT_EQ(figures.entities, 0u);
}

TEST(LoadRunner, TransformAndPagedSourceAgainstTheReferenceService)
{
    RunningReferenceService service(
        reference::Dataset::load(std::string(SESAM_SOURCE_DIR) + "/fixtures/datasets/people.json"));
    LoadOptions t;
    t.role = Role::transform;
    t.url = service.base_url() + "transform";
    t.batch_size = 7;
    t.concurrency = 3;
    const auto transformed = run_load(t, harness::generated_entities(50, 2));
    EXPECT_EQ(transformed.error_count(), 0u);
    EXPECT_EQ(transformed.entities, 150u);
    EXPECT_EQ(transformed.requests, 24u); // 8 batches per pipe
    EXPECT_EQ(transformed.latency.count(), 24u);

    LoadOptions s;
    s.role = Role::source;
    s.url = service.base_url() + "entities";
    s.page_size = 5;
    s.supports_since = true;
    const auto pulled = run_load(s, {});
    EXPECT_EQ(pulled.error_count(), 0u);
    EXPECT_EQ(pulled.entities, 14u); // the whole dataset, deletions included
    EXPECT_EQ(pulled.requests, 4u);  // 5 + 5 + 4, then the empty page
    EXPECT_EQ(pulled.first_byte.count(), 4u);
    EXPECT_LE(pulled.first_byte.max(), pulled.latency.max());
}

TEST(LoadRunner, MorePipesThanCoresShareThreadsAndEachPullsTheWholeDataset)
{
    // The pipes are coroutines on one thread per core: with more pipes than cores, several
    // share a thread, each on its own connection with its own paging state.
    RunningReferenceService service(
        reference::Dataset::load(std::string(SESAM_SOURCE_DIR) + "/fixtures/datasets/people.json"));
    LoadOptions s;
    s.role = Role::source;
    s.url = service.base_url() + "entities";
    s.page_size = 5;
    s.concurrency = 2 * std::max(1u, std::thread::hardware_concurrency()) + 1;
    const auto pulled = run_load(s, {});
    EXPECT_EQ(pulled.error_count(), 0u);
    EXPECT_EQ(pulled.rounds, s.concurrency);
    EXPECT_EQ(pulled.entities, 14u * s.concurrency); // each pipe pulled all 14, once
    EXPECT_EQ(pulled.requests, 4u * s.concurrency);  // 5 + 5 + 4, then the empty page
    EXPECT_EQ(pulled.latency.count(), pulled.requests);
}

TEST(LoadRunner, ASlowServiceShowsInTheLatencies)
{
    ScriptedServer server([](const RawRequest&, RawConnection& c) {
        std::this_thread::sleep_for(std::chrono::milliseconds(30));
        c.write(ScriptedServer::response(200, ""));
    });
    LoadOptions o;
    o.role = Role::sink;
    o.url = server.base_url() + "/receiver";
    const auto figures = run_load(o, harness::generated_entities(300, 1));
    EXPECT_GE(figures.latency.percentile(50), 30'000u); // µs: never below the service's sleep
    EXPECT_GE(figures.latency.min(), 30'000u);
}

TEST(LoadRunner, ASeedMakesEntitiesAndSequenceIdsReproducible)
{
    EXPECT_EQ(harness::generated_entities(100, 5), harness::generated_entities(100, 5));
    EXPECT_NE(harness::generated_entities(100, 5), harness::generated_entities(100, 6));
    const auto entity = nlohmann::json::parse(harness::generated_entities(3, 5)[1]);
    EXPECT_TRUE(entity.contains("_id"));
    std::vector<std::string> ids[2];
    for (auto& run : ids) {
        ScriptedServer server([](const RawRequest&, RawConnection& c) {
            c.write(ScriptedServer::response(200, ""));
        });
        LoadOptions o;
        o.role = Role::sink;
        o.url = server.base_url() + "/r";
        o.seed = 42;
        run_load(o, harness::generated_entities(10, 1));
        for (const auto& r : server.requests())
            run.push_back(param(r.target, "sequence_id"));
    }
    EXPECT_EQ(ids[0], ids[1]);
    EXPECT_EQ(ids[0].size(), 3u);
    EXPECT_NE(ids[0][0], ids[0][2]);
}

class LoadCommandTest : public CliFixture {};

TEST_F(LoadCommandTest, StartsTheServiceAndReportsItsMemoryAndTheFigures)
{
    const auto port = std::to_string(free_port());
    const auto url = "http://127.0.0.1:" + port + "/receivers/pipe-{pipe}/entities";
    const auto r =
        emu("load " + url + " --role sink --entities 3000 --concurrency 2 --exec '" + kBinary +
            " serve --port " + port + " --quiet' --report json:" + path("load.json"));
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_THAT(r.out,
                HasSubstr("load: sink " + url +
                          ", 2 pipes at once, 3000 entities in "
                          "batches of 100\n"));
    EXPECT_THAT(r.out, HasSubstr("load: 6600 entities in "));
    EXPECT_THAT(r.out, HasSubstr("68 requests, 0 errors"));
    EXPECT_THAT(r.out, HasSubstr("service peak memory "));
    EXPECT_THAT(r.err, Not(HasSubstr("expect 409s")));
    const auto report = nlohmann::json::parse(slurp(path("load.json")));
    EXPECT_EQ(report["entities"], 6600);
    EXPECT_EQ(report["requests"], 68);
    EXPECT_EQ(report["errors"], 0);
    for (const char* key : {"p50", "p95", "p99", "max"})
        EXPECT_TRUE(report["latency_ms"][key].is_number()) << key;
    EXPECT_GT(report["entities_per_s"].get<double>(), 0);
    EXPECT_GT(report["service_peak_rss_mb"].get<double>(), 1.0);
    EXPECT_LT(report["service_peak_rss_mb"].get<double>(), 500.0);
}

TEST_F(LoadCommandTest, AGreedyServiceShowsItsMemoryBesideTheStreamingReference)
{
    // The same 100,000 entities (about 33 MB with the incremental tenth): the reference
    // receiver keeps them on disk, the greedy service keeps every body in memory.
    auto peak = [&](const std::string& exec, const std::string& port, const std::string& name) {
        const auto r = emu("load http://127.0.0.1:" + port + "/receiver --role sink --exec '" +
                           exec + "' --report json:" + path(name));
        EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
        EXPECT_THAT(r.out, HasSubstr("service peak memory ")) << r.out;
        return nlohmann::json::parse(slurp(path(name)))["service_peak_rss_mb"].get<double>();
    };
    const auto port = std::to_string(free_port());
    const auto reference =
        peak(kBinary + " serve --quiet --threads 1 --port " + port, port, "reference.json");
    // A port of its own (one freed by the first run could be taken meanwhile by another test).
    const auto other = std::to_string(free_port());
    const auto greedy =
        peak(std::string(SESAM_GREEDY_BINARY) + " --port " + other, other, "greedy.json");
    // The greedy service holds at least the 33 MB it was sent; the reference stays within a
    // container's 128 MiB (alone it peaks at about 12 MB; the comparison of the two is judged
    // by MemoryChecksTest, whose figures do not depend on what else the machine runs).
    EXPECT_GT(greedy, 33.0) << "greedy " << greedy << ", reference " << reference;
#if !defined(__SANITIZE_ADDRESS__) // the sanitizers' quarantine keeps freed memory too
    EXPECT_LT(reference, 128.0) << "greedy " << greedy << ", reference " << reference;
#endif
}

TEST_F(LoadCommandTest, AMissedThresholdIsExitOneAndNamed)
{
    ScriptedServer server(
        [](const RawRequest&, RawConnection& c) { c.write(ScriptedServer::response(500, "no")); });
    const auto r = emu("load " + server.base_url() +
                       "/r --role sink --entities 200 "
                       "--max-errors 1 --min-rate 1e12");
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
    EXPECT_THAT(r.out, HasSubstr("load:   4 × status 500\n"));
    EXPECT_THAT(r.out, HasSubstr("load: MISSED --max-errors 1: 4 errors\n"));
    EXPECT_THAT(r.out, HasSubstr("load: MISSED --min-rate 1e+12: 0 entities/s\n"));
    EXPECT_EQ(emu("load " + server.base_url() + "/r --role sink --report junit:x.xml").exit_code,
              2);
    EXPECT_EQ(emu("load nothttp://x --role sink").exit_code, 2);
}

TEST_F(LoadCommandTest, TwoSinkPipesOnOneReceiverGetANoteAndOnTheirOwnReceiversNoErrors)
{
    RunningReferenceService service(reference::Dataset{});
    // Interleaved, each full sync replaces the other's as the receiver's active one
    // (docs/protocol.md#push-receiver-rules); whether they interleave depends on the scheduler, so
    // only the note is certain.
    const auto shared = emu("load " + service.base_url() +
                            "receiver --role sink --entities 1000 "
                            "--concurrency 2");
    EXPECT_THAT(shared.err, HasSubstr("2 pipes push to one URL"));
    const auto own = emu("load " + service.base_url() +
                         "receivers/p{pipe}/entities --role sink --entities 1000 --concurrency 2");
    EXPECT_EQ(own.exit_code, 0);
    EXPECT_THAT(own.out, HasSubstr(" 0 errors\n"));
    EXPECT_THAT(own.err, Not(HasSubstr("one URL")));
}

} // namespace
} // namespace sesam::testing
