#include "harness/node/test_spec.hpp"

#include "harness/node/config.hpp"

#include <algorithm>

namespace sesam::harness::node {

namespace fs = std::filesystem;

namespace {

/// Code points of UTF-8 text (invalid bytes stand for themselves, so nothing is lost).
std::u32string code_points(std::string_view s)
{
    std::u32string out;
    for (std::size_t i = 0; i < s.size();) {
        const auto b0 = static_cast<unsigned char>(s[i]);
        const std::size_t n = b0 < 0x80 ? 1 : b0 >= 0xF0 ? 4 : b0 >= 0xE0 ? 3 : b0 >= 0xC0 ? 2 : 1;
        if (n == 1 || i + n > s.size()) {
            out += b0;
            ++i;
            continue;
        }
        char32_t cp = n == 2 ? (b0 & 0x1Fu) : n == 3 ? (b0 & 0x0Fu) : (b0 & 0x07u);
        for (std::size_t k = 1; k < n; ++k)
            cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3Fu);
        out += cp;
        i += n;
    }
    return out;
}

/// One element of a translated fnmatch pattern.
struct Token {
    enum class Kind { literal, any, star, set, never } kind = Kind::literal;
    char32_t c = 0;
    bool negated = false;
    std::vector<std::pair<char32_t, char32_t>> ranges; ///< set: single characters are [c, c]

    bool matches(char32_t x) const
    {
        switch (kind) {
        case Kind::literal:
            return x == c;
        case Kind::any:
            return true;
        case Kind::set: {
            const bool in = std::any_of(ranges.begin(), ranges.end(), [x](const auto& r) {
                return r.first <= x && x <= r.second;
            });
            return in != negated;
        }
        default:
            return false;
        }
    }

