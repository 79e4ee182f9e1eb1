// Proof that the transform checks have teeth: each deliberately broken transform trips exactly
// its check, and the reference service trips none (the shape of googletest's sample7).
#include "emulator/http/beast_transport.hpp"
#include "examples/reference-service/sample_dataset.hpp"
#include "harness/checks/check.hpp"
#include "harness/runner/check_runner.hpp"
#include "tests/support/check_fixture.hpp"
#include "tests/support/reference_fixture.hpp"
#include "tests/support/scripted_server.hpp"

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <sstream>

namespace sesam::harness {
namespace {

using namespace std::chrono_literals;
using testing::RawConnection;
using testing::RawRequest;
using testing::ScriptedServer;

/// What is wrong with a broken transform.
enum class Defect {
    none,
    bare_object_for_3, ///< answers a 3-entity batch with its first entity, not an array
    cut_short_for_3,   ///< streams a 3-entity batch's answer, then dies mid-array
    garbage_after_3,   ///< a complete array for 3 entities, then an error text
    empty_500,         ///< 500 on []
    over_50_413,       ///< 413 on batches of more than 50 entities
    deleted_500,       ///< 500 when an entity has _deleted: true
    drops_id,          ///< output entities have no _id
    numeric_id,        ///< output entities have a number as _id
    always_500,        ///< 500 on everything
    no_answer,         ///< closes the connection without answering
    filters_all,       ///< answers every batch with [] (a filter that keeps nothing)
    /// 400 on an entity without _previous and _ts (docs/protocol.md#real-services)
    needs_dataset_fields,
};

/// A transform that marks each entity `"transformed": true`, correct unless `defect` says.
void transform(Defect defect, const RawRequest& request, RawConnection& c)
{
    if (defect == Defect::no_answer) {
        c.close();
        return;
    }
    const auto batch = nlohmann::json::parse(request.body, nullptr, false);
    if (batch.is_discarded() || !batch.is_array()) {
        c.write(ScriptedServer::response(400, R"({"error":"not an array"})"));
        return;
    }
    bool has_deleted = false;
    for (const auto& e : batch)
        has_deleted = has_deleted || (e.contains("_deleted") && e["_deleted"] == true);
    if (defect == Defect::always_500 || (defect == Defect::empty_500 && batch.empty()) ||
        (defect == Defect::over_50_413 && batch.size() > 50) ||
        (defect == Defect::deleted_500 && has_deleted)) {
        const int status = defect == Defect::over_50_413 ? 413 : 500;
        c.write(ScriptedServer::response(status, "Internal Server Error", "", "text/plain"));
        return;
    }
    if (defect == Defect::needs_dataset_fields &&
        std::any_of(batch.begin(), batch.end(), [](const auto& e) {
            return !e.contains("_previous") || !e.contains("_ts");
        })) {
        c.write(ScriptedServer::response(400, R"({"error":"_previous and _ts are required"})"));
        return;
    }
    auto out = nlohmann::json::array();
    if (defect == Defect::filters_all) {
        c.write(ScriptedServer::response(200, "[]"));
        return;
    }
    for (auto e : batch) {
        e["transformed"] = true;
        if (defect == Defect::drops_id)
            e.erase("_id");
        if (defect == Defect::numeric_id)
            e["_id"] = 7;
        out.push_back(std::move(e));
    }
    const bool three = batch.size() == 3;
    if (defect == Defect::bare_object_for_3 && three) {
        c.write(ScriptedServer::response(200, out[0].dump()));
    } else if (defect == Defect::cut_short_for_3 && three) {
        // docs/protocol.md#real-services: a streaming service has sent 200, then dies with the
        // array still open
        const auto part = "[" + out[0].dump() + ",";
        std::ostringstream chunk;
        chunk << std::hex << part.size() << "\r\n" << part << "\r\n";
        c.write("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                "Transfer-Encoding: chunked\r\n\r\n" +
                chunk.str());
        c.close();
    } else if (defect == Defect::garbage_after_3 && three) {
        c.write(ScriptedServer::response(200, out.dump() + "\nTraceback: KeyError"));
    } else {
        c.write(ScriptedServer::response(200, out.dump()));
    }
}

std::vector<CheckResult> run_against(Defect defect, std::string* url = nullptr)
{
    ScriptedServer server(
        [defect](const RawRequest& r, RawConnection& c) { transform(defect, r, c); });
    ServiceDescription service;
    service.url = server.base_url() + "/transform";
    if (url)
        *url = service.url;
    return testing::run_role_checks(Role::transform, service);
}

struct BrokenTransform {
    const char* name;
    Defect defect;
    const char* trips; ///< the one check that must fail
    Severity severity = Severity::error;
};

void PrintTo(const BrokenTransform& b, std::ostream* os)
{
    *os << b.name;
}

class BrokenTransformTest : public ::testing::TestWithParam<BrokenTransform> {};

TEST_P(BrokenTransformTest, TripsExactlyItsCheck)
{
    const auto& b = GetParam();
    std::string url;
    const auto results = run_against(b.defect, &url);
    ASSERT_EQ(results.size(), 5u);
    EXPECT_EQ(testing::ids_with(results, Verdict::failed), std::vector<std::string>{b.trips});
    for (const auto& r : results) {
        if (r.verdict != Verdict::failed)
            continue;
        EXPECT_EQ(r.severity, b.severity);
        EXPECT_FALSE(r.message.empty());
        ASSERT_FALSE(r.evidence.empty()) << r.info.id;
        const auto& e = r.evidence[0];
        EXPECT_EQ(e.request, "POST " + url);
        EXPECT_EQ(e.curl.rfind("curl -sS -X POST -H 'Content-Type: application/json'", 0), 0u)
            << e.curl;
        EXPECT_FALSE(e.expected.empty());
        EXPECT_FALSE(e.actual.empty());
    }
}

INSTANTIATE_TEST_SUITE_P(
    EveryCheck,
    BrokenTransformTest,
    ::testing::Values(
        BrokenTransform{
            "bare_object_for_3", Defect::bare_object_for_3, "transform.body.json-array"},
        BrokenTransform{"cut_short_for_3", Defect::cut_short_for_3, "transform.body.json-array"},
        BrokenTransform{"garbage_after_3", Defect::garbage_after_3, "transform.body.json-array"},
        BrokenTransform{"empty_500", Defect::empty_500, "transform.batch.empty"},
        BrokenTransform{"over_50_413", Defect::over_50_413, "transform.batch.full"},
        BrokenTransform{"deleted_500", Defect::deleted_500, "transform.entity.deleted"},
        BrokenTransform{"drops_id", Defect::drops_id, "transform.entity.id", Severity::warning},
        BrokenTransform{
            "numeric_id", Defect::numeric_id, "transform.entity.id", Severity::warning}),
    [](const ::testing::TestParamInfo<BrokenTransform>& param) {
        return std::string(param.param.name);
    });

TEST(TransformChecks, EvidenceNamesTheProblem)
{
    auto results = run_against(Defect::bare_object_for_3);
    EXPECT_NE(results[0].evidence[0].actual.find("single JSON object"), std::string::npos)
        << results[0].evidence[0].actual;
    EXPECT_NE(results[0].evidence[0].actual.find("body starts: {"), std::string::npos)
        << results[0].evidence[0].actual;

    results = run_against(Defect::cut_short_for_3);
    EXPECT_NE(results[0].evidence[0].actual.find("cut short"), std::string::npos)
        << results[0].evidence[0].actual;

    results = run_against(Defect::over_50_413);
    EXPECT_EQ(results[2].evidence[0].expected, "a 2xx status");
    EXPECT_EQ(results[2].evidence[0].actual.rfind("status 413; body starts: Internal", 0), 0u)
        << results[2].evidence[0].actual;
    EXPECT_NE(results[2].message.find("100 entities"), std::string::npos) << results[2].message;

    results = run_against(Defect::deleted_500);
    EXPECT_EQ(results[3].evidence[0].field, "_deleted");
    EXPECT_NE(results[3].evidence[0].entity_id.find("sesam-emu-check-2"), std::string::npos);

    results = run_against(Defect::drops_id);
    ASSERT_EQ(results[4].evidence.size(), 3u);
    EXPECT_EQ(results[4].evidence[2].field, "_id");
    EXPECT_EQ(results[4].evidence[2].actual, "missing (output entity at index 2)");
}

// A failing status belongs to the batch checks; the body and _id checks then skip with a reason.
TEST(TransformChecks, AFailingStatusTripsTheBatchChecksOnly)
{
    const auto results = run_against(Defect::always_500);
    EXPECT_EQ(testing::ids_with(results, Verdict::failed),
              (std::vector<std::string>{
                  "transform.batch.empty", "transform.batch.full", "transform.entity.deleted"}));
    EXPECT_EQ(testing::ids_with(results, Verdict::skipped),
              (std::vector<std::string>{"transform.body.json-array", "transform.entity.id"}));
    for (const auto& r : results) {
        if (r.verdict == Verdict::skipped) {
            EXPECT_NE(r.message.find("transform.batch.full"), std::string::npos) << r.message;
        }
    }
}

TEST(TransformChecks, NoAnswerFailsWithTheTransportError)
{
    const auto results = run_against(Defect::no_answer);
    EXPECT_EQ(testing::ids_with(results, Verdict::failed),
              (std::vector<std::string>{"transform.body.json-array",
                                        "transform.batch.empty",
                                        "transform.batch.full",
                                        "transform.entity.deleted"}));
    for (const auto& r : results)
        if (r.verdict == Verdict::failed) {
            ASSERT_EQ(r.evidence.size(), 1u);
            EXPECT_FALSE(r.evidence[0].actual.empty());
            EXPECT_NE(r.message.find("no response"), std::string::npos) << r.message;
        }
}

TEST(TransformChecks, ACorrectScriptedTransformPassesEverything)
{
    const auto results = run_against(Defect::none);
    ASSERT_EQ(results.size(), 5u);
    for (const auto& r : results)
        EXPECT_EQ(r.verdict, Verdict::passed) << r.info.id << ": " << r.message;
}

TEST(TransformChecks, ATransformThatNeedsTheDatasetFieldsPassesEverything)
{
    // docs/protocol.md#reserved-fields, #real-services: entities reach a transform with the
    // dataset's _previous and _ts
    const auto results = run_against(Defect::needs_dataset_fields);
    for (const auto& r : results)
        EXPECT_EQ(r.verdict, Verdict::passed) << r.info.id << ": " << r.message;
}

TEST(TransformChecks, AnEmptyAnswerLeavesTheIdCheckNothingToJudge)
{
    const auto results = run_against(Defect::filters_all);
    EXPECT_EQ(testing::ids_with(results, Verdict::skipped),
              std::vector<std::string>{"transform.entity.id"});
    EXPECT_EQ(testing::ids_with(results, Verdict::failed), std::vector<std::string>{});
    EXPECT_EQ(results.back().message,
              "the answer to a batch of 3 entities holds no entity to judge");
}

TEST(TransformChecks, TheReferenceServicePassesEverything)
{
    testing::RunningReferenceService reference(
        reference::Dataset::parse(reference::sample_dataset_json(), "sample"));
    ServiceDescription service;
    service.url = reference.base_url() + "transform";
    const auto results = testing::run_role_checks(Role::transform, service);
    ASSERT_EQ(results.size(), 5u);
    for (const auto& r : results)
        EXPECT_EQ(r.verdict, Verdict::passed) << r.info.id << ": " << r.message;
}

TEST(TransformChecks, TheFullBatchHasBatchSizeEntities)
{
    std::atomic<std::size_t> largest{0};
    ScriptedServer server([&](const RawRequest& r, RawConnection& c) {
        const auto batch = nlohmann::json::parse(r.body, nullptr, false);
        largest = std::max(largest.load(), batch.size());
        transform(Defect::none, r, c);
    });
    ServiceDescription service;
    service.url = server.base_url() + "/transform";
    service.batch_size = 250;
    const auto results = testing::run_role_checks(Role::transform, service);
    EXPECT_EQ(testing::ids_with(results, Verdict::failed), std::vector<std::string>{});
    EXPECT_EQ(largest.load(), 250u);
}

} // namespace
} // namespace sesam::harness
