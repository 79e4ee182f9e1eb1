#pragma once

#include "emulator/store/dataset_store.hpp"

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

/// Reads the entities of `path` (as read_entities does) into `load`. Reading, checking and hashing
/// run on a second thread, a few batches ahead of the writing on this one (the load's SQLite
/// connection stays on this thread; memory stays flat). Throws UsageError naming the input and
/// the entity for a bad one, Interrupted for SIGINT/SIGTERM, and whatever the load throws; the
/// caller's load is then rolled back by its destructor. When the load fails, the reader stops
/// at its next entity; a read that is blocked (a pipe nobody writes) ends only with the input or
/// with SIGINT/SIGTERM.
void load_entities(const std::string& path, emulator::DatasetStore::Load& load);

} // namespace sesam::harness
