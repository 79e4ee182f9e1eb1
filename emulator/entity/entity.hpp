#pragma once

#include <nlohmann/json_fwd.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace sesam::emulator {

/// Reserved root-level field names (docs/protocol.md#reserved-fields).
inline constexpr std::string_view kId = "_id";
inline constexpr std::string_view kUpdated = "_updated";
inline constexpr std::string_view kDeleted = "_deleted";
inline constexpr std::string_view kPrevious = "_previous";
inline constexpr std::string_view kTs = "_ts";
inline constexpr std::string_view kHash = "_hash";
inline constexpr std::string_view kFiltered = "_filtered";

/// True for a root-level key that is reserved: it starts with `_`
/// (docs/protocol.md#reserved-fields).
bool is_reserved_field(std::string_view key) noexcept;

/// The entity's `_id` when it is present and a string; nullopt otherwise
/// (docs/protocol.md#reserved-fields).
std::optional<std::string> entity_id(const nlohmann::json& entity);

/// True only when `_deleted` is the boolean `true`; any other value means "not deleted"
/// (docs/protocol.md#reserved-fields).
bool is_deleted(const nlohmann::json& entity);

/// How strictly `_id` is demanded: a source may omit it, a sink/dataset may not
/// (docs/protocol.md#reserved-fields note).
enum class IdRule { optional_id, required_id };

/// What is wrong with an entity, naming the entity and the field.
struct EntityProblem {
    std::string id;      ///< the entity `_id`, or "" when it has none
    std::string field;   ///< the field path, e.g. `born` or `address.since` or `tags[2]`
    std::string message; ///< what is wrong

    friend bool operator==(const EntityProblem&, const EntityProblem&) = default;
};

/// Validates an entity: it is an object, `_id` (when present) is a string, and every string value
/// at any depth that carries a known transit tag decodes (docs/protocol.md#reserved-fields,
/// #transit). Object keys are never checked (docs/protocol.md#transit rule 1). Returns the first
/// problem found.
std::optional<EntityProblem> validate_entity(const nlohmann::json& entity, IdRule rule);

/// One line describing a problem: `entity "p-1": field "born": ~t value ...`.
std::string describe(const EntityProblem& problem);

} // namespace sesam::emulator
