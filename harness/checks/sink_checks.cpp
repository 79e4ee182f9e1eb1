// Conformance checks of the sink role: a json push receiver Sesam posts to (spec §4).
//
// Each check isolates one rule: its requests carry only the feature it judges (the other checks
// send plain entities with just `_id` and a name, no reserved fields, no transit values, no
// nested objects), so a receiver that breaks one rule trips one check. Every request is sent
// with exactly `Content-Type: application/json`, the header Sesam sends (spec §4.1, §15): a
// receiver that compares the header exactly works with Sesam and must pass. A 415 answer is the
// business of sink.content-type alone; the other checks report it as skipped.
//
// Running these checks makes a real full sync (sink.full-sync.sequence): a receiver that
// implements deletion detection (spec §4.3) deletes everything else it holds. Point them at a
// test instance.
#include "emulator/http/http_message.hpp"
#include "emulator/push/push_sequence.hpp"
#include "harness/checks/check.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace sesam::harness {

namespace em = sesam::emulator;

namespace {

using Json = nlohmann::json;

/// What Sesam sends (spec §4.1, §15).
constexpr const char* kSesamContentType = "application/json";
/// The probe of sink.content-type: the same media type, with a parameter.
constexpr const char* kWithCharset = "application/json; charset=utf-8";

/// sink.full-sync.sequence: data batches of min(batch_size, kMaxFullSyncBatch) entities.
constexpr std::size_t kFullSyncBatches = 2;
constexpr std::size_t kMaxFullSyncBatch = 50;

/// An `_id` no user data has.
std::string check_id(std::string_view tag, std::size_t n)
{
    return "sesam-emu-check-" + std::string(tag) + "-" + std::to_string(n);
}

/// The plainest entity: an `_id` and one string.
Json plain_entity(std::string_view tag, std::size_t n)
{
    return {{"_id", check_id(tag, n)}, {"name", "sesam-emu check entity " + std::to_string(n)}};
}

/// `count` plain entities numbered from `first`.
Json plain_batch(std::string_view tag, std::size_t first, std::size_t count)
{
    auto batch = Json::array();
    for (std::size_t n = first; n < first + count; ++n)
        batch.push_back(plain_entity(tag, n));
    return batch;
}

bool accepted(const ServiceResponse& r)
{
    return !r.transport_error && em::is_success(r.status);
}

bool rejects_content_type(const ServiceResponse& r)
{
    return !r.transport_error && r.status == 415;
}

/// What came back, for `actual`: the status with the start of the body, or the transport error.
std::string answer_text(const ServiceResponse& r)
{
    if (r.transport_error)
        return "no answer: " + *r.transport_error;
    return em::describe_status(r.status, "", r.body_start);
}

/// `answered 500` or `got no answer: …`, for a message.
std::string answered(const ServiceResponse& r)
{
    if (r.transport_error)
        return "got no answer: " + *r.transport_error;
    return "answered " + std::to_string(r.status);
}

Evidence evidence(const ServiceResponse& r,
                  std::string expected,
                  std::string id = "",
                  std::string field = "")
{
    return {
        r.request, std::move(id), std::move(field), std::move(expected), answer_text(r), r.curl};
}

/// Sends `batch` as the next request of `sequence` (acknowledged when it got a 2xx, so the chain
/// goes on as Sesam's does, spec §4.4).
const ServiceResponse& push(CheckContext& ctx,
                            em::PushSequence& sequence,
                            const Json& batch,
                            bool last = false,
                            const std::string& content_type = kSesamContentType)
{
    const auto& params = sequence.begin_request(last);
    const auto& r = ctx.post(params.query(), batch.dump(), content_type);
    if (accepted(r))
        sequence.acknowledge();
    return r;
}

/// ` (see CHECK)`, or sink.content-type for a 415: which check judges a refused request.
std::string see(const ServiceResponse& r, std::string_view check)
{
    return " (see " + std::string(rejects_content_type(r) ? "sink.content-type" : check) + ")";
}

constexpr const char* kSeeContentType =
    ": the receiver rejects Content-Type: application/json (see sink.content-type)";

/// nullopt when the request the check judges got a 2xx; else the check's result: failed, or
/// skipped for a 415 (sink.content-type's finding).
std::optional<CheckResult> judge(const CheckInfo& info,
                                 const ServiceResponse& r,
                                 const std::string& what,
                                 std::string id = "",
                                 std::string field = "")
{
    if (accepted(r))
        return std::nullopt;
    if (rejects_content_type(r))
        return skipped(info, what + " answered 415" + kSeeContentType);
    return failed(info,
                  what + " " + answered(r),
                  {evidence(r, "a 2xx status", std::move(id), std::move(field))});
}

/// nullopt when a request that only prepares the one judged got a 2xx; else a skip naming the
/// check that judges such a request.
std::optional<CheckResult> prepared(const CheckInfo& info,
                                    const ServiceResponse& r,
                                    const std::string& what,
                                    std::string_view judged_by)
{
    if (accepted(r))
        return std::nullopt;
    if (rejects_content_type(r))
        return skipped(info, what + " answered 415" + kSeeContentType);
    return skipped(info,
                   what + " was not accepted (" + answer_text(r) + "; see " +
                       std::string(judged_by) + "), so this cannot be judged");
}

// ---- the checks ----------------------------------------------------------------------------

CheckResult batch_accepted(CheckContext& ctx, const CheckInfo& info)
{
    // spec §2.2: the plain JSON types, nested objects and lists included.
    auto batch = Json::array();
    for (std::size_t n = 1; n <= 3; ++n)
        batch.push_back(
            {{"_id", check_id("batch", n)},
             {"name", "Kari Nordmann " + std::to_string(n)},
             {"city", "Tromsø"},
             {"age", 40 + n},
             {"score", 0.75},
             {"active", n % 2 == 1},
             {"note", nullptr},
             {"tags", {"a", "b"}},
             {"address", {{"street", "Storgata " + std::to_string(n)}, {"zip", 9008}}}});
    em::PushSequence sequence(em::new_sequence_id(), false);
    const auto& r = push(ctx, sequence, batch);
    if (auto bad = judge(info, r, "an incremental batch of 3 ordinary entities"))
        return *bad;
    return passed(info);
}

CheckResult batch_empty(CheckContext& ctx, const CheckInfo& info)
{
    em::PushSequence sequence(em::new_sequence_id(), false);
    const auto& data = push(ctx, sequence, plain_batch("empty", 1, 2));
    if (auto skip = prepared(info, data, "the data batch before it", "sink.batch.accepted"))
        return *skip;
    // spec §4.2: the sink always ends with a POST of an empty array, a no-op for the receiver.
    const auto& r = push(ctx, sequence, Json::array(), true);
    if (auto bad = judge(info, r, "the trailing empty batch [] of an incremental sync"))
        return *bad;
    return passed(info);
}

CheckResult entity_deleted(CheckContext& ctx, const CheckInfo& info)
{
    em::PushSequence sequence(em::new_sequence_id(), false);
    const auto& written = push(ctx, sequence, plain_batch("deleted", 1, 2));
    if (auto skip =
            prepared(info, written, "writing the entities to delete", "sink.batch.accepted"))
        return *skip;
    // spec §4.3: deletions are entities with `_deleted: true`, of ids the receiver holds (1) or
    // never saw (3).
    auto deletions = Json::array();
    for (std::size_t n : {1, 3})
        deletions.push_back(
            {{"_id", check_id("deleted", n)}, {"_deleted", true}, {"name", "deleted"}});
    const auto& r = push(ctx, sequence, deletions);
    if (auto bad = judge(info,
                         r,
                         "a batch of _deleted: true entities",
                         deletions[0]["_id"].get<std::string>(),
                         "_deleted"))
        return *bad;
    return passed(info);
}

CheckResult entity_reserved_fields(CheckContext& ctx, const CheckInfo& info)
{
    // spec §2.1: a dataset sends its own _updated (integer offset), _previous (int or null),
    // _ts (microseconds) and _hash (32 hex digits) with every entity.
    auto batch = Json::array();
    batch.push_back({{"_id", check_id("reserved", 1)},
                     {"_deleted", false},
                     {"_updated", 4711},
                     {"_previous", 4102},
                     {"_ts", 1716800000123456},
                     {"_hash", "9d8255209c3e1d318e8cf2cab7a3a73e"},
                     {"name", "with a previous version"}});
    batch.push_back({{"_id", check_id("reserved", 2)},
                     {"_deleted", false},
                     {"_updated", 4712},
                     {"_previous", nullptr},
                     {"_ts", 1716800000123789},
                     {"_hash", "0c3f2a9e5b7d41e8a6f90b1c2d3e4f50"},
                     {"name", "a first version"}});
    em::PushSequence sequence(em::new_sequence_id(), false);
    const auto& r = push(ctx, sequence, batch);
    if (auto bad = judge(info, r, "entities with _updated, _previous, _ts and _hash"))
        return *bad;
    return passed(info);
}

CheckResult entity_transit(CheckContext& ctx, const CheckInfo& info)
{
    // spec §2.2 encoding rules: the forms Sesam writes for each transit type.
    auto batch = Json::array();
    batch.push_back({{"_id", check_id("transit", 1)},
                     {"born", "~t1980-02-01T00:00:00Z"},
                     {"seen", "~t2015-07-28T09:46:00.12345Z"},
                     {"salary", "~f612345.50"},
                     {"photo", "~bAAECAwQF"},
                     {"ext_id", "~u531a379e-31bb-4ce1-8690-158dceb64be6"},
                     {"homepage", "~rhttps://example.org/kari"},
                     {"employer", "~:hr-org:42"}});
    batch.push_back({{"_id", check_id("transit", 2)},
                     {"amount", "~f12345678901234567890.1234567890"},
                     {"global", "~:bar"},
                     {"refs", {"~:crm:1", "~:crm:2"}}});
    em::PushSequence sequence(em::new_sequence_id(), false);
    const auto& r = push(ctx, sequence, batch);
    if (auto bad = judge(info, r, "a batch with every transit type (~t ~f ~b ~u ~r ~:)"))
        return *bad;
    return passed(info);
}

CheckResult full_sync_sequence(CheckContext& ctx, const CheckInfo& info)
{
    const auto per_batch = std::clamp<std::size_t>(ctx.service().batch_size, 1, kMaxFullSyncBatch);
    em::PushSequence sequence(em::new_sequence_id(), true);
    // spec §4.5: is_first on request 1, each request chained to the one before.
    for (std::size_t b = 0; b < kFullSyncBatches; ++b) {
        const auto& r = push(ctx, sequence, plain_batch("full", b * per_batch + 1, per_batch));
        const auto what = "data batch " + std::to_string(b + 1) + " of a full sync" +
                          (b == 0 ? " (is_first=true)" : "");
        if (auto bad = judge(info, r, what))
            return *bad;
    }
    const auto& last = push(ctx, sequence, Json::array(), true);
    if (accepted(last))
        return passed(info);
    // A receiver that fails every empty batch is sink.batch.empty's finding: ask an incremental
    // [] to tell that apart from a receiver that fails the end of a full sync.
    em::PushSequence control(em::new_sequence_id(), false);
    if (!accepted(push(ctx, control, Json::array())))
        return skipped(info,
                       "the closing empty batch (is_last=true) " + answered(last) +
                           ", as does an incremental empty batch (see sink.batch.empty)");
    return *judge(info, last, "the closing empty batch (is_last=true) of a full sync");
}

CheckResult full_sync_rejects_broken_chain(CheckContext& ctx, const CheckInfo& info)
{
    em::PushSequence sequence(em::new_sequence_id(), true);
    const auto& first = push(ctx, sequence, plain_batch("chain", 1, 2));
    if (auto skip = prepared(info,
                             first,
                             "the first request of a full sync (is_first=true)",
                             "sink.full-sync.sequence"))
        return *skip;
    // spec §4.4: request 2 is lost on the way; request 3 names it as previous_request_id.
    const std::string lost = sequence.begin_request(false).request_id;
    auto broken = sequence.begin_request(false);
    broken.previous_request_id = lost;
    const auto& r = ctx.post(broken.query(), plain_batch("chain", 3, 2).dump(), kSesamContentType);
    if (!r.transport_error && r.status == 409)
        return passed(info);
    return failed(info,
                  "request " + broken.request_id + " of a full sync names previous_request_id \"" +
                      lost + "\" but the last request_id was \"" + *sequence.last_acknowledged() +
                      "\"; it " + answered(r) + " instead of 409, so a lost request goes unnoticed",
                  {evidence(r, "status 409 Conflict", "", "previous_request_id")});
}

CheckResult redelivery(CheckContext& ctx, const CheckInfo& info)
{
    std::vector<std::string> failures;
    std::vector<std::string> not_judged;
    std::vector<Evidence> found;

    // (a) spec §4.4: an incremental batch re-sent after a failure, same sequence and request_id.
    em::PushSequence incremental(em::new_sequence_id(), false);
    const auto batch = plain_batch("redelivery", 1, 2);
    const auto& first = push(ctx, incremental, batch);
    if (!accepted(first)) {
        not_judged.push_back("part (a) cannot be judged: the first delivery of an incremental "
                             "batch " +
                             answered(first) + see(first, "sink.batch.accepted"));
    } else {
        const auto& again =
            ctx.post(incremental.current().query(), batch.dump(), kSesamContentType);
        if (!accepted(again)) {
            failures.push_back("(a) an incremental batch delivered a second time " +
                               answered(again));
            found.push_back(evidence(again, "a 2xx status, as for the first delivery"));
        }
    }

    // (b) spec §4.4: the last request of a full sync re-sent with the same request_id.
    em::PushSequence full(em::new_sequence_id(), true);
    const auto& data = push(ctx, full, plain_batch("redelivery", 3, 2));
    const ServiceResponse* end = accepted(data) ? &push(ctx, full, Json::array(), true) : nullptr;
    if (!end || !accepted(*end)) {
        const auto& refused = end ? *end : data;
        not_judged.push_back("part (b) cannot be judged: the full sync whose is_last was to be "
                             "re-sent " +
                             answered(refused) + see(refused, "sink.full-sync.sequence"));
    } else {
        const auto& again = ctx.post(full.current().query(), "[]", kSesamContentType);
        if (!accepted(again)) {
            failures.push_back(
                "(b) the closing empty batch (is_last=true) of a full sync re-sent " +
                answered(again));
            found.push_back(evidence(again, "a 2xx status, as for the first delivery"));
        }
    }

    auto join = [](const std::vector<std::string>& parts) {
        std::string out;
        for (const auto& p : parts)
            out += (out.empty() ? "" : "; ") + p;
        return out;
    };
    if (!failures.empty())
        return failed(info,
                      join(failures) + (not_judged.empty() ? "" : "; " + join(not_judged)),
                      std::move(found));
    if (!not_judged.empty())
        return skipped(
            info, join(not_judged) + (not_judged.size() == 1 ? "; the other part passed" : ""));
    return passed(info);
}

CheckResult single_entity(CheckContext& ctx, const CheckInfo& info)
{
    // spec §4.4: after a failed batch, fallback_to_single_entities_on_batch_fail re-sends the
    // entities one per request.
    em::PushSequence sequence(em::new_sequence_id(), false);
    for (std::size_t n = 1; n <= 2; ++n) {
        const auto entity = plain_entity("single", n);
        const auto& r = push(ctx, sequence, Json::array({entity}));
        if (auto bad = judge(info,
                             r,
                             "a one-element batch (request " + std::to_string(n) + ")",
                             entity["_id"].get<std::string>()))
            return *bad;
    }
    return passed(info);
}

CheckResult content_type(CheckContext& ctx, const CheckInfo& info)
{
    if (em::find_header(ctx.service().headers, "Content-Type"))
        return skipped(info, "a Content-Type header is configured, and Sesam would send that one");
    em::PushSequence sequence(em::new_sequence_id(), false);
    const auto batch = plain_batch("content-type", 1, 2);
    const auto& r = push(ctx, sequence, batch, false, kSesamContentType);
    if (accepted(r))
        return passed(info);
    const auto what = std::string("a batch with Content-Type: ") + kSesamContentType +
                      ", exactly as Sesam sends it,";
    if (r.transport_error || r.status == 415)
        return failed(info, what + " " + answered(r), {evidence(r, "a 2xx status")});
    // spec §15: frameworks reject a content type with 400 as well; the same batch with a charset
    // parameter tells a content-type rejection from a batch rejected for another reason.
    const auto& probe = push(ctx, sequence, batch, false, kWithCharset);
    if (!accepted(probe))
        return skipped(info,
                       "the batch " + answered(r) +
                           " with and without a charset parameter: not a "
                           "content-type problem (see sink.batch.accepted)");
    return failed(info,
                  what + " " + answered(r) + ", but with Content-Type: " + kWithCharset +
                      " it is accepted",
                  {evidence(r, "a 2xx status"),
                   evidence(probe,
                            std::string("for comparison: the same batch with Content-Type: ") +
                                kWithCharset)});
}

} // namespace

