#include "emulator/entity/entity.hpp"

#include "emulator/entity/transit.hpp"

#include <nlohmann/json.hpp>

#include <variant>

namespace sesam::emulator {

namespace {

using nlohmann::json;

std::string type_with_article(const json& value)
{
    switch (value.type()) {
    case json::value_t::null:
        return "null";
    case json::value_t::object:
    case json::value_t::array:
        return std::string("an ") + value.type_name();
    default:
        return std::string("a ") + value.type_name();
    }
}

/// Finds the first string at or below `value` whose transit tag is known but whose payload does
/// not decode. The path is built only on the way back up, so a valid entity costs no allocation.
const std::string* find_bad_string(const json& value, bool at_root, std::string& path)
{
    if (value.is_string()) {
        const auto& text = value.get_ref<const std::string&>();
        return check_transit(text) != nullptr ? &text : nullptr;
    }
    if (value.is_object()) {
        for (auto it = value.begin(); it != value.end(); ++it) {
            // docs/protocol.md#transit rule 1: keys are never decoded, only values
            if (const auto* bad = find_bad_string(it.value(), false, path)) {
                path.insert(0, it.key());
                if (!at_root)
                    path.insert(0, 1, '.');
                return bad;
            }
        }
    } else if (value.is_array()) {
        for (std::size_t i = 0; i < value.size(); ++i) {
            if (const auto* bad = find_bad_string(value[i], false, path)) {
                const auto index = std::to_string(i);
                path.insert(0, 1, ']');
                path.insert(0, index);
                path.insert(0, 1, '[');
                return bad;
            }
        }
    }
    return nullptr;
}

} // namespace

bool is_reserved_field(std::string_view key) noexcept
{
    return !key.empty() && key.front() == '_'; // docs/protocol.md#reserved-fields
}

std::optional<std::string> entity_id(const json& entity)
{
    if (!entity.is_object()) {
        return std::nullopt;
    }
    const auto it = entity.find(kId);
    if (it == entity.end() || !it->is_string()) {
        return std::nullopt;
    }
    return it->get<std::string>();
}

bool is_deleted(const json& entity)
{
    if (!entity.is_object()) {
        return false;
    }
    // docs/protocol.md#reserved-fields: only the boolean true deletes; "true", 1 and null do not
    const auto it = entity.find(kDeleted);
    return it != entity.end() && it->is_boolean() && it->get<bool>();
}

std::optional<EntityProblem> validate_entity(const json& entity, IdRule rule)
{
    if (!entity.is_object()) {
        return EntityProblem{
            "", "", "entity must be a JSON object, got " + type_with_article(entity)};
    }
    std::string id;
    if (const auto it = entity.find(kId); it == entity.end()) {
        // docs/protocol.md#reserved-fields note: a source may omit _id, a sink or dataset may not
        if (rule == IdRule::required_id) {
            return EntityProblem{"", std::string(kId), "_id is missing"};
        }
    } else if (!it->is_string()) {
        return EntityProblem{
            "", std::string(kId), "_id must be a string, got " + type_with_article(*it)};
    } else {
        id = it->get<std::string>();
    }
    std::string path;
    if (const auto* bad = find_bad_string(entity, true, path)) {
        // docs/protocol.md#transit rule 3: a known tag that does not decode is an error
        const auto decoded = decode_transit(*bad);
        return EntityProblem{
            std::move(id), std::move(path), std::get<TransitError>(decoded).message};
    }
    return std::nullopt;
}

std::string describe(const EntityProblem& problem)
{
    std::string line = problem.id.empty() ? "entity without _id" : "entity \"" + problem.id + "\"";
    if (!problem.field.empty()) {
        line += ": field \"" + problem.field + "\"";
    }
    return line + ": " + problem.message;
}

} // namespace sesam::emulator
