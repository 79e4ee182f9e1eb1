// Proof that the sink checks have teeth: each deliberately broken receiver trips exactly its
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

#include <algorithm>
#include <chrono>
#include <map>
#include <set>

namespace sesam::harness {
namespace {

using namespace std::chrono_literals;
using testing::RawConnection;
using testing::RawRequest;
using testing::ScriptedServer;

/// What is wrong with a broken receiver. Each defect is narrow: it concerns only what one check
/// sends, so that exactly that check fails.
enum class Defect {
    none,
    nested_object_500, ///< a receiver writing flat rows crashes on an object value
    empty_500,         ///< 500 on `[]` (docs/protocol.md#real-services)
    deleted_400,       ///< 400 on any `_deleted: true`
    hash_422,          ///< 422 on an entity with `_hash`
    bytes_400,         ///< 400 on a `~b` value
    is_last_409,       ///< 409 on every is_last=true
    never_409,         ///< no request_id chain: accepts a broken chain
    redelivery_409,    ///< 409 on any request_id of a sequence it has seen before
    single_500,        ///< 500 on one-element arrays
    charset_415,       ///< demands a charset parameter in Content-Type
    /// 400 on an incremental request before any full sync began (it creates its table on
    /// is_first), and 400 on an entity without an integer `_updated` (it reads it as a version)
    needs_full_sync_and_updated,
    empty_500_hash_422,          ///< 500 on `[]` and 422 on `_hash`: a data batch before [] fails
    request_id_global_409,       ///< 409 on a request_id it accepted before, in any sequence (and
                                 ///< 400 on one that is not a number: it keeps them as integers)
    incremental_400_is_last_500, ///< 400 on every incremental request, 500 on every is_last
    previous_400,                ///< 400 on an entity whose _previous is set
    insert_only_409,             ///< 409 on an _id it holds: no updates, not idempotent
    flaky_500,                   ///< 500 on every second request
    over_one_413,                ///< 413 on more than one entity (right for batch_size 1)
};

/// The media type of the request, lower-case, as sent.
std::string content_type(const std::string& head)
{
    std::string lower = head;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) {
        return static_cast<char>(std::tolower(c));
    });
    const auto at = lower.find("\r\ncontent-type:");
    if (at == std::string::npos)
        return "";
    auto value = lower.substr(at + 15, lower.find("\r\n", at + 2) - (at + 15));
    value.erase(0, value.find_first_not_of(' '));
    return value;
}

bool any_string_starts_with(const nlohmann::json& value, std::string_view prefix)
{
    if (value.is_string())
        return value.get_ref<const std::string&>().starts_with(prefix);
    if (value.is_structured())
        return std::any_of(value.begin(), value.end(), [&](const auto& v) {
            return any_string_starts_with(v, prefix);
        });
    return false;
}

/// A json push receiver: correct (incremental requests applied, 409 on a broken request_id
/// chain in a full sequence, a re-sent last request accepted, docs/protocol.md#push-receiver-rules)
/// unless `defect` says. Runs on the scripted server's one thread.
class ScriptedReceiver {
public:
    explicit ScriptedReceiver(Defect defect) : defect_(defect) {}

