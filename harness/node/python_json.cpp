#include "harness/node/python_json.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace sesam::harness::node::py {

namespace {

// ---- values ---------------------------------------------------------------------------------

bool numeric(const Value& v) noexcept
{
    return v.kind == Value::Kind::boolean || v.kind == Value::Kind::integer ||
           v.kind == Value::Kind::floating;
}

/// The digits of an integral value (bools are 0 and 1, as in Python).
std::string_view integer_digits(const Value& v) noexcept
{
    if (v.kind == Value::Kind::boolean)
        return v.boolean ? "1" : "0";
    return v.text;
}

/// Compares two canonical integers by value.
int compare_integers(std::string_view a, std::string_view b) noexcept
{
    const bool na = !a.empty() && a[0] == '-';
    const bool nb = !b.empty() && b[0] == '-';
    if (na != nb)
        return na ? -1 : 1;
    if (na) {
        a.remove_prefix(1);
        b.remove_prefix(1);
    }
    int c = 0;
    if (a.size() != b.size())
        c = a.size() < b.size() ? -1 : 1;
    else
        c = a.compare(b) < 0 ? -1 : (a == b ? 0 : 1);
    return na ? -c : c;
}

/// The exact decimal digits of an integral double (glibc prints doubles exactly).
std::string exact_integer(double integral)
{
    char buffer[400];
    const int n = std::snprintf(buffer, sizeof buffer, "%.0f", integral);
    std::string digits(buffer, static_cast<std::size_t>(n));
    return digits == "-0" ? "0" : digits;
}

/// Python's ordering of an int and a float: exact, whatever their sizes.
int compare_integer_float(std::string_view i, double f)
{
    if (std::isnan(f))
        return 1;
    if (std::isinf(f))
        return f > 0 ? -1 : 1;
    const double whole = std::floor(f);
    if (const int c = compare_integers(i, exact_integer(whole)); c != 0)
        return c;
    return f > whole ? -1 : 0;
}

int compare_numbers(const Value& a, const Value& b)
{
    const bool fa = a.kind == Value::Kind::floating;
    const bool fb = b.kind == Value::Kind::floating;
    if (!fa && !fb)
        return compare_integers(integer_digits(a), integer_digits(b));
    if (fa && fb) {
        const bool an = std::isnan(a.floating);
        const bool bn = std::isnan(b.floating);
        if (an || bn)
            return an == bn ? 0 : (an ? -1 : 1);
        return a.floating < b.floating ? -1 : (a.floating > b.floating ? 1 : 0);
    }
    if (fb)
        return compare_integer_float(integer_digits(a), b.floating);
    return -compare_integer_float(integer_digits(b), a.floating);
}

int rank(const Value& v) noexcept
{
    switch (v.kind) {
    case Value::Kind::null:
        return 0;
    case Value::Kind::boolean:
    case Value::Kind::integer:
    case Value::Kind::floating:
        return 1;
    case Value::Kind::string:
        return 2;
    case Value::Kind::array:
        return 3;
    case Value::Kind::object:
        return 4;
    }
    return 0;
}

// ---- UTF-8 ----------------------------------------------------------------------------------

void append_code_point(std::string& out, std::uint32_t cp)
{
    // WTF-8: surrogates are encoded like any other code point of three bytes.
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

/// Decodes the code point at `s[i]` (WTF-8, trusted: validated on the way in) and advances `i`.
std::uint32_t next_code_point(std::string_view s, std::size_t& i) noexcept
{
    const auto b0 = static_cast<unsigned char>(s[i]);
    auto cont = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]) & 0x3Fu; };
    std::uint32_t cp = 0;
    if (b0 < 0x80) {
        cp = b0;
        i += 1;
    } else if (b0 < 0xE0) {
        cp = ((b0 & 0x1Fu) << 6) | cont(1);
        i += 2;
    } else if (b0 < 0xF0) {
        cp = ((b0 & 0x0Fu) << 12) | (cont(1) << 6) | cont(2);
        i += 3;
    } else {
        cp = ((b0 & 0x07u) << 18) | (cont(1) << 12) | (cont(2) << 6) | cont(3);
        i += 4;
    }
    return cp;
}

