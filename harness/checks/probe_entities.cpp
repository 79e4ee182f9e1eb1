#include "harness/checks/probe_entities.hpp"

#include "emulator/entity/run_seed.hpp"
#include "emulator/store/dataset_store.hpp"

#include <algorithm>
#include <chrono>

namespace sesam::harness {

namespace {

std::int64_t now_micros()
{
    return emulator::run_clock_micros(); // the system clock, or --seed's
}

bool is_dataset_field(const std::string& key)
{
    return key == "_updated" || key == "_previous" || key == "_ts" || key == "_hash";
}

} // namespace

ProbeJson ProbeDataset::version(const ProbeJson& content)
{
    const auto id = content.at("_id").get<std::string>();
    const auto deleted = content.contains("_deleted") && content["_deleted"] == true;
    // docs/protocol.md#reserved-fields: the dataset's fields first, then the entity's own (as
    // DatasetStore writes them)
    ProbeJson out = ProbeJson::object();
    out["_id"] = id;
    out["_deleted"] = deleted;
    const auto updated = next_updated_++;
    out["_updated"] = updated;
    if (auto before = latest(id))
        out["_previous"] = *before;
    else
        out["_previous"] = nullptr;
    last_ts_ = std::max(now_micros(), last_ts_ + 1);
    out["_ts"] = last_ts_;
    out["_hash"] = emulator::entity_hash(content.dump());
    for (const auto& [key, value] : content.items())
        if (!key.starts_with('_'))
            out[key] = value;
    latest_[id] = updated;
    return out;
}

std::optional<std::int64_t> ProbeDataset::latest(const std::string& id) const
{
    if (auto it = latest_.find(id); it != latest_.end())
        return it->second;
    return std::nullopt;
}

ProbeJson without_dataset_fields(ProbeJson entity)
{
    for (auto it = entity.begin(); it != entity.end();) {
        if (is_dataset_field(it.key()))
            it = entity.erase(it);
        else
            ++it;
    }
    return entity;
}

ProbeJson without_dataset_fields_each(const ProbeJson& batch)
{
    auto out = ProbeJson::array();
    for (const auto& e : batch)
        out.push_back(without_dataset_fields(e));
    return out;
}

} // namespace sesam::harness
