#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace sesam::harness {

/// Reads the entities of an input file: one JSON array of entities, or JSON lines (one entity
/// per line); "-" is stdin. Streams: memory is bounded by the largest entity. Each entity's
/// text is handed on as it appears in the file. Throws UsageError naming the file and the
/// entity or line when the input is not valid (bad JSON, a bad transit value, not objects).
/// `on_entity` returns false to stop reading.
void read_entities(
    const std::string& path,
    const std::function<bool(std::string_view entity, std::size_t index)>& on_entity);

} // namespace sesam::harness