    std::string answer(const RawRequest& request)
    {
        std::map<std::string, std::string> p;
        for (const auto& param : boost::urls::parse_origin_form(request.target)->params())
            p[param.key] = param.value;
        const auto body = nlohmann::json::parse(request.body, nullptr, false);
        if (!body.is_array())
            return ScriptedServer::response(400, R"({"error":"not an array"})");
        const auto status = status_for(p, body, content_type(request.head));
        if (status != 200)
            return ScriptedServer::response(status, R"({"error":"rejected"})");
        seen_.insert({p["sequence_id"], p["request_id"]});
        request_ids_.insert(p["request_id"]);
        for (const auto& e : body)
            held_.insert(e.value("_id", ""));
        if (p["is_first"] == "true")
            full_sync_begun_ = true;
        return ScriptedServer::response(200, "{}");
    }

private:
    int status_for(std::map<std::string, std::string>& p,
                   const nlohmann::json& body,
                   const std::string& type)
    {
        auto has = [&](auto&& predicate) {
            return std::any_of(body.begin(), body.end(), predicate);
        };
        switch (defect_) {
        case Defect::none:
        case Defect::never_409:
            break;
        case Defect::nested_object_500:
            if (has([](const auto& e) {
                    return std::any_of(
                        e.begin(), e.end(), [](const auto& v) { return v.is_object(); });
                }))
                return 500;
            break;
        case Defect::empty_500:
            if (body.empty())
                return 500;
            break;
        case Defect::deleted_400:
            if (has([](const auto& e) {
                    auto deleted = e.find("_deleted");
                    return deleted != e.end() && *deleted == true;
                }))
                return 400;
            break;
        case Defect::hash_422:
            if (has([](const auto& e) { return e.contains("_hash"); }))
                return 422;
            break;
        case Defect::bytes_400:
            if (any_string_starts_with(body, "~b"))
                return 400;
            break;
        case Defect::is_last_409:
            if (p["is_last"] == "true")
                return 409;
            break;
        case Defect::redelivery_409:
            if (seen_.count({p["sequence_id"], p["request_id"]}))
                return 409;
            break;
        case Defect::single_500:
            if (body.size() == 1)
                return 500;
            break;
        case Defect::charset_415:
            if (type.find("charset=") == std::string::npos)
                return 415;
            break;
        case Defect::needs_full_sync_and_updated:
            if (p["is_full"] != "true" && !full_sync_begun_)
                return 400;
            if (has([](const auto& e) {
                    auto updated = e.find("_updated");
                    return updated == e.end() || !updated->is_number_integer();
                }))
                return 400;
            break;
        case Defect::empty_500_hash_422:
            if (body.empty())
                return 500;
            if (has([](const auto& e) { return e.contains("_hash"); }))
                return 422;
            break;
        case Defect::request_id_global_409:
            if (p["request_id"].find_first_not_of("0123456789") != std::string::npos)
                return 400;
            if (request_ids_.count(p["request_id"]))
                return 409;
            break;
        case Defect::incremental_400_is_last_500:
            if (p["is_full"] != "true")
                return 400;
            if (p["is_last"] == "true")
                return 500;
            break;
        case Defect::previous_400:
            if (has([](const auto& e) {
                    return e.contains("_previous") && !e["_previous"].is_null();
                }))
                return 400;
            break;
        case Defect::insert_only_409:
            if (has([&](const auto& e) { return held_.count(e.value("_id", "")) > 0; }))
                return 409;
            break;
        case Defect::flaky_500:
            if (++requests_ % 2 == 0)
                return 500;
            break;
        case Defect::over_one_413:
            if (body.size() > 1)
                return 413;
            break;
        }
        if (p["is_full"] != "true" || defect_ == Defect::never_409)
            return 200;
        // docs/protocol.md#push-receiver-rules: one chain per full sequence; a re-send of its last
        // request is a no-op.
        const auto& sequence = p["sequence_id"];
        const auto& request_id = p["request_id"];
        if (p["is_first"] == "true") {
            last_request_[sequence] = request_id;
            return 200;
        }
        auto last = last_request_.find(sequence);
        if (last == last_request_.end())
            return 409;
        if (last->second == request_id)
            return 200;
        if (!p.count("previous_request_id") || p["previous_request_id"] != last->second)
            return 409;
        last->second = request_id;
        return 200;
    }

    Defect defect_;
    bool full_sync_begun_ = false;
    std::size_t requests_ = 0;
    std::set<std::string> held_;
    std::set<std::string> request_ids_;
    std::set<std::pair<std::string, std::string>> seen_;
    std::map<std::string, std::string> last_request_;
};

const std::vector<std::string> kAllSinkChecks{
    "sink.incremental.first",
    "sink.full-sync.sequence",
    "sink.batch.accepted",
    "sink.batch.empty",
    "sink.entity.deleted",
    "sink.entity.reserved-fields",
    "sink.entity.transit",
    "sink.full-sync.rejects-broken-chain",
    "sink.redelivery",
    "sink.request-id.per-sequence",
    "sink.single-entity",
    "sink.content-type",
};

/// Every sink check but these, in order.
std::vector<std::string> all_sink_checks_but(const std::vector<std::string>& left_out)
{
    std::vector<std::string> out;
    for (const auto& id : kAllSinkChecks)
        if (std::find(left_out.begin(), left_out.end(), id) == left_out.end())
            out.push_back(id);
    return out;
}

