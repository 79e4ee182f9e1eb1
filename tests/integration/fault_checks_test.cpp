// Proof that the fault checks (check --faults) have teeth: the reference service passes them, a
// service broken in the way one of them looks for trips exactly that check and no other, and
// without --faults none of them runs (the shape of googletest's sample7).
#include "emulator/http/beast_transport.hpp"
#include "examples/reference-service/sample_dataset.hpp"
#include "harness/checks/check.hpp"
#include "harness/runner/check_runner.hpp"
#include "tests/support/check_fixture.hpp"
#include "tests/support/cli_fixture.hpp"
#include "tests/support/reference_fixture.hpp"
#include "tests/support/scripted_server.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/url/parse.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <set>

namespace sesam::harness {
namespace {

using namespace std::chrono_literals;
using testing::RawConnection;
using testing::RawRequest;
using testing::ScriptedServer;

const std::vector<std::string> kFaultChecks{"source.fault.cut-response",
                                            "sink.fault.cut-batch",
                                            "sink.fault.duplicate-batch",
                                            "sink.fault.abandoned-full-sync",
                                            "transform.fault.retry"};

/// Runs every check of `role`, then its fault checks, as `check --faults` does.
std::vector<CheckResult> run_with_faults(Role role, const ServiceDescription& service)
{
    boost::asio::io_context ioc;
    emulator::BeastTransport transport(
        ioc, emulator::TransportOptions{std::chrono::seconds(5), std::chrono::seconds(5)});
    CheckContext ctx(transport, service);
    auto checks = select_checks({role}, {}, {});
    for (const auto& check : fault_checks())
        if (check.info.role == role)
            checks.push_back(&check);
    std::vector<CheckResult> results;
    testing::CollectingReporter collect(results);
    run_checks(checks, ctx, collect, {});
    return results;
}

const CheckResult& result_of(const std::vector<CheckResult>& results, std::string_view id)
{
    const auto it = std::find_if(
        results.begin(), results.end(), [&](const auto& r) { return r.info.id == id; });
    if (it == results.end())
        throw std::runtime_error("no result for " + std::string(id));
    return *it;
}

// ---- the catalogue -----------------------------------------------------------------------------

TEST(FaultChecks, AreACatalogueOfTheirOwnWithStableIds)
{
    std::vector<std::string> ids;
    for (const auto& check : fault_checks()) {
        ids.emplace_back(check.info.id);
        EXPECT_FALSE(check.info.title.empty()) << check.info.id;
        EXPECT_EQ(check.info.spec.rfind("docs/protocol.md#", 0), 0u) << check.info.id;
        EXPECT_EQ(check.info.severity, Severity::error) << check.info.id;
    }
    EXPECT_EQ(ids, kFaultChecks);
    // Without --faults none of them is selected: they are not in all_checks().
    for (const auto& check : all_checks())
        EXPECT_EQ(std::string(check.info.id).find(".fault."), std::string::npos) << check.info.id;
    EXPECT_TRUE(
        select_checks({Role::source, Role::sink, Role::transform}, {"*.fault.*"}, {}).empty());
}

// ---- the reference service passes them --------------------------------------------------------

class ReferenceWithFaults : public ::testing::Test {
protected:
    testing::RunningReferenceService reference{
        reference::Dataset::parse(reference::sample_dataset_json(), "sample")};

