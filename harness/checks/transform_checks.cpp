// Conformance checks of the transform role: an http transform Sesam posts batches to
// (docs/protocol.md#http-transform).
#include "emulator/store/dataset_store.hpp"
#include "harness/checks/check.hpp"
#include "harness/checks/probe_entities.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace sesam::harness {

namespace em = sesam::emulator;

namespace {

constexpr std::size_t kSmallBatch = 3;
// docs/protocol.md#http-transform: batch_size defaults to 100
constexpr std::size_t kFullBatch = 100;

bool is_2xx(const ServiceResponse& r)
{
    return r.status >= 200 && r.status <= 299;
}

std::string body_shown(const ServiceResponse& r)
{
    return r.body_start.empty() ? "; empty body" : "; body starts: " + r.body_start;
}

/// When the test entities were written, for `_ts` (a fixed instant, so every batch holds the
/// same versions).
constexpr std::int64_t kWrittenAt = 1716800000000000;

/// Test entity number `n`, shaped as a dataset hands it to a transform
/// (docs/protocol.md#reserved-fields, #transit): the dataset's `_id`, `_deleted`, `_updated`,
/// `_previous`, `_ts` and `_hash`, then plain values, a transit value and a nested object. The same
/// `n` is the same version in every batch.
ProbeJson test_entity(std::size_t n, bool deleted = false)
{
    ProbeJson e = ProbeJson::object();
    e["_id"] = "sesam-emu-check-" + std::to_string(n);
    e["_deleted"] = deleted;
    e["_updated"] = n;
    e["_previous"] = nullptr;
    e["_ts"] = kWrittenAt + static_cast<std::int64_t>(n);
    e["_hash"] = "";
    e["name"] = "Entity " + std::to_string(n);
    e["count"] = n;
    e["born"] = "~t2015-01-02T03:04:05Z";
    e["address"] = {{"street", "Storgata " + std::to_string(n)}, {"city", "Oslo"}};
    e["_hash"] = em::entity_hash(e.dump());
    return e;
}

/// Entities 1..count as a JSON array. Every batch is drawn from the same entities, so a service
/// that fails on their content fails transform.batch.full too, not only the small batch.
std::string batch(std::size_t count)
{
    auto out = ProbeJson::array();
    for (std::size_t n = 1; n <= count; ++n)
        out.push_back(test_entity(n));
    return out.dump();
}

/// Ids of the `_deleted: true` entities of deleted_batch().
const char* const kDeletedIds = "sesam-emu-check-2, sesam-emu-check-3";

/// Up to four entities (never more than `max`, the transform's batch_size), the first two
/// deleted as a dataset hands deletions on (docs/protocol.md#reserved-fields): a tombstone with
/// only the dataset's fields and a deleted version that keeps its content, each a later version
/// (`_updated` 102, 103) of the live one (`_previous` 2, 3); then two live entities.
std::string deleted_batch(std::size_t max)
{
    auto out = ProbeJson::array();
    ProbeJson tombstone = ProbeJson::object();
    tombstone["_id"] = "sesam-emu-check-2";
    tombstone["_deleted"] = true;
    tombstone["_updated"] = 102;
    tombstone["_previous"] = 2;
    tombstone["_ts"] = kWrittenAt + 102;
    tombstone["_hash"] = em::entity_hash(tombstone.dump());
    out.push_back(std::move(tombstone));
    auto deleted = test_entity(3, true);
    deleted["_updated"] = 103;
    deleted["_previous"] = 3;
    deleted["_ts"] = kWrittenAt + 103;
    out.push_back(std::move(deleted));
    out.push_back(test_entity(1));
    out.push_back(test_entity(4));
    while (out.size() > max)
        out.erase(out.size() - 1);
    return out.dump();
}

/// A small batch: 3 entities, or fewer when the transform's batch_size is smaller (Sesam never
/// posts more than batch_size, docs/protocol.md#http-transform).
std::size_t small_batch(const ServiceDescription& s)
{
    return std::clamp<std::size_t>(s.batch_size, 1, kSmallBatch);
}

std::size_t full_batch_size(const ServiceDescription& s)
{
    return s.batch_size > 0 ? s.batch_size : kFullBatch;
}

/// The verdict of a batch check: 2xx with one complete JSON array
/// (docs/protocol.md#http-transform).
CheckResult answered_with_array(const CheckInfo& info,
                                const ServiceResponse& r,
                                const std::string& what,
                                const std::string& id = "",
                                const std::string& field = "")
{
    if (r.transport_error)
        return failed(info,
                      what + " got no response: " + *r.transport_error,
                      {evidence(r, id, field, "a 2xx response", *r.transport_error)});
    if (!is_2xx(r))
        // docs/protocol.md#http-transform: any other status raises an exception and the pipe run
        // fails
        return failed(info,
                      what + " answered " + std::to_string(r.status),
                      {evidence(r,
                                id,
                                field,
                                "a 2xx status",
                                "status " + std::to_string(r.status) + body_shown(r))});
    if (r.body_error)
        return failed(info,
                      "the answer to " + what + " is not one complete JSON array: " + *r.body_error,
                      {evidence(r,
                                id,
                                field,
                                "one complete JSON array of entities",
                                *r.body_error + body_shown(r))});
    return passed(info);
}

// ---- the checks ----------------------------------------------------------------------------

CheckResult body_json_array(CheckContext& ctx, const CheckInfo& info)
{
    const auto n = small_batch(ctx.service());
    const auto what = "a batch of " + std::to_string(n) + " entities";
    const auto& r = ctx.post({}, batch(n));
    if (r.transport_error)
        return failed(info,
                      what + " got no response: " + *r.transport_error,
                      {evidence(r, "", "", "a 2xx JSON array", *r.transport_error)});
    // A failing status is the business of the batch checks, which post the same entities: this
    // check is about the body of an answer that claims success (docs/protocol.md#real-services: 200
    // and then garbage).
    if (!is_2xx(r))
        return skipped(info,
                       what + " answered " + std::to_string(r.status) +
                           "; statuses are judged by transform.batch.full, .empty and .deleted");
    if (r.body_error)
        // docs/protocol.md#conventions, #real-services: Sesam would take a bare object as one
        // entity, but the protocol demands an array, and a batch answered by one object has lost
        // data
        return failed(
            info,
            "the answer to " + what + " is not one complete JSON array: " + *r.body_error,
            {evidence(
                r, "", "", "one complete JSON array of entities", *r.body_error + body_shown(r))});
    return passed(info);
}

CheckResult batch_empty(CheckContext& ctx, const CheckInfo& info)
{
    return answered_with_array(info, ctx.post({}, "[]"), "an empty batch []");
}

CheckResult batch_full(CheckContext& ctx, const CheckInfo& info)
{
    const auto n = full_batch_size(ctx.service());
    return answered_with_array(
        info, ctx.post({}, batch(n)), "a full batch of " + std::to_string(n) + " entities");
}

CheckResult entity_deleted(CheckContext& ctx, const CheckInfo& info)
{
    // docs/protocol.md#http-transform: `_deleted: true` entities pass through transforms like any
    // other
    return answered_with_array(info,
                               ctx.post({}, deleted_batch(ctx.service().batch_size)),
                               "a batch with _deleted: true entities",
                               kDeletedIds,
                               "_deleted");
}

CheckResult entity_id(CheckContext& ctx, const CheckInfo& info)
{
    const auto n = small_batch(ctx.service());
    const auto& r = ctx.post({}, batch(n));
    if (!r.ok())
        return skipped(info,
                       "a batch of " + std::to_string(n) +
                           " entities did not get a 2xx JSON array (see "
                           "transform.body.json-array and transform.batch.full)");
    Findings found;
    for (const auto& e : r.entities) {
        // docs/protocol.md#reserved-fields: `_id` is always a string; the dataset the output goes
        // to needs one
        if (e.id_kind != em::JsonKind::string)
            found.add(evidence(r,
                               e.id_kind == em::JsonKind::missing ? "" : e.id,
                               "_id",
                               "a string _id",
                               std::string(kind_name(e.id_kind)) + " (output entity at index " +
                                   std::to_string(e.index) + ")"));
    }
    if (r.entities.empty())
        return skipped(info,
                       "the answer to a batch of " + std::to_string(n) +
                           " entities holds no entity to judge");
    if (found.empty())
        return passed(info);
    const auto bad = found.count();
    return std::move(found).fail(info,
                                 std::to_string(bad) + " of " + std::to_string(r.entities.size()) +
                                     " output entities have no _id or one that is not a string");
}

// ---- fault injection (check --faults) --------------------------------------------------------

/// `sesam-emu-check-1 (output entity at index 0)`, for evidence.
std::string output_entity(const EntitySummary& e)
{
    return (e.id_kind == em::JsonKind::string ? e.id : std::string("an entity without _id")) +
           " (output entity at index " + std::to_string(e.index) + ")";
}

CheckResult fault_retry(CheckContext& ctx, const CheckInfo& info)
{
    // docs/protocol.md#http-transform, #optimistic-locking: an answer cut short fails the pipe run,
    // and the next run sends the same batch again; its answer replaces the batch, and downstream
    // hashes compare it with the last.
    const auto n = small_batch(ctx.service());
    const auto body = batch(n);
    const auto what = "a batch of " + std::to_string(n) + " entities";
    const auto& first = ctx.post({}, body);
    if (!first.ok())
        return skipped(info,
                       what + " did not get a 2xx JSON array (see transform.body.json-array and "
                              "transform.batch.full)");
    if (first.entities.empty())
        return skipped(info, "the answer to " + what + " holds no entity to compare");
    const auto& dropped = ctx.post(
        {},
        body,
        "application/json",
        Fault{Fault::Kind::drop_response, std::max<std::uint64_t>(first.body_bytes / 2, 1)});
    const auto& retry = ctx.post({}, body);
    const auto fault =
        evidence(dropped,
                 "",
                 "",
                 "(the fault) the client drops the connection halfway through the "
                 "answer",
                 dropped.fault.empty() ? "the answer ended before that" : dropped.fault);
    const auto retried = what + " sent again after its answer was dropped mid-body";
    if (!retry.ok())
        return failed(info,
                      retried + " did not get a 2xx JSON array",
                      {fault,
                       evidence(retry,
                                "",
                                "",
                                "a 2xx JSON array, as the first time",
                                retry.transport_error ? *retry.transport_error
                                : retry.body_error    ? *retry.body_error
                                                      : "status " + std::to_string(retry.status) +
                                                         body_shown(retry))});
    // The answers are compared entity by entity, in order: the output order is the answer's
    // (docs/protocol.md#http-transform).
    std::vector<Evidence> changed;
    std::size_t different_ids = 0;
    const auto common = std::min(first.entities.size(), retry.entities.size());
    for (std::size_t i = 0; i < common; ++i) {
        const auto& a = first.entities[i];
        const auto& b = retry.entities[i];
        if (a.id != b.id || a.id_kind != b.id_kind) {
            ++different_ids;
            changed.push_back(evidence(retry, b.id, "_id", output_entity(a), output_entity(b)));
        } else if (a.digest != b.digest) {
            changed.push_back(
                evidence(retry,
                         b.id,
                         "",
                         "the same content as the first time",
                         "different content (output entity at index " + std::to_string(i) + ")"));
        }
    }
    for (std::size_t i = common; i < first.entities.size(); ++i)
        changed.push_back(evidence(
            retry, first.entities[i].id, "_id", output_entity(first.entities[i]), "missing"));
    for (std::size_t i = common; i < retry.entities.size(); ++i)
        changed.push_back(evidence(retry,
                                   retry.entities[i].id,
                                   "_id",
                                   "no entity at index " + std::to_string(i),
                                   output_entity(retry.entities[i])));
    if (changed.empty())
        return passed(info);
    const auto missing = first.entities.size() - common;
    const auto extra = retry.entities.size() - common;
    const bool same_ids = different_ids == 0 && missing == 0 && extra == 0;
    std::string message = retried + " was answered with " + std::to_string(retry.entities.size()) +
                          " entities, the first time with " + std::to_string(first.entities.size());
    if (same_ids) {
        message += ": the same ids, " + std::to_string(changed.size()) +
                   " with other values; a transform whose answer varies makes a new version of "
                   "each entity on every run";
    } else {
        std::vector<std::string> parts;
        if (missing > 0)
            parts.push_back(std::to_string(missing) + " missing");
        if (extra > 0)
            parts.push_back(std::to_string(extra) + " more");
        if (different_ids > 0)
            parts.push_back(std::to_string(different_ids) + " with another _id at the same index");
        for (std::size_t i = 0; i < parts.size(); ++i)
            message += (i == 0 ? ": " : ", ") + parts[i];
    }
    Findings found;
    found.add(fault);
    for (auto& e : changed)
        found.add(std::move(e));
    auto r = std::move(found).fail(info, std::move(message));
    if (same_ids) // the same entities, other values: a warning, as the data is not lost
        r.severity = Severity::warning;
    return r;
}

} // namespace

