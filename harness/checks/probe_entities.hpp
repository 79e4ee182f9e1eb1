#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace sesam::harness {

/// Probe entities keep the key order a dataset writes them in.
using ProbeJson = nlohmann::ordered_json;

/// The entities the sink and transform checks send, shaped as a dataset hands them on
/// (docs/protocol.md#reserved-fields): a dataset sink pipe sends every entity with the dataset's
/// own `_updated`, `_previous`, `_ts` and `_hash`, so a receiver may rely on them and a check that
/// left them out would be refused for a reason Sesam never gives.
class ProbeDataset {
public:
    /// `content` (an object with a string `_id`, and `_deleted: true` for a deletion) as the next
    /// version of its entity: `_id`, `_deleted` (a boolean), `_updated` (this dataset's counter,
    /// from 0), `_previous` (the `_updated` of this `_id`'s version before, or null), `_ts`
    /// (microseconds, increasing) and `_hash` (as the dataset store computes it), then the
    /// content's own fields in their order. Root `_` fields of `content` are replaced.
    ProbeJson version(const ProbeJson& content);

    /// The `_updated` of the latest version of `id`, if this dataset made one.
    std::optional<std::int64_t> latest(const std::string& id) const;

private:
    std::int64_t next_updated_ = 0;
    std::int64_t last_ts_ = 0;
    std::map<std::string, std::int64_t> latest_;
};

/// `entity` without the dataset's `_updated`, `_previous`, `_ts` and `_hash` (what a check sends
/// to tell whether those fields are what a receiver refuses).
ProbeJson without_dataset_fields(ProbeJson entity);

/// Each entity of `batch` without the dataset's fields.
ProbeJson without_dataset_fields_each(const ProbeJson& batch);

} // namespace sesam::harness
