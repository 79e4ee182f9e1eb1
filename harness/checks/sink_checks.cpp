// Conformance checks of the sink role: a json push receiver Sesam posts to (docs/protocol.md#push).
//
// The checks send what a node sends. Every probe entity is shaped as a dataset sink emits it,
// with `_updated`, `_previous`, `_ts` and `_hash` (docs/protocol.md#reserved-fields), every request
// carries exactly `Content-Type: application/json` (docs/protocol.md#push-request, #real-services),
// and a whole full sync (sink.full-sync.sequence) runs before any incremental probe, as a pipe's
// first run is a full sync (docs/protocol.md#push-full-sync). Only sink.incremental.first sends an
// incremental batch before it, on purpose.
//
// Each check varies one thing from a request the receiver accepts, so that its failure names its
// cause. When a probe is refused, the checks compare it with control requests (sent once per
// run, only when needed): a batch of plain entities in a new incremental sequence; the same
// without the dataset's fields; the same with request_id values no sequence used before. A probe
// refused while the plain batch is accepted fails its check; a probe refused because every
// incremental request is refused is skipped, naming the one check that reports the cause.
//
// Running these checks makes real full syncs: a receiver that implements deletion detection
// (docs/protocol.md#push-full-sync) deletes everything else it holds. Point them at a test
// instance.
#include "emulator/http/http_message.hpp"
#include "emulator/push/push_sequence.hpp"
#include "harness/checks/check.hpp"
#include "harness/checks/probe_entities.hpp"

#include <algorithm>