    static void expect_all_passed(const std::vector<CheckResult>& results, std::size_t faults)
    {
        std::size_t fault_results = 0;
        for (const auto& r : results) {
            EXPECT_EQ(r.verdict, Verdict::passed) << r.info.id << ": " << r.message;
            EXPECT_TRUE(r.evidence.empty()) << r.info.id;
            fault_results += std::string(r.info.id).find(".fault.") != std::string::npos;
        }
        EXPECT_EQ(fault_results, faults);
    }
};

TEST_F(ReferenceWithFaults, Source)
{
    ServiceDescription service;
    service.url = reference.base_url() + "entities";
    service.supports_since = true;
    service.is_chronological = true;
    service.page_size = 5;
    expect_all_passed(run_with_faults(Role::source, service), 1);
}

TEST_F(ReferenceWithFaults, Sink)
{
    ServiceDescription service;
    service.url = reference.base_url() + "receiver";
    const auto results = run_with_faults(Role::sink, service);
    expect_all_passed(results, 3);
    EXPECT_EQ(results.back().info.id, "sink.fault.abandoned-full-sync");
}

TEST_F(ReferenceWithFaults, SinkWithBatchSizeOne)
{
    ServiceDescription service;
    service.url = reference.base_url() + "receiver";
    service.batch_size = 1;
    expect_all_passed(run_with_faults(Role::sink, service), 3);
}

TEST_F(ReferenceWithFaults, Transform)
{
    ServiceDescription service;
    service.url = reference.base_url() + "transform";
    expect_all_passed(run_with_faults(Role::transform, service), 1);
}

// ---- a source ----------------------------------------------------------------------------------

/// A source of e1..e10 (`_updated` 1..10, e3 deleted, a transit value in e1, exclusive since,
/// limit), correct unless `commits_on_disconnect`: then it keeps a cursor of its own, and when a
/// client's connection goes away it takes the last answer sent on it as delivered, leaving those
/// entities out of later answers. A keep-alive client only loses its connection to a fault, so
/// only a fault shows it.
class CursorSource {
public:
    explicit CursorSource(bool commits_on_disconnect)
        : commits_(commits_on_disconnect),
          server_([this](const RawRequest& r, RawConnection& c) { c.write(answer(r)); })
    {
    }
    std::string url() const { return server_.base_url() + "/entities"; }

private:
    std::string answer(const RawRequest& request)
    {
        std::lock_guard lock(mutex_);
        if (commits_ && server_.connections() != connection_) {
            delivered_.insert(last_sent_.begin(), last_sent_.end());
            connection_ = server_.connections();
        }
        std::optional<long> since;
        std::optional<std::size_t> limit;
        for (const auto& p : boost::urls::parse_origin_form(request.target)->params()) {
            if (p.key == "since")
                since = std::stol(p.value);
            if (p.key == "limit")
                limit = std::stoul(p.value);
        }
        auto out = nlohmann::json::array();
        last_sent_.clear();
        for (long i = 1; i <= 10 && (!limit || out.size() < *limit); ++i) {
            const auto id = "e" + std::to_string(i);
            if ((since && i <= *since) || delivered_.count(id))
                continue;
            nlohmann::json e{{"_id", id}, {"_updated", i}, {"name", "entity " + id}};
            if (i == 1)
                e["born"] = "~t2015-01-02T03:04:05Z";
            if (i == 3)
                e["_deleted"] = true;
            out.push_back(std::move(e));
            last_sent_.push_back(id);
        }
        return ScriptedServer::response(200, out.dump());
    }

