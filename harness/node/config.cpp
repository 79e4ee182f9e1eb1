#include "harness/node/config.hpp"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <sstream>

namespace sesam::harness::node {

namespace fs = std::filesystem;

namespace {

std::string join_lines(const std::vector<std::string>& lines)
{
    std::string out;
    for (const auto& line : lines)
        out += (out.empty() ? "" : "\n") + line;
    return out;
}

/// `path` relative to `root`, with forward slashes, as a user wrote it in a whitelist.
std::string relative_name(const fs::path& path, const fs::path& root)
{
    return path.lexically_relative(root).generic_string();
}

/// The `*.conf.json` files under `folder` (subfolders too), sorted.
std::vector<fs::path> conf_files(const fs::path& folder)
{
    std::vector<fs::path> out;
    std::error_code ec;
    if (!fs::is_directory(folder, ec))
        return out;
    for (auto it = fs::recursive_directory_iterator(folder, ec);
         !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
        const auto name = it->path().filename().string();
        if (it->is_regular_file(ec) && name.size() > 10 &&
            name.compare(name.size() - 10, 10, ".conf.json") == 0)
            out.push_back(it->path());
    }
    if (ec)
        throw ConfigError(folder.string() + ": cannot be read: " + ec.message());
    std::sort(out.begin(), out.end());
    return out;
}

/// System ids are host names on the node's network
/// (docs/protocol.md#config-microservice-system): 2 to 63 letters, digits, `_` and `-`, starting
/// with a letter or digit.
bool valid_system_id(const std::string& id)
{
    if (id.size() < 2 || id.size() > 63 || !std::isalnum(static_cast<unsigned char>(id[0])))
        return false;
    return std::all_of(id.begin(), id.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
    });
}

std::set<std::string> read_whitelist(const fs::path& file)
{
    std::ifstream in(file);
    if (!in)
        throw ConfigError(file.string() + ": the whitelist file cannot be read");
    std::set<std::string> out;
    for (std::string line; std::getline(in, line);) {
        line.erase(0, line.find_first_not_of(" \t\r"));
        line.erase(line.find_last_not_of(" \t\r") + 1);
        if (!line.empty())
            out.insert(line);
    }
    return out;
}

class Loader {
public:
    explicit Loader(NodeConfig& config) : config_(config) {}

    /// Adds the entity at `json` read from `origin`.
    void add(Json json, Origin origin)
    {
        if (!json.is_object())
            fail(origin.at("", "a configuration entity must be a JSON object"));
        const auto id = json.find("_id");
        if (id == json.end() || !id->is_string() || id->get<std::string>().empty())
            fail(origin.at("/_id", "missing: every configuration entity needs an _id string"));
        const auto type = json.find("type");
        if (type == json.end() || !type->is_string())
            fail(origin.at("/type", "missing: every configuration entity needs a type string"));
        ConfigEntity entity{
            id->get<std::string>(), type->get<std::string>(), std::move(origin), std::move(json)};
        if (entity.type == "pipe") {
            if (entity.id.find('/') != std::string::npos)
                fail(entity.origin.at("/_id", "\"" + entity.id + "\": a pipe _id may not hold /"));
            unique(pipe_ids_, entity, "pipe");
            config_.pipes.push_back(std::move(entity));
        } else if (entity.type.rfind("system:", 0) == 0 && entity.type.size() > 7) {
            if (!valid_system_id(entity.id))
                fail(entity.origin.at("/_id",
                                      "\"" + entity.id +
                                          "\": a system _id is 2 to 63 letters, digits, _ and -, "
                                          "starting with a letter or digit (it is a host name)"));
            unique(system_ids_, entity, "system");
            config_.systems.push_back(std::move(entity));
        } else if (entity.type == "metadata") {
            if (config_.metadata)
                fail(entity.origin.at("/type",
                                      "a second metadata entity (the first is in " +
                                          config_.metadata->origin.file + ")"));
            config_.metadata = std::move(entity);
        } else {
            fail(entity.origin.at("/type",
                                  "unknown type \"" + entity.type +
                                      "\" (a configuration entity is a pipe, a "
                                      "system:KIND or the metadata)"));
        }
    }

private:
    [[noreturn]] static void fail(const std::string& line) { throw ConfigError(line); }

    void unique(std::map<std::string, Origin>& seen, const ConfigEntity& entity, const char* kind)
    {
        const auto [it, fresh] = seen.emplace(entity.id, entity.origin);
        if (!fresh)
            fail(entity.origin.at("/_id",
                                  std::string("duplicate ") + kind + " _id \"" + entity.id +
                                      "\" (also in " + it->second.file +
                                      (it->second.pointer.empty() ? "" : " at ") +
                                      it->second.pointer + ")"));
    }

    NodeConfig& config_;
    std::map<std::string, Origin> pipe_ids_;
    std::map<std::string, Origin> system_ids_;
};

} // namespace