/// The length of the valid UTF-8 sequence at `s[i]` (surrogates and overlong forms refused,
/// as Python's decoder refuses them), or 0.
std::size_t utf8_sequence(std::string_view s, std::size_t i) noexcept
{
    const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
    const std::size_t left = s.size() - i;
    const unsigned char b0 = b(0);
    if (b0 < 0x80)
        return 1;
    auto is_cont = [&](std::size_t k) { return k < left && (b(k) & 0xC0) == 0x80; };
    if (b0 >= 0xC2 && b0 <= 0xDF)
        return is_cont(1) ? 2 : 0;
    if (b0 >= 0xE0 && b0 <= 0xEF) {
        if (!is_cont(1) || !is_cont(2))
            return 0;
        if ((b0 == 0xE0 && b(1) < 0xA0) || (b0 == 0xED && b(1) >= 0xA0))
            return 0;
        return 3;
    }
    if (b0 >= 0xF0 && b0 <= 0xF4) {
        if (!is_cont(1) || !is_cont(2) || !is_cont(3))
            return 0;
        if ((b0 == 0xF0 && b(1) < 0x90) || (b0 == 0xF4 && b(1) >= 0x90))
            return 0;
        return 4;
    }
    return 0;
}

// ---- parsing --------------------------------------------------------------------------------

class Parser {
public:
    explicit Parser(std::string_view text) : s_(text) {}

    Value document()
    {
        for (std::size_t i = 0; i < s_.size();) {
            const std::size_t n = utf8_sequence(s_, i);
            if (n == 0) {
                pos_ = i;
                fail("invalid UTF-8");
            }
            i += n;
        }
        skip_space();
        Value v = value(0);
        skip_space();
        if (pos_ != s_.size())
            fail("extra data after the JSON value");
        return v;
    }

private:
    static constexpr int kMaxDepth = 1000; // Python's recursion limit, roughly

    [[noreturn]] void fail(const std::string& what) const
    {
        std::size_t line = 1;
        std::size_t column = 1;
        for (std::size_t i = 0; i < pos_ && i < s_.size(); ++i) {
            if (s_[i] == '\n') {
                ++line;
                column = 1;
            } else {
                ++column;
            }
        }
        throw ParseError(what, line, column);
    }