    bool commits_;
    std::mutex mutex_;
    std::size_t connection_ = 1;
    std::vector<std::string> last_sent_;
    std::set<std::string> delivered_;
    ScriptedServer server_; ///< last: it calls answer() until it is gone
};

ServiceDescription source_service(const std::string& url)
{
    ServiceDescription service;
    service.url = url;
    service.supports_since = true;
    service.is_chronological = true;
    service.page_size = 5;
    return service;
}

TEST(SourceFaults, ACorrectScriptedSourcePassesEverything)
{
    CursorSource source(false);
    for (const auto& r : run_with_faults(Role::source, source_service(source.url())))
        EXPECT_EQ(r.verdict, Verdict::passed) << r.info.id << ": " << r.message;
}

TEST(SourceFaults, ASourceThatCommitsWhatADroppedConnectionWasSentTripsCutResponse)
{
    CursorSource source(true);
    const auto results = run_with_faults(Role::source, source_service(source.url()));
    EXPECT_EQ(testing::ids_with(results, Verdict::failed),
              std::vector<std::string>{"source.fault.cut-response"});
    const auto& r = result_of(results, "source.fault.cut-response");
    EXPECT_EQ(r.severity, Severity::error);
    EXPECT_EQ(r.message.rfind("the full pull, repeated after its connection was dropped "
                              "mid-body, misses 10 entities of a complete pull just before it",
                              0),
              0u)
        << r.message;
    // The since part cannot be judged: the source's answers changed for good.
    EXPECT_NE(r.message.find("the pull with since=5 gave different answers twice in a row"),
              std::string::npos)
        << r.message;
    ASSERT_EQ(r.evidence.size(), 10u) << "the fault and 9 of 10 missing entities";
    EXPECT_NE(r.message.find("1 more not shown"), std::string::npos) << r.message;
    const auto& fault = r.evidence[0];
    EXPECT_EQ(fault.request, "GET " + source.url());
    EXPECT_EQ(fault.curl.rfind("curl -sS '" + source.url() + "' | head -c ", 0), 0u) << fault.curl;
    EXPECT_EQ(fault.actual.rfind("sesam-emu dropped the connection after ", 0), 0u) << fault.actual;
    const auto& missing = r.evidence[1];
    EXPECT_EQ(missing.request, "GET " + source.url());
    EXPECT_EQ(missing.entity_id, "e1");
    EXPECT_EQ(missing.field, "_id");
    EXPECT_EQ(missing.expected, "this entity with _updated 1, as in the complete pull before");
    EXPECT_EQ(missing.actual, "missing");
    EXPECT_EQ(missing.curl, "curl -sS '" + source.url() + "'");
}

TEST(SourceFaults, WithoutFaultsTheSameSourcePassesEverything)
{
    CursorSource source(true);
    const auto results = testing::run_role_checks(Role::source, source_service(source.url()));
    for (const auto& r : results) {
        EXPECT_EQ(r.verdict, Verdict::passed) << r.info.id << ": " << r.message;
        EXPECT_EQ(std::string(r.info.id).find(".fault."), std::string::npos) << r.info.id;
    }
}

// ---- a sink ------------------------------------------------------------------------------------

/// What is wrong with a receiver, each in a way only one fault shows.
enum class SinkDefect {
    none,
    /// A body that does not arrive whole marks its sequence as failed: every later request of
    /// that sequence gets 409, the re-sent one included.
    cut_poisons_sequence,
    /// A request_id repeated inside an open full sequence gets 409 (its previous_request_id no
    /// longer follows the chain); only a re-sent is_last of a finished sequence is a no-op.
    duplicate_409,
    /// A full sync that stopped without is_last (and without a 409) keeps its lock: a new
    /// is_first gets 409 until it ends.
    abandoned_locks,
};

/// A json push receiver as docs/protocol.md#push-receiver-rules describes it, unless `defect` says
/// otherwise.
class FaultReceiver {
public:
    explicit FaultReceiver(SinkDefect defect) : defect_(defect) {}

    std::string answer(const RawRequest& request)
    {
        std::map<std::string, std::string> p;
        for (const auto& param : boost::urls::parse_origin_form(request.target)->params())
            p[param.key] = param.value;
        const auto& sequence = p["sequence_id"];
        const auto body = nlohmann::json::parse(request.body, nullptr, false);
        if (!body.is_array()) {
            if (defect_ == SinkDefect::cut_poisons_sequence)
                poisoned_.insert(sequence);
            return ScriptedServer::response(400, R"({"error":"not a JSON array"})");
        }
        const auto status = status_for(p);
        return ScriptedServer::response(status, status == 200 ? "{}" : R"({"error":"409"})");
    }

private:
    int conflict(const std::string& sequence)
    {
        if (open_ == sequence) // a sync that got a 409 is over
            open_.reset();
        return 409;
    }

    int status_for(std::map<std::string, std::string>& p)
    {
        const auto& sequence = p["sequence_id"];
        const auto& request_id = p["request_id"];
        if (poisoned_.count(sequence))
            return 409;
        if (p["is_full"] != "true")
            // docs/protocol.md#push-receiver-rules: incremental requests are applied as they come
            return 200;
        if (p["is_first"] == "true") {
            if (defect_ == SinkDefect::abandoned_locks && open_ && *open_ != sequence)
                return 409;
            last_[sequence] = request_id;
            open_ = sequence;
            return 200;
        }
        const auto last = last_.find(sequence);
        if (last == last_.end())
            return conflict(sequence);
        // docs/protocol.md#push-receiver-rules: a re-sent last request is a no-op.
        if (last->second == request_id &&
            (defect_ != SinkDefect::duplicate_409 || finished_.count(sequence)))
            return 200;
        if (p["previous_request_id"] != last->second)
            return conflict(sequence);
        last->second = request_id;
        if (p["is_last"] == "true") {
            finished_.insert(sequence);
            if (open_ == sequence)
                open_.reset();
        }
        return 200;
    }

