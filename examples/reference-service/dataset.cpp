#include "examples/reference-service/dataset.hpp"

#include "examples/reference-service/json_limit.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <sstream>

namespace sesam::reference {

namespace {

using json = nlohmann::ordered_json;

void add(std::vector<ServedEntity>& out, json entity, const std::string& where)
{
    if (!entity.is_object())
        throw DatasetError(where + ": an entity must be a JSON object");
    auto id = entity.find("_id");
    if (id == entity.end())
        throw DatasetError(where + ": entity has no _id");
    if (!id->is_string())
        throw DatasetError(where + ": _id must be a string, got " + id->dump());
    const auto updated = static_cast<std::int64_t>(out.size());
    entity["_updated"] = updated; // spec §2.1: the source's change counter drives continuation
    out.push_back({updated, entity.dump()});
}

} // namespace

Dataset Dataset::load(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw DatasetError("cannot read dataset " + path);
    std::ostringstream text;
    text << in.rdbuf();
    return parse(text.str(), path);
}

Dataset Dataset::parse(std::string_view text, const std::string& origin)
{
    Dataset dataset;
    const auto first = text.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos)
        return dataset;
    if (text[first] == '[') {
        bool too_deep = false;
        auto all = parse_json<json>(text, too_deep);
        if (too_deep)
            throw DatasetError(origin + ": nested deeper than " + std::to_string(kMaxJsonDepth) +
                               " levels");
        if (all.is_discarded() || !all.is_array())
            throw DatasetError(origin + ": not a valid JSON array");
        for (std::size_t i = 0; i < all.size(); ++i)
            add(dataset.entities_, std::move(all[i]), origin + ": entity " + std::to_string(i));
        return dataset;
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
        add(dataset.entities_, std::move(entity), where);
    }
    return dataset;
}

std::vector<const ServedEntity*> Dataset::after(std::int64_t since, std::size_t limit) const
{
    auto it = std::upper_bound(entities_.begin(),
                               entities_.end(),
                               since,
                               [](std::int64_t s, const ServedEntity& e) { return s < e.updated; });
    std::vector<const ServedEntity*> out;
    for (; it != entities_.end() && (limit == 0 || out.size() < limit); ++it)
        out.push_back(&*it);
    return out;
}

} // namespace sesam::reference