struct BrokenReceiver {
    const char* name;
    Defect defect;
    std::vector<std::string> trips; ///< the checks that must fail, in order; every other passes
    /// The checks that cannot judge this receiver and say why: a failure another check reports
    /// keeps them from judging (the root cause is reported once).
    std::vector<std::string> skips{};
    Severity severity = Severity::error;
    /// The check every skip message points to (`see CHECK`), when there is one root cause.
    std::string root{};
    std::size_t batch_size = 100;
};

void PrintTo(const BrokenReceiver& b, std::ostream* os)
{
    *os << b.name;
}

class BrokenSinkTest : public ::testing::TestWithParam<BrokenReceiver> {};

TEST_P(BrokenSinkTest, TripsExactlyItsCheck)
{
    const auto& b = GetParam();
    ScriptedReceiver receiver(b.defect);
    ScriptedServer server(
        [&](const RawRequest& r, RawConnection& c) { c.write(receiver.answer(r)); });
    ServiceDescription service;
    service.url = server.base_url() + "/receiver";
    service.batch_size = b.batch_size;
    const auto results = testing::run_role_checks(Role::sink, service);
    ASSERT_EQ(results.size(), kAllSinkChecks.size());
    EXPECT_EQ(testing::ids_with(results, Verdict::failed), b.trips);
    EXPECT_EQ(testing::ids_with(results, Verdict::skipped), b.skips);
    for (const auto& r : results) {
        if (r.verdict == Verdict::skipped && !b.root.empty()) {
            EXPECT_NE(r.message.find("(see " + b.root + ")"), std::string::npos)
                << r.info.id << ": " << r.message;
        }
        if (r.verdict != Verdict::failed) {
            EXPECT_TRUE(r.verdict == Verdict::passed || !r.message.empty()) << r.info.id;
            continue;
        }
        EXPECT_EQ(r.severity, b.severity);
        EXPECT_FALSE(r.message.empty());
        ASSERT_FALSE(r.evidence.empty()) << r.info.id;
        for (const auto& e : r.evidence) {
            EXPECT_EQ(e.request.rfind("POST " + server.base_url() + "/receiver?sequence_id=", 0),
                      0u)
                << e.request;
            EXPECT_EQ(e.curl.rfind("curl -sS -X POST -H 'Content-Type: application/json", 0), 0u)
                << e.curl;
            EXPECT_NE(e.curl.find(server.base_url() + "/receiver?sequence_id="), std::string::npos)
                << e.curl;
            EXPECT_FALSE(e.expected.empty());
            EXPECT_NE(e.actual.find("status "), std::string::npos) << e.actual;
        }
    }
}