    void skip_space() noexcept
    {
        while (pos_ < s_.size() &&
               (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r'))
            ++pos_;
    }

    bool literal(std::string_view word) noexcept
    {
        if (s_.substr(pos_, word.size()) != word)
            return false;
        pos_ += word.size();
        return true;
    }

    Value value(int depth)
    {
        if (depth > kMaxDepth)
            fail("nested too deeply");
        if (pos_ >= s_.size())
            fail("expecting a value");
        switch (s_[pos_]) {
        case '{':
            return object(depth);
        case '[':
            return array(depth);
        case '"':
            return Value::from_string(string());
        default:
            break;
        }
        if (literal("null"))
            return {};
        if (literal("true"))
            return Value::from_bool(true);
        if (literal("false"))
            return Value::from_bool(false);
        if (literal("NaN"))
            return Value::from_double(std::nan(""));
        if (literal("Infinity"))
            return Value::from_double(HUGE_VAL);
        if (literal("-Infinity"))
            return Value::from_double(-HUGE_VAL);
        return number();
    }

    static bool digit(char c) noexcept { return c >= '0' && c <= '9'; }

    // Python's NUMBER_RE: (-?(?:0|[1-9]\d*))(\.\d+)?([eE][-+]?\d+)?
    Value number()
    {
        const std::size_t start = pos_;
        std::size_t i = pos_;
        if (i < s_.size() && s_[i] == '-')
            ++i;
        if (i >= s_.size() || !digit(s_[i]))
            fail("expecting a value");
        if (s_[i] == '0')
            ++i;
        else
            while (i < s_.size() && digit(s_[i]))
                ++i;
        bool is_float = false;
        if (i + 1 < s_.size() && s_[i] == '.' && digit(s_[i + 1])) {
            is_float = true;
            i += 2;
            while (i < s_.size() && digit(s_[i]))
                ++i;
        }
        if (i < s_.size() && (s_[i] == 'e' || s_[i] == 'E')) {
            std::size_t j = i + 1;
            if (j < s_.size() && (s_[j] == '+' || s_[j] == '-'))
                ++j;
            if (j < s_.size() && digit(s_[j])) {
                is_float = true;
                i = j;
                while (i < s_.size() && digit(s_[i]))
                    ++i;
            }
        }
        pos_ = i;
        const std::string text(s_.substr(start, i - start));
        if (!is_float)
            return Value::from_integer(text == "-0" ? "0" : text);
        // float(): correctly rounded; out of range gives inf or 0.0 as Python does.
        return Value::from_double(std::strtod(text.c_str(), nullptr));
    }

    unsigned hex4()
    {
        if (pos_ + 4 > s_.size())
            fail("invalid \\uXXXX escape");
        unsigned v = 0;
        for (int k = 0; k < 4; ++k) {
            const char c = s_[pos_ + static_cast<std::size_t>(k)];
            v <<= 4;
            if (c >= '0' && c <= '9')
                v |= static_cast<unsigned>(c - '0');
            else if (c >= 'a' && c <= 'f')
                v |= static_cast<unsigned>(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F')
                v |= static_cast<unsigned>(c - 'A' + 10);
            else
                fail("invalid \\uXXXX escape");
        }
        pos_ += 4;
        return v;
    }

    std::string string()
    {
        ++pos_; // the opening quote
        std::string out;
        for (;;) {
            if (pos_ >= s_.size())
                fail("unterminated string");
            const char c = s_[pos_];
            if (c == '"') {
                ++pos_;
                return out;
            }
            if (static_cast<unsigned char>(c) < 0x20)
                fail("invalid control character in a string");
            if (c != '\\') {
                out += c;
                ++pos_;
                continue;
            }
            if (++pos_ >= s_.size())
                fail("unterminated string");
            const char e = s_[pos_++];
            switch (e) {
            case '"':
                out += '"';
                break;
            case '\\':
                out += '\\';
                break;
            case '/':
                out += '/';
                break;
            case 'b':
                out += '\b';
                break;
            case 'f':
                out += '\f';
                break;
            case 'n':
                out += '\n';
                break;
            case 'r':
                out += '\r';
                break;
            case 't':
                out += '\t';
                break;
            case 'u': {
                std::uint32_t cp = hex4();
                // A high surrogate followed by an escaped low one is one code point
                // (py_scanstring).
                if (cp >= 0xD800 && cp <= 0xDBFF && s_.substr(pos_, 2) == "\\u") {
                    const std::size_t back = pos_;
                    pos_ += 2;
                    const std::uint32_t low = hex4();
                    if (low >= 0xDC00 && low <= 0xDFFF)
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                    else
                        pos_ = back;
                }
                append_code_point(out, cp);
                break;
            }
            default:
                --pos_;
                fail("invalid escape in a string");
            }
        }
    }

    Value array(int depth)
    {
        ++pos_;
        Value v;
        v.kind = Value::Kind::array;
        skip_space();
        if (pos_ < s_.size() && s_[pos_] == ']') {
            ++pos_;
            return v;
        }
        for (;;) {
            skip_space();
            v.items.push_back(value(depth + 1));
            skip_space();
            if (pos_ < s_.size() && s_[pos_] == ',') {
                ++pos_;
                continue;
            }
            if (pos_ < s_.size() && s_[pos_] == ']') {
                ++pos_;
                return v;
            }
            fail("expecting ',' or ']'");
        }
    }

    Value object(int depth)
    {
        ++pos_;
        Value v;
        v.kind = Value::Kind::object;
        skip_space();
        if (pos_ < s_.size() && s_[pos_] == '}') {
            ++pos_;
            return v;
        }
        for (;;) {
            skip_space();
            if (pos_ >= s_.size() || s_[pos_] != '"')
                fail("expecting a property name in double quotes");
            std::string key = string();
            skip_space();
            if (pos_ >= s_.size() || s_[pos_] != ':')
                fail("expecting ':'");
            ++pos_;
            skip_space();
            v.set(std::move(key), value(depth + 1));
            skip_space();
            if (pos_ < s_.size() && s_[pos_] == ',') {
                ++pos_;
                continue;
            }
            if (pos_ < s_.size() && s_[pos_] == '}') {
                ++pos_;
                return v;
            }
            fail("expecting ',' or '}'");
        }
    }

    std::string_view s_;
    std::size_t pos_ = 0;
};

// ---- writing --------------------------------------------------------------------------------

void append_u_escape(std::string& out, std::uint32_t unit)
{
    out += fmt::format("\\u{:04x}", unit);
}

/// Python's encode_basestring (ensure_ascii off) and encode_basestring_ascii (on).
void append_string(std::string& out, std::string_view s, const DumpOptions& o)
{
    const bool ensure_ascii = o.ensure_ascii;
    out += '"';
    for (std::size_t i = 0; i < s.size();) {
        const std::size_t at = i;
        const std::uint32_t cp = next_code_point(s, i);
        switch (cp) {
        case '"':
            out += "\\\"";
            continue;
        case '\\':
            out += "\\\\";
            continue;
        case '\n':
            out += "\\n";
            continue;
        case '\r':
            out += "\\r";
            continue;
        case '\t':
            out += "\\t";
            continue;
        case '\b':
            out += "\\b";
            continue;
        case '\f':
            out += "\\f";
            continue;
        default:
            break;
        }
        if (cp < 0x20) {
            append_u_escape(out, cp);
        } else if (ensure_ascii && cp > 0x7E) {
            if (cp >= 0x10000) {
                append_u_escape(out, 0xD800 + ((cp - 0x10000) >> 10));
                append_u_escape(out, 0xDC00 + ((cp - 0x10000) & 0x3FF));
            } else {
                append_u_escape(out, cp);
            }
        } else if (cp >= 0xD800 && cp <= 0xDFFF && !o.lone_surrogates_as_wtf8) {
            throw EncodeError(
                fmt::format("the lone surrogate \\u{:04x} cannot be encoded as UTF-8", cp));
        } else {
            out.append(s.substr(at, i - at));
        }
    }
    out += '"';
}

void append_float(std::string& out, double d)
{
    if (std::isnan(d))
        out += "NaN";
    else if (std::isinf(d))
        out += d > 0 ? "Infinity" : "-Infinity";
    else
        out += float_repr(d);
}

class Writer {
public:
    explicit Writer(const DumpOptions& options) : o_(options) {}

    void write(std::string& out, const Value& v, std::size_t level) const
    {
        switch (v.kind) {
        case Value::Kind::null:
            out += "null";
            return;
        case Value::Kind::boolean:
            out += v.boolean ? "true" : "false";
            return;
        case Value::Kind::integer:
            out += v.text;
            return;
        case Value::Kind::floating:
            append_float(out, v.floating);
            return;
        case Value::Kind::string:
            append_string(out, v.text, o_);
            return;
        case Value::Kind::array:
            if (v.items.empty()) {
                out += "[]";
                return;
            }
            out += '[';
            for (std::size_t i = 0; i < v.items.size(); ++i) {
                separator(out, i == 0, level + 1);
                write(out, v.items[i], level + 1);
            }
            close(out, level);
            out += ']';
            return;
        case Value::Kind::object: {
            if (v.members.empty()) {
                out += "{}";
                return;
            }
            std::vector<const Member*> members;
            members.reserve(v.members.size());
            for (const auto& m : v.members)
                members.push_back(&m);
            if (o_.sort_keys)
                std::sort(members.begin(), members.end(), [](const auto* a, const auto* b) {
                    return a->first < b->first; // WTF-8 bytes order as code points do
                });
            out += '{';
            for (std::size_t i = 0; i < members.size(); ++i) {
                separator(out, i == 0, level + 1);
                append_string(out, members[i]->first, o_);
                out += ": ";
                write(out, members[i]->second, level + 1);
            }
            close(out, level);
            out += '}';
            return;
        }
        }
    }

private:
    // Python's item separator is `, ` on one line and `,` before a newline when indenting.
    void separator(std::string& out, bool first, std::size_t level) const
    {
        if (!first)
            out += o_.indent ? "," : ", ";
        if (o_.indent) {
            out += '\n';
            for (std::size_t k = 0; k < level; ++k)
                out += *o_.indent;
        }
    }

    void close(std::string& out, std::size_t level) const
    {
        if (o_.indent) {
            out += '\n';
            for (std::size_t k = 0; k < level; ++k)
                out += *o_.indent;
        }
    }

    const DumpOptions& o_;
};

} // namespace

// ---- Value ----------------------------------------------------------------------------------

Value Value::from_bool(bool b)
{
    Value v;
    v.kind = Kind::boolean;
    v.boolean = b;
    return v;
}

Value Value::from_integer(std::string digits)
{
    Value v;
    v.kind = Kind::integer;
    v.text = std::move(digits);
    return v;
}

Value Value::from_double(double d)
{
    Value v;
    v.kind = Kind::floating;
    v.floating = d;
    return v;
}

Value Value::from_string(std::string s)
{
    Value v;
    v.kind = Kind::string;
    v.text = std::move(s);
    return v;
}

const Value* Value::get(std::string_view key) const noexcept
{
    for (const auto& [k, v] : members)
        if (k == key)
            return &v;
    return nullptr;
}

Value* Value::get(std::string_view key) noexcept
{
    for (auto& [k, v] : members)
        if (k == key)
            return &v;
    return nullptr;
}

void Value::set(std::string key, Value value)
{
    if (Value* existing = get(key))
        *existing = std::move(value);
    else
        members.push_back(Member{std::move(key), std::move(value)});
}

void Value::erase(std::string_view key)
{
    members.erase(std::remove_if(members.begin(),
                                 members.end(),
                                 [&](const auto& m) { return m.first == key; }),
                  members.end());
}

ParseError::ParseError(const std::string& what, std::size_t line_, std::size_t column_)
    : std::runtime_error(what), line(line_), column(column_)
{
}

Value parse(std::string_view text)
{
    return Parser(text).document();
}

std::string dumps(const Value& value, const DumpOptions& options)
{
    std::string out;
    Writer(options).write(out, value, 0);
    return out;
}

std::string float_repr(double d)
{
    if (std::isnan(d))
        return "nan";
    if (std::isinf(d))
        return d > 0 ? "inf" : "-inf";
    // The shortest digits that read back as d (as Python's dtoa mode 0), then Python's layout:
    // fixed notation when the decimal exponent is from -5 to 15, else d.ddde±XX.
    char buffer[64];
    const auto r = std::to_chars(buffer, buffer + sizeof buffer, d, std::chars_format::scientific);
    std::string_view text(buffer, static_cast<std::size_t>(r.ptr - buffer));
    std::string out;
    if (text.front() == '-') {
        out += '-';
        text.remove_prefix(1);
    }
    const std::size_t e = text.find('e');
    std::string digits;
    for (const char c : text.substr(0, e))
        if (c != '.')
            digits += c;
    int exponent = 0;
    std::from_chars(
        text.data() + e + 1 + (text[e + 1] == '+' ? 1 : 0), text.data() + text.size(), exponent);
    if (exponent <= -5 || exponent >= 16) { // Python: decpt <= -4 or decpt > 16 (decpt = e + 1)
        out += digits[0];
        if (digits.size() > 1) {
            out += '.';
            out.append(digits, 1);
        }
        out += fmt::format("e{}{:02d}", exponent < 0 ? '-' : '+', std::abs(exponent));
    } else if (exponent < 0) {
        out += "0.";
        out.append(static_cast<std::size_t>(-exponent - 1), '0');
        out += digits;
    } else {
        const auto whole = static_cast<std::size_t>(exponent) + 1;
        if (digits.size() <= whole) {
            out += digits;
            out.append(whole - digits.size(), '0');
            out += ".0";
        } else {
            out.append(digits, 0, whole);
            out += '.';
            out.append(digits, whole);
        }
    }
    return out;
}

bool equal(const Value& a, const Value& b)
{
    if (numeric(a) && numeric(b))
        return compare_numbers(a, b) == 0 &&
               !(a.kind == Value::Kind::floating && std::isnan(a.floating));
    if (a.kind != b.kind)
        return false;
    switch (a.kind) {
    case Value::Kind::null:
        return true;
    case Value::Kind::string:
        return a.text == b.text;
    case Value::Kind::array:
        return a.items.size() == b.items.size() &&
               std::equal(a.items.begin(), a.items.end(), b.items.begin(), equal);
    case Value::Kind::object:
        if (a.members.size() != b.members.size())
            return false;
        for (const auto& [k, v] : a.members) {
            const Value* other = b.get(k);
            if (!other || !equal(v, *other))
                return false;
        }
        return true;
    default:
        return false;
    }
}

int compare(const Value& a, const Value& b)
{
    const int ra = rank(a);
    const int rb = rank(b);
    if (ra != rb)
        return ra < rb ? -1 : 1;
    switch (a.kind) {
    case Value::Kind::null:
        return 0;
    case Value::Kind::boolean:
    case Value::Kind::integer:
    case Value::Kind::floating:
        return compare_numbers(a, b);
    case Value::Kind::string:
        return a.text < b.text ? -1 : (a.text == b.text ? 0 : 1);
    case Value::Kind::array: {
        const std::size_t n = std::min(a.items.size(), b.items.size());
        for (std::size_t i = 0; i < n; ++i)
            if (!equal(a.items[i], b.items[i]))
                if (const int c = compare(a.items[i], b.items[i]); c != 0)
                    return c;
        return a.items.size() < b.items.size() ? -1 : (a.items.size() == b.items.size() ? 0 : 1);
    }
    case Value::Kind::object: {
        if (equal(a, b))
            return 0;
        DumpOptions o;
        o.sort_keys = true;
        const std::string ta = dumps(a, o);
        const std::string tb = dumps(b, o);
        return ta < tb ? -1 : (ta == tb ? 0 : 1);
    }
    }
    return 0;
}

} // namespace sesam::harness::node::py
