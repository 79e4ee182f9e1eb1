#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace sesam::harness::node {

/// Configuration entities keep the order of their keys as written (plans and environments are
/// printed in that order).
using Json = nlohmann::ordered_json;

/// A configuration that cannot be used (exit 2). Each line of the message names the file and the
/// JSON path: `pipes/crm.conf.json: /source/system: no system "crm-ms"`.
class ConfigError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
    /// Several problems found at once (every undefined variable, say): one line each.
    explicit ConfigError(const std::vector<std::string>& lines);
};

/// Where a value of the configuration was read: the file (relative to CONFIG) and the JSON
/// pointer (RFC 6901) of the entity in it ("" for a file holding one object, "/3" for the fourth
/// entity of a single-file array).
struct Origin {
    std::string file;
    std::string pointer;

    /// `FILE: POINTER/relative: what` (the pointer `/` when both are empty).
    std::string at(const std::string& relative, const std::string& what) const;
};

/// One configuration entity as read, before variables are expanded.
struct ConfigEntity {
    std::string id;
    std::string type; ///< `pipe`, `metadata` or `system:KIND`
    Origin origin;
    Json json;
};

/// A node configuration as read from CONFIG (docs/protocol.md#config-layout, #config-pipe-shape).
struct NodeConfig {
    std::filesystem::path root; ///< the folder; for a single file, the folder holding it
    std::optional<ConfigEntity> metadata;
    std::vector<ConfigEntity> systems; ///< in file order
    std::vector<ConfigEntity> pipes;   ///< in file order

    const ConfigEntity* system(const std::string& id) const;
    const ConfigEntity* pipe(const std::string& id) const;
};

/// Reads CONFIG: a folder in sesam-py's layout (`node-metadata.conf.json`, `pipes/**/*.conf.json`,
/// `systems/**/*.conf.json`, one object per file) or one JSON file holding an array of config
/// entities (the older single-file form). A UTF-8 BOM is skipped. With `whitelist_file`
/// (sesam-py's format: one relative path per line), only the files it lists are read. Throws
/// ConfigError: unreadable or bad JSON (with line and column), an entity without `_id` or
/// `type`, an unknown `type`, an `_id` a node refuses, duplicate `_id`s.
NodeConfig load_config(const std::filesystem::path& config,
                       const std::optional<std::filesystem::path>& whitelist_file = std::nullopt);

/// The JSON pointer token for `key` (RFC 6901: `~` → `~0`, `/` → `~1`).
std::string pointer_token(const std::string& key);

/// The whole text of a file, a UTF-8 BOM skipped (sesam-py opens files as utf-8-sig); throws
/// ConfigError `SHOWN: cannot be read`.
std::string read_config_text(const std::filesystem::path& path, const std::string& shown);

/// Reads a whole JSON file (a BOM skipped); throws ConfigError `FILE:LINE:COLUMN: …` naming it as
/// `shown` for bad JSON or a file that cannot be read.
Json read_json_file(const std::filesystem::path& path, const std::string& shown);

} // namespace sesam::harness::node