    SinkDefect defect_;
    std::map<std::string, std::string> last_;
    std::set<std::string> finished_;
    std::set<std::string> poisoned_;
    std::optional<std::string> open_; ///< the full sequence begun and not ended
};

struct BrokenReceiver {
    const char* name;
    SinkDefect defect;
    const char* trips;
};

void PrintTo(const BrokenReceiver& b, std::ostream* os)
{
    *os << b.name;
}

class BrokenReceiverTest : public ::testing::TestWithParam<BrokenReceiver> {};

TEST_P(BrokenReceiverTest, TripsExactlyItsFaultCheck)
{
    const auto& b = GetParam();
    FaultReceiver receiver(b.defect);
    ScriptedServer server(
        [&](const RawRequest& r, RawConnection& c) { c.write(receiver.answer(r)); });
    ServiceDescription service;
    service.url = server.base_url() + "/receiver";
    const auto results = run_with_faults(Role::sink, service);
    EXPECT_EQ(testing::ids_with(results, Verdict::failed), std::vector<std::string>{b.trips});
    EXPECT_EQ(testing::ids_with(results, Verdict::skipped), std::vector<std::string>{});
    const auto& r = result_of(results, b.trips);
    EXPECT_EQ(r.severity, Severity::error);
    EXPECT_NE(r.message.find(", while a full sync without faults was accepted from is_first to "
                             "is_last"),
              std::string::npos)
        << r.message;
    ASSERT_FALSE(r.evidence.empty());
    const auto& refused = r.evidence.back();
    EXPECT_EQ(refused.request.rfind("POST " + server.base_url() + "/receiver?sequence_id=", 0), 0u)
        << refused.request;
    EXPECT_NE(refused.request.find("&is_full=true&"), std::string::npos) << refused.request;
    EXPECT_EQ(refused.expected, "a 2xx status");
    EXPECT_EQ(refused.actual.rfind("status 409", 0), 0u) << refused.actual;
    EXPECT_EQ(refused.curl.rfind("curl -sS -X POST -H 'Content-Type: application/json' "
                                 "--data-binary '[",
                                 0),
              0u)
        << refused.curl;
}

INSTANTIATE_TEST_SUITE_P(EveryFault,
                         BrokenReceiverTest,
                         ::testing::Values(BrokenReceiver{"cut_poisons_sequence",
                                                          SinkDefect::cut_poisons_sequence,
                                                          "sink.fault.cut-batch"},
                                           BrokenReceiver{"duplicate_409",
                                                          SinkDefect::duplicate_409,
                                                          "sink.fault.duplicate-batch"},
                                           BrokenReceiver{"abandoned_locks",
                                                          SinkDefect::abandoned_locks,
                                                          "sink.fault.abandoned-full-sync"}),
                         [](const ::testing::TestParamInfo<BrokenReceiver>& param) {
                             return std::string(param.param.name);
                         });

TEST(SinkFaults, ACorrectScriptedReceiverPassesEverything)
{
    FaultReceiver receiver(SinkDefect::none);
    ScriptedServer server(
        [&](const RawRequest& r, RawConnection& c) { c.write(receiver.answer(r)); });
    ServiceDescription service;
    service.url = server.base_url() + "/receiver";
    for (const auto& r : run_with_faults(Role::sink, service))
        EXPECT_EQ(r.verdict, Verdict::passed) << r.info.id << ": " << r.message;
}

TEST(SinkFaults, TheCutRequestReachesTheReceiverHalfAndTheSameRequestFollowsWhole)
{
    FaultReceiver receiver(SinkDefect::cut_poisons_sequence);
    ScriptedServer server(
        [&](const RawRequest& r, RawConnection& c) { c.write(receiver.answer(r)); });
    ServiceDescription service;
    service.url = server.base_url() + "/receiver";
    const auto results = run_with_faults(Role::sink, service);
    const auto& r = result_of(results, "sink.fault.cut-batch");
    ASSERT_EQ(r.evidence.size(), 2u);
    const auto& fault = r.evidence[0];
    EXPECT_EQ(fault.expected, "(the fault) the connection closed halfway through the body");
    EXPECT_EQ(fault.actual.rfind("sesam-emu cut the request after ", 0), 0u) << fault.actual;
    EXPECT_EQ(fault.request, r.evidence[1].request) << "the same request, sent again";
    EXPECT_EQ(r.message.rfind("request 2 of a full sync sent again whole (same sequence_id, "
                              "request_id and previous_request_id) after its connection was cut "
                              "halfway through the body answered 409",
                              0),
              0u)
        << r.message;

    // On the wire: the head announces the whole body, half of it came, then the same request
    // whole, with the same parameters.
    const auto requests = server.requests();
    const auto cut = std::find_if(requests.begin(), requests.end(), [](const auto& q) {
        return nlohmann::json::parse(q.body, nullptr, false).is_discarded();
    });
    ASSERT_NE(cut, requests.end());
    ASSERT_NE(cut + 1, requests.end());
    EXPECT_EQ(cut->target, (cut + 1)->target);
    const auto whole = (cut + 1)->body.size();
    EXPECT_NE(cut->head.find("Content-Length: " + std::to_string(whole)), std::string::npos);
    EXPECT_EQ(cut->body, (cut + 1)->body.substr(0, whole / 2));
}

TEST(SinkFaults, AReceiverThatRefusesEveryFullSyncSkipsThemNamingTheCause)
{
    ScriptedServer server([](const RawRequest& r, RawConnection& c) {
        const bool full = r.target.find("is_full=true") != std::string::npos;
        c.write(ScriptedServer::response(full ? 500 : 200, full ? "no full syncs" : "{}"));
    });
    ServiceDescription service;
    service.url = server.base_url() + "/receiver";
    const auto results = run_with_faults(Role::sink, service);
    for (const auto* id :
         {"sink.fault.cut-batch", "sink.fault.duplicate-batch", "sink.fault.abandoned-full-sync"}) {
        const auto& r = result_of(results, id);
        EXPECT_EQ(r.verdict, Verdict::skipped) << id;
        EXPECT_EQ(r.message,
                  "without faults, data batch 1 of a full sync (is_first=true) answered 500 (see "
                  "sink.full-sync.sequence), so this cannot be judged")
            << id;
    }
}

// ---- a transform -------------------------------------------------------------------------------

enum class TransformDefect {
    none,
    /// When a client's connection goes away, the entities of the last answer sent on it count as
    /// processed, and later answers leave them out (a cache committed on disconnect).
    commits_on_disconnect,
    /// Each answer stamps its entities with a counter of the calls so far.
    stamps_calls,
};

/// A transform that marks each entity `"transformed": true`, correct unless `defect` says.
class CacheTransform {
public:
    explicit CacheTransform(TransformDefect defect)
        : defect_(defect),
          server_([this](const RawRequest& r, RawConnection& c) { c.write(answer(r)); })
    {
    }
    std::string url() const { return server_.base_url() + "/transform"; }

private:
    std::string answer(const RawRequest& request)
    {
        std::lock_guard lock(mutex_);
        if (defect_ == TransformDefect::commits_on_disconnect &&
            server_.connections() != connection_) {
            processed_.insert(last_sent_.begin(), last_sent_.end());
            connection_ = server_.connections();
        }
        const auto batch = nlohmann::json::parse(request.body, nullptr, false);
        if (!batch.is_array())
            return ScriptedServer::response(400, R"({"error":"not an array"})");
        ++calls_;
        auto out = nlohmann::json::array();
        last_sent_.clear();
        for (auto e : batch) {
            const auto id = e.value("_id", "");
            if (processed_.count(id))
                continue;
            e["transformed"] = true;
            if (defect_ == TransformDefect::stamps_calls)
                e["call"] = calls_;
            last_sent_.push_back(id);
            out.push_back(std::move(e));
        }
        return ScriptedServer::response(200, out.dump());
    }