    static Token of(Kind kind, char32_t c = 0)
    {
        Token t;
        t.kind = kind;
        t.c = c;
        return t;
    }
};

/// The class `[…]` whose content (between the brackets) is `stuff`, as fnmatch.translate reads
/// it: ranges between chunks split at `-`, reversed ranges dropped, other hyphens literal.
Token bracket(const std::u32string& stuff)
{
    Token t;
    t.kind = Token::Kind::set;
    if (stuff.empty())
        return Token::of(Token::Kind::never);
    if (stuff == U"!")
        return Token::of(Token::Kind::any);
    std::size_t start = 0;
    if (stuff[0] == '!') {
        t.negated = true;
        start = 1;
    }
    std::vector<std::u32string> chunks;
    if (stuff.find('-') == std::u32string::npos) {
        chunks.push_back(stuff.substr(start));
    } else {
        // translate(): k = i+2 if pat[i] == '!' else i+1; chunks end before each '-' found.
        std::size_t i = 0;
        std::size_t k = stuff[0] == '!' ? 2 : 1;
        for (;;) {
            k = k <= stuff.size() ? stuff.find('-', k) : std::u32string::npos;
            if (k == std::u32string::npos)
                break;
            chunks.push_back(stuff.substr(i, k - i));
            i = k + 1;
            k = k + 3;
        }
        const auto last = stuff.substr(i);
        if (!last.empty())
            chunks.push_back(last);
        else
            chunks.back() += U'-';
        for (std::size_t c = chunks.size() - 1; c > 0; --c)
            if (chunks[c - 1].back() > chunks[c].front()) { // an empty range: removed
                chunks[c - 1] =
                    chunks[c - 1].substr(0, chunks[c - 1].size() - 1) + chunks[c].substr(1);
                chunks.erase(chunks.begin() + static_cast<std::ptrdiff_t>(c));
            }
        if (start == 1)
            chunks.front().erase(0, 1);
    }
    for (std::size_t c = 0; c < chunks.size(); ++c) {
        const auto& chunk = chunks[c];
        for (std::size_t k = 0; k < chunk.size(); ++k) {
            const bool range_end = c + 1 < chunks.size() && k + 1 == chunk.size();
            const bool range_start = c > 0 && k == 0;
            if (range_start)
                continue; // taken by the range that ends the previous chunk
            if (range_end)
                t.ranges.emplace_back(chunk[k], chunks[c + 1].front());
            else
                t.ranges.emplace_back(chunk[k], chunk[k]);
        }
    }
    return t;
}

std::vector<Token> translate(const std::u32string& pat)
{
    std::vector<Token> out;
    std::size_t i = 0;
    const std::size_t n = pat.size();
    while (i < n) {
        const char32_t c = pat[i++];
        if (c == '*') {
            if (out.empty() || out.back().kind != Token::Kind::star)
                out.push_back(Token::of(Token::Kind::star));
        } else if (c == '?') {
            out.push_back(Token::of(Token::Kind::any));
        } else if (c == '[') {
            std::size_t j = i;
            if (j < n && pat[j] == '!')
                ++j;
            if (j < n && pat[j] == ']')
                ++j;
            while (j < n && pat[j] != ']')
                ++j;
            if (j >= n) {
                out.push_back(Token::of(Token::Kind::literal, '['));
            } else {
                out.push_back(bracket(pat.substr(i, j - i)));
                i = j + 1;
            }
        } else {
            out.push_back(Token::of(Token::Kind::literal, c));
        }
    }
    return out;
}

std::string what_is(const py::Value& v)
{
    switch (v.kind) {
    case py::Value::Kind::null:
        return "null";
    case py::Value::Kind::boolean:
        return "a boolean";
    case py::Value::Kind::integer:
    case py::Value::Kind::floating:
        return "a number";
    case py::Value::Kind::string:
        return "a string";
    case py::Value::Kind::array:
        return "a list";
    case py::Value::Kind::object:
        return "an object";
    }
    return "?";
}

TestSpec read_spec(const fs::path& root, const std::string& file_name)
{
    TestSpec spec;
    spec.name = file_name.substr(0, file_name.size() - std::string_view(".test.json").size());
    spec.spec_file = "expected/" + file_name;
    spec.pipe = spec.name;
    spec.file = "expected/" + spec.name + ".json";
    const auto json = read_python_json_file(root / "expected" / file_name, spec.spec_file);
    auto bad = [&](const std::string& key, const std::string& what) {
        return ConfigError(spec.spec_file + ": /" + key + ": " + what);
    };
    if (!json.is_object())
        throw ConfigError(spec.spec_file + ": a test spec is a JSON object, not " + what_is(json));
    auto string_key = [&](const char* key) -> std::optional<std::string> {
        const auto* v = json.get(key);
        if (!v)
            return std::nullopt;
        if (v->kind != py::Value::Kind::string)
            throw bad(key, "a string, not " + what_is(*v));
        return v->text;
    };
    if (auto pipe = string_key("pipe"))
        spec.pipe = *pipe;
    if (auto file = string_key("file"))
        spec.file = file->rfind("expected/", 0) == 0 ? *file : "expected/" + *file;
    if (auto endpoint = string_key("endpoint"))
        spec.endpoint = *endpoint;
    if (auto stage = string_key("stage")) {
        static const std::vector<std::string> stages{
            "source", "before-transforms", "after-transforms", "sink"};
        if (std::find(stages.begin(), stages.end(), *stage) == stages.end()) {
            std::string hint;
            if (*stage == "before-transform" || *stage == "after-transform")
                hint = " (the node's API says " + *stage + "s; sesam-py's README drops the s)";
            throw bad("stage",
                      "\"" + *stage +
                          "\" is not a stage: source, before-transforms, "
                          "after-transforms or sink" +
                          hint);
        }
        spec.stage = *stage;
    }
    // `is True` in sesam-py: only a JSON true counts.
    if (const auto* v = json.get("ignore"))
        spec.ignore = v->kind == py::Value::Kind::boolean && v->boolean;
    if (const auto* v = json.get("ignore_deletes"))
        spec.ignore_deletes = v->kind == py::Value::Kind::boolean && v->boolean;
    if (const auto* v = json.get("blacklist"); v && v->is_array()) { // other types: ignored
        for (std::size_t i = 0; i < v->items.size(); ++i) {
            if (v->items[i].kind != py::Value::Kind::string)
                throw bad("blacklist/" + std::to_string(i),
                          "a property path (a string), not " + what_is(v->items[i]));
            spec.blacklist.push_back(v->items[i].text);
        }
    }
    if (const auto* v = json.get("fields_to_sort_by")) {
        spec.fields_to_sort_by.clear();
        if (v->kind == py::Value::Kind::string) {
            // Python iterates a str letter by letter (a code point: 1 to 4 bytes).
            const auto& text = v->text;
            for (std::size_t i = 0; i < text.size();) {
                const auto b0 = static_cast<unsigned char>(text[i]);
                const std::size_t n = b0 < 0x80 ? 1 : b0 >= 0xF0 ? 4 : b0 >= 0xE0 ? 3 : 2;
                spec.fields_to_sort_by.push_back(text.substr(i, n));
                i += n;
            }
        } else if (v->is_array()) {
            for (std::size_t i = 0; i < v->items.size(); ++i) {
                if (v->items[i].kind != py::Value::Kind::string)
                    throw bad("fields_to_sort_by/" + std::to_string(i),
                              "a field name (a string), not " + what_is(v->items[i]));
                spec.fields_to_sort_by.push_back(v->items[i].text);
            }
        } else {
            throw bad("fields_to_sort_by", "a list of field names, not " + what_is(*v));
        }
    }
    return spec;
}

} // namespace