INSTANTIATE_TEST_SUITE_P(
    EveryCheck,
    BrokenSinkTest,
    ::testing::Values(
        BrokenReceiver{"nested_object_500", Defect::nested_object_500, {"sink.batch.accepted"}},
        // The full sync and the re-sent is_last end with [] too: they point to sink.batch.empty.
        BrokenReceiver{"empty_500",
                       Defect::empty_500,
                       {"sink.batch.empty"},
                       {"sink.full-sync.sequence", "sink.redelivery"},
                       Severity::error,
                       "sink.batch.empty"},
        BrokenReceiver{"deleted_400", Defect::deleted_400, {"sink.entity.deleted"}},
        // Sesam sends _hash with every entity: nothing else can be judged, and every skip names
        // the cause. A lone [] carries no _hash, so sink.batch.empty is judged (and passes).
        BrokenReceiver{"hash_422",
                       Defect::hash_422,
                       {"sink.entity.reserved-fields"},
                       all_sink_checks_but({"sink.batch.empty", "sink.entity.reserved-fields"}),
                       Severity::error,
                       "sink.entity.reserved-fields"},
        BrokenReceiver{"bytes_400", Defect::bytes_400, {"sink.entity.transit"}},
        // With no accepted is_last there is no is_last to re-send.
        BrokenReceiver{"is_last_409",
                       Defect::is_last_409,
                       {"sink.full-sync.sequence"},
                       {"sink.redelivery"},
                       Severity::error,
                       "sink.full-sync.sequence"},
        BrokenReceiver{"never_409",
                       Defect::never_409,
                       {"sink.full-sync.rejects-broken-chain"},
                       {},
                       Severity::warning},
        BrokenReceiver{"redelivery_409", Defect::redelivery_409, {"sink.redelivery"}},
        BrokenReceiver{"single_500", Defect::single_500, {"sink.single-entity"}},
        // Every other check gets 415 too and leaves it to sink.content-type.
        BrokenReceiver{"charset_415",
                       Defect::charset_415,
                       {"sink.content-type"},
                       all_sink_checks_but({"sink.content-type"}),
                       Severity::error,
                       "sink.content-type"},
        // A receiver that creates its table on is_first: only the warning about a reset receiver.
        BrokenReceiver{"needs_full_sync_and_updated",
                       Defect::needs_full_sync_and_updated,
                       {"sink.incremental.first"},
                       {},
                       Severity::warning},
        // The data batch before the trailing [] is refused: a lone [] is judged on its own.
        BrokenReceiver{"empty_500_hash_422",
                       Defect::empty_500_hash_422,
                       {"sink.batch.empty", "sink.entity.reserved-fields"},
                       all_sink_checks_but({"sink.batch.empty", "sink.entity.reserved-fields"}),
                       Severity::error,
                       "sink.entity.reserved-fields"},
        // A receiver that refuses incremental syncs: its is_last failure is its own, not the
        // empty batch's (its lone [] is refused for being incremental).
        BrokenReceiver{"incremental_400_is_last_500",
                       Defect::incremental_400_is_last_500,
                       {"sink.full-sync.sequence", "sink.batch.accepted"},
                       all_sink_checks_but({"sink.full-sync.sequence",
                                            "sink.batch.accepted",
                                            "sink.full-sync.rejects-broken-chain"})},
        // _previous set is refused: the reserved fields are blamed, not the deletion of a held
        // entity (also a new version) nor updates.
        BrokenReceiver{"previous_400",
                       Defect::previous_400,
                       {"sink.entity.reserved-fields"},
                       {"sink.batch.accepted", "sink.entity.deleted"},
                       Severity::error,
                       "sink.entity.reserved-fields"},
        // No updates and no re-delivery: the two consequences, each named.
        BrokenReceiver{"insert_only_409",
                       Defect::insert_only_409,
                       {"sink.batch.accepted", "sink.redelivery"},
                       {"sink.entity.deleted", "sink.entity.reserved-fields"},
                       Severity::error,
                       "sink.batch.accepted"},
        // Every second request fails: the retry a sink makes (batch_retries) gets the answer.
        BrokenReceiver{"flaky_500", Defect::flaky_500, {}},
        // One entity per request is all it takes, and all --batch-size 1 sends.
        BrokenReceiver{"over_one_413", Defect::over_one_413, {}, {}, Severity::error, "", 1},
        // Keyed on request_id alone: one finding, named for what it is.
        BrokenReceiver{
            "request_id_global_409",
            Defect::request_id_global_409,
            {"sink.request-id.per-sequence"},
            all_sink_checks_but({"sink.incremental.first", "sink.request-id.per-sequence"}),
            Severity::error,
            "sink.request-id.per-sequence"}),
    [](const ::testing::TestParamInfo<BrokenReceiver>& param) {
        return std::string(param.param.name);
    });

TEST(SinkChecks, ACorrectScriptedReceiverPassesEverything)
{
    ScriptedReceiver receiver(Defect::none);
    ScriptedServer server(
        [&](const RawRequest& r, RawConnection& c) { c.write(receiver.answer(r)); });
    ServiceDescription service;
    service.url = server.base_url() + "/receiver";
    const auto results = testing::run_role_checks(Role::sink, service);
    for (const auto& r : results)
        EXPECT_EQ(r.verdict, Verdict::passed) << r.info.id << ": " << r.message;
    // Every request carries exactly the content type Sesam sends: a receiver that accepts it
    // never gets the charset probe of sink.content-type.
    for (const auto& r : server.requests())
        EXPECT_EQ(content_type(r.head), "application/json") << r.target;
}

