// Proof that the source checks have teeth: each deliberately broken service trips exactly its
// check, and the reference service trips none (the shape of googletest's sample7).
#include "emulator/http/beast_transport.hpp"
#include "examples/reference-service/sample_dataset.hpp"
#include "harness/checks/check.hpp"
#include "harness/runner/check_runner.hpp"
#include "tests/support/check_fixture.hpp"
#include "tests/support/reference_fixture.hpp"
#include "tests/support/scripted_server.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/url/parse.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>

namespace sesam::harness {
namespace {

using namespace std::chrono_literals;
using testing::RawConnection;
using testing::RawRequest;
using testing::ScriptedServer;

/// What is wrong with a broken source.
enum class Defect {
    none,
    status_500,
    object_wrapper,
    numeric_id,
    missing_id,
    bad_transit,
    deleted_string,
    missing_updated,
    since_500,
    since_inclusive,
    ignores_since,
    skips_after_since,
    unordered,
    ignores_limit,
    endless_paging,
    volatile_full_pull,
    no_ids, ///< no entity has an `_id`
};

/// A source of 10 entities e1..e10 with integer _updated 1..10, correct unless `defect` says.
std::string answer(Defect defect, const std::string& target, std::atomic<int>& full_pulls)
{
    auto url = boost::urls::parse_origin_form(target);
    std::optional<long> since;
    std::optional<long> limit;
    for (const auto& p : url->params()) {
        if (p.key == "since")
            since = std::stol(p.value);
        if (p.key == "limit")
            limit = std::stol(p.value);
    }
    if (defect == Defect::status_500 || (defect == Defect::since_500 && since))
        return ScriptedServer::response(500, "internal error");
    nlohmann::json out = nlohmann::json::array();
    for (long i = 1; i <= 10; ++i) {
        // ignores_since: a service that, with nothing new, sends everything again
        const bool after = !since || (defect == Defect::ignores_since && *since >= 10) ||
                           (defect == Defect::since_inclusive     ? i >= *since
                            : defect == Defect::skips_after_since ? i > *since + 1
                                                                  : i > *since);
        if (!after)
            continue;
        nlohmann::json e{{"_id", "e" + std::to_string(i)}, {"_updated", i}, {"v", i}};
        if (i == 3)
            e["_deleted"] = true;
        if (i == 1)
            e["born"] = "~t2015-01-02T03:04:05Z";
        if (defect == Defect::no_ids)
            e.erase("_id");
        if (i == 5 && defect == Defect::numeric_id)
            e["_id"] = 5;
        if (i == 5 && defect == Defect::missing_id)
            e.erase("_id");
        if (i == 2 && defect == Defect::bad_transit)
            e["born"] = "~t2015-13-01";
        if (i == 4 && defect == Defect::deleted_string)
            e["_deleted"] = "true";
        if (i == 6 && defect == Defect::missing_updated)
            e.erase("_updated");
        out.push_back(e);
    }
    if (defect == Defect::unordered && !since && !limit)
        std::swap(out[6], out[7]);
    if (defect == Defect::endless_paging && limit && since && *since >= 10)
        out.push_back({{"_id", "hb" + std::to_string(*since + 1)}, {"_updated", *since + 1}});
    if (limit && defect != Defect::ignores_limit && out.size() > static_cast<std::size_t>(*limit))
        out.erase(out.begin() + *limit, out.end());
    if (defect == Defect::volatile_full_pull && !since && !limit)
        out.push_back({{"_id", "volatile-" + std::to_string(++full_pulls)}, {"_updated", 11}});
    if (defect == Defect::object_wrapper && !since && !limit)
        return ScriptedServer::response(200, nlohmann::json{{"entities", out}}.dump());
    return ScriptedServer::response(200, out.dump());
}

struct BrokenSource {
    const char* name;
    Defect defect;
    const char* trips; ///< the one check that must fail
    bool supports_since = true;
    bool chronological = true;
    std::optional<std::size_t> page_size{};
    Severity severity = Severity::error;
    /// When given: exactly the checks that must be skipped (every other one passes).
    std::optional<std::vector<std::string>> skips{};
};

void PrintTo(const BrokenSource& b, std::ostream* os)
{
    *os << b.name;
}

class BrokenSourceTest : public ::testing::TestWithParam<BrokenSource> {};

TEST_P(BrokenSourceTest, TripsExactlyItsCheck)
{
    const auto& b = GetParam();
    std::atomic<int> full_pulls{0};
    ScriptedServer server([&](const RawRequest& r, RawConnection& c) {
        c.write(answer(b.defect, r.target, full_pulls));
    });
    ServiceDescription service;
    service.url = server.base_url() + "/entities";
    service.supports_since = b.supports_since;
    service.is_chronological = b.chronological;
    service.page_size = b.page_size;
    const auto results = testing::run_role_checks(Role::source, service);
    EXPECT_EQ(testing::ids_with(results, Verdict::failed), std::vector<std::string>{b.trips});
    if (b.skips) {
        EXPECT_EQ(testing::ids_with(results, Verdict::skipped), *b.skips);
    }
    for (const auto& r : results) {
        if (r.verdict != Verdict::failed)
            continue;
        EXPECT_EQ(r.severity, b.severity);
        ASSERT_FALSE(r.evidence.empty()) << r.info.id;
        EXPECT_EQ(r.evidence[0].request.rfind("GET " + server.base_url() + "/entities", 0), 0u)
            << r.evidence[0].request;
        EXPECT_EQ(r.evidence[0].curl.rfind("curl -sS '" + server.base_url() + "/entities", 0), 0u)
            << r.evidence[0].curl;
        EXPECT_FALSE(r.message.empty());
    }
}

INSTANTIATE_TEST_SUITE_P(
    EveryCheck,
    BrokenSourceTest,
    ::testing::Values(
        BrokenSource{"status_500", Defect::status_500, "source.status.ok"},
        BrokenSource{
            "object_wrapper", Defect::object_wrapper, "source.body.json-array", false, false},
        BrokenSource{"numeric_id", Defect::numeric_id, "source.entity.id"},
        BrokenSource{"missing_id",
                     Defect::missing_id,
                     "source.entity.id",
                     true,
                     true,
                     std::nullopt,
                     Severity::warning},
        BrokenSource{"bad_transit", Defect::bad_transit, "source.entity.transit"},
        BrokenSource{"deleted_string", Defect::deleted_string, "source.entity.deleted-flag"},
        BrokenSource{"missing_updated",
                     Defect::missing_updated,
                     "source.since.updated-present",
                     true,
                     false},
        BrokenSource{"since_500", Defect::since_500, "source.since.accepted"},
        BrokenSource{"since_inclusive", Defect::since_inclusive, "source.since.exclusive"},
        BrokenSource{"ignores_since", Defect::ignores_since, "source.since.honoured", true, false},
        BrokenSource{"skips_after_since", Defect::skips_after_since, "source.since.no-gaps"},
        BrokenSource{"unordered", Defect::unordered, "source.chronological.order"},
        BrokenSource{
            "ignores_limit", Defect::ignores_limit, "source.limit.honoured", true, true, 4},
        BrokenSource{
            "endless_paging", Defect::endless_paging, "source.paging.terminates", true, true, 4},
        BrokenSource{
            "volatile_full_pull", Defect::volatile_full_pull, "source.repeatable", false, false},
        // Nothing judged is not a pass: without ids, continued pulls cannot be matched by _id.
        BrokenSource{"no_ids",
                     Defect::no_ids,
                     "source.entity.id",
                     true,
                     true,
                     std::nullopt,
                     Severity::warning,
                     std::vector<std::string>{"source.since.no-gaps",
                                              "source.limit.honoured",
                                              "source.paging.terminates",
                                              "source.repeatable"}}),
    [](const ::testing::TestParamInfo<BrokenSource>& param) {
        return std::string(param.param.name);
    });

/// What is wrong with an opaque-offset source.
enum class OpaqueDefect { none, since_inclusive, skips_after_since };

/// A message-queue-like source: entities m1..m12 whose `_updated` is an opaque text offset "1"
/// .. "12" (as text, "10" sorts before "9"), served in offset order. since names the offset to
/// continue after, found by position (docs/protocol.md#pull-continuation: opaque values, taken in
/// the order they come).
std::string opaque_answer(OpaqueDefect defect, const std::string& target)
{
    auto url = boost::urls::parse_origin_form(target);
    std::size_t start = 0;
    for (const auto& p : url->params())
        if (p.key == "since") {
            const auto at = std::stoul(std::string(p.value)); // the service's own token
            start = defect == OpaqueDefect::since_inclusive     ? at - 1
                    : defect == OpaqueDefect::skips_after_since ? at + 1
                                                                : at;
        }
    nlohmann::json out = nlohmann::json::array();
    for (std::size_t i = start + 1; i <= 12; ++i)
        out.push_back({{"_id", "m" + std::to_string(i)},
                       {"_updated", std::to_string(i)},
                       {"_deleted", i == 4},
                       {"sent", "~t2024-01-0" + std::to_string(1 + i % 9) + "T00:00:00Z"}});
    return ScriptedServer::response(200, out.dump());
}

struct OpaqueSource {
    const char* name;
    OpaqueDefect defect;
    std::vector<std::string> trips;
};

void PrintTo(const OpaqueSource& o, std::ostream* os)
{
    *os << o.name;
}

class OpaqueOffsetSourceTest : public ::testing::TestWithParam<OpaqueSource> {};

TEST_P(OpaqueOffsetSourceTest, IsJudgedByPositionNeverByComparingValues)
{
    const auto& o = GetParam();
    ScriptedServer server(
        [&](const RawRequest& r, RawConnection& c) { c.write(opaque_answer(o.defect, r.target)); });
    ServiceDescription service;
    service.url = server.base_url() + "/messages";
    service.supports_since = true;
    service.is_chronological = true;
    service.is_since_comparable = false;
    const auto results = testing::run_role_checks(Role::source, service);
    EXPECT_EQ(testing::ids_with(results, Verdict::failed), o.trips);
    // The order of opaque values is not applicable; paging is not declared.
    EXPECT_EQ(testing::ids_with(results, Verdict::skipped),
              (std::vector<std::string>{"source.chronological.order",
                                        "source.limit.honoured",
                                        "source.paging.terminates"}));
    for (const auto& r : results) {
        if (r.info.id == "source.chronological.order") {
            EXPECT_NE(r.message.find("not applicable"), std::string::npos) << r.message;
        }
        if (r.verdict == Verdict::failed && r.info.id == "source.since.exclusive") {
            ASSERT_FALSE(r.evidence.empty());
            EXPECT_EQ(r.evidence[0].entity_id, "m6");
            EXPECT_EQ(r.evidence[0].expected,
                      "only entities after \"m6\" in the full pull's order");
            EXPECT_EQ(r.evidence[0].actual, "_updated \"6\"");
        }
        if (r.verdict == Verdict::failed && r.info.id == "source.since.no-gaps") {
            ASSERT_EQ(r.evidence.size(), 1u);
            EXPECT_EQ(r.evidence[0].entity_id, "m7");
        }
    }
}

INSTANTIATE_TEST_SUITE_P(OpaqueOffsets,
                         OpaqueOffsetSourceTest,
                         ::testing::Values(OpaqueSource{"correct", OpaqueDefect::none, {}},
                                           OpaqueSource{"since_inclusive",
                                                        OpaqueDefect::since_inclusive,
                                                        {"source.since.exclusive"}},
                                           OpaqueSource{"skips_after_since",
                                                        OpaqueDefect::skips_after_since,
                                                        {"source.since.no-gaps"}}),
                         [](const ::testing::TestParamInfo<OpaqueSource>& param) {
                             return std::string(param.param.name);
                         });

TEST(SourceChecks, OpaqueTokensComparedByValueGetAHint)
{
    // Declared comparable (the default), the queue offsets "1".."12" compare as text: the
    // failures say which declaration would make them opaque.
    ScriptedServer server([&](const RawRequest& r, RawConnection& c) {
        c.write(opaque_answer(OpaqueDefect::none, r.target));
    });
    ServiceDescription service;
    service.url = server.base_url() + "/messages";
    service.supports_since = true;
    service.is_chronological = true;
    const auto results = testing::run_role_checks(Role::source, service);
    EXPECT_EQ(testing::ids_with(results, Verdict::failed),
              (std::vector<std::string>{"source.since.exclusive", "source.chronological.order"}));
    for (const auto& r : results) {
        if (r.verdict == Verdict::failed) {
            EXPECT_NE(r.message.find("declare --is-since-comparable=false"), std::string::npos)
                << r.message;
        }
    }
}

TEST(SourceChecks, ALimitNeverExercisedIsNotJudged)
{
    // 10 entities and limit=20: a source that ignores limit would pass unseen.
    std::atomic<int> full_pulls{0};
    ScriptedServer server([&](const RawRequest& r, RawConnection& c) {
        c.write(answer(Defect::ignores_limit, r.target, full_pulls));
    });
    ServiceDescription service;
    service.url = server.base_url() + "/entities";
    service.supports_since = true;
    service.is_chronological = true;
    service.page_size = 20;
    const auto results = testing::run_role_checks(Role::source, service);
    EXPECT_EQ(testing::ids_with(results, Verdict::skipped),
              std::vector<std::string>{"source.limit.honoured"});
    EXPECT_EQ(testing::ids_with(results, Verdict::failed), std::vector<std::string>{});
}

TEST(SourceChecks, NeitherChronologicalNorComparableMeansSinceIsNeverSent)
{
    std::atomic<int> full_pulls{0};
    ScriptedServer server([&](const RawRequest& r, RawConnection& c) {
        c.write(answer(Defect::none, r.target, full_pulls));
    });
    ServiceDescription service;
    service.url = server.base_url() + "/entities";
    service.supports_since = true;
    service.is_since_comparable = false;
    const auto results = testing::run_role_checks(Role::source, service);
    EXPECT_EQ(testing::ids_with(results, Verdict::failed), std::vector<std::string>{});
    EXPECT_EQ(testing::ids_with(results, Verdict::skipped),
              (std::vector<std::string>{"source.since.accepted",
                                        "source.since.exclusive",
                                        "source.since.honoured",
                                        "source.since.no-gaps",
                                        "source.chronological.order",
                                        "source.limit.honoured",
                                        "source.paging.terminates"}));
    for (const auto& request : server.requests())
        EXPECT_EQ(request.target.find("since="), std::string::npos) << request.target;
}

TEST(SourceChecks, AnEmptySourceIsNotJudgedAsPassing)
{
    ScriptedServer server(
        [](const RawRequest&, RawConnection& c) { c.write(ScriptedServer::response(200, "[]")); });
    ServiceDescription service;
    service.url = server.base_url() + "/entities";
    service.supports_since = true;
    service.is_chronological = true;
    const auto results = testing::run_role_checks(Role::source, service);
    EXPECT_EQ(testing::ids_with(results, Verdict::passed),
              (std::vector<std::string>{"source.status.ok", "source.body.json-array"}));
    EXPECT_EQ(testing::ids_with(results, Verdict::failed), std::vector<std::string>{});
    for (const auto& r : results) {
        if (r.verdict == Verdict::skipped) {
            EXPECT_FALSE(r.message.empty()) << r.info.id;
        }
    }
}

TEST(SourceChecks, ACorrectScriptedSourcePassesEverything)
{
    std::atomic<int> full_pulls{0};
    ScriptedServer server([&](const RawRequest& r, RawConnection& c) {
        c.write(answer(Defect::none, r.target, full_pulls));
    });
    ServiceDescription service;
    service.url = server.base_url() + "/entities";
    service.supports_since = true;
    service.is_chronological = true;
    service.page_size = 3;
    const auto results = testing::run_role_checks(Role::source, service);
    EXPECT_EQ(testing::ids_with(results, Verdict::failed), std::vector<std::string>{});
    for (const auto& r : results)
        EXPECT_EQ(r.verdict, Verdict::passed) << r.info.id << ": " << r.message;
}

TEST(SourceChecks, TheReferenceServicePassesEverythingWithAllOptions)
{
    testing::RunningReferenceService reference(
        reference::Dataset::parse(reference::sample_dataset_json(), "sample"));
    ServiceDescription service;
    service.url = reference.base_url() + "entities";
    service.supports_since = true;
    service.is_chronological = true;
    service.page_size = 5;
    const auto results = testing::run_role_checks(Role::source, service);
    ASSERT_EQ(results.size(), 14u);
    for (const auto& r : results)
        EXPECT_EQ(r.verdict, Verdict::passed) << r.info.id << ": " << r.message;
}

TEST(SourceChecks, UndeclaredFeaturesAreSkippedWithAReason)
{
    testing::RunningReferenceService reference(
        reference::Dataset::parse(reference::sample_dataset_json(), "sample"));
    ServiceDescription service;
    service.url = reference.base_url() + "entities";
    const auto results = testing::run_role_checks(Role::source, service);
    std::vector<std::string> skipped;
    for (const auto& r : results)
        if (r.verdict == Verdict::skipped) {
            skipped.emplace_back(r.info.id);
            EXPECT_FALSE(r.message.empty()) << r.info.id;
        }
    EXPECT_EQ(skipped,
              (std::vector<std::string>{"source.since.updated-present",
                                        "source.since.accepted",
                                        "source.since.exclusive",
                                        "source.since.honoured",
                                        "source.since.no-gaps",
                                        "source.chronological.order",
                                        "source.limit.honoured",
                                        "source.paging.terminates"}));
}

TEST(CheckSelection, GlobPatternsOnlyAndSkip)
{
    EXPECT_TRUE(matches("source.since.*", "source.since.exclusive"));
    EXPECT_TRUE(matches("*.transit", "source.entity.transit"));
    EXPECT_FALSE(matches("source.since.*", "source.status.ok"));
    EXPECT_TRUE(matches("*", "anything"));
    auto only = select_checks({Role::source}, {"source.since.*"}, {"*.no-gaps"});
    std::vector<std::string> ids;
    for (const auto* c : only)
        ids.emplace_back(c->info.id);
    EXPECT_EQ(ids,
              (std::vector<std::string>{"source.since.updated-present",
                                        "source.since.accepted",
                                        "source.since.exclusive",
                                        "source.since.honoured"}));
    EXPECT_TRUE(select_checks({Role::source}, {"nothing.*"}, {}).empty());
}

} // namespace
} // namespace sesam::harness