bool TestSpec::blacklisted(const std::vector<std::string>& path) const
{
    if (blacklist.empty())
        return false;
    std::string joined;
    for (std::size_t i = 0; i < path.size(); ++i)
        joined += (i == 0 ? "" : ".") + path[i];
    // `.replace(r"\.", ".")`
    std::string prop_path;
    for (std::size_t i = 0; i < joined.size(); ++i) {
        if (joined[i] == '\\' && i + 1 < joined.size() && joined[i + 1] == '.') {
            prop_path += '.';
            ++i;
        } else {
            prop_path += joined[i];
        }
    }
    for (const auto& pattern : blacklist) {
        std::string p;
        for (std::size_t i = 0; i < pattern.size(); ++i) {
            if (pattern.compare(i, 3, "[].") == 0) {
                p += ".*.";
                i += 2;
            } else {
                p += pattern[i];
            }
        }
        if (fnmatch(prop_path, p))
            return true;
    }
    return false;
}

py::Value read_python_json_file(const fs::path& path, const std::string& shown)
{
    const auto text = read_config_text(path, shown); // utf-8-sig, as sesam-py opens them
    try {
        return py::parse(text);
    } catch (const py::ParseError& e) {
        throw ConfigError(shown + ":" + std::to_string(e.line) + ":" + std::to_string(e.column) +
                          ": invalid JSON: " + e.what());
    }
}

std::vector<TestSpec> load_test_specs(const fs::path& root)
{
    std::vector<std::string> names;
    std::error_code ec;
    const auto folder = root / "expected";
    if (!fs::is_directory(folder, ec))
        return {};
    for (auto it = fs::directory_iterator(folder, ec); !ec && it != fs::directory_iterator();
         it.increment(ec)) {
        const auto name = it->path().filename().string();
        constexpr std::string_view suffix = ".test.json";
        if (name.size() > suffix.size() &&
            name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0 &&
            !it->is_directory(ec))
            names.push_back(name);
    }
    if (ec)
        throw ConfigError("expected/: cannot be read: " + ec.message());
    std::sort(names.begin(), names.end());
    std::vector<TestSpec> specs;
    specs.reserve(names.size());
    for (const auto& name : names)
        specs.push_back(read_spec(root, name));
    return specs;
}

bool fnmatch(std::string_view name, std::string_view pattern)
{
    const auto tokens = translate(code_points(pattern));
    const auto text = code_points(name);
    // Each token but `*` matches one character: the classic single-backtrack glob match is
    // exact for such patterns.
    std::size_t t = 0;
    std::size_t p = 0;
    std::size_t star = std::string::npos;
    std::size_t star_t = 0;
    while (t < text.size()) {
        if (p < tokens.size() && tokens[p].kind == Token::Kind::star) {
            star = p++;
            star_t = t;
        } else if (p < tokens.size() && tokens[p].matches(text[t])) {
            ++p;
            ++t;
        } else if (star != std::string::npos) {
            p = star + 1;
            t = ++star_t;
        } else {
            return false;
        }
    }
    while (p < tokens.size() && tokens[p].kind == Token::Kind::star)
        ++p;
    return p == tokens.size();
}

} // namespace sesam::harness::node
