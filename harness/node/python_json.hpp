#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

/// JSON as Python's `json` module reads, writes and compares it: the values sesam-py's verify and
/// update work on (docs/protocol.md#config-verify, #config-update), so that `sesam-emu test`
/// decides and writes exactly as sesam-py does. nlohmann::json cannot stand in: Python integers
/// have no size limit, objects keep their insertion order, and `json.dumps` writes floats with
/// `repr`.
namespace sesam::harness::node::py {

struct Member;

/// A Python value as `json.loads` makes it.
struct Value {
    enum class Kind : std::uint8_t { null, boolean, integer, floating, string, array, object };

    Kind kind = Kind::null;
    bool boolean = false;
    double floating = 0;
    /// integer: canonical decimal digits (`-` for negatives, no leading zeros, never `-0`);
    /// string: the text as WTF-8 (UTF-8 that may hold the lone surrogates `\ud800` decodes to).
    std::string text;
    std::vector<Value> items;    ///< array
    std::vector<Member> members; ///< object, in insertion order

    static Value from_bool(bool b);
    static Value from_integer(std::string digits); ///< canonical digits
    static Value from_double(double d);
    static Value from_string(std::string s);

    bool is_object() const noexcept { return kind == Kind::object; }
    bool is_array() const noexcept { return kind == Kind::array; }
    /// The member `key` of an object (Python's `dict.get`), or nullptr.
    const Value* get(std::string_view key) const noexcept;
    Value* get(std::string_view key) noexcept;
    /// Sets `key` as a dict does: a key already there keeps its place and takes the new value.
    void set(std::string key, Value value);
    void erase(std::string_view key);
};

/// One key and value of an object (a struct, not std::pair: a pair of an incomplete Value is
/// refused by clang's library checks).
struct Member {
    std::string first;
    Value second;
};

/// Text that `json.loads` refuses; `line` and `column` count from 1 (columns in bytes).
class ParseError : public std::runtime_error {
public:
    ParseError(const std::string& what, std::size_t line, std::size_t column);
    std::size_t line;
    std::size_t column;
};

/// `json.loads(text)`: the grammar of RFC 8259 plus `NaN`, `Infinity` and `-Infinity`; control
/// characters inside strings refused (strict); a repeated key keeps its first place and its last
/// value; `\uXXXX` surrogate pairs joined, lone surrogates kept; integers of any length, floats
/// rounded as `float()` does (`1e400` is infinity). Throws ParseError, also for invalid UTF-8.
Value parse(std::string_view text);

/// The options of `json.dumps` that sesam-py passes.
struct DumpOptions {
    std::optional<std::string> indent; ///< none: one line with `, ` and `: ` separators
    bool sort_keys = false;
    bool ensure_ascii = true; ///< Python's default
    /// With `ensure_ascii` off, a lone surrogate makes dumps() throw EncodeError, as encoding
    /// Python's str as UTF-8 does; set this to write it as WTF-8 instead, for texts that are
    /// only compared, as sesam-py compares its str values.
    bool lone_surrogates_as_wtf8 = false;
};

/// Thrown by dumps() for a lone surrogate with `ensure_ascii` off, which Python can write into
/// a str but not encode as UTF-8 (its `UnicodeEncodeError`).
class EncodeError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// `json.dumps(value, indent=…, sort_keys=…, ensure_ascii=…)` as UTF-8 bytes.
std::string dumps(const Value& value, const DumpOptions& options = {});

/// `repr(d)` of a Python float: the shortest text that reads back as `d`, fixed notation for
/// exponents from -5 to 15 (`0.0001`, `1e-05`, `1000000000000000.0`, `1e+16`), `.0` added to
/// integral values, `inf`, `-inf` and `nan` (json.dumps writes those as `Infinity`, `-Infinity`
/// and `NaN`).
std::string float_repr(double d);

/// Python's `==` on two values (`1 == 1.0 == True`, dicts regardless of key order).
bool equal(const Value& a, const Value& b);

/// Python's `a < b` where Python defines it (numbers and bools by value, strings by code point,
/// lists element by element); where Python raises TypeError (None, dicts, a str against a
/// number), a fixed order instead: None, then numbers, strings, lists, dicts, the last two by
/// their JSON text. NaN sorts before every other number. Returns <0, 0 or >0.
int compare(const Value& a, const Value& b);

} // namespace sesam::harness::node::py