namespace sesam::harness {

namespace em = sesam::emulator;

namespace {

using Json = ProbeJson;

/// What Sesam sends (docs/protocol.md#push-request, #real-services).
constexpr const char* kSesamContentType = "application/json";
/// The probe of sink.content-type: the same media type, with a parameter.
constexpr const char* kWithCharset = "application/json; charset=utf-8";

/// The full syncs: data batches of min(batch_size, kMaxFullSyncBatch) entities.
constexpr std::size_t kFullSyncBatches = 2;
constexpr std::size_t kMaxFullSyncBatch = 50;

/// The ids of the checks that a skipped check points to.
constexpr std::string_view kBatchAccepted = "sink.batch.accepted";
constexpr std::string_view kBatchEmpty = "sink.batch.empty";
constexpr std::string_view kReservedFields = "sink.entity.reserved-fields";
constexpr std::string_view kFullSync = "sink.full-sync.sequence";
constexpr std::string_view kRequestIds = "sink.request-id.per-sequence";
constexpr std::string_view kContentType = "sink.content-type";

/// An `_id` no user data has.
std::string check_id(std::string_view tag, std::size_t n)
{
    return "sesam-emu-check-" + std::string(tag) + "-" + std::to_string(n);
}

/// The plainest content: an `_id` and one string.
Json plain_content(std::string_view tag, std::size_t n)
{
    Json e = Json::object();
    e["_id"] = check_id(tag, n);
    e["name"] = "sesam-emu check entity " + std::to_string(n);
    return e;
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

/// Evidence of a control request that was accepted: what the probe is compared with.
Evidence comparison(const ServiceResponse& r, const std::string& what)
{
    return evidence(r, "for comparison: " + what + " (accepted)");
}

constexpr const char* kSeeContentType =
    ": the receiver rejects Content-Type: application/json (see sink.content-type)";

/// POSTs `batch` with `params` (the request a sink sends, docs/protocol.md#push-request). A 5xx or
/// no answer is retried once with the same request, as the sink's batch_retries does
/// (docs/protocol.md#push-receiver-rules): a receiver that fails now and then is not blamed for
/// what a probe varies.
const ServiceResponse& send(CheckContext& ctx,
                            const em::PushParams& params,
                            const Json& batch,
                            const std::string& content_type = kSesamContentType)
{
    const auto body = batch.dump();
    const auto& r = ctx.post(params.query(), body, content_type);
    if (!r.transport_error && r.status < 500)
        return r;
    return ctx.post(params.query(), body, content_type);
}

/// Sends `batch` as the next request of `sequence` (acknowledged when it got a 2xx, so the chain
/// goes on as Sesam's does, docs/protocol.md#push-receiver-rules).
const ServiceResponse& push(CheckContext& ctx,
                            em::PushSequence& sequence,
                            const Json& batch,
                            bool last = false,
                            const std::string& content_type = kSesamContentType)
{
    const auto& r = send(ctx, sequence.begin_request(last), batch, content_type);
    if (accepted(r))
        sequence.acknowledge();
    return r;
}

/// A sequence whose request_id values no other sequence has, still decimal numbers (a receiver
/// may parse them): a random base above 10^9 plus 1, 2, … (a control for
/// sink.request-id.per-sequence; Sesam's are a counter from 1, docs/protocol.md#defaults).
class UniqueIdSequence {
public:
    explicit UniqueIdSequence(bool is_full)
        : sequence_(em::new_sequence_id(), is_full),
          base_(1'000'000'000 + std::stoull(em::new_sequence_id().substr(0, 7), nullptr, 16))
    {
    }

    const ServiceResponse& push(CheckContext& ctx, const Json& batch, bool last = false)
    {
        auto params = sequence_.begin_request(last);
        params.request_id = unique(params.request_id);
        if (params.previous_request_id)
            params.previous_request_id = unique(*params.previous_request_id);
        const auto& r = send(ctx, params, batch);
        if (accepted(r))
            sequence_.acknowledge();
        return r;
    }

private:
    std::string unique(const std::string& counter) const
    {
        return std::to_string(base_ + std::stoull(counter));
    }

    em::PushSequence sequence_;
    std::uint64_t base_;
};

/// How a full sync went.
struct FullSyncRun {
    const ServiceResponse* refused = nullptr; ///< the first request not accepted, if any
    std::string what;                         ///< which request that was, for messages
    bool closing = false; ///< the refused request is the closing empty batch (is_last)

    /// Every data batch was accepted (the closing one may not have been).
    bool data_accepted() const noexcept { return !refused || closing; }
};

/// The state the sink checks share through a run (CheckContext::shared).
struct SinkSession {
    ProbeDataset dataset;
    bool full_sync_sent = false;
    std::optional<FullSyncRun> first_full_sync;
    // Control requests, sent at most once each, when a probe is refused; all of the same entities.
    Json control_batch;
    const ServiceResponse* plain = nullptr;
    const ServiceResponse* bare = nullptr;
    const ServiceResponse* unique = nullptr;
    const ServiceResponse* charset = nullptr;
    const ServiceResponse* lone_empty = nullptr;
    Json update_batch;
    const ServiceResponse* update = nullptr;
    const ServiceResponse* bare_update = nullptr;
    std::optional<FullSyncRun> charset_full_sync;
    std::optional<FullSyncRun> bare_full_sync;
    std::optional<FullSyncRun> unique_full_sync;
};

SinkSession& session(CheckContext& ctx)
{
    return ctx.shared<SinkSession>();
}

/// How many entities a probe of `wanted` may carry: never more than the sink's batch_size, the
/// most Sesam posts at once (docs/protocol.md#push-request).
std::size_t at_most_batch(const CheckContext& ctx, std::size_t wanted)
{
    return std::clamp<std::size_t>(ctx.service().batch_size, 1, wanted);
}

/// `count` entities numbered from `first` (at most a batch), as new versions in the probe
/// dataset.
Json versions(CheckContext& ctx, std::string_view tag, std::size_t first, std::size_t count)
{
    count = at_most_batch(ctx, count);
    auto batch = Json::array();
    for (std::size_t n = first; n < first + count; ++n)
        batch.push_back(session(ctx).dataset.version(plain_content(tag, n)));
    return batch;
}

std::size_t full_sync_batch(const CheckContext& ctx)
{
    return std::clamp<std::size_t>(ctx.service().batch_size, 1, kMaxFullSyncBatch);
}

enum class Ids { counter, unique };
enum class Fields { dataset, bare };

/// A whole full sync of plain entities `tag`-1…: kFullSyncBatches data batches, then the closing
/// empty batch with is_last (docs/protocol.md#push-example); it stops at the first request not
/// accepted, as a sink does with max_consecutive_write_errors 1
/// (docs/protocol.md#push-receiver-rules).
FullSyncRun full_sync(CheckContext& ctx,
                      std::string_view tag,
                      Ids ids,
                      Fields fields,
                      const std::string& content_type = kSesamContentType)
{
    session(ctx).full_sync_sent = true;
    const auto per_batch = full_sync_batch(ctx);
    em::PushSequence counter(em::new_sequence_id(), true);
    UniqueIdSequence unique(true);
    auto next = [&](const Json& batch, bool last) -> const ServiceResponse& {
        return ids == Ids::unique ? unique.push(ctx, batch, last)
                                  : push(ctx, counter, batch, last, content_type);
    };
    FullSyncRun run;
    for (std::size_t b = 0; b < kFullSyncBatches; ++b) {
        auto batch = versions(ctx, tag, b * per_batch + 1, per_batch);
        if (fields == Fields::bare)
            batch = without_dataset_fields_each(batch);
        const auto& r = next(batch, false);
        if (!accepted(r)) {
            run.refused = &r;
            run.what = "data batch " + std::to_string(b + 1) + " of a full sync" +
                       (b == 0 ? " (is_first=true)" : "");
            return run;
        }
    }
    const auto& last = next(Json::array(), true);
    if (!accepted(last)) {
        run.refused = &last;
        run.what = "the closing empty batch (is_last=true) of a full sync";
        run.closing = true;
    }
    return run;
}

/// The full sync every incremental probe comes after (judged by sink.full-sync.sequence).
const FullSyncRun& first_full_sync(CheckContext& ctx)
{
    auto& s = session(ctx);
    if (!s.first_full_sync)
        s.first_full_sync = full_sync(ctx, "full", Ids::counter, Fields::dataset);
    return *s.first_full_sync;
}

/// Controls: the same plain entities each time, so that each differs from the other in one thing.
/// Sends `batch` as the one request of a new incremental sequence (request_id 1).
const ServiceResponse&
alone(CheckContext& ctx, const Json& batch, const std::string& content_type = kSesamContentType)
{
    em::PushSequence sequence(em::new_sequence_id(), false);
    return push(ctx, sequence, batch, false, content_type);
}

/// The answer kept in `slot`, sending the request with `send` the first time it is asked for.
template <class Send> const ServiceResponse& once(const ServiceResponse*& slot, Send send)
{
    if (!slot)
        slot = &send();
    return *slot;
}

const ServiceResponse& plain_control(CheckContext& ctx)
{
    auto& s = session(ctx);
    return once(s.plain, [&]() -> const ServiceResponse& {
        first_full_sync(ctx);
        s.control_batch = versions(ctx, "control", 1, 2);
        return alone(ctx, s.control_batch);
    });
}

const ServiceResponse& bare_control(CheckContext& ctx)
{
    auto& s = session(ctx);
    return once(s.bare, [&]() -> const ServiceResponse& {
        plain_control(ctx);
        return alone(ctx, without_dataset_fields_each(s.control_batch));
    });
}

/// The plain batch again, in a new sequence, with a charset parameter in the Content-Type: a
/// receiver that wants one and answers 400 (not 415) is told apart by it
/// (docs/protocol.md#real-services).
const ServiceResponse& charset_control(CheckContext& ctx)
{
    auto& s = session(ctx);
    return once(s.charset, [&]() -> const ServiceResponse& {
        plain_control(ctx);
        return alone(ctx, s.control_batch, kWithCharset);
    });
}

/// New versions of full-2 and full-3 (at most a batch), which the receiver holds from the first
/// full sync: content changed, `_previous` set.
Json held_versions(CheckContext& ctx)
{
    auto batch = Json::array();
    for (std::size_t n = 2; n < 2 + at_most_batch(ctx, 2); ++n) {
        auto content = plain_content("full", n);
        content["name"] = "sesam-emu check entity " + std::to_string(n) + ", changed";
        batch.push_back(session(ctx).dataset.version(content));
    }
    return batch;
}

/// New versions of entities the receiver holds from the first full sync (`_previous` set): what
/// Sesam sends whenever an entity changes.
const ServiceResponse& update_control(CheckContext& ctx)
{
    auto& s = session(ctx);
    return once(s.update, [&]() -> const ServiceResponse& {
        first_full_sync(ctx);
        s.update_batch = held_versions(ctx);
        return alone(ctx, s.update_batch);
    });
}

/// The same new versions without the dataset's fields.
const ServiceResponse& bare_update_control(CheckContext& ctx)
{
    auto& s = session(ctx);
    return once(s.bare_update, [&]() -> const ServiceResponse& {
        update_control(ctx);
        return alone(ctx, without_dataset_fields_each(s.update_batch));
    });
}

const ServiceResponse& unique_control(CheckContext& ctx)
{
    auto& s = session(ctx);
    return once(s.unique, [&]() -> const ServiceResponse& {
        plain_control(ctx);
        UniqueIdSequence sequence(false);
        return sequence.push(ctx, s.control_batch);
    });
}

/// An empty batch [] alone in a new incremental sequence: what a node sends on an incremental
/// run with no changes (docs/protocol.md#push-empty-batch).
const ServiceResponse& empty_control(CheckContext& ctx)
{
    return once(session(ctx).lone_empty,
                [&]() -> const ServiceResponse& { return alone(ctx, Json::array()); });
}

/// Why the closing empty batch of a full sync is refused: every [] is, while incremental batches
/// of entities are accepted (sink.batch.empty's finding); else it is the full sync's own.
std::string_view closing_root(CheckContext& ctx)
{
    if (accepted(empty_control(ctx)) || !accepted(plain_control(ctx)))
        return kFullSync;
    return kBatchEmpty;
}

/// Why the first full sync's data was refused: nullopt when it was accepted, else the check that
/// reports the cause (docs/protocol.md#push-request, #reserved-fields, #defaults in that order of
/// suspicion).
std::optional<std::string_view> full_sync_root(CheckContext& ctx)
{
    const auto& first = first_full_sync(ctx);
    if (first.data_accepted())
        return std::nullopt;
    if (rejects_content_type(*first.refused))
        return kContentType;
    auto& s = session(ctx);
    if (!s.charset_full_sync)
        s.charset_full_sync =
            full_sync(ctx, "full-charset", Ids::counter, Fields::dataset, kWithCharset);
    if (s.charset_full_sync->data_accepted())
        return kContentType;
    if (!s.bare_full_sync)
        s.bare_full_sync = full_sync(ctx, "full-bare", Ids::counter, Fields::bare);
    if (s.bare_full_sync->data_accepted())
        return kReservedFields;
    if (!s.unique_full_sync)
        s.unique_full_sync = full_sync(ctx, "full-unique", Ids::unique, Fields::dataset);
    if (s.unique_full_sync->data_accepted())
        return kRequestIds;
    return kFullSync;
}

/// Why incremental batches of plain entities are refused: nullopt when they are accepted, else
/// the check that reports the cause.
std::optional<std::string_view> incremental_root(CheckContext& ctx)
{
    const auto& plain = plain_control(ctx);
    if (accepted(plain))
        return std::nullopt;
    if (rejects_content_type(plain) || accepted(charset_control(ctx)))
        return kContentType;
    if (accepted(bare_control(ctx)))
        return kReservedFields;
    if (accepted(unique_control(ctx)))
        return kRequestIds;
    if (auto root = full_sync_root(ctx))
        return root;
    return kBatchAccepted;
}

/// The cause a root check stands for, as a skipped check's message gives it.
std::string root_reason(std::string_view root)
{
    if (root == kContentType)
        return "the receiver rejects Content-Type: application/json";
    if (root == kReservedFields)
        return "the same entities without _updated, _previous, _ts and _hash are accepted";
    if (root == kRequestIds)
        return "the same batch with request_id values no earlier sequence used is accepted";
    if (root == kFullSync)
        return "the full sync before it was refused";
    return "incremental batches of plain entities are refused";
}

/// `; CAUSE (see CHECK), so this cannot be judged`.
std::string not_judged(std::string_view root)
{
    return "; " + root_reason(root) + " (see " + std::string(root) + "), so this cannot be judged";
}

/// The verdict on an incremental probe `r` that differs from a plain incremental batch in one
/// thing, which `what` names: nullopt when it was accepted. Refused: skipped for a 415
/// (sink.content-type's finding); failed when a plain incremental batch is accepted (with it as
/// evidence: the difference is the cause), or when the cause of refused plain batches is this
/// check's own; else skipped, naming the check that reports the cause. `no_entities`: the probe
/// holds no entity, so an accepted batch of entities without the dataset's fields also shows
/// that the probe's own difference is the cause.
std::optional<CheckResult> judge(CheckContext& ctx,
                                 const CheckInfo& info,
                                 const ServiceResponse& r,
                                 const std::string& what,
                                 std::string id = "",
                                 std::string field = "",
                                 bool no_entities = false)
{
    if (accepted(r))
        return std::nullopt;
    if (rejects_content_type(r))
        return skipped(info, what + " answered 415" + kSeeContentType);
    const auto root = incremental_root(ctx);
    const ServiceResponse* control = nullptr;
    if (!root)
        control = &plain_control(ctx);
    else if (no_entities && *root == kReservedFields)
        control = &bare_control(ctx);
    if (control) {
        const auto plain = control == &plain_control(ctx);
        return failed(info,
                      what + " " + answered(r) + ", while a batch of " +
                          (plain ? "plain entities" : "entities without the dataset's fields") +
                          " in a new incremental sequence is accepted",
                      {evidence(r, "a 2xx status", std::move(id), std::move(field)),
                       comparison(*control,
                                  plain ? "a batch of plain entities"
                                        : "a batch of entities without the dataset's fields")});
    }
    if (*root == info.id)
        return failed(
            info,
            what + " " + answered(r) +
                ", and so does a batch of plain entities in a new incremental sequence, although "
                "the full sync before them was accepted",
            {evidence(r, "a 2xx status", std::move(id), std::move(field))});
    return skipped(info, what + " " + answered(r) + not_judged(*root));
}

// ---- the checks ----------------------------------------------------------------------------

CheckResult incremental_first(CheckContext& ctx, const CheckInfo& info)
{
    if (session(ctx).full_sync_sent)
        return skipped(info, "a full sync was already sent to the receiver in this run");
    // docs/protocol.md#push-full-sync, #push-receiver-rules: a pipe that has an offset sends
    // incremental batches to a receiver that was reset or redeployed; receivers should accept
    // incremental requests as they come.
    const auto& r = alone(ctx, versions(ctx, "first", 1, 2));
    if (accepted(r))
        return passed(info);
    const auto what = std::string("an incremental batch before any full sync");
    if (rejects_content_type(r))
        return skipped(info, what + " answered 415" + kSeeContentType);
    const auto root = incremental_root(ctx);
    if (root)
        return skipped(info, what + " " + answered(r) + not_judged(*root));
    return failed(info,
                  what + " " + answered(r) +
                      ", while the same kind of batch after a full sync is accepted: a receiver "
                      "that was reset or redeployed gets incremental batches from pipes that "
                      "already have an offset",
                  {evidence(r, "a 2xx status"),
                   comparison(plain_control(ctx), "an incremental batch after a full sync")});
}

CheckResult full_sync_sequence(CheckContext& ctx, const CheckInfo& info)
{
    // docs/protocol.md#push-example: is_first on request 1, each request chained to the one before,
    // is_last on the closing empty batch.
    const auto& run = first_full_sync(ctx);
    if (!run.refused)
        return passed(info);
    const auto& r = *run.refused;
    if (rejects_content_type(r))
        return skipped(info, run.what + " answered 415" + kSeeContentType);
    if (run.closing) {
        // A receiver that fails every empty batch is sink.batch.empty's finding: an empty batch of
        // an incremental sync tells that apart from one that fails the end of a full sync.
        const auto& empty = empty_control(ctx);
        if (closing_root(ctx) != info.id)
            return skipped(info,
                           run.what + " " + answered(r) +
                               ", as does an empty batch [] alone in an incremental sequence, "
                               "while incremental batches of entities are accepted (see "
                               "sink.batch.empty)");
        if (accepted(empty))
            return failed(info,
                          run.what + " " + answered(r) +
                              ", while an empty batch [] of an incremental sync is accepted",
                          {evidence(r, "a 2xx status"),
                           comparison(empty, "an empty batch [] of an incremental sync")});
        return failed(info,
                      run.what + " " + answered(r) +
                          ", while the data batches before it in the same sequence were accepted",
                      {evidence(r, "a 2xx status")});
    }
    if (auto root = full_sync_root(ctx); root && *root != info.id) {
        const auto reason = *root == kReservedFields
                                ? "the same full sync without _updated, _previous, _ts and "
                                  "_hash is accepted"
                                : root_reason(*root);
        return skipped(info,
                       run.what + " " + answered(r) + "; " + reason + " (see " +
                           std::string(*root) + "), so this cannot be judged");
    }
    return failed(info, run.what + " " + answered(r), {evidence(r, "a 2xx status")});
}

CheckResult batch_accepted(CheckContext& ctx, const CheckInfo& info)
{
    first_full_sync(ctx);
    // docs/protocol.md#transit: the plain JSON types, nested objects and lists included.
    auto batch = Json::array();
    for (std::size_t n = 1; n <= at_most_batch(ctx, 3); ++n) {
        Json e = Json::object();
        e["_id"] = check_id("batch", n);
        e["name"] = "Kari Nordmann " + std::to_string(n);
        e["city"] = "Tromsø";
        e["age"] = 40 + n;
        e["score"] = 0.75;
        e["active"] = n % 2 == 1;
        e["note"] = nullptr;
        e["tags"] = {"a", "b"};
        e["address"] = {{"street", "Storgata " + std::to_string(n)}, {"zip", 9008}};
        batch.push_back(session(ctx).dataset.version(e));
    }
    const auto& r = alone(ctx, batch);
    if (auto bad = judge(ctx,
                         info,
                         r,
                         "an incremental batch of " + std::to_string(batch.size()) +
                             " entities with numbers, booleans, null, lists and nested objects"))
        return *bad;
    // Sesam sends a new version of an entity whenever it changes: new versions of entities the
    // receiver holds, `_previous` set.
    const auto& update = update_control(ctx);
    if (accepted(update))
        return passed(info);
    const auto what = "new versions of " + std::to_string(session(ctx).update_batch.size()) +
                      " entities the receiver holds (_previous set)";
    if (rejects_content_type(update))
        return skipped(info, what + " answered 415" + kSeeContentType);
    if (accepted(bare_update_control(ctx)))
        return skipped(info,
                       what + " " + answered(update) +
                           "; without _updated, _previous, _ts and _hash they are accepted (see "
                           "sink.entity.reserved-fields), so this cannot be judged");
    if (auto root = incremental_root(ctx); root && *root != info.id)
        return skipped(info, what + " " + answered(update) + not_judged(*root));
    return failed(info,
                  what + " " + answered(update) +
                      ", while new entities in the same kind of batch are accepted: Sesam sends "
                      "a new version of an entity whenever it changes",
                  {evidence(update,
                            "a 2xx status",
                            session(ctx).update_batch[0]["_id"].get<std::string>(),
                            "_previous"),
                   comparison(plain_control(ctx), "a batch of new entities")});
}

CheckResult batch_empty(CheckContext& ctx, const CheckInfo& info)
{
    first_full_sync(ctx);
    // docs/protocol.md#push-empty-batch: the sink ends a sync with a POST of an empty array, a
    // no-op for the receiver.
    em::PushSequence sequence(em::new_sequence_id(), false);
    const auto& data = push(ctx, sequence, versions(ctx, "empty", 1, 2));
    if (accepted(data)) {
        const auto& r = push(ctx, sequence, Json::array(), true);
        if (accepted(r))
            return passed(info);
        if (rejects_content_type(r))
            return skipped(
                info, "the trailing empty batch [] answered 415" + std::string(kSeeContentType));
        return failed(info,
                      "the trailing empty batch [] of an incremental sync " + answered(r) +
                          ", while the data batch before it in the same sequence was accepted",
                      {evidence(r, "a 2xx status"),
                       comparison(data, "the data batch before it in the same sequence")});
    }
    // The data batch was refused: a lone [] is what the sink sends on an incremental run with no
    // changes (docs/protocol.md#push-empty-batch: "always" a trailing empty POST, unconfirmed for
    // incremental runs, the emulator's default, docs/protocol.md#defaults), so it is judged on its
    // own, in a sequence of its own.
    const auto& r = alone(ctx, Json::array());
    if (auto bad = judge(ctx,
                         info,
                         r,
                         "an empty batch [] alone in an incremental sequence (a run with no "
                         "changes)",
                         "",
                         "",
                         true))
        return *bad;
    return passed(info);
}

CheckResult entity_deleted(CheckContext& ctx, const CheckInfo& info)
{
    first_full_sync(ctx);
    // docs/protocol.md#push-full-sync: deletions are entities with `_deleted: true`, each in a
    // request of its own so that each is compared with its like: (a) one the receiver holds from
    // the full sync, as a new version (`_previous` set); (b) one it never saw (`_previous` null).
    // As many entities as the controls carry: the two differ in `_deleted` alone.
    auto deletion = [&](std::string_view tag, std::size_t first, std::size_t second) {
        auto batch = Json::array();
        for (const auto n : {first, second}) {
            if (batch.size() == at_most_batch(ctx, 2))
                break;
            auto content = plain_content(tag, n);
            content["_deleted"] = true;
            batch.push_back(session(ctx).dataset.version(content));
        }
        return batch;
    };
    const auto held = deletion("full", 1, 4); // update_control changes full-2 and full-3
    const auto unknown = deletion("deleted", 1, 2);
    const auto& a = alone(ctx, held);
    const auto& b = alone(ctx, unknown);

    std::vector<std::string> failures;
    std::vector<std::string> unjudged;
    std::vector<Evidence> found;
    if (!accepted(a)) {
        const auto what = "(a) deleting entities the receiver holds (" +
                          held[0]["_id"].get<std::string>() + ", …)";
        if (rejects_content_type(a)) {
            unjudged.push_back(what + " answered 415 (see sink.content-type)");
        } else if (accepted(update_control(ctx))) {
            failures.push_back(what + " " + answered(a) +
                               ", while new versions of entities it holds are accepted");
            found.push_back(
                evidence(a, "a 2xx status", held[0]["_id"].get<std::string>(), "_deleted"));
            found.push_back(comparison(update_control(ctx), "a new version of a held entity"));
        } else {
            const auto root = accepted(bare_update_control(ctx)) ? kReservedFields
                              : accepted(plain_control(ctx))     ? kBatchAccepted
                                                                 : *incremental_root(ctx);
            unjudged.push_back(what + " " + answered(a) +
                               "; new versions of held entities are refused as well (see " +
                               std::string(root) + ")");
        }
    }
    if (auto bad = judge(ctx,
                         info,
                         b,
                         "(b) deleting entities the receiver never saw (" +
                             unknown[0]["_id"].get<std::string>() + ", …)",
                         unknown[0]["_id"].get<std::string>(),
                         "_deleted")) {
        if (bad->verdict == Verdict::failed) {
            failures.push_back(bad->message);
            for (auto& e : bad->evidence)
                found.push_back(std::move(e));
        } else {
            unjudged.push_back(bad->message);
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
                      join(failures) + (unjudged.empty() ? "" : "; " + join(unjudged)),
                      std::move(found));
    if (!unjudged.empty())
        return skipped(info,
                       join(unjudged) + (unjudged.size() == 1 ? "; the other part passed" : ""));
    return passed(info);
}

CheckResult entity_reserved_fields(CheckContext& ctx, const CheckInfo& info)
{
    first_full_sync(ctx);
    // docs/protocol.md#reserved-fields: a dataset sends its own _updated (integer offset),
    // _previous (the version before), _ts (microseconds) and _hash (32 hex digits) with every
    // entity: here new versions of entities of the full sync, so _previous is set.
    const auto batch = held_versions(ctx);
    const auto& r = alone(ctx, batch);
    if (accepted(r))
        return passed(info);
    const auto what = "new versions of " + std::to_string(batch.size()) +
                      " entities with _updated, _previous, _ts and _hash, as a dataset sends "
                      "them,";
    if (rejects_content_type(r))
        return skipped(info, what + " answered 415" + kSeeContentType);
    const auto& bare = alone(ctx, without_dataset_fields_each(batch));
    if (accepted(bare))
        return failed(info,
                      what + " " + answered(r) +
                          ", while the same entities without those four fields are accepted",
                      {evidence(r, "a 2xx status", batch[0]["_id"].get<std::string>()),
                       comparison(bare, "the same entities without the dataset's fields")});
    const auto root = incremental_root(ctx);
    if (root && *root != info.id)
        return skipped(info, what + " " + answered(r) + not_judged(*root));
    return skipped(info,
                   what + " " + answered(r) +
                       ", and so do the same entities without those four fields: new versions "
                       "of entities the receiver holds are refused (see sink.batch.accepted), so "
                       "this cannot be judged");
}

CheckResult entity_transit(CheckContext& ctx, const CheckInfo& info)
{
    first_full_sync(ctx);
    // docs/protocol.md#transit encoding rules: the forms Sesam writes for each transit type.
    Json first = plain_content("transit", 1);
    first["born"] = "~t1980-02-01T00:00:00Z";
    first["seen"] = "~t2015-07-28T09:46:00.12345Z";
    first["salary"] = "~f612345.50";
    first["photo"] = "~bAAECAwQF";
    first["ext_id"] = "~u531a379e-31bb-4ce1-8690-158dceb64be6";
    first["homepage"] = "~rhttps://example.org/kari";
    first["employer"] = "~:hr-org:42";
    Json second = plain_content("transit", 2);
    second["amount"] = "~f12345678901234567890.1234567890";
    second["global"] = "~:bar";
    second["refs"] = {"~:crm:1", "~:crm:2"};
    auto batch = Json::array();
    batch.push_back(session(ctx).dataset.version(first));
    if (at_most_batch(ctx, 2) == 2)
        batch.push_back(session(ctx).dataset.version(second));
    const auto& r = alone(ctx, batch);
    if (auto bad =
            judge(ctx, info, r, "an incremental batch with every transit type (~t ~f ~b ~u ~r ~:)"))
        return *bad;
    return passed(info);
}

CheckResult full_sync_rejects_broken_chain(CheckContext& ctx, const CheckInfo& info)
{
    em::PushSequence sequence(em::new_sequence_id(), true);
    session(ctx).full_sync_sent = true;
    const auto& first = push(ctx, sequence, versions(ctx, "chain", 1, 2));
    if (!accepted(first)) {
        const auto what = "the first request of a full sync (is_first=true) " + answered(first);
        if (auto root = full_sync_root(ctx))
            return skipped(info, what + not_judged(*root));
        return skipped(info, what + ", so there is no chain to break");
    }
    // docs/protocol.md#push-receiver-rules: request 2 is lost on the way; request 3 names it as
    // previous_request_id.
    const std::string lost = sequence.begin_request(false).request_id;
    auto broken = sequence.begin_request(false);
    broken.previous_request_id = lost;
    const auto& r = send(ctx, broken, versions(ctx, "chain", 3, 2));
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
    first_full_sync(ctx);
    std::vector<std::string> failures;
    std::vector<std::string> unjudged;
    std::vector<Evidence> found;
    auto cannot_judge = [&](std::string_view part,
                            const std::string& what,
                            const ServiceResponse& refused,
                            std::optional<std::string_view> root) {
        std::string text =
            "part " + std::string(part) + " cannot be judged: " + what + " " + answered(refused);
        if (rejects_content_type(refused))
            text += " (see sink.content-type)";
        else if (root)
            text += " (see " + std::string(*root) + ")";
        unjudged.push_back(std::move(text));
    };

    // (a) docs/protocol.md#push-receiver-rules: an incremental batch re-sent after a failure, same
    // sequence and request_id.
    em::PushSequence incremental(em::new_sequence_id(), false);
    const auto batch = versions(ctx, "redelivery", 1, 2);
    const auto& first = push(ctx, incremental, batch);
    if (!accepted(first)) {
        auto root = rejects_content_type(first) ? std::nullopt : incremental_root(ctx);
        cannot_judge("(a)", "the first delivery of an incremental batch", first, root);
    } else {
        const auto& again = send(ctx, incremental.current(), batch);
        if (!accepted(again)) {
            failures.push_back("(a) an incremental batch delivered a second time, same "
                               "sequence_id and request_id, " +
                               answered(again) + ", while the first delivery was accepted");
            found.push_back(evidence(again, "a 2xx status, as for the first delivery"));
            found.push_back(comparison(first, "the first delivery"));
        }
    }

    // (b) docs/protocol.md#push-receiver-rules: the last request of a full sync re-sent with the
    // same request_id.
    em::PushSequence full(em::new_sequence_id(), true);
    const auto& data = push(ctx, full, versions(ctx, "redelivery", 3, 2));
    const ServiceResponse* end = accepted(data) ? &push(ctx, full, Json::array(), true) : nullptr;
    if (!accepted(data)) {
        auto root = rejects_content_type(data) ? std::nullopt : full_sync_root(ctx);
        cannot_judge("(b)",
                     "the data batch of the full sync whose is_last was to be re-sent",
                     data,
                     root ? root : std::optional<std::string_view>(kFullSync));
    } else if (!accepted(*end)) {
        cannot_judge("(b)",
                     "the closing empty batch (is_last=true) to be re-sent",
                     *end,
                     rejects_content_type(*end)
                         ? std::nullopt
                         : std::optional<std::string_view>(closing_root(ctx)));
    } else {
        const auto& again = send(ctx, full.current(), Json::array());
        if (!accepted(again)) {
            failures.push_back(
                "(b) the closing empty batch (is_last=true) of a full sync re-sent, same "
                "sequence_id and request_id, " +
                answered(again) + ", while the first delivery was accepted");
            found.push_back(evidence(again, "a 2xx status, as for the first delivery"));
            found.push_back(comparison(*end, "the first delivery"));
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
                      join(failures) + (unjudged.empty() ? "" : "; " + join(unjudged)),
                      std::move(found));
    if (!unjudged.empty())
        return skipped(info,
                       join(unjudged) + (unjudged.size() == 1 ? "; the other part passed" : ""));
    return passed(info);
}

CheckResult request_id_per_sequence(CheckContext& ctx, const CheckInfo& info)
{
    first_full_sync(ctx);
    // docs/protocol.md#push-request, #defaults: the request_id format is not documented; the
    // emulator's default (and what Sesam staff's own receivers suggest,
    // docs/protocol.md#push-request) is a counter that restarts in each sequence, so two sequences
    // carry the same request_id values and a receiver keyed on request_id alone refuses one.
    const ServiceResponse* refused = nullptr;
    Json refused_batch;
    for (int s = 0; s < 2 && !refused; ++s) {
        // New entities in each sequence: the two differ in nothing but sequence_id.
        const std::string tag = s == 0 ? "request-id-a" : "request-id-b";
        em::PushSequence sequence(em::new_sequence_id(), false);
        for (std::size_t n = 0; n < 2 && !refused; ++n) {
            auto batch = versions(ctx, tag, 2 * n + 1, 2);
            const auto& r = push(ctx, sequence, batch);
            if (!accepted(r)) {
                refused = &r;
                refused_batch = std::move(batch);
            }
        }
    }
    if (!refused)
        return passed(info);
    const auto what = "a request of a new incremental sequence, whose request_id values (1, 2) "
                      "other sequences use too, " +
                      answered(*refused);
    if (rejects_content_type(*refused))
        return skipped(info, what + kSeeContentType);
    UniqueIdSequence unique(false);
    const auto& control = unique.push(ctx, refused_batch);
    if (accepted(control))
        return failed(info,
                      what + ", while the same batch with a request_id no sequence used before is "
                             "accepted: request_id restarts in each sequence, so it identifies a "
                             "request only together with sequence_id",
                      {evidence(*refused, "a 2xx status", "", "request_id"),
                       comparison(control, "the same batch with a request_id never used before")});
    const auto root = incremental_root(ctx);
    return skipped(info,
                   what + ", and so does the same batch with a request_id never used before" +
                       (root && *root != info.id ? not_judged(*root)
                                                 : std::string(", so this cannot be judged")));
}

CheckResult single_entity(CheckContext& ctx, const CheckInfo& info)
{
    first_full_sync(ctx);
    // docs/protocol.md#push-receiver-rules: after a failed batch,
    // fallback_to_single_entities_on_batch_fail re-sends the entities one per request.
    em::PushSequence sequence(em::new_sequence_id(), false);
    for (std::size_t n = 1; n <= 2; ++n) {
        const auto batch = versions(ctx, "single", n, 1);
        const auto& r = push(ctx, sequence, batch);
        if (auto bad = judge(ctx,
                             info,
                             r,
                             "a one-element batch (request " + std::to_string(n) + ")",
                             batch[0]["_id"].get<std::string>()))
            return *bad;
    }
    return passed(info);
}

CheckResult content_type(CheckContext& ctx, const CheckInfo& info)
{
    if (em::find_header(ctx.service().headers, "Content-Type"))
        return skipped(info, "a Content-Type header is configured, and Sesam would send that one");
    first_full_sync(ctx);
    em::PushSequence sequence(em::new_sequence_id(), false);
    const auto batch = versions(ctx, "content-type", 1, 2);
    const auto& r = push(ctx, sequence, batch, false, kSesamContentType);
    if (accepted(r))
        return passed(info);
    const auto what = std::string("a batch with Content-Type: ") + kSesamContentType +
                      ", exactly as Sesam sends it,";
    if (rejects_content_type(r))
        return failed(info, what + " " + answered(r), {evidence(r, "a 2xx status")});
    // docs/protocol.md#real-services: frameworks reject a content type with 400 as well; the same
    // request again (a retry: same request_id) with a charset parameter tells a content-type
    // rejection from a batch refused for another reason.
    const auto& probe = send(ctx, sequence.current(), batch, kWithCharset);
    if (!accepted(probe)) {
        const auto root = incremental_root(ctx);
        return skipped(info,
                       "the batch " + answered(r) +
                           " with and without a charset parameter: not a content-type problem" +
                           (root && *root != info.id ? not_judged(*root)
                                                     : std::string(", so this cannot be judged")));
    }
    return failed(info,
                  what + " " + answered(r) +
                      ", but the same request with Content-Type: " + kWithCharset + " is accepted",
                  {evidence(r, "a 2xx status"),
                   evidence(probe,
                            std::string("for comparison: the same batch with Content-Type: ") +
                                kWithCharset)});
}

// ---- fault injection (check --faults) --------------------------------------------------------
//
// Each fault check runs a full sync of its own, shaped like the one every probe comes after, and
// breaks it in one way. A receiver that refuses the full sync without any fault is judged by the
// checks above; the fault checks then say which one and are skipped.

/// nullopt when the full sync without faults was accepted from is_first to is_last; else why a
/// fault check cannot be judged, naming the check that reports the cause.
std::optional<std::string> unfaulted_full_sync_refused(CheckContext& ctx)
{
    const auto& run = first_full_sync(ctx);
    if (!run.refused)
        return std::nullopt;
    const auto& r = *run.refused;
    const auto what = "without faults, " + run.what + " " + answered(r);
    if (rejects_content_type(r))
        return what + kSeeContentType;
    const auto root = run.closing ? closing_root(ctx) : full_sync_root(ctx).value_or(kFullSync);
    return what + " (see " + std::string(root) + "), so this cannot be judged";
}

/// A full sync with a fault in it: data batches of full_sync_batch() entities tagged `tag`.
class FaultedFullSync {
public:
    FaultedFullSync(CheckContext& ctx, std::string tag)
        : ctx_(ctx), tag_(std::move(tag)), sequence_(em::new_sequence_id(), true)
    {
    }

    /// Data batch `n` (from 1): the same entities for the same `n`, made once.
    const Json& batch(std::size_t n)
    {
        while (batches_.size() < n) {
            const auto per_batch = full_sync_batch(ctx_);
            batches_.push_back(versions(ctx_, tag_, batches_.size() * per_batch + 1, per_batch));
        }
        return batches_[n - 1];
    }

    /// Sends `body` as the next request (the closing one with `last`).
    const ServiceResponse& next(const Json& body, bool last = false)
    {
        return push(ctx_, sequence_, body, last);
    }

    /// The request in flight again, unchanged: same sequence_id, request_id and
    /// previous_request_id (docs/protocol.md#push-receiver-rules: batch_retries), acknowledged when
    /// accepted.
    const ServiceResponse& again(const Json& body)
    {
        const auto& r = send(ctx_, sequence_.current(), body);
        if (accepted(r))
            sequence_.acknowledge();
        return r;
    }

    /// The request in flight, begun, with its body cut after half its bytes (at least one) and
    /// the connection closed; no answer is read.
    const ServiceResponse& cut(const Json& body)
    {
        const auto text = body.dump();
        return ctx_.post(
            sequence_.begin_request(false).query(),
            text,
            kSesamContentType,
            Fault{Fault::Kind::cut_request, std::max<std::size_t>(text.size() / 2, 1)});
    }

    /// `request N of a full sync`.
    std::string request_name() const
    {
        return "request " + sequence_.current().request_id + " of a full sync";
    }

private:
    CheckContext& ctx_;
    std::string tag_;
    em::PushSequence sequence_;
    std::vector<Json> batches_;
};

/// The verdict on a request of a faulted full sync that was refused: skipped for a 415 (see
/// sink.content-type), else failed with `message` and as evidence the fault (`fault`, when there
/// is one) and the refused request.
CheckResult faulted_refusal(const CheckInfo& info,
                            const std::string& message,
                            const ServiceResponse& refused,
                            const ServiceResponse* fault)
{
    if (rejects_content_type(refused))
        return skipped(info, message + kSeeContentType);
    std::vector<Evidence> found;
    if (fault)
        found.push_back({fault->request,
                         "",
                         "",
                         "(the fault) the connection closed halfway through the body",
                         fault->fault,
                         fault->curl});
    found.push_back(evidence(refused, "a 2xx status"));
    return failed(info,
                  message + ", while a full sync without faults was accepted from is_first to "
                            "is_last",
                  std::move(found));
}

/// The requests of a faulted full sync after the fault: `batches` data batches from `from`, then
/// the closing empty batch; nullopt when every one is accepted.
std::optional<CheckResult> goes_on(const CheckInfo& info,
                                   FaultedFullSync& sync,
                                   std::size_t from,
                                   std::size_t batches,
                                   const std::string& after,
                                   const ServiceResponse* fault)
{
    for (std::size_t n = from; n < from + batches; ++n) {
        const auto& r = sync.next(sync.batch(n));
        if (!accepted(r))
            return faulted_refusal(info,
                                   "the next data batch, " + sync.request_name() + " " + after +
                                       ", " + answered(r),
                                   r,
                                   fault);
    }
    const auto& last = sync.next(Json::array(), true);
    if (!accepted(last))
        return faulted_refusal(info,
                               "the closing empty batch (is_last=true), " + sync.request_name() +
                                   " " + after + ", " + answered(last),
                               last,
                               fault);
    return std::nullopt;
}

CheckResult fault_cut_batch(CheckContext& ctx, const CheckInfo& info)
{
    if (auto why = unfaulted_full_sync_refused(ctx))
        return skipped(info, *why);
    FaultedFullSync sync(ctx, "fault-cut");
    const auto& first = sync.next(sync.batch(1));
    if (!accepted(first))
        return skipped(info,
                       "the first request (is_first=true) of a second full sync " +
                           answered(first) + ", so there is no full sync to cut a request of");
    // docs/protocol.md#push-receiver-rules: the connection breaks while request 2 is sent (a write
    // error); the sink retries the same request (batch_retries), which the receiver never got
    // whole.
    const auto& cut = sync.cut(sync.batch(2));
    const auto& again = sync.again(sync.batch(2));
    if (!accepted(again))
        return faulted_refusal(info,
                               sync.request_name() +
                                   " sent again whole (same sequence_id, request_id and "
                                   "previous_request_id) after its connection was cut halfway "
                                   "through the body " +
                                   answered(again),
                               again,
                               &cut);
    if (auto bad = goes_on(info, sync, 3, 1, "after the cut and re-sent request", &cut))
        return *bad;
    return passed(info);
}

CheckResult fault_duplicate_batch(CheckContext& ctx, const CheckInfo& info)
{
    if (auto why = unfaulted_full_sync_refused(ctx))
        return skipped(info, *why);
    FaultedFullSync sync(ctx, "fault-duplicate");
    for (std::size_t n = 1; n <= 2; ++n) {
        const auto& r = sync.next(sync.batch(n));
        if (!accepted(r))
            return skipped(info,
                           sync.request_name() + " (a data batch) of a second full sync " +
                               answered(r) + ", so there is no batch to deliver twice");
    }
    // docs/protocol.md#push-receiver-rules: an answer lost on the way makes the sink send an
    // applied batch again, so the receiver gets it twice in a row.
    const auto& twice = sync.again(sync.batch(2));
    if (!accepted(twice))
        return faulted_refusal(info,
                               sync.request_name() +
                                   " delivered a second time in a row (same sequence_id, "
                                   "request_id and previous_request_id) " +
                                   answered(twice),
                               twice,
                               nullptr);
    if (auto bad = goes_on(info, sync, 3, 1, "after the batch delivered twice", nullptr))
        return *bad;
    return passed(info);
}

CheckResult fault_abandoned_full_sync(CheckContext& ctx, const CheckInfo& info)
{
    if (auto why = unfaulted_full_sync_refused(ctx))
        return skipped(info, *why);
    // docs/protocol.md#push-receiver-rules: a sync that stops (a 409, a crash, a timeout) is never
    // ended; the next run starts a new full sync with a new sequence_id, from the beginning, with
    // the same entities.
    FaultedFullSync abandoned(ctx, "fault-abandoned");
    for (std::size_t n = 1; n <= 2; ++n) {
        const auto& r = abandoned.next(abandoned.batch(n));
        if (!accepted(r))
            return skipped(info,
                           abandoned.request_name() + " (a data batch) of a second full sync " +
                               answered(r) + ", so there is no full sync to abandon");
    }
    FaultedFullSync restarted(ctx, "fault-abandoned");
    const auto& first = restarted.next(abandoned.batch(1));
    if (!accepted(first))
        return faulted_refusal(info,
                               "the first request (is_first=true) of a new full sync, after a "
                               "full sync that stopped without is_last, " +
                                   answered(first),
                               first,
                               nullptr);
    const auto& second = restarted.next(abandoned.batch(2));
    if (!accepted(second))
        return faulted_refusal(info,
                               restarted.request_name() +
                                   " of the new full sync, after one that "
                                   "stopped without is_last, " +
                                   answered(second),
                               second,
                               nullptr);
    const auto& last = restarted.next(Json::array(), true);
    if (!accepted(last))
        return faulted_refusal(info,
                               "the closing empty batch (is_last=true) of the new full sync, after "
                               "one that stopped without is_last, " +
                                   answered(last),
                               last,
                               nullptr);
    return passed(info);
}

// ---- memory --------------------------------------------------------------------------------

/// sink.memory.bounded sends a full sync of this much entity JSON in the sink's batches: a
/// quarter of the 128 MiB a node gives a container (docs/protocol.md#microservice-system). A
/// service that keeps what it receives grows by at least this (the text alone), twice the least
/// growth the check warns of, while one that passes each batch on stays within a few batches'
/// worth.
constexpr std::uint64_t kBoundedSyncBytes = std::uint64_t{32} << 20;
/// Growth below this is never blamed: allocator arenas, caches and an interpreter's own heap.
constexpr std::uint64_t kBoundedFloor = std::uint64_t{16} << 20;
/// A batch parsed into objects takes a few times its text (Python's dicts up to ten times);
/// growth past this many times the largest batch is far beyond the batch itself.
constexpr std::uint64_t kBatchFactor = 16;
/// The second full sync sends half as much in batches this many times the sink's batch_size,
/// to see whether memory grows with the batch size.
constexpr std::size_t kLargeBatchFactor = 10;
constexpr std::size_t kMemoryTextBytes = 900;

/// Entity `n` of the memory full syncs: about 1 KiB of JSON, most of it a text of letters that
/// differs from entity to entity.
Json memory_content(std::size_t n)
{
    Json e = plain_content("memory", n);
    std::string text(kMemoryTextBytes, 'a');
    std::uint64_t x = n * 0x9E3779B97F4A7C15ULL + 1;
    for (auto& c : text) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        c = static_cast<char>('a' + x % 26);
    }
    e["text"] = std::move(text);
    return e;
}

/// One full sync of the memory check, with the service's memory measured through it.
struct MemorySync {
    std::size_t per_batch = 0;
    std::size_t entities = 0;
    std::uint64_t sent = 0;    ///< bytes of entity JSON
    std::uint64_t largest = 0; ///< the largest batch's body
    std::optional<ServiceMemory::Window> window;
    const ServiceResponse* first = nullptr; ///< its first request, for evidence
    const ServiceResponse* refused = nullptr;
    std::string what; ///< the refused request, for messages

    std::uint64_t growth() const
    {
        return window ? window->peak_bytes - std::min(window->peak_bytes, window->start_bytes) : 0;
    }
    std::uint64_t allowed() const { return std::max(kBoundedFloor, kBatchFactor * largest); }
};

MemorySync
memory_sync(CheckContext& ctx, ServiceMemory& memory, std::size_t per_batch, std::uint64_t bytes)
{
    MemorySync run;
    run.per_batch = per_batch;
    em::PushSequence sequence(em::new_sequence_id(), true);
    memory.open_window();
    while (run.sent < bytes) {
        auto batch = Json::array();
        std::uint64_t batch_bytes = 1; // `[`, then each entity and its `,` or `]`
        for (std::size_t i = 0; i < per_batch && run.sent < bytes; ++i) {
            batch.push_back(session(ctx).dataset.version(memory_content(++run.entities)));
            const auto size = batch.back().dump().size() + 1;
            batch_bytes += size;
            run.sent += size;
        }
        run.largest = std::max(run.largest, batch_bytes);
        const auto& r = push(ctx, sequence, batch);
        if (!run.first)
            run.first = &r;
        if (!accepted(r)) {
            run.refused = &r;
            run.what = "request " + sequence.current().request_id + " of a full sync of " +
                       std::to_string(per_batch) + "-entity batches";
            return run;
        }
    }
    const auto& last = push(ctx, sequence, Json::array(), true);
    if (!accepted(last)) {
        run.refused = &last;
        run.what = "the closing empty batch (is_last=true) of a full sync";
        return run;
    }
    run.window = memory.window();
    return run;
}

std::string describe(const MemorySync& run)
{
    return mib(run.sent) + " in " + std::to_string(run.entities) + " entities, batches of " +
           std::to_string(run.per_batch) + " (" + mib(run.largest) + " each): memory grew by " +
           mib(run.growth()) + " (from " + mib(run.window->start_bytes) + " to " +
           mib(run.window->peak_bytes) + ")";
}

CheckResult memory_bounded(CheckContext& ctx, const CheckInfo& info)
{
    // docs/protocol.md#microservice-system: the container has docker.memory (128 MB);
    // docs/protocol.md#push-request: batches of batch_size.
    auto* memory = ctx.memory().memory;
    if (!memory)
        return skipped(info, ctx.memory().unseen);
    if (auto why = unfaulted_full_sync_refused(ctx))
        return skipped(info, *why);
    const auto batch = std::max<std::size_t>(ctx.service().batch_size, 1);
    std::vector<MemorySync> runs;
    runs.push_back(memory_sync(ctx, *memory, batch, kBoundedSyncBytes));
    if (!runs.back().refused && runs.back().window)
        runs.push_back(memory_sync(ctx, *memory, batch * kLargeBatchFactor, kBoundedSyncBytes / 2));
    for (const auto& run : runs) {
        if (run.refused)
            return skipped(info,
                           run.what + " " + answered(*run.refused) +
                               " (see sink.full-sync.sequence), so memory cannot be judged");
        if (!run.window)
            return skipped(info, "no memory figure could be read (" + memory->source() + ")");
    }
    const auto expected = [](const MemorySync& run) {
        return "memory growth of at most " + mib(run.allowed()) + " (" +
               std::to_string(kBatchFactor) + " times the largest batch, at least " +
               mib(kBoundedFloor) + ")";
    };
    Findings found;
    std::string message;
    for (const auto& run : runs)
        if (run.growth() > run.allowed()) {
            found.add(harness::evidence(*run.first, "", "", expected(run), describe(run)));
            if (message.empty())
                message = "while a full sync of " + mib(run.sent) + " came in batches of " +
                          std::to_string(run.per_batch) + " entities (" + mib(run.largest) +
                          " each), its memory grew by " + mib(run.growth()) + ", more than " +
                          mib(run.allowed()) + ": it keeps what it receives, or copies each " +
                          "batch many times, instead of passing it on (" + memory->source() + ")";
        }
    if (!found.empty())
        return std::move(found).fail(info, message);
    auto result = passed(info);
    result.message = describe(runs[0]) + "; " + describe(runs[1]) + " (" + memory->source() + ")";
    return result;
}

} // namespace

std::vector<Check> sink_checks()
{
    using F = CheckResult (*)(CheckContext&, const CheckInfo&);
    struct Row {
        CheckInfo info;
        F run;
    };
    // In the order they run: sink.incremental.first before anything else, then the full sync
    // that every incremental probe comes after.
    static const Row rows[] = {
        {{"sink.incremental.first",
          Role::sink,
          Severity::warning,
          "An incremental batch before any full sync (a reset receiver) answers 2xx",
          "docs/protocol.md#push-full-sync, #push-receiver-rules"},
         incremental_first},
        {{"sink.full-sync.sequence",
          Role::sink,
          Severity::error,
          "A whole full sync, is_first to is_last, answers 2xx throughout",
          "docs/protocol.md#push-request, #push-example"},
         full_sync_sequence},
        {{"sink.batch.accepted",
          Role::sink,
          Severity::error,
          "An incremental batch of ordinary entities answers 2xx",
          "docs/protocol.md#push-request, #push-receiver-rules"},
         batch_accepted},
        {{"sink.batch.empty",
          Role::sink,
          Severity::error,
          "The empty batch [] (trailing, or alone) answers 2xx",
          "docs/protocol.md#push-empty-batch, #real-services"},
         batch_empty},
        {{"sink.entity.deleted",
          Role::sink,
          Severity::error,
          "A batch of _deleted: true entities answers 2xx",
          "docs/protocol.md#push-full-sync"},
         entity_deleted},
        {{"sink.entity.reserved-fields",
          Role::sink,
          Severity::error,
          "Entities with _updated, _previous, _ts and _hash answer 2xx",
          "docs/protocol.md#reserved-fields"},
         entity_reserved_fields},
        {{"sink.entity.transit",
          Role::sink,
          Severity::error,
          "A batch with a value of every transit type answers 2xx",
          "docs/protocol.md#transit"},
         entity_transit},
        {{"sink.full-sync.rejects-broken-chain",
          Role::sink,
          Severity::warning,
          "A full-sync request that breaks the request_id chain gets 409",
          "docs/protocol.md#push-receiver-rules"},
         full_sync_rejects_broken_chain},
        {{"sink.redelivery",
          Role::sink,
          Severity::error,
          "A re-sent incremental batch and a re-sent is_last are accepted",
          "docs/protocol.md#push-receiver-rules"},
         redelivery},
        {{"sink.request-id.per-sequence",
          Role::sink,
          Severity::error,
          "Two sequences carrying the same request_id values are both accepted",
          "docs/protocol.md#push-request, #defaults"},
         request_id_per_sequence},
        {{"sink.single-entity",
          Role::sink,
          Severity::error,
          "One-element batches (the fallback after a failed batch) answer 2xx",
          "docs/protocol.md#push-receiver-rules"},
         single_entity},
        {{"sink.content-type",
          Role::sink,
          Severity::error,
          "Content-Type: application/json, exactly as Sesam sends it, is accepted",
          "docs/protocol.md#push-request, #real-services"},
         content_type},
    };
    std::vector<Check> checks;
    for (const auto& row : rows)
        checks.push_back({row.info, [row](CheckContext& ctx) { return row.run(ctx, row.info); }});
    return checks;
}

std::vector<Check> sink_memory_checks()
{
    static const CheckInfo bounded{
        "sink.memory.bounded",
        Role::sink,
        Severity::warning,
        "The service's memory stays bounded while large full syncs come in: it does not grow "
        "with the data, nor far beyond a batch as the batches grow",
        "docs/protocol.md#push-request, #microservice-system"};
    return {{bounded, [](CheckContext& ctx) { return memory_bounded(ctx, bounded); }}};
}

std::vector<Check> sink_fault_checks()
{
    using F = CheckResult (*)(CheckContext&, const CheckInfo&);
    struct Row {
        CheckInfo info;
        F run;
    };
    // sink.fault.abandoned-full-sync last: a receiver it trips may refuse every full sync after.
    static const Row rows[] = {
        {{"sink.fault.cut-batch",
          Role::sink,
          Severity::error,
          "A request whose connection was cut mid-body, sent again whole, and the sync after it "
          "answer 2xx",
          "docs/protocol.md#push-receiver-rules"},
         fault_cut_batch},
        {{"sink.fault.duplicate-batch",
          Role::sink,
          Severity::error,
          "A full-sync batch delivered twice in a row, and the sync after it, answer 2xx",
          "docs/protocol.md#push-receiver-rules"},
         fault_duplicate_batch},
        {{"sink.fault.abandoned-full-sync",
          Role::sink,
          Severity::error,
          "After a full sync that stopped without is_last, a new full sync answers 2xx throughout",
          "docs/protocol.md#push-full-sync, #push-receiver-rules"},
         fault_abandoned_full_sync},
    };
    std::vector<Check> checks;
    for (const auto& row : rows)
        checks.push_back({row.info, [row](CheckContext& ctx) { return row.run(ctx, row.info); }});
    return checks;
}

} // namespace sesam::harness
