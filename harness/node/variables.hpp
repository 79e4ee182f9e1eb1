#pragma once

#include "harness/node/config.hpp"

#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace sesam::harness::node {

/// Where the values of `$ENV(...)` and `$SECRET(...)` come from
/// (docs/protocol.md#config-variables-local).
struct VariableSources {
    std::string profile = "test";                          ///< reads `<profile>-env.json` in CONFIG
    std::vector<std::filesystem::path> variable_files;     ///< JSON objects; later wins
    std::vector<std::pair<std::string, std::string>> vars; ///< `--var NAME=VALUE`, wins over both
    /// JSON objects of global secrets, optionally with `{"systems": {"<id>": {…}}}` whose
    /// system-local values win for that system (as on a node).
    std::vector<std::filesystem::path> secrets_files;
    std::vector<std::pair<std::string, std::string>> secrets; ///< `--secret NAME=VALUE`
    bool allow_undefined = false; ///< leave an undefined reference as written
};

/// The variables and secrets of one run.
struct Variables {
    Json env = Json::object();     ///< name → JSON value (a whole-value reference keeps its type)
    Json secrets = Json::object(); ///< global secrets: name → string
    std::map<std::string, Json> system_secrets; ///< system id → {name → string}
    bool allow_undefined = false;
};

/// Reads the sources: `<profile>-env.json` in `root` (missing is fine for the default profile
/// `test`, an error for a profile that was asked for by name when `profile_given`), the
/// variable files, --var, the secrets files and --secret. Throws ConfigError naming the file.
Variables load_variables(const std::filesystem::path& root,
                         const VariableSources& sources,
                         bool profile_given);

/// Expands variables and resolves the conditional parts of configuration entities, in the
/// node's order (docs/protocol.md#config-conclusions): `$ENV`/`$SECRET`, then
/// `$conditional_properties`, then `conditional` sources, sinks and transforms (those are resolved
/// by the plan). Problems are collected, one line each naming the file and the JSON path, so that
/// every undefined name is listed at once.
class Expander {
public:
    explicit Expander(const Variables& variables) : variables_(variables) {}

    /// `entity`'s JSON with every reference expanded (docs/protocol.md#config-variables-syntax): a
    /// string that is one whole reference takes the value's JSON type; several references, or text
    /// around one, make a string (non-string values as their JSON text). `$SECRET` is allowed only
    /// in systems (docs/protocol.md#config-variables-where; in a pipe it is left alone inside a
    /// `dtl` transform, whose encryption functions may take one, since sesam-emu does not run DTL).
    /// Then `$conditional_properties` blocks are applied
    /// (docs/protocol.md#config-conditional-properties).
    Json expand(const ConfigEntity& entity);

    /// Every problem found so far: undefined names, `$SECRET` outside a system, a condition
    /// with no alternative. Empty when all went well.
    const std::vector<std::string>& problems() const { return problems_; }
    /// The problems found so far, handed over (so that they can be listed in file order).
    std::vector<std::string> take_problems() { return std::exchange(problems_, {}); }
    /// The secret values that were substituted, for the redactor: none may reach an output.
    const std::vector<std::string>& secret_values() const { return secret_values_; }

private:
    Json expand_value(const Json& value, const std::string& pointer);
    Json expand_string(const std::string& text, const std::string& pointer);
    void apply_conditional_properties(Json& value, const std::string& pointer, bool root);

    const Variables& variables_;
    const ConfigEntity* entity_ = nullptr;
    bool is_system_ = false;
    bool secrets_left_alone_ = false; ///< inside a dtl transform of a pipe
    std::vector<std::string> problems_;
    std::vector<std::string> secret_values_;
};

/// Resolves a `conditional` source, sink or transform
/// (docs/protocol.md#config-conditional-sources): the alternative named by its (expanded)
/// `condition`, again while that is conditional. `pointer` is where `component` is, and becomes
/// where the chosen alternative is. Returns the problem, if any.
std::optional<std::string>
resolve_conditional(Json& component, std::string& pointer, const Origin& origin);

} // namespace sesam::harness::node