std::vector<Check> transform_checks()
{
    using F = CheckResult (*)(CheckContext&, const CheckInfo&);
    struct Row {
        CheckInfo info;
        F run;
    };
    static const Row rows[] = {
        {{"transform.body.json-array",
          Role::transform,
          Severity::error,
          "A small batch (3 entities, at most batch_size) is answered with one complete JSON "
          "array",
          "docs/protocol.md#http-transform, #conventions, #real-services"},
         body_json_array},
        {{"transform.batch.empty",
          Role::transform,
          Severity::error,
          "An empty batch [] answers 2xx with a JSON array",
          "docs/protocol.md#http-transform"},
         batch_empty},
        {{"transform.batch.full",
          Role::transform,
          Severity::error,
          "A full batch (batch_size, default 100) answers 2xx with a JSON array",
          "docs/protocol.md#http-transform"},
         batch_full},
        {{"transform.entity.deleted",
          Role::transform,
          Severity::error,
          "A batch with _deleted: true entities answers 2xx with a JSON array",
          "docs/protocol.md#http-transform"},
         entity_deleted},
        {{"transform.entity.id",
          Role::transform,
          Severity::warning,
          "Every output entity has a string _id",
          "docs/protocol.md#reserved-fields"},
         entity_id},
    };
    std::vector<Check> checks;
    for (const auto& row : rows)
        checks.push_back({row.info, [row](CheckContext& ctx) { return row.run(ctx, row.info); }});
    return checks;
}

std::vector<Check> transform_fault_checks()
{
    static const CheckInfo retry{
        "transform.fault.retry",
        Role::transform,
        Severity::error,
        "A batch sent again after its answer was dropped mid-body gets the same entities "
        "(other values: warning)",
        "docs/protocol.md#http-transform, #optimistic-locking"};
    return {{retry, [](CheckContext& ctx) { return fault_retry(ctx, retry); }}};
}

} // namespace sesam::harness
