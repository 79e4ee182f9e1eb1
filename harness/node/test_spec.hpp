#pragma once

#include "harness/node/python_json.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sesam::harness::node {

/// One `expected/*.test.json` as sesam-py's TestSpec reads it (docs/protocol.md#config-test-spec).
struct TestSpec {
    std::string name;      ///< the spec file's name without `.test.json`: `output-pipe1`
    std::string spec_file; ///< `expected/output-pipe1.test.json`, relative to the configuration
    std::string pipe;      ///< `pipe`, default: the name
    std::string file;      ///< `expected/` + `file` (default `<name>.json`), relative likewise
    std::string endpoint = "json";
    std::optional<std::string> stage; ///< none: `sink`
    bool ignore = false;              ///< only a JSON `true` counts, as `is True` in sesam-py
    bool ignore_deletes = true;       ///< likewise: anything but `true` turns it off
    std::vector<std::string> blacklist;
    /// `fields_to_sort_by`, default `["_id"]`; a string is taken letter by letter, as Python
    /// iterates it.
    std::vector<std::string> fields_to_sort_by{"_id"};

    /// Whether sesam-py's blacklist drops the property at `path` (keys from the entity's root;
    /// list indexes are not part of it): the path joined with `.`, `\.` read as `.`, matched with
    /// fnmatch against each pattern with `[].` read as `.*.`
    /// (docs/protocol.md#config-verify, step 2).
    bool blacklisted(const std::vector<std::string>& path) const;
};

/// Reads every `expected/*.test.json` of the configuration folder `root` (not subfolders, as
/// sesam-py's glob), sorted by file name; none when there is no `expected/`. A spec may be `{}`.
/// Throws ConfigError `FILE:LINE:COL: …` for bad JSON and `FILE: /key: …` for a spec that is
/// not an object, a key of the wrong type or a stage the node does not have.
std::vector<TestSpec> load_test_specs(const std::filesystem::path& root);

/// Reads a JSON file as Python's `json.load(open(…, encoding="utf-8-sig"))` does: a BOM
/// skipped. Throws ConfigError naming `shown` (with line and column for bad JSON).
py::Value read_python_json_file(const std::filesystem::path& path, const std::string& shown);

/// Python's `fnmatch.fnmatchcase(name, pattern)`: `*` any text, `?` one character, `[abc]`,
/// `[a-z]` and `[!abc]` classes, everything else literal; characters are code points.
bool fnmatch(std::string_view name, std::string_view pattern);

} // namespace sesam::harness::node