std::vector<Check> sink_checks()
{
    using F = CheckResult (*)(CheckContext&, const CheckInfo&);
    struct Row {
        CheckInfo info;
        F run;
    };
    static const Row rows[] = {
        {{"sink.batch.accepted",
          Role::sink,
          Severity::error,
          "An incremental batch of ordinary entities answers 2xx",
          "§4.1, §4.4"},
         batch_accepted},
        {{"sink.batch.empty",
          Role::sink,
          Severity::error,
          "The trailing empty batch [] answers 2xx",
          "§4.2, §15"},
         batch_empty},
        {{"sink.entity.deleted",
          Role::sink,
          Severity::error,
          "A batch of _deleted: true entities answers 2xx",
          "§4.3"},
         entity_deleted},
        {{"sink.entity.reserved-fields",
          Role::sink,
          Severity::error,
          "Entities with _updated, _previous, _ts and _hash answer 2xx",
          "§2.1"},
         entity_reserved_fields},
        {{"sink.entity.transit",
          Role::sink,
          Severity::error,
          "A batch with a value of every transit type answers 2xx",
          "§2.2"},
         entity_transit},
        {{"sink.full-sync.sequence",
          Role::sink,
          Severity::error,
          "A whole full sync, is_first to is_last, answers 2xx throughout",
          "§4.1, §4.5"},
         full_sync_sequence},
        {{"sink.full-sync.rejects-broken-chain",
          Role::sink,
          Severity::warning,
          "A full-sync request that breaks the request_id chain gets 409",
          "§4.4"},
         full_sync_rejects_broken_chain},
        {{"sink.redelivery",
          Role::sink,
          Severity::error,
          "A re-sent incremental batch and a re-sent is_last are accepted",
          "§4.4"},
         redelivery},
        {{"sink.single-entity",
          Role::sink,
          Severity::error,
          "One-element batches (the fallback after a failed batch) answer 2xx",
          "§4.4"},
         single_entity},
        {{"sink.content-type",
          Role::sink,
          Severity::error,
          "Content-Type: application/json, exactly as Sesam sends it, is accepted",
          "§4.1, §15"},
         content_type},
    };
    std::vector<Check> checks;
    for (const auto& row : rows)
        checks.push_back({row.info, [row](CheckContext& ctx) { return row.run(ctx, row.info); }});
    return checks;
}

} // namespace sesam::harness