    TransformDefect defect_;
    std::mutex mutex_;
    std::size_t connection_ = 1;
    std::size_t calls_ = 0;
    std::vector<std::string> last_sent_;
    std::set<std::string> processed_;
    ScriptedServer server_; ///< last: it calls answer() until it is gone
};

std::vector<CheckResult> transform_results(TransformDefect defect, std::string* url = nullptr)
{
    CacheTransform transform(defect);
    if (url)
        *url = transform.url();
    ServiceDescription service;
    service.url = transform.url();
    return run_with_faults(Role::transform, service);
}

TEST(TransformFaults, ACorrectScriptedTransformPassesEverything)
{
    for (const auto& r : transform_results(TransformDefect::none))
        EXPECT_EQ(r.verdict, Verdict::passed) << r.info.id << ": " << r.message;
}

TEST(TransformFaults, ATransformThatCommitsWhatADroppedConnectionWasSentTripsRetry)
{
    std::string url;
    const auto results = transform_results(TransformDefect::commits_on_disconnect, &url);
    EXPECT_EQ(testing::ids_with(results, Verdict::failed),
              std::vector<std::string>{"transform.fault.retry"});
    const auto& r = results.back();
    ASSERT_EQ(r.info.id, "transform.fault.retry");
    EXPECT_EQ(r.severity, Severity::error);
    EXPECT_EQ(r.message,
              "a batch of 3 entities sent again after its answer was dropped mid-body was "
              "answered with 0 entities, the first time with 3: 3 missing");
    ASSERT_EQ(r.evidence.size(), 4u);
    EXPECT_EQ(r.evidence[0].actual.rfind("sesam-emu dropped the connection after ", 0), 0u)
        << r.evidence[0].actual;
    EXPECT_NE(r.evidence[0].curl.find("' | head -c "), std::string::npos) << r.evidence[0].curl;
    EXPECT_EQ(r.evidence[1].request, "POST " + url);
    EXPECT_EQ(r.evidence[1].entity_id, "sesam-emu-check-1");
    EXPECT_EQ(r.evidence[1].expected, "sesam-emu-check-1 (output entity at index 0)");
    EXPECT_EQ(r.evidence[1].actual, "missing");
}

TEST(TransformFaults, ATransformWhoseAnswerVariesIsAWarning)
{
    const auto results = transform_results(TransformDefect::stamps_calls);
    EXPECT_EQ(testing::ids_with(results, Verdict::failed),
              std::vector<std::string>{"transform.fault.retry"});
    const auto& r = results.back();
    EXPECT_EQ(r.severity, Severity::warning);
    EXPECT_EQ(r.message,
              "a batch of 3 entities sent again after its answer was dropped mid-body was "
              "answered with 3 entities, the first time with 3: the same ids, 3 with other "
              "values; a transform whose answer varies makes a new version of each entity on "
              "every run");
    ASSERT_EQ(r.evidence.size(), 4u);
    EXPECT_EQ(r.evidence[1].expected, "the same content as the first time");
}

// ---- the command line --------------------------------------------------------------------------

class FaultsCli : public testing::CliFixture {};

TEST_F(FaultsCli, CheckRunsTheFaultChecksOnlyWithFaults)
{
    testing::ChildProcess serve(testing::kBinary + " serve --port 0 --quiet");
    const auto base = serve.first_line().substr(13);
    ASSERT_EQ(base.rfind("http://", 0), 0u) << base;

    auto r = emu("check " + base + "receiver --role sink --faults");
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    for (const auto* id :
         {"sink.fault.cut-batch", "sink.fault.duplicate-batch", "sink.fault.abandoned-full-sync"})
        EXPECT_NE(r.out.find(std::string("PASS  ") + id), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("checks: 15 passed, 0 failed"), std::string::npos) << r.out;

    r = emu("check " + base + "receiver --role sink");
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_EQ(r.out.find(".fault."), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("checks: 12 passed, 0 failed"), std::string::npos) << r.out;

    r = emu("check " + base + "entities --role source --faults --only 'source.fault.*'");
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_NE(r.out.find("PASS  source.fault.cut-response"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("checks: 1 passed"), std::string::npos) << r.out;

    r = emu("check " + base + "transform --role transform --faults --skip 'transform.fault.*'");
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_EQ(r.out.find(".fault."), std::string::npos) << r.out;

    // Asked for by name without --faults: nothing runs, and the message says why.
    r = emu("check " + base + "transform --role transform --only 'transform.fault.*'");
    EXPECT_EQ(r.exit_code, 5) << r.out << r.err;
    EXPECT_NE(r.err.find("(fault checks run only with --faults)"), std::string::npos) << r.err;
    EXPECT_EQ(serve.terminate(), 0);
}

} // namespace
} // namespace sesam::harness
