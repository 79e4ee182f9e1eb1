#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace sesam::reference {

/// A dataset file that cannot be used: the message names the file and the place.
class DatasetError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// One entity as served: its `_updated` and its JSON text (with `_updated` set), a view of the
/// text its Dataset keeps.
struct ServedEntity {
    std::int64_t updated = 0;
    std::string_view json;
};

/// The entities a reference source serves, in `_updated` order.
///
/// A source owns its change order: the service numbers the entities 0, 1, 2, … in file order and
/// writes that number into `_updated` (replacing any value in the file), which makes the source
/// chronological with integer offsets (docs/protocol.md#pull-continuation). Entities with
/// `_deleted: true` are served as tombstones (docs/protocol.md#pull-full-incremental).
class Dataset {
public:
    /// Reads a JSON array of objects or JSON lines (one object per line). Every entity needs a
    /// string `_id`. Throws DatasetError naming the file, and the line or index.
    static Dataset load(const std::string& path);

    /// Same, from text already in memory; `origin` names it in errors.
    static Dataset parse(std::string_view text, const std::string& origin);

    /// The entities with `_updated` greater than `since` (exclusive,
    /// docs/protocol.md#pull-request), at most `limit` of them (0 = no limit,
    /// docs/protocol.md#pull-paging).
    std::vector<const ServedEntity*> after(std::int64_t since, std::size_t limit) const;

    /// The same entities as one view of the dataset's text: their JSON texts joined by commas,
    /// a page ready to be served between brackets without being copied. Valid as long as the
    /// dataset or a copy of it lives.
    std::string_view text_after(std::int64_t since, std::size_t limit) const;

    /// Every entity, in order.
    const std::vector<ServedEntity>& entities() const noexcept { return entities_; }

private:
    /// The entities after() answers, consecutive.
    std::span<const ServedEntity> page(std::int64_t since, std::size_t limit) const;

    /// The serialized entities in order, joined by commas. Shared and never changed: copies of a
    /// dataset view the same text.
    std::shared_ptr<const std::string> text_;
    std::vector<ServedEntity> entities_;
};

} // namespace sesam::reference