ConfigError::ConfigError(const std::vector<std::string>& lines)
    : std::runtime_error(join_lines(lines))
{
}

std::string Origin::at(const std::string& relative, const std::string& what) const
{
    const auto pointer_text = pointer + relative;
    return file + ": " + (pointer_text.empty() ? "/" : pointer_text) + ": " + what;
}

const ConfigEntity* NodeConfig::system(const std::string& id) const
{
    for (const auto& s : systems)
        if (s.id == id)
            return &s;
    return nullptr;
}

const ConfigEntity* NodeConfig::pipe(const std::string& id) const
{
    for (const auto& p : pipes)
        if (p.id == id)
            return &p;
    return nullptr;
}

std::string pointer_token(const std::string& key)
{
    std::string out;
    for (const char c : key) {
        if (c == '~')
            out += "~0";
        else if (c == '/')
            out += "~1";
        else
            out += c;
    }
    return out;
}

std::string read_config_text(const fs::path& path, const std::string& shown)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw ConfigError(shown + ": cannot be read");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad())
        throw ConfigError(shown + ": cannot be read");
    // sesam-py tolerates a UTF-8 BOM (docs/protocol.md#config-variables-local)
    if (text.rfind("\xEF\xBB\xBF", 0) == 0)
        text.erase(0, 3);
    return text;
}

Json read_json_file(const fs::path& path, const std::string& shown)
{
    const auto text = read_config_text(path, shown);
    try {
        return Json::parse(text);
    } catch (const nlohmann::json::parse_error& e) {
        // Line and column of the byte the parser stopped at (1-based, as editors count).
        const auto end = std::min<std::size_t>(e.byte == 0 ? 0 : e.byte - 1, text.size());
        const auto line = 1 + std::count(text.begin(), text.begin() + end, '\n');
        const auto line_start = text.rfind('\n', end == 0 ? 0 : end - 1);
        const auto column = end - (line_start == std::string::npos ? 0 : line_start + 1) + 1;
        std::string what = e.what();
        if (const auto colon = what.find(": ", what.find("parse error"));
            colon != std::string::npos)
            what = what.substr(colon + 2);
        throw ConfigError(shown + ":" + std::to_string(line) + ":" + std::to_string(column) +
                          ": invalid JSON: " + what);
    } catch (const nlohmann::json::exception& e) {
        // Found by the node_config fuzz target: a number past a double's range is not a
        // parse_error (out_of_range 406), and ended the process.
        std::string what = e.what();
        if (const auto bracket = what.find("] "); bracket != std::string::npos)
            what = what.substr(bracket + 2);
        throw ConfigError(shown + ": invalid JSON: " + what);
    }
}

NodeConfig load_config(const fs::path& config, const std::optional<fs::path>& whitelist_file)
{
    NodeConfig out;
    Loader loader(out);
    std::error_code ec;
    if (!fs::exists(config, ec))
        throw ConfigError(config.string() + ": no such file or folder");
    std::optional<std::set<std::string>> whitelist;
    if (whitelist_file)
        whitelist = read_whitelist(*whitelist_file);

    if (!fs::is_directory(config, ec)) {
        out.root = config.parent_path().empty() ? fs::path(".") : config.parent_path();
        const auto shown = config.filename().string();
        auto all = read_json_file(config, shown);
        if (all.is_object()) {
            loader.add(std::move(all), Origin{shown, ""});
        } else if (all.is_array()) {
            for (std::size_t i = 0; i < all.size(); ++i)
                loader.add(std::move(all[i]), Origin{shown, "/" + std::to_string(i)});
        } else {
            throw ConfigError(shown + ": /: a configuration is an array of configuration "
                                      "entities (or a folder in sesam-py's layout)");
        }
        return out;
    }

    out.root = config;
    const auto metadata = config / "node-metadata.conf.json";
    auto pipes = conf_files(config / "pipes");
    auto systems = conf_files(config / "systems");
    const bool has_metadata = fs::is_regular_file(metadata, ec);
    if (!has_metadata && pipes.empty() && systems.empty())
        throw ConfigError(config.string() + ": not a Sesam configuration: no pipes/, systems/ or "
                                            "node-metadata.conf.json in it");
    std::set<std::string> read;
    auto take = [&](const fs::path& file) {
        const auto name = relative_name(file, config);
        if (whitelist && !whitelist->count(name))
            return;
        read.insert(name);
        loader.add(read_json_file(file, name), Origin{name, ""});
    };
    if (has_metadata)
        take(metadata);
    for (const auto& file : systems)
        take(file);
    for (const auto& file : pipes)
        take(file);
    if (whitelist)
        for (const auto& name : *whitelist)
            if (!read.count(name))
                throw ConfigError(whitelist_file->string() + ": \"" + name +
                                  "\" is not a configuration file of " + config.string());
    return out;
}

} // namespace sesam::harness::node
