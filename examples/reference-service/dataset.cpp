#include "examples/reference-service/dataset.hpp"

#include "examples/reference-service/json_limit.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>

namespace sesam::reference {

namespace {

using json = nlohmann::ordered_json;

/// A dataset being read: the entities' texts joined by commas, and where each one starts and ends.
struct Builder {
    std::string text;
    std::vector<std::pair<std::size_t, std::size_t>> spans;
};

void add(Builder& out, json entity, const std::string& where)
{
    if (!entity.is_object())
        throw DatasetError(where + ": an entity must be a JSON object");
    auto id = entity.find("_id");
    if (id == entity.end())
        throw DatasetError(where + ": entity has no _id");
    if (!id->is_string())
        throw DatasetError(where + ": _id must be a string, got " + id->dump());
    // docs/protocol.md#reserved-fields: the source's change counter drives continuation
    entity["_updated"] = static_cast<std::int64_t>(out.spans.size());
    if (!out.spans.empty())
        out.text += ',';
    const auto begin = out.text.size();
    out.text += entity.dump();
    out.spans.emplace_back(begin, out.text.size());
}

/// Reads a JSON array of objects or JSON lines into `dataset`.
void read_entities(std::string_view text, const std::string& origin, Builder& dataset)
{
    const auto first = text.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos)
        return;
    if (text[first] == '[') {
        bool too_deep = false;
        auto all = parse_json<json>(text, too_deep);
        if (too_deep)
            throw DatasetError(origin + ": nested deeper than " + std::to_string(kMaxJsonDepth) +
                               " levels");
        if (all.is_discarded() || !all.is_array())
            throw DatasetError(origin + ": not a valid JSON array");
        for (std::size_t i = 0; i < all.size(); ++i)
            add(dataset, std::move(all[i]), origin + ": entity " + std::to_string(i));
        return;
    }
    // JSON lines: one entity per non-empty line.
    std::size_t line_no = 0;
    std::size_t pos = 0;
    while (pos <= text.size()) {
        auto end = text.find('\n', pos);
        if (end == std::string_view::npos)
            end = text.size();
        auto line = text.substr(pos, end - pos);
        ++line_no;
        pos = end + 1;
        if (line.find_first_not_of(" \t\r") == std::string_view::npos)
            continue;
        bool too_deep = false;
        auto entity = parse_json<json>(line, too_deep);
        const auto where = origin + ": line " + std::to_string(line_no);
        if (too_deep)
            throw DatasetError(where + ": nested deeper than " + std::to_string(kMaxJsonDepth) +
                               " levels");
        if (entity.is_discarded())
            throw DatasetError(where + ": not valid JSON");
        add(dataset, std::move(entity), where);
    }
}

} // namespace

Dataset Dataset::load(const std::string& path)
{
    // Read in one piece of the file's size: the service's peak memory while loading is then
    // the file and the dataset's text, not several copies of the file (service.memory.limit).
    std::ifstream in(path, std::ios::binary | std::ios::ate);
    if (!in)
        throw DatasetError("cannot read dataset " + path);
    std::string text(static_cast<std::size_t>(std::max<std::streamoff>(in.tellg(), 0)), '\0');
    in.seekg(0);
    if (!in.read(text.data(), static_cast<std::streamsize>(text.size())))
        throw DatasetError("cannot read dataset " + path);
    return parse(text, path);
}

Dataset Dataset::parse(std::string_view text, const std::string& origin)
{
    Builder built;
    // Room for the entities' texts as dumped (about the input's size, plus `_updated`) made once:
    // pages never written are not resident, and the text is not copied as it grows.
    built.text.reserve(text.size() + text.size() / 4 + 4096);
    read_entities(text, origin, built);
    // The views are taken once the text is complete: it no longer moves.
    Dataset dataset;
    auto shared = std::make_shared<const std::string>(std::move(built.text));
    dataset.entities_.reserve(built.spans.size());
    for (const auto& [begin, end] : built.spans)
        dataset.entities_.push_back({static_cast<std::int64_t>(dataset.entities_.size()),
                                     std::string_view(*shared).substr(begin, end - begin)});
    dataset.text_ = std::move(shared);
    return dataset;
}

std::span<const ServedEntity> Dataset::page(std::int64_t since, std::size_t limit) const
{
    auto first = std::upper_bound(
        entities_.begin(), entities_.end(), since, [](std::int64_t s, const ServedEntity& e) {
            return s < e.updated;
        });
    const auto available = static_cast<std::size_t>(entities_.end() - first);
    return {first, limit == 0 ? available : std::min(limit, available)};
}

std::vector<const ServedEntity*> Dataset::after(std::int64_t since, std::size_t limit) const
{
    const auto entities = page(since, limit);
    std::vector<const ServedEntity*> out;
    out.reserve(entities.size());
    for (const auto& e : entities)
        out.push_back(&e);
    return out;
}

std::string_view Dataset::text_after(std::int64_t since, std::size_t limit) const
{
    const auto entities = page(since, limit);
    if (entities.empty())
        return {};
    // Consecutive entities are consecutive in the text, one comma apart.
    const char* begin = entities.front().json.data();
    const char* end = entities.back().json.data() + entities.back().json.size();
    return {begin, static_cast<std::size_t>(end - begin)};
}

} // namespace sesam::reference
