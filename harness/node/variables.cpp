#include "harness/node/variables.hpp"

#include <algorithm>

namespace sesam::harness::node {

namespace fs = std::filesystem;

namespace {

/// Whether `component` is an object whose `type` is the string `type` (a `type` of another
/// JSON type is not: found by the node_config fuzz target, where `json::value` threw).
bool has_type(const Json& component, std::string_view type)
{
    if (!component.is_object())
        return false;
    const auto it = component.find("type");
    return it != component.end() && it->is_string() && it->get_ref<const std::string&>() == type;
}

Json read_object(const fs::path& path, const std::string& what)
{
    auto value = read_json_file(path, path.string());
    if (!value.is_object())
        throw ConfigError(path.string() + ": /: " + what + " is a JSON object of names and values");
    return value;
}

void merge_into(Json& target, const Json& source)
{
    for (const auto& [name, value] : source.items())
        target[name] = value;
}

/// A secret is a string; a secrets file may give other JSON, which is used as its text.
std::string secret_text(const Json& value)
{
    return value.is_string() ? value.get<std::string>() : value.dump();
}

/// The text a value takes inside a composed string (docs/protocol.md#config-variables-syntax).
std::string as_text(const Json& value)
{
    return value.is_string() ? value.get<std::string>() : value.dump();
}

} // namespace

Variables load_variables(const fs::path& root, const VariableSources& sources, bool profile_given)
{
    Variables out;
    out.allow_undefined = sources.allow_undefined;
    const auto profile_file = root / (sources.profile + "-env.json");
    std::error_code ec;
    if (fs::exists(profile_file, ec))
        merge_into(out.env, read_object(profile_file, "a profile's variables file"));
    else if (profile_given)
        throw ConfigError(profile_file.string() + ": no such file (--profile " + sources.profile +
                          ")");
    for (const auto& file : sources.variable_files)
        merge_into(out.env, read_object(file, "a variables file"));
    for (const auto& [name, value] : sources.vars)
        out.env[name] = value;

    for (const auto& file : sources.secrets_files) {
        auto all = read_object(file, "a secrets file");
        for (auto& [name, value] : all.items()) {
            if (name != "systems") {
                out.secrets[name] = secret_text(value);
                continue;
            }
            if (!value.is_object())
                throw ConfigError(file.string() +
                                  ": /systems: system-local secrets are an object of system ids, "
                                  "each an object of names and values");
            for (auto& [system, locals] : value.items()) {
                if (!locals.is_object())
                    throw ConfigError(file.string() + ": /systems/" + pointer_token(system) +
                                      ": an object of names and values");
                auto& target = out.system_secrets[system];
                if (!target.is_object())
                    target = Json::object();
                for (auto& [n, v] : locals.items())
                    target[n] = secret_text(v);
            }
        }
    }
    for (const auto& [name, value] : sources.secrets)
        out.secrets[name] = value;
    return out;
}

Json Expander::expand(const ConfigEntity& entity)
{
    entity_ = &entity;
    is_system_ = entity.type.rfind("system:", 0) == 0;
    secrets_left_alone_ = false;
    auto out = Json::object();
    for (const auto& [key, value] : entity.json.items()) {
        const auto pointer = "/" + pointer_token(key);
        if (!is_system_ && entity.type == "pipe" && key == "transform") {
            // A dtl transform may hold $SECRET for its encryption functions
            // (docs/protocol.md#config-variables-where); sesam-emu does not run it, so it is left
            // as written.
            auto transforms = value.is_array() ? value : Json::array({value});
            auto expanded = Json::array();
            for (std::size_t i = 0; i < transforms.size(); ++i) {
                const auto& t = transforms[i];
                secrets_left_alone_ = has_type(t, "dtl");
                expanded.push_back(expand_value(
                    t, value.is_array() ? pointer + "/" + std::to_string(i) : pointer));
                secrets_left_alone_ = false;
            }
            out[key] = value.is_array() ? std::move(expanded) : std::move(expanded[0]);
            continue;
        }
        out[key] = expand_value(value, pointer);
    }
    apply_conditional_properties(out, "", true);
    entity_ = nullptr;
    return out;
}

Json Expander::expand_value(const Json& value, const std::string& pointer)
{
    if (value.is_string())
        return expand_string(value.get<std::string>(), pointer);
    if (value.is_array()) {
        auto out = Json::array();
        for (std::size_t i = 0; i < value.size(); ++i)
            out.push_back(expand_value(value[i], pointer + "/" + std::to_string(i)));
        return out;
    }
    if (value.is_object()) {
        auto out = Json::object();
        for (const auto& [key, v] : value.items())
            out[key] = expand_value(v, pointer + "/" + pointer_token(key));
        return out;
    }
    return value;
}

Json Expander::expand_string(const std::string& text, const std::string& pointer)
{
    // docs/protocol.md#config-variables-syntax: `$ENV(name)` and `$SECRET(name)`, any number in one
    // string, never nested; no escape is documented.
    struct Reference {
        std::size_t begin, end; // [begin, end) in text
        bool secret;
        std::string name;
    };
    std::vector<Reference> refs;
    for (std::size_t pos = text.find('$'); pos != std::string::npos;
         pos = text.find('$', pos + 1)) {
        const bool env = text.compare(pos, 5, "$ENV(") == 0;
        const bool secret = !env && text.compare(pos, 8, "$SECRET(") == 0;
        if (!env && !secret)
            continue;
        const auto open = pos + (env ? 5 : 8);
        const auto close = text.find(')', open);
        if (close == std::string::npos)
            break;
        refs.push_back({pos, close + 1, secret, text.substr(open, close - open)});
        pos = close;
    }
    if (refs.empty())
        return text;

    auto lookup = [&](const Reference& r) -> std::optional<Json> {
        if (!r.secret) {
            if (const auto it = variables_.env.find(r.name); it != variables_.env.end())
                return *it;
            if (variables_.allow_undefined)
                return std::nullopt;
            problems_.push_back(
                entity_->origin.at(pointer,
                                   "$ENV(" + r.name + ") is not defined (give it in " +
                                       "the profile's -env.json, --variables or --var)"));
            return std::nullopt;
        }
        if (!is_system_) {
            if (secrets_left_alone_)
                return std::nullopt;
            problems_.push_back(
                entity_->origin.at(pointer,
                                   "$SECRET(" + r.name +
                                       ") is allowed only in systems "
                                       "(docs/protocol.md#config-variables-where: secrets "
                                       "apply to system configuration entities)"));
            return std::nullopt;
        }
        // A system-local secret wins over a global one of the same name
        // (docs/protocol.md#config-variables-syntax).
        if (const auto local = variables_.system_secrets.find(entity_->id);
            local != variables_.system_secrets.end())
            if (const auto it = local->second.find(r.name); it != local->second.end())
                return *it;
        if (const auto it = variables_.secrets.find(r.name); it != variables_.secrets.end())
            return *it;
        if (variables_.allow_undefined)
            return std::nullopt;
        problems_.push_back(entity_->origin.at(
            pointer,
            "$SECRET(" + r.name + ") is not defined (give it in --secrets-file or " + "--secret)"));
        return std::nullopt;
    };
    auto remember = [&](const Reference& r, const Json& value) {
        if (!r.secret)
            return;
        const auto text_value = as_text(value);
        if (!text_value.empty() &&
            std::find(secret_values_.begin(), secret_values_.end(), text_value) ==
                secret_values_.end())
            secret_values_.push_back(text_value);
    };

    if (refs.size() == 1 && refs[0].begin == 0 && refs[0].end == text.size()) {
        auto value = lookup(refs[0]);
        if (!value)
            return text; // left as written (reported unless allowed)
        remember(refs[0], *value);
        return *value;
    }
    std::string out;
    std::size_t copied = 0;
    for (const auto& r : refs) {
        out += text.substr(copied, r.begin - copied);
        if (auto value = lookup(r)) {
            remember(r, *value);
            out += as_text(*value);
        } else {
            out += text.substr(r.begin, r.end - r.begin);
        }
        copied = r.end;
    }
    out += text.substr(copied);
    return out;
}

void Expander::apply_conditional_properties(Json& value, const std::string& pointer, bool root)
{
    if (value.is_array()) {
        for (std::size_t i = 0; i < value.size(); ++i)
            apply_conditional_properties(value[i], pointer + "/" + std::to_string(i), false);
        return;
    }
    if (!value.is_object())
        return;
    // docs/protocol.md#config-conditional-properties: the chosen block replaces same-level
    // properties (no merge); blocks may nest; not inside transforms or embedded data.
    for (int round = 0; value.contains("$conditional_properties") && round < 64; ++round) {
        const auto here = pointer + "/$conditional_properties";
        auto block = value["$conditional_properties"];
        value.erase("$conditional_properties");
        if (!block.is_object() || !block.contains("condition") || !block.contains("alternatives") ||
            !block["alternatives"].is_object()) {
            problems_.push_back(
                entity_->origin.at(here, "needs a condition and an object of alternatives"));
            return;
        }
        const auto& condition = block["condition"];
        const auto key = condition.is_string() ? condition.get<std::string>() : condition.dump();
        const auto chosen = block["alternatives"].find(key);
        if (chosen == block["alternatives"].end()) {
            std::string names;
            for (const auto& [name, _] : block["alternatives"].items())
                names += (names.empty() ? "" : ", ") + name;
            problems_.push_back(entity_->origin.at(
                here + "/condition",
                "\"" + key + "\" has no alternative (there are: " + names + ")"));
            return;
        }
        if (!chosen->is_object()) {
            problems_.push_back(entity_->origin.at(here + "/alternatives/" + pointer_token(key),
                                                   "an alternative is an object of properties"));
            return;
        }
        for (const auto& [name, v] : chosen->items()) {
            if (root && (name == "_id" || name == "type")) {
                problems_.push_back(
                    entity_->origin.at(here + "/alternatives/" + pointer_token(key) + "/" + name,
                                       "$conditional_properties cannot set the root " + name));
                continue;
            }
            value[name] = v;
        }
    }
    for (auto& [key, child] : value.items()) {
        if (key == "transform" || key == "entities")
            continue; // not supported there (docs/protocol.md#config-conditional-properties)
        apply_conditional_properties(child, pointer + "/" + pointer_token(key), false);
    }
}

std::optional<std::string>
resolve_conditional(Json& component, std::string& pointer, const Origin& origin)
{
    for (int depth = 0; has_type(component, "conditional"); ++depth) {
        if (depth > 16)
            return origin.at(pointer, "conditionals nested more than 16 deep");
        if (!component.contains("condition") || !component.contains("alternatives") ||
            !component["alternatives"].is_object())
            return origin.at(pointer,
                             "a conditional needs a condition and an object of "
                             "alternatives (docs/protocol.md#config-conditional-sources)");
        const auto& condition = component["condition"];
        const auto key = condition.is_string() ? condition.get<std::string>() : condition.dump();
        auto& alternatives = component["alternatives"];
        const auto chosen = alternatives.find(key);
        if (chosen == alternatives.end()) {
            std::string names;
            for (const auto& [name, _] : alternatives.items())
                names += (names.empty() ? "" : ", ") + name;
            return origin.at(pointer + "/condition",
                             "\"" + key + "\" has no alternative (there are: " + names +
                                 "; every value of the condition needs one)");
        }
        pointer += "/alternatives/" + pointer_token(key);
        Json next = std::move(*chosen);
        component = std::move(next);
    }
    return std::nullopt;
}

} // namespace sesam::harness::node
