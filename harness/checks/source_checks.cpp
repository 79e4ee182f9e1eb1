// Conformance checks of the source role: a service Sesam pulls from (docs/protocol.md#pull).
#include "harness/checks/check.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

namespace sesam::harness {

namespace em = sesam::emulator;

namespace {

using Params = std::vector<std::pair<std::string, std::string>>;

constexpr std::size_t kMaxPages = 10000;

/// The full pull, or a skip result when it did not succeed (judged by other checks).
const ServiceResponse* full_or_skip(CheckContext& ctx, const CheckInfo& info, CheckResult& skip)
{
    const auto& full = ctx.full_pull();
    if (!full.ok()) {
        skip = skipped(info,
                       "the full pull did not succeed (see source.status.ok and "
                       "source.body.json-array)");
        return nullptr;
    }
    return &full;
}

/// The entity to continue from: the middle one, in response order for a chronological source,
/// else by `_updated` order. nullopt when no entity has `_updated`.
std::optional<std::size_t> pivot(const ServiceResponse& full, bool chronological)
{
    std::vector<std::size_t> with_updated;
    for (std::size_t i = 0; i < full.entities.size(); ++i)
        if (full.entities[i].updated)
            with_updated.push_back(i);
    if (with_updated.empty())
        return std::nullopt;
    if (!chronological) {
        std::stable_sort(with_updated.begin(), with_updated.end(), [&](auto a, auto b) {
            auto order = em::compare_since(*full.entities[a].updated, *full.entities[b].updated);
            return order && *order < 0;
        });
    }
    return with_updated[(with_updated.size() - 1) / 2];
}

/// The entity with the last `_updated`: the last one in order (chronological) or the largest.
std::optional<std::size_t> last_updated(const ServiceResponse& full, bool chronological)
{
    std::optional<std::size_t> best;
    for (std::size_t i = 0; i < full.entities.size(); ++i) {
        const auto& u = full.entities[i].updated;
        if (!u)
            continue;
        if (!best || chronological) {
            best = i;
            continue;
        }
        auto order = em::compare_since(*u, *full.entities[*best].updated);
        if (order && *order > 0)
            best = i;
    }
    return best;
}

/// `_updated` values can be ordered (docs/protocol.md#pull-continuation): otherwise they are opaque
/// tokens, taken in the order they come, and continuation is judged by ids and positions, never by
/// comparing values.
bool comparable(const ServiceDescription& s)
{
    return s.is_since_comparable;
}

/// nullopt when Sesam would send since to this source; else why not
/// (docs/protocol.md#pull-continuation: without supports_since, or with neither is_chronological
/// nor is_since_comparable, there is no continuation strategy and since is never sent).
std::optional<std::string> no_continuation(const ServiceDescription& s)
{
    if (!s.supports_since)
        return "not declared: no --supports-since";
    if (!s.is_chronological && !s.is_since_comparable)
        return "_updated is declared neither chronological nor comparable: Sesam has no "
               "continuation strategy for this source and never sends since "
               "(docs/protocol.md#pull-continuation)";
    return std::nullopt;
}

/// For a failure that compared `_updated` strings by value: the declaration that would make them
/// opaque tokens, taken in the order they come (docs/protocol.md#pull-continuation), in case that
/// is what they are.
std::string opaque_hint(const ServiceResponse& r)
{
    const bool strings = std::any_of(r.entities.begin(), r.entities.end(), [](const auto& e) {
        return e.updated && e.updated->kind == em::SinceValue::Kind::string;
    });
    return strings ? " (compared as text; if _updated is an opaque token, such as a queue "
                     "offset, declare --is-since-comparable=false)"
                   : "";
}

/// The full pull, or a skip result when it has no entities to judge.
const ServiceResponse* entities_or_skip(CheckContext& ctx, const CheckInfo& info, CheckResult& skip)
{
    const auto* full = full_or_skip(ctx, info, skip);
    if (full && full->entities.empty()) {
        skip = skipped(info, "the full pull returned no entities, so there is nothing to judge");
        return nullptr;
    }
    return full;
}

/// The (`_id`, `_updated`) pair of an entity, to recognise the same version in two responses
/// without comparing `_updated` values.
std::pair<std::string, std::string> version_of(const EntitySummary& e)
{
    return {e.id, e.updated ? e.updated->to_json() : std::string()};
}

/// Paging as the json source does it (docs/protocol.md#pull-paging): limit=page_size, then
/// since=the last entity's `_updated`, until an empty page. Stops early on a failed page, a page
/// that makes no progress, or after `bound` pages.
struct Paging {
    std::vector<const ServiceResponse*> pages;
    enum class End { empty_page, failed, no_progress, no_updated, bound } end = End::empty_page;
};

Paging page_through(CheckContext& ctx, std::size_t bound)
{
    Paging p;
    const auto limit = std::to_string(*ctx.service().page_size);
    std::optional<em::SinceValue> since;
    for (std::size_t n = 0;; ++n) {
        if (n == bound) {
            p.end = Paging::End::bound;
            return p;
        }
        Params params;
        if (since)
            params.emplace_back("since", since->query_value());
        params.emplace_back("limit", limit);
        const auto& page = ctx.get(params);
        p.pages.push_back(&page);
        if (!page.ok()) {
            p.end = Paging::End::failed;
            return p;
        }
        if (page.entities.empty())
            return p;
        const auto& last = page.entities.back().updated;
        if (!last) {
            p.end = Paging::End::no_updated;
            return p;
        }
        if (since && *last == *since) {
            p.end = Paging::End::no_progress;
            return p;
        }
        since = last;
    }
}

std::size_t paging_bound(CheckContext& ctx)
{
    const auto& full = ctx.full_pull();
    const auto page = *ctx.service().page_size;
    return std::min(kMaxPages, full.entities.size() / page + 3);
}

// ---- the checks ----------------------------------------------------------------------------

CheckResult status_ok(CheckContext& ctx, const CheckInfo& info)
{
    const auto& full = ctx.full_pull();
    if (full.transport_error)
        return failed(info,
                      "the full pull got no response: " + *full.transport_error,
                      {evidence(full, "", "", "a 2xx response", *full.transport_error)});
    if (full.status < 200 || full.status > 299)
        return failed(info,
                      "the full pull answered " + std::to_string(full.status),
                      {evidence(full, "", "", "a 2xx status", std::to_string(full.status))});
    return passed(info);
}

CheckResult body_json_array(CheckContext& ctx, const CheckInfo& info)
{
    ctx.full_pull();
    Findings found;
    std::size_t judged = 0;
    for (const auto* r : ctx.responses()) {
        if (r->transport_error || r->status < 200 || r->status > 299)
            continue;
        ++judged;
        if (r->body_error)
            found.add(evidence(*r, "", "", "one complete JSON array of entities", *r->body_error));
    }
    if (judged == 0)
        return skipped(info, "no request got a 2xx response to judge");
    if (!found.empty())
        return std::move(found).fail(info,
                                     std::to_string(found.count()) + " of " +
                                         std::to_string(judged) +
                                         " responses are not one complete JSON array");
    return passed(info);
}

CheckResult entity_id(CheckContext& ctx, const CheckInfo& info)
{
    CheckResult skip;
    const auto* full = entities_or_skip(ctx, info, skip);
    if (!full)
        return skip;
    Findings bad;
    Findings missing;
    for (const auto& e : full->entities) {
        const auto where = "entity at index " + std::to_string(e.index);
        if (e.id_kind == em::JsonKind::missing)
            missing.add(evidence(*full, "", "_id", "a string _id", "missing (" + where + ")"));
        else if (e.id_kind != em::JsonKind::string)
            bad.add(evidence(*full,
                             e.id,
                             "_id",
                             "a string",
                             std::string(kind_name(e.id_kind)) + " (" + where + ")"));
    }
    if (!bad.empty())
        return std::move(bad).fail(
            info, std::to_string(bad.count()) + " entities have an _id that is not a string");
    if (!missing.empty()) {
        // docs/protocol.md#reserved-fields note: a missing _id is allowed at the source stage, but
        // worth a warning
        auto r = std::move(missing).fail(info,
                                         std::to_string(missing.count()) + " entities have no _id");
        r.severity = Severity::warning;
        return r;
    }
    return passed(info);
}

CheckResult entity_transit(CheckContext& ctx, const CheckInfo& info)
{
    CheckResult skip;
    const auto* full = entities_or_skip(ctx, info, skip);
    if (!full)
        return skip;
    if (std::none_of(full->entities.begin(), full->entities.end(), [](const auto& e) {
            return e.has_transit;
        }))
        return skipped(info,
                       "no entity of the full pull has a transit value (~t ~f ~b ~u ~r ~:) to "
                       "judge");
    Findings found;
    for (const auto& e : full->entities)
        if (e.transit_problem)
            found.add(evidence(*full,
                               e.id,
                               *e.transit_field,
                               "a value that decodes (docs/protocol.md#transit)",
                               *e.transit_problem));
    return std::move(found).verdict(info, "entities have a transit value that does not decode");
}

CheckResult entity_deleted_flag(CheckContext& ctx, const CheckInfo& info)
{
    CheckResult skip;
    const auto* full = entities_or_skip(ctx, info, skip);
    if (!full)
        return skip;
    if (std::all_of(full->entities.begin(), full->entities.end(), [](const auto& e) {
            return e.deleted_kind == em::JsonKind::missing;
        }))
        return skipped(info, "no entity of the full pull has _deleted to judge");
    Findings found;
    for (const auto& e : full->entities)
        if (e.deleted_kind != em::JsonKind::missing && e.deleted_kind != em::JsonKind::boolean)
            found.add(
                evidence(*full, e.id, "_deleted", "true or false", kind_name(e.deleted_kind)));
    return std::move(found).verdict(
        info, "entities have a _deleted that is not a boolean (only true deletes)");
}

CheckResult since_updated_present(CheckContext& ctx, const CheckInfo& info)
{
    if (!ctx.service().supports_since)
        return skipped(info, "not declared: no --supports-since");
    CheckResult skip;
    const auto* full = entities_or_skip(ctx, info, skip);
    if (!full)
        return skip;
    Findings found;
    for (const auto& e : full->entities)
        if (!e.updated)
            found.add(evidence(*full, e.id, "_updated", "an _updated value", "missing or null"));
    return std::move(found).verdict(
        info, "entities have no _updated, so Sesam cannot continue after them");
}

/// The since request continuing from the pivot entity, or a skip result.
const ServiceResponse*
since_pull(CheckContext& ctx, const CheckInfo& info, CheckResult& skip, const EntitySummary** from)
{
    if (auto why = no_continuation(ctx.service())) {
        skip = skipped(info, *why);
        return nullptr;
    }
    const auto* full = full_or_skip(ctx, info, skip);
    if (!full)
        return nullptr;
    auto p = pivot(*full, ctx.service().is_chronological);
    if (!p) {
        skip = skipped(info, "no entity of the full pull has _updated to continue from");
        return nullptr;
    }
    *from = &full->entities[*p];
    return &ctx.get({{"since", (*from)->updated->query_value()}});
}

CheckResult since_accepted(CheckContext& ctx, const CheckInfo& info)
{
    CheckResult skip;
    const EntitySummary* from = nullptr;
    const auto* r = since_pull(ctx, info, skip, &from);
    if (!r)
        return skip;
    if (r->transport_error)
        return failed(info,
                      "a pull with since got no response: " + *r->transport_error,
                      {evidence(*r, from->id, "_updated", "a 2xx response", *r->transport_error)});
    if (r->status < 200 || r->status > 299)
        return failed(
            info,
            "a pull with since answered " + std::to_string(r->status),
            {evidence(*r, from->id, "_updated", "a 2xx status", std::to_string(r->status))});
    return passed(info);
}

CheckResult since_exclusive(CheckContext& ctx, const CheckInfo& info)
{
    CheckResult skip;
    const EntitySummary* from = nullptr;
    const auto* r = since_pull(ctx, info, skip, &from);
    if (!r)
        return skip;
    if (!r->ok())
        return skipped(info, "the pull with since did not succeed (see source.since.accepted)");
    // docs/protocol.md#pull-request: since is exclusive: the entity it names and everything before
    // it stay out. Comparable values are ordered by value; opaque ones
    // (docs/protocol.md#pull-continuation) only by their position in the full pull: the versions at
    // or before the pivot must not come back.
    const bool ordered = comparable(ctx.service());
    std::set<std::pair<std::string, std::string>> up_to_pivot;
    if (!ordered) {
        const auto* full = &ctx.full_pull();
        for (const auto& e : full->entities) { // up to and including the pivot itself
            if (e.updated)
                up_to_pivot.insert(version_of(e));
            if (&e == from)
                break;
        }
    }
    Findings found;
    for (const auto& e : r->entities) {
        if (!e.updated)
            continue;
        bool repeats = e.id == from->id && *e.updated == *from->updated;
        if (ordered) {
            auto order = em::compare_since(*e.updated, *from->updated);
            repeats = repeats || (order && *order <= 0);
        } else {
            repeats = repeats || up_to_pivot.count(version_of(e)) > 0;
        }
        if (repeats)
            found.add(evidence(*r,
                               e.id,
                               "_updated",
                               ordered ? "only entities after _updated " + from->updated->to_json()
                                       : "only entities after \"" + from->id +
                                             "\" in the full pull's order",
                               "_updated " + e.updated->to_json()));
    }
    if (!found.empty())
        return std::move(found).fail(
            info,
            "continuing from entity \"" + from->id + "\" (_updated " + from->updated->to_json() +
                ") returned " + std::to_string(found.count()) +
                (ordered ? " entities up to and including it again" + opaque_hint(*r)
                         : " entities that come at or before it in the full pull"));
    return passed(info);
}

CheckResult since_honoured(CheckContext& ctx, const CheckInfo& info)
{
    if (auto why = no_continuation(ctx.service()))
        return skipped(info, *why);
    CheckResult skip;
    const auto* full = full_or_skip(ctx, info, skip);
    if (!full)
        return skip;
    auto last = last_updated(*full, ctx.service().is_chronological);
    if (!last)
        return skipped(info, "no entity of the full pull has _updated to continue from");
    const auto& at = full->entities[*last];
    const auto& r = ctx.get({{"since", at.updated->query_value()}});
    if (!r.ok())
        return skipped(info, "the pull with since did not succeed (see source.since.accepted)");
    // The boundary entity itself is source.since.exclusive's business; this check is about the
    // rest of the data coming back (docs/protocol.md#real-services: services that ignore since).
    std::set<std::pair<std::string, std::string>> seen;
    for (const auto& e : full->entities)
        if (e.updated && !(e.id == at.id && *e.updated == *at.updated))
            seen.insert({e.id, e.updated->to_json()});
    Findings found;
    for (const auto& e : r.entities)
        if (e.updated && seen.count({e.id, e.updated->to_json()}))
            found.add(evidence(r,
                               e.id,
                               "_updated",
                               "nothing already pulled",
                               "_updated " + e.updated->to_json() + " again"));
    if (!found.empty())
        return std::move(found).fail(
            info,
            "since at the last entity (_updated " + at.updated->to_json() + ") returned " +
                std::to_string(found.count()) +
                " entities of the full pull again: the service ignores since");
    return passed(info);
}

CheckResult since_no_gaps(CheckContext& ctx, const CheckInfo& info)
{
    if (auto why = no_continuation(ctx.service()))
        return skipped(info, *why);
    CheckResult skip;
    const auto* full = entities_or_skip(ctx, info, skip);
    if (!full)
        return skip;
    // Entities are looked for by _id: those without a string _id cannot be looked for.
    const auto with_id =
        std::count_if(full->entities.begin(), full->entities.end(), [](const auto& e) {
            return e.id_kind == em::JsonKind::string;
        });
    if (with_id == 0)
        return skipped(info,
                       "no entity of the full pull has a string _id, so the continued pulls "
                       "cannot be matched with it (see source.entity.id)");
    std::set<std::string> got;
    const ServiceResponse* shown = full;
    if (ctx.service().page_size) {
        auto paging = page_through(ctx, paging_bound(ctx));
        if (paging.end != Paging::End::empty_page)
            return skipped(info, "paging did not end normally (see source.paging.terminates)");
        for (const auto* page : paging.pages)
            for (const auto& e : page->entities)
                got.insert(e.id);
        shown = paging.pages.front();
    } else {
        auto p = pivot(*full, ctx.service().is_chronological);
        if (!p)
            return skipped(info, "no entity of the full pull has _updated to continue from");
        const auto& from = full->entities[*p];
        const auto& rest = ctx.get({{"since", from.updated->query_value()}});
        if (!rest.ok())
            return skipped(info, "the pull with since did not succeed (see source.since.accepted)");
        // The first part: what a run that stopped at the pivot had seen (by position for a
        // chronological source, docs/protocol.md#pull-continuation: its values may be opaque).
        for (std::size_t i = 0; i < full->entities.size(); ++i) {
            const auto& e = full->entities[i];
            auto order = e.updated ? em::compare_since(*e.updated, *from.updated) : std::nullopt;
            if (ctx.service().is_chronological ? i <= *p : (order && *order <= 0))
                got.insert(e.id);
        }
        for (const auto& e : rest.entities)
            got.insert(e.id);
        shown = &rest;
    }
    Findings found;
    for (const auto& e : full->entities)
        if (e.id_kind == em::JsonKind::string && !got.count(e.id))
            found.add(evidence(*shown, e.id, "_id", "in the continued pulls", "missing"));
    const auto unjudged = full->entities.size() - static_cast<std::size_t>(with_id);
    const auto note = unjudged == 0 ? std::string()
                                    : " (" + std::to_string(unjudged) +
                                          " entities without a string _id not looked for)";
    if (found.empty())
        return passed(info);
    const auto n = found.count();
    return std::move(found).fail(
        info,
        std::to_string(n) + " entities of the full pull are missing from the continued pulls" +
            note);
}

CheckResult chronological_order(CheckContext& ctx, const CheckInfo& info)
{
    if (!ctx.service().is_chronological)
        return skipped(info, "not declared: no --is-chronological");
    if (!comparable(ctx.service()))
        return skipped(
            info,
            "not applicable: _updated is declared not comparable "
            "(--is-since-comparable=false), so its values are opaque tokens taken in "
            "the order they come (docs/protocol.md#pull-continuation) and have no order to judge");
    CheckResult skip;
    const auto* full = full_or_skip(ctx, info, skip);
    if (!full)
        return skip;
    Findings found;
    std::size_t compared = 0;
    auto judge =
        [&](const std::vector<std::pair<const ServiceResponse*, const EntitySummary*>>& seq) {
            const EntitySummary* previous = nullptr;
            for (const auto& [r, e] : seq) {
                if (!e->updated)
                    continue;
                if (previous) {
                    ++compared;
                    auto order = em::compare_since(*e->updated, *previous->updated);
                    if (!order || *order < 0)
                        found.add(evidence(*r,
                                           e->id,
                                           "_updated",
                                           "not before " + previous->updated->to_json(),
                                           e->updated->to_json()));
                }
                previous = e;
            }
        };
    std::vector<std::pair<const ServiceResponse*, const EntitySummary*>> seq;
    for (const auto& e : full->entities)
        seq.emplace_back(full, &e);
    judge(seq);
    if (ctx.service().page_size) {
        seq.clear();
        for (const auto* page : page_through(ctx, paging_bound(ctx)).pages)
            for (const auto& e : page->entities)
                seq.emplace_back(page, &e);
        judge(seq);
    }
    if (!found.empty())
        return std::move(found).fail(info,
                                     "_updated decreases " + std::to_string(found.count()) +
                                         " times although the source is declared chronological" +
                                         opaque_hint(*full));
    if (compared == 0)
        return skipped(info, "fewer than two entities with _updated: no order to judge");
    return passed(info);
}

CheckResult limit_honoured(CheckContext& ctx, const CheckInfo& info)
{
    if (!ctx.service().page_size)
        return skipped(info, "not declared: no --page-size");
    const auto limit = *ctx.service().page_size;
    Findings found;
    std::size_t judged = 0;
    for (const auto* page : page_through(ctx, paging_bound(ctx)).pages) {
        judged += page->ok() ? 1 : 0;
        if (page->ok() && page->entities.size() > limit)
            found.add(evidence(*page,
                               "",
                               "",
                               "at most " + std::to_string(limit) + " entities",
                               std::to_string(page->entities.size()) + " entities"));
    }
    if (!found.empty())
        return std::move(found).fail(info,
                                     std::to_string(found.count()) +
                                         " pages are longer than limit=" + std::to_string(limit));
    if (judged == 0)
        return skipped(info, "no page got a 2xx JSON array (see source.paging.terminates)");
    const auto& full = ctx.full_pull();
    if (full.ok() && full.entities.size() <= limit)
        return skipped(info,
                       "the full pull has " + std::to_string(full.entities.size()) +
                           " entities, no more than limit=" + std::to_string(limit) +
                           ", so limit was never exercised");
    return passed(info);
}

CheckResult paging_terminates(CheckContext& ctx, const CheckInfo& info)
{
    if (!ctx.service().page_size)
        return skipped(info, "not declared: no --page-size");
    const auto bound = paging_bound(ctx);
    auto paging = page_through(ctx, bound);
    const auto& last = *paging.pages.back();
    switch (paging.end) {
    case Paging::End::empty_page:
        return passed(info);
    case Paging::End::failed:
        return failed(info,
                      "page " + std::to_string(paging.pages.size()) + " failed",
                      {evidence(last,
                                "",
                                "",
                                "a 2xx JSON array",
                                last.transport_error ? *last.transport_error
                                : last.body_error    ? *last.body_error
                                                     : "status " + std::to_string(last.status))});
    case Paging::End::no_progress:
        return failed(info,
                      "paging makes no progress: page " + std::to_string(paging.pages.size()) +
                          " ends at the since value it was asked for",
                      {evidence(last,
                                last.entities.back().id,
                                "_updated",
                                "a page that moves on",
                                "the same page again")});
    case Paging::End::no_updated:
        return failed(
            info,
            "a page ends with an entity without _updated, so paging cannot continue",
            {evidence(last, last.entities.back().id, "_updated", "an _updated value", "missing")});
    case Paging::End::bound:
        return failed(info,
                      "paging did not end within " + std::to_string(bound) + " requests",
                      {evidence(last,
                                "",
                                "",
                                "an empty page within " + std::to_string(bound) + " requests",
                                std::to_string(last.entities.size()) + " entities on request " +
                                    std::to_string(bound))});
    }
    return passed(info);
}

CheckResult repeatable(CheckContext& ctx, const CheckInfo& info)
{
    CheckResult skip;
    const auto* full = full_or_skip(ctx, info, skip);
    if (!full)
        return skip;
    const auto& again = ctx.get_again({});
    if (!again.ok())
        return failed(info,
                      "the same full pull failed the second time",
                      {evidence(again,
                                "",
                                "",
                                "the same answer",
                                again.transport_error ? *again.transport_error
                                : again.body_error    ? *again.body_error
                                                      : "status " + std::to_string(again.status))});
    std::set<std::string> first, second;
    for (const auto& e : full->entities)
        if (e.id_kind == em::JsonKind::string)
            first.insert(e.id);
    for (const auto& e : again.entities)
        if (e.id_kind == em::JsonKind::string)
            second.insert(e.id);
    if (first.empty() && second.empty() && full->entities.size() == again.entities.size())
        return skipped(info,
                       full->entities.empty()
                           ? "both full pulls returned no entities, so there is nothing to compare"
                           : "no entity has a string _id to compare (see source.entity.id); both "
                             "pulls returned " +
                                 std::to_string(full->entities.size()) + " entities");
    Findings found;
    for (const auto& id : first)
        if (!second.count(id))
            found.add(evidence(again, id, "_id", "present, as in the first pull", "missing"));
    for (const auto& id : second)
        if (!first.count(id))
            found.add(evidence(again, id, "_id", "absent, as in the first pull", "present"));
    if (found.empty() && full->entities.size() != again.entities.size())
        found.add(evidence(again,
                           "",
                           "",
                           std::to_string(full->entities.size()) + " entities",
                           std::to_string(again.entities.size()) + " entities"));
    if (!found.empty())
        return std::move(found).fail(info, "the same request twice gave different entities");
    return passed(info);
}

// ---- fault injection (check --faults) --------------------------------------------------------

/// How a response fails, for `actual`: the transport error, the body error or the status.
std::string failure_text(const ServiceResponse& r)
{
    if (r.transport_error)
        return *r.transport_error;
    if (r.body_error)
        return *r.body_error;
    return "status " + std::to_string(r.status);
}

/// The versions (`_id`, `_updated`) of a response, each with how often it comes.
std::map<std::pair<std::string, std::string>, std::size_t> version_counts(const ServiceResponse& r)
{
    std::map<std::pair<std::string, std::string>, std::size_t> out;
    for (const auto& e : r.entities)
        ++out[version_of(e)];
    return out;
}

/// `e7` with `_updated 7`, for evidence.
std::string version_text(const std::pair<std::string, std::string>& v)
{
    return v.second.empty() ? "this entity" : "this entity with _updated " + v.second;
}

/// One pull (`params`) dropped mid-body, then repeated: the repeat must hold the same versions
/// as a complete pull made just before the drop (docs/protocol.md#pull-errors, #continuation).
/// Returns why it failed, adding evidence to `found`, or nullopt; sets `unjudged` when it could not
/// be judged.
std::optional<std::string> cut_and_repeat(CheckContext& ctx,
                                          const std::string& what,
                                          const Params& params,
                                          std::string_view see,
                                          Findings& found,
                                          std::optional<std::string>& unjudged)
{
    const auto& earlier = ctx.get(params);
    if (!earlier.ok()) {
        unjudged = what + " did not succeed (see " + std::string(see) + ")";
        return std::nullopt;
    }
    if (earlier.entities.empty()) {
        unjudged = what + " returned no entities, so there is nothing to lose";
        return std::nullopt;
    }
    // A control: two complete pulls without a fault must agree, or a difference after the drop
    // would say nothing about the drop.
    const auto& before = ctx.get_again(params);
    if (!before.ok() || version_counts(before) != version_counts(earlier)) {
        unjudged = what + " gave different answers twice in a row without a fault (see "
                          "source.repeatable)";
        return std::nullopt;
    }
    const auto& cut = ctx.get_again(
        params,
        Fault{Fault::Kind::drop_response, std::max<std::uint64_t>(before.body_bytes / 2, 1)});
    const auto& again = ctx.get_again(params);
    const auto dropped = evidence(cut,
                                  "",
                                  "",
                                  "(the fault) the client drops the connection halfway through "
                                  "the body",
                                  cut.fault.empty() ? failure_text(cut) : cut.fault);
    if (!again.ok()) {
        found.add(dropped);
        found.add(evidence(again,
                           "",
                           "",
                           "a 2xx JSON array, as before the connection was dropped",
                           failure_text(again)));
        return what + ", repeated after its connection was dropped mid-body, failed: " +
               failure_text(again);
    }
    const auto want = version_counts(before);
    const auto got = version_counts(again);
    std::size_t missing = 0;
    std::size_t extra = 0;
    std::vector<Evidence> diffs;
    for (const auto& [version, n] : want) {
        const auto it = got.find(version);
        const auto have = it == got.end() ? 0 : it->second;
        if (have >= n)
            continue;
        missing += n - have;
        diffs.push_back(evidence(
            again,
            version.first,
            "_id",
            version_text(version) + ", as in the complete pull before",
            have == 0 ? "missing" : "only " + std::to_string(have) + " of " + std::to_string(n)));
    }
    for (const auto& [version, n] : got) {
        const auto it = want.find(version);
        const auto had = it == want.end() ? 0 : it->second;
        if (n <= had)
            continue;
        extra += n - had;
        diffs.push_back(evidence(again,
                                 version.first,
                                 "_id",
                                 had == 0 ? "absent, as in the complete pull before"
                                          : std::to_string(had) + " of " + version_text(version) +
                                                ", as in the complete pull before",
                                 had == 0 ? version_text(version) : std::to_string(n)));
    }
    if (diffs.empty())
        return std::nullopt;
    found.add(dropped);
    for (auto& d : diffs)
        found.add(std::move(d));
    std::string message = what + ", repeated after its connection was dropped mid-body, ";
    if (missing > 0)
        message += "misses " + std::to_string(missing) + " entities";
    if (missing > 0 && extra > 0)
        message += " and ";
    if (extra > 0)
        message += "holds " + std::to_string(extra) + " entities more than";
    else
        message += " of";
    return message + " a complete pull just before it";
}

/// source.body.streamed judges full pulls of at least this size. A quarter of the 128 MiB a node
/// gives a container by default (docs/protocol.md#microservice-system): a service that builds the
/// body before sending it holds at least this much more (the text alone; most languages' objects
/// take several times that), twice the growth the check tolerates, while one that streams keeps to
/// its write buffers and a page of its data (a few MiB). Smaller bodies cannot tell the two apart
/// through allocator noise.
constexpr std::uint64_t kStreamedMinBytes = std::uint64_t{32} << 20;

/// The first byte of a buffered response arrives after it is built: at this share of its time
/// or later (a streamed one's comes as soon as the first entities are ready).
constexpr double kLateFirstByte = 0.9;

std::string seconds_text(double s)
{
    char text[32];
    std::snprintf(text, sizeof text, "%.2f s", s);
    return text;
}

CheckResult body_streamed(CheckContext& ctx, const CheckInfo& info)
{
    // docs/protocol.md#pull-response, #microservice-system: streaming output is encouraged; the
    // container has docker.memory (128 MB).
    auto* memory = ctx.memory().memory;
    if (!memory)
        return skipped(info, ctx.memory().unseen);
    CheckResult skip;
    const auto* full = full_or_skip(ctx, info, skip);
    if (!full)
        return skip;
    if (full->body_bytes < kStreamedMinBytes)
        return skipped(info,
                       "the full pull is " + mib(full->body_bytes) + "; telling a service that " +
                           "streams from one that builds the body first needs at least " +
                           mib(kStreamedMinBytes) + " (give the service more data)");
    memory->open_window();
    const auto& r = ctx.get_again({});
    const auto window = memory->window();
    if (!r.ok())
        return skipped(info,
                       "the second full pull did not succeed (see source.repeatable and "
                       "source.body.json-array)");
    if (!window)
        return skipped(info, "no memory figure could be read (" + memory->source() + ")");
    const auto growth = window->peak_bytes - std::min(window->peak_bytes, window->start_bytes);
    const auto first_byte = r.first_byte_seconds.value_or(r.seconds);
    const auto figures = mib(r.body_bytes) + " in " + seconds_text(r.seconds) +
                         ", first byte after " + seconds_text(first_byte) + "; memory grew by " +
                         mib(growth) + " (from " + mib(window->start_bytes) + " to " +
                         mib(window->peak_bytes) + ", " + memory->source() + ")";
    const auto expected = "memory growth under " + mib(r.body_bytes / 2) +
                          " (half the body) and the first byte before " +
                          std::to_string(static_cast<int>(kLateFirstByte * 100)) +
                          "% of the response's time";
    if (growth >= r.body_bytes / 2)
        return failed(info,
                      "while it sent a full pull of " + mib(r.body_bytes) +
                          ", its memory grew by " + mib(growth) + " (from " +
                          mib(window->start_bytes) + " to " + mib(window->peak_bytes) +
                          "): it holds the body, or the data behind it, instead of streaming it",
                      {evidence(r, "", "", expected, figures)});
    if (first_byte >= kLateFirstByte * r.seconds)
        return failed(info,
                      "the first byte of a full pull of " + mib(r.body_bytes) + " came after " +
                          seconds_text(first_byte) + " of " + seconds_text(r.seconds) +
                          ": the body is built before it is sent",
                      {evidence(r, "", "", expected, figures)});
    auto result = passed(info);
    result.message = figures;
    return result;
}

CheckResult fault_cut_response(CheckContext& ctx, const CheckInfo& info)
{
    // docs/protocol.md#pull-errors, #continuation, #real-services: a body cut short is a read
    // error; the run fails, the offset does not move, and the next run sends the same request
    // again, whose answer must hold everything.
    Findings found;
    std::vector<std::string> failures;
    std::vector<std::string> unjudged;
    std::size_t parts = 0;
    auto part = [&](const std::string& what, const Params& params, std::string_view see) {
        ++parts;
        std::optional<std::string> why_not;
        if (auto failure = cut_and_repeat(ctx, what, params, see, found, why_not))
            failures.push_back(std::move(*failure));
        if (why_not)
            unjudged.push_back(std::move(*why_not));
    };
    part("the full pull", {}, "source.status.ok");
    // docs/protocol.md#pull-request: an incremental run's pull, with the since the since checks
    // send.
    const auto& full = ctx.full_pull();
    if (!no_continuation(ctx.service()) && full.ok())
        if (auto p = pivot(full, ctx.service().is_chronological)) {
            const auto since = full.entities[*p].updated->query_value();
            part("the pull with since=" + since, {{"since", since}}, "source.since.accepted");
        }
    auto join = [](const std::vector<std::string>& list) {
        std::string out;
        for (const auto& item : list)
            out += (out.empty() ? "" : "; ") + item;
        return out;
    };
    if (!failures.empty())
        return std::move(found).fail(
            info, join(failures) + (unjudged.empty() ? "" : "; " + join(unjudged)));
    if (!unjudged.empty())
        return skipped(info,
                       join(unjudged) + (unjudged.size() < parts ? "; the other part passed" : ""));
    return passed(info);
}

} // namespace

std::vector<Check> source_checks()
{
    using F = CheckResult (*)(CheckContext&, const CheckInfo&);
    struct Row {
        CheckInfo info;
        F run;
    };
    static const Row rows[] = {
        {{"source.status.ok",
          Role::source,
          Severity::error,
          "A full pull answers 2xx",
          "docs/protocol.md#pull-response"},
         status_ok},
        {{"source.entity.id",
          Role::source,
          Severity::error,
          "Every entity has a string _id (missing: warning)",
          "docs/protocol.md#reserved-fields"},
         entity_id},
        {{"source.entity.transit",
          Role::source,
          Severity::error,
          "Transit values decode",
          "docs/protocol.md#transit"},
         entity_transit},
        {{"source.entity.deleted-flag",
          Role::source,
          Severity::error,
          "_deleted is a boolean",
          "docs/protocol.md#reserved-fields"},
         entity_deleted_flag},
        {{"source.since.updated-present",
          Role::source,
          Severity::error,
          "With supports-since, every entity carries _updated",
          "docs/protocol.md#pull-request, #continuation"},
         since_updated_present},
        {{"source.since.accepted",
          Role::source,
          Severity::error,
          "A pull with since answers 2xx",
          "docs/protocol.md#pull-request"},
         since_accepted},
        {{"source.since.exclusive",
          Role::source,
          Severity::error,
          "Continuing from an entity's _updated repeats nothing up to it",
          "docs/protocol.md#pull-request"},
         since_exclusive},
        {{"source.since.honoured",
          Role::source,
          Severity::error,
          "since at the last entity does not return the data again",
          "docs/protocol.md#pull-request, #real-services"},
         since_honoured},
        {{"source.since.no-gaps",
          Role::source,
          Severity::error,
          "Continued or paged pulls together hold every entity of the full pull",
          "docs/protocol.md#pull-paging, #continuation"},
         since_no_gaps},
        {{"source.chronological.order",
          Role::source,
          Severity::error,
          "With is-chronological, _updated never decreases",
          "docs/protocol.md#pull-continuation"},
         chronological_order},
        {{"source.limit.honoured",
          Role::source,
          Severity::error,
          "No page is longer than limit",
          "docs/protocol.md#pull-paging, #real-services"},
         limit_honoured},
        {{"source.paging.terminates",
          Role::source,
          Severity::error,
          "Paging ends with an empty page within a bound",
          "docs/protocol.md#pull-paging"},
         paging_terminates},
        {{"source.repeatable",
          Role::source,
          Severity::error,
          "The same request twice gives the same ids",
          "docs/protocol.md#pull-full-incremental"},
         repeatable},
        {{"source.body.json-array",
          Role::source,
          Severity::error,
          "Every response is one complete JSON array",
          "docs/protocol.md#conventions, #pull-response, #real-services"},
         body_json_array},
    };
    std::vector<Check> checks;
    for (const auto& row : rows)
        checks.push_back({row.info, [row](CheckContext& ctx) { return row.run(ctx, row.info); }});
    return checks;
}

std::vector<Check> source_memory_checks()
{
    static const CheckInfo streamed{"source.body.streamed",
                                    Role::source,
                                    Severity::warning,
                                    "A large full pull is streamed: its first byte comes early and "
                                    "the service's memory does not grow with the body",
                                    "docs/protocol.md#pull-response, #microservice-system"};
    return {{streamed, [](CheckContext& ctx) { return body_streamed(ctx, streamed); }}};
}

std::vector<Check> source_fault_checks()
{
    static const CheckInfo cut_response{
        "source.fault.cut-response",
        Role::source,
        Severity::error,
        "A pull whose connection dropped mid-body, repeated, holds the same entities",
        "docs/protocol.md#pull-errors, #continuation, #real-services"};
    return {
        {cut_response, [](CheckContext& ctx) { return fault_cut_response(ctx, cut_response); }}};
}

} // namespace sesam::harness
