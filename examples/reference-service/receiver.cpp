#include "examples/reference-service/receiver.hpp"

#include <nlohmann/json.hpp>

namespace sesam::reference {

namespace {

ReceiverAnswer ok(std::string message)
{
    return {200, std::move(message)};
}

ReceiverAnswer bad_request(std::string message)
{
    return {400, std::move(message)};
}

ReceiverAnswer conflict(std::string message)
{
    return {409, std::move(message)};
}

ReceiverAnswer applied(std::size_t count)
{
    return ok(count == 0 ? "empty batch: nothing to apply"
                         : "applied " + std::to_string(count) + " entities");
}

std::string quote(const std::string& text)
{
    return '"' + text + '"';
}

/// An empty string when `entities` is a JSON array of objects with a string `_id`, else why not.
std::string invalid_batch(const nlohmann::json& entities)
{
    if (!entities.is_array())
        return "the body must be a JSON array of entities";
    for (std::size_t i = 0; i < entities.size(); ++i) {
        const auto& entity = entities[i];
        if (!entity.is_object())
            return "entity " + std::to_string(i) + " is not a JSON object";
        auto id = entity.find("_id");
        if (id == entity.end() || !id->is_string())
            return "entity " + std::to_string(i) + " has no string \"_id\"";
    }
    return {};
}

} // namespace

ReceiverAnswer Receiver::post(const PushRequest& request, const nlohmann::json& entities)
{
    // Everything is checked before anything changes: a rejected request leaves no trace.
    if (auto why = invalid_batch(entities); !why.empty())
        return bad_request(why);
    if (request.is_full && (!request.sequence_id || !request.request_id))
        return bad_request("a full sync request (is_full=true) needs sequence_id and request_id");

    // spec §4.4: is_full may not change within a sequence.
    if (request.sequence_id) {
        auto known = is_full_by_sequence_.find(*request.sequence_id);
        if (known != is_full_by_sequence_.end() && known->second != request.is_full)
            return conflict("is_full=" + std::string(request.is_full ? "true" : "false") +
                            " but sequence " + quote(*request.sequence_id) +
                            " started with is_full=" + (known->second ? "true" : "false"));
    }

    if (!request.is_full) {
        // spec §4.4: incremental parameters may be ignored and the full sequence is not touched.
        // (Sinks before 2021-08-16 also sent is_first here, spec §4.1: it is ignored too.)
        if (request.sequence_id)
            is_full_by_sequence_.emplace(*request.sequence_id, false);
        apply(entities, nullptr);
        return applied(entities.size());
    }

    const auto& sequence_id = *request.sequence_id;
    const auto& request_id = *request.request_id;
    const bool active = sequence_ && sequence_->sequence_id == sequence_id;

    // spec §4.4: batches are re-sent after failures; the last one acknowledged is a no-op, so a
    // re-sent is_last does not run deletion detection twice.
    if (active && sequence_->last_request_id == request_id)
        return ok("request " + quote(request_id) + " of sequence " + quote(sequence_id) +
                  " was already applied");

    if (request.is_first) {
        // spec §4.4: is_first on a sequence already seen is known not to be the first.
        if (is_full_by_sequence_.count(sequence_id))
            return conflict("is_first on request " + quote(request_id) + " but sequence " +
                            quote(sequence_id) + " has already started");
        // spec §4.4: one full sequence at a time; a new one replaces the active one.
        sequence_ = FullSequence{sequence_id, request_id, {}, false};
        is_full_by_sequence_.emplace(sequence_id, true);
    } else {
        if (!active)
            return conflict("sequence " + quote(sequence_id) +
                            " is not the active full sequence and request " + quote(request_id) +
                            " is not is_first");
        if (sequence_->complete)
            return conflict("sequence " + quote(sequence_id) +
                            " already ended with is_last on request " +
                            quote(sequence_->last_request_id));
        // spec §4.4: each request names the one before it.
        if (request.previous_request_id != sequence_->last_request_id)
            return conflict((request.previous_request_id
                                 ? "previous_request_id " + quote(*request.previous_request_id)
                                 : std::string("a missing previous_request_id")) +
                            " does not follow the last request_id " +
                            quote(sequence_->last_request_id) + " of sequence " +
                            quote(sequence_id));
        sequence_->last_request_id = request_id;
    }

    apply(entities, &sequence_->seen);
    if (!request.is_last)
        return applied(entities.size());

    // spec §4.3: at is_last, every entity not seen since is_first counts as deleted.
    const auto deleted = std::erase_if(
        held_, [&](const auto& entry) { return !sequence_->seen.count(entry.first); });
    sequence_->seen.clear(); // no longer needed: the sequence only answers re-sends now
    sequence_->complete = true;
    return ok("full sync " + quote(sequence_id) + " complete: " + std::to_string(deleted) +
              " entities not seen were deleted");
}

void Receiver::apply(const nlohmann::json& entities, std::set<std::string>* seen)
{
    for (const auto& entity : entities) {
        const auto& id = entity["_id"].get_ref<const std::string&>();
        // spec §4.3: deletions arrive as entities with `_deleted: true` (only the literal true).
        auto deleted = entity.find("_deleted");
        if (deleted != entity.end() && deleted->is_boolean() && deleted->get<bool>())
            held_.erase(id);
        else
            held_[id] = entity.dump(); // re-delivery is idempotent: the last write wins
        if (seen)
            seen->insert(id); // a deleted entity was seen too
    }
}

nlohmann::json Receiver::entities() const
{
    auto out = nlohmann::json::array();
    for (const auto& [id, text] : held_)
        out.push_back(nlohmann::json::parse(text));
    return out;
}

std::optional<nlohmann::json> reference_transform(const nlohmann::json& batch)
{
    if (!batch.is_array())
        return std::nullopt;
    auto out = nlohmann::json::array();
    for (const auto& entity : batch) {
        if (!entity.is_object())
            return std::nullopt;
        int field_count = 0;
        for (const auto& field : entity.items())
            field_count += field.key().starts_with('_') ? 0 : 1;
        auto transformed = entity;
        transformed["transformed"] = true;
        transformed["field_count"] = field_count;
        out.push_back(std::move(transformed));
    }
    return out;
}

} // namespace sesam::reference