TEST(SinkChecks, TheReferenceServicePassesEverything)
{
    testing::RunningReferenceService reference(
        reference::Dataset::parse(reference::sample_dataset_json(), "sample"));
    ServiceDescription service;
    service.url = reference.base_url() + "receiver";
    const auto results = testing::run_role_checks(Role::sink, service);
    std::vector<std::string> ids;
    for (const auto& r : results) {
        ids.emplace_back(r.info.id);
        EXPECT_EQ(r.verdict, Verdict::passed) << r.info.id << ": " << r.message;
        EXPECT_TRUE(r.evidence.empty()) << r.info.id;
    }
    EXPECT_EQ(ids, kAllSinkChecks);
}

TEST(SinkChecks, ACharsetRejectedWith400IsTiedToTheContentTypeByAProbe)
{
    // docs/protocol.md#real-services: some frameworks answer 400, not 415. sink.content-type shows
    // the same batch accepted with a charset; every other check is skipped naming it.
    ScriptedServer server([&](const RawRequest& r, RawConnection& c) {
        const bool charset = content_type(r.head).find("charset=") != std::string::npos;
        c.write(ScriptedServer::response(charset ? 200 : 400, charset ? "{}" : "bad media type"));
    });
    ServiceDescription service;
    service.url = server.base_url() + "/receiver";
    const auto results = testing::run_role_checks(Role::sink, service);
    EXPECT_EQ(testing::ids_with(results, Verdict::failed),
              std::vector<std::string>{"sink.content-type"});
    EXPECT_EQ(testing::ids_with(results, Verdict::skipped),
              all_sink_checks_but({"sink.content-type"}));
    for (const auto& r : results) {
        if (r.verdict == Verdict::skipped) {
            EXPECT_NE(r.message.find("(see sink.content-type)"), std::string::npos)
                << r.info.id << ": " << r.message;
        }
    }
    const auto& last = results.back();
    ASSERT_EQ(last.info.id, "sink.content-type");
    EXPECT_EQ(last.verdict, Verdict::failed);
    ASSERT_EQ(last.evidence.size(), 2u);
    EXPECT_NE(last.evidence[0].actual.find("bad media type"), std::string::npos);
    EXPECT_NE(last.evidence[1].curl.find("charset=utf-8"), std::string::npos);
}

TEST(SinkChecks, AConfiguredContentTypeSkipsTheContentTypeCheck)
{
    ScriptedReceiver receiver(Defect::none);
    ScriptedServer server(
        [&](const RawRequest& r, RawConnection& c) { c.write(receiver.answer(r)); });
    ServiceDescription service;
    service.url = server.base_url() + "/receiver";
    service.headers.push_back({"Content-Type", "application/json; charset=utf-8"});
    const auto results = testing::run_role_checks(Role::sink, service);
    EXPECT_EQ(testing::ids_with(results, Verdict::skipped),
              std::vector<std::string>{"sink.content-type"});
    EXPECT_EQ(testing::ids_with(results, Verdict::failed), std::vector<std::string>{});
}

TEST(SinkChecks, NoAnswerFailsWithTheTransportError)
{
    ScriptedServer server([](const RawRequest&, RawConnection& c) { c.close(); });
    ServiceDescription service;
    service.url = server.base_url() + "/receiver";
    const auto results = testing::run_role_checks(Role::sink, service);
    // One finding, on the first request (the full sync); every other check names it.
    EXPECT_EQ(testing::ids_with(results, Verdict::failed),
              std::vector<std::string>{"sink.full-sync.sequence"});
    EXPECT_EQ(testing::ids_with(results, Verdict::skipped),
              all_sink_checks_but({"sink.full-sync.sequence"}));
    const auto& full = results[1];
    ASSERT_EQ(full.info.id, "sink.full-sync.sequence");
    EXPECT_EQ(full.message.rfind("data batch 1 of a full sync (is_first=true) got no answer", 0),
              0u)
        << full.message;
    ASSERT_EQ(full.evidence.size(), 1u);
    EXPECT_EQ(full.evidence[0].actual.rfind("no answer: ", 0), 0u) << full.evidence[0].actual;
    for (const auto& r : results) {
        if (r.verdict == Verdict::skipped) {
            EXPECT_NE(r.message.find("sink.full-sync.sequence"), std::string::npos)
                << r.info.id << ": " << r.message;
        }
    }
}

} // namespace
} // namespace sesam::harness
