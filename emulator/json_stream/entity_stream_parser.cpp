#include "emulator/json_stream/entity_stream_parser.hpp"

#include "emulator/entity/transit.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <utility>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace sesam::emulator {

namespace {

constexpr bool is_ws(char c) noexcept
{
    return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

constexpr bool is_digit(char c) noexcept
{
    return c >= '0' && c <= '9';
}

constexpr bool is_hex(char c) noexcept
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/// The bytes the boundary scan must look at outside strings.
constexpr std::array<bool, 256> kStructural = [] {
    std::array<bool, 256> table{};
    for (const char c : {'"', '{', '}', '[', ']'}) {
        table[static_cast<unsigned char>(c)] = true;
    }
    return table;
}();

/// The first byte at or after `p` that is '"', '\\' or (with `Controls`) below 0x20, or `end`.
template <bool Controls> const char* find_string_special(const char* p, const char* end) noexcept
{
#if defined(__SSE2__)
    // Sixteen bytes at a time (SSE2 is part of x86-64): most strings end within one block.
    const __m128i quote = _mm_set1_epi8('"');
    const __m128i backslash = _mm_set1_epi8('\\');
    const __m128i control_max = _mm_set1_epi8(0x1f);
    while (end - p >= 16) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
        __m128i hits = _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash));
        if constexpr (Controls) {
            // unsigned v <= 0x1f  <=>  max(v, 0x1f) == 0x1f
            hits = _mm_or_si128(hits, _mm_cmpeq_epi8(_mm_max_epu8(v, control_max), control_max));
        }
        if (const int mask = _mm_movemask_epi8(hits); mask != 0) {
            return p + std::countr_zero(static_cast<unsigned>(mask));
        }
        p += 16;
    }
#else
    // Eight bytes at a time: the classic "has a zero byte" bit trick, once per pattern.
    constexpr std::uint64_t ones = 0x0101010101010101ULL;
    constexpr std::uint64_t highs = ones * 0x80;
    while (end - p >= 8) {
        std::uint64_t w = 0;
        std::memcpy(&w, p, 8);
        const std::uint64_t quote = w ^ (ones * '"');
        const std::uint64_t backslash = w ^ (ones * '\\');
        std::uint64_t hits = ((quote - ones) & ~quote) | ((backslash - ones) & ~backslash);
        if constexpr (Controls) {
            hits |= (w - ones * 0x20) & ~w;
        }
        hits &= highs;
        if (hits != 0) {
            if constexpr (std::endian::native == std::endian::little) {
                return p + std::countr_zero(hits) / 8;
            } else {
                break;
            }
        }
        p += 8;
    }
#endif
    while (p < end && *p != '"' && *p != '\\' &&
           (!Controls || static_cast<unsigned char>(*p) >= 0x20)) {
        ++p;
    }
    return p;
}

const char* skip_plain_string_bytes(const char* p, const char* end) noexcept
{
    return find_string_special<true>(p, end);
}

const char* find_quote_or_backslash(const char* p, const char* end) noexcept
{
    return find_string_special<false>(p, end);
}

std::string show_byte(char c)
{
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f) {
        return std::string{'\'', c, '\''};
    }
    constexpr const char* digits = "0123456789abcdef";
    return std::string{'0', 'x', digits[u >> 4], digits[u & 0xf]};
}

std::string show_at(const char* p, const char* end)
{
    return p < end ? show_byte(*p) : std::string("the end of the value");
}

/// `s` in double quotes on one line, control bytes escaped, cut after 80 bytes.
std::string quoted(std::string_view s)
{
    constexpr std::size_t limit = 80;
    const bool cut = s.size() > limit;
    if (cut) {
        std::size_t n = limit;
        while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xc0) == 0x80) {
            --n; // keep whole UTF-8 sequences
        }
        s = s.substr(0, n);
    }
    std::string out = "\"";
    for (const char c : s) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (static_cast<unsigned char>(c) < 0x20) {
            out += "\\x" + show_byte(c).substr(2);
        } else {
            out += c;
        }
    }
    out += cut ? "...\"" : "\"";
    return out;
}

unsigned hex_value(const char* p) noexcept
{
    unsigned v = 0;
    for (int i = 0; i < 4; ++i) {
        const char c = p[i];
        const unsigned d = is_digit(c) ? unsigned(c - '0') : unsigned((c | 0x20) - 'a' + 10);
        v = (v << 4) | d;
    }
    return v;
}

void append_utf8(std::string& out, unsigned cp)
{
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xc0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xe0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
        out += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
        out += static_cast<char>(0xf0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
        out += static_cast<char>(0x80 | (cp & 0x3f));
    }
}

/// Decodes the body of a validated JSON string (between the quotes) into `out`.
void unescape(std::string_view raw, std::string& out)
{
    out.clear();
    std::size_t i = 0;
    while (i < raw.size()) {
        const std::size_t slash = raw.find('\\', i);
        if (slash == std::string_view::npos) {
            out.append(raw.substr(i));
            break;
        }
        out.append(raw.substr(i, slash - i));
        const char e = raw[slash + 1];
        i = slash + 2;
        switch (e) {
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
            unsigned cp = hex_value(raw.data() + i);
            i += 4;
            // Unpaired surrogates are kept as they are (encoded like any code point).
            if (cp >= 0xd800 && cp < 0xdc00 && raw.substr(i, 2) == "\\u") {
                const unsigned low = hex_value(raw.data() + i + 2);
                if (low >= 0xdc00 && low < 0xe000) {
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
                    i += 6;
                }
            }
            append_utf8(out, cp);
            break;
        }
        default:
            out += e; // '"', '\\' and '/'
        }
    }
}

enum class Reserved : std::uint8_t { none, id, updated, deleted };

/// How a string scan ended: with an error, or after a string with or without escapes.
enum class Scan : std::uint8_t { failed, plain, escaped };

/// One open container of the element, with what the field path needs.
struct Frame {
    const char* start = nullptr; ///< the '{' or '['
    std::string_view key;        ///< raw key of the current member (objects)
    std::size_t index = 0;       ///< position of the current element (arrays)
    bool is_array = false;
    bool key_escaped = false;
};

/// A stack of frames that lives inline for ordinary depths and moves to the heap beyond.
class FrameStack {
public:
    FrameStack() = default;
    FrameStack(const FrameStack&) = delete;
    FrameStack& operator=(const FrameStack&) = delete;

    bool empty() const noexcept { return size_ == 0; }
    std::size_t size() const noexcept { return size_; }
    Frame& top() noexcept { return data_[size_ - 1]; }
    const Frame& operator[](std::size_t i) const noexcept { return data_[i]; }
    void pop() noexcept { --size_; }

    void push(const Frame& frame)
    {
        if (size_ == capacity_) {
            std::vector<Frame> bigger(capacity_ * 2);
            std::copy(data_, data_ + size_, bigger.begin());
            heap_ = std::move(bigger);
            data_ = heap_.data();
            capacity_ = heap_.size();
        }
        data_[size_++] = frame;
    }

private:
    std::array<Frame, 16> inline_;
    std::vector<Frame> heap_;
    Frame* data_ = inline_.data();
    std::size_t size_ = 0;
    std::size_t capacity_ = inline_.size();
};

/// The strict single-pass validator behind inspect_element. Errors are recorded in `error_`;
/// member functions return false once one is.
class Inspector {
public:
    Inspector(std::string_view element,
              std::uint64_t base_offset,
              const EntityStreamParser::Options& options,
              EntityView& view)
        : begin_(element.data()), end_(element.data() + element.size()), p_(begin_),
          base_(base_offset), options_(options), view_(view)
    {
    }

    std::optional<StreamError> run();

    /// Validates the value at the start of the bytes and returns where it ends; nullptr when it
    /// does not end within them or has any problem (syntax or transit).
    const char* run_prefix();

private:
    void reset_view();
    bool fail(const char* at, std::string message);
    void skip_ws() noexcept;
    bool parse_values();
    bool open_container(bool is_array);
    bool parse_key(const char* context);
    Scan scan_string();
    bool check_escape();
    bool parse_string_value();
    bool parse_literal(std::string_view literal);
    bool parse_number();
    bool expect_digit(const char* what);
    void value_done(const char* start, JsonKind kind);
    void check_transit_value(const char* open, std::string_view body, bool escaped);
    std::string field_path() const;
    std::string element_label() const;

    const char* const begin_;
    const char* const end_;
    const char* p_;
    const std::uint64_t base_;
    const EntityStreamParser::Options& options_;
    EntityView& view_;

    FrameStack stack_;
    bool root_is_object_ = false;
    Reserved pending_ = Reserved::none; ///< the root key whose value is being parsed
    std::string scratch_;
    std::optional<StreamError> error_;
    std::optional<StreamError> transit_error_; ///< the message still lacks the element label
};

bool Inspector::fail(const char* at, std::string message)
{
    error_ = StreamError{base_ + static_cast<std::uint64_t>(at - begin_), std::move(message)};
    return false;
}

inline void Inspector::skip_ws() noexcept
{
    while (p_ < end_ && is_ws(*p_)) {
        view_.has_line_breaks |= *p_ == '\n' || *p_ == '\r';
        ++p_;
    }
}

void Inspector::reset_view()
{
    view_.bytes = std::string_view(begin_, static_cast<std::size_t>(end_ - begin_));
    view_.offset = base_;
    view_.id_kind = view_.updated_kind = view_.deleted_kind = JsonKind::missing;
    view_.id.clear();
    view_.updated.clear();
    view_.deleted = false;
    view_.has_line_breaks = false;
}

const char* Inspector::run_prefix()
{
    reset_view();
    root_is_object_ = p_ < end_ && *p_ == '{';
    if (!parse_values() || transit_error_) {
        return nullptr;
    }
    view_.bytes = std::string_view(begin_, static_cast<std::size_t>(p_ - begin_));
    return p_;
}

std::optional<StreamError> Inspector::run()
{
    reset_view();
    skip_ws();
    root_is_object_ = p_ < end_ && *p_ == '{';
    if (!parse_values()) {
        return error_; // a syntax error outranks a transit error: the element is not JSON at all
    }
    skip_ws();
    if (p_ != end_) {
        fail(p_, "expected the end of the value, got " + show_byte(*p_));
        return error_;
    }
    if (transit_error_) {
        transit_error_->message = element_label() + ": " + transit_error_->message;
    }
    return transit_error_;
}

bool Inspector::parse_values()
{
    bool need_value = true;
    for (;;) {
        if (need_value) {
            skip_ws();
            if (p_ == end_) {
                return fail(p_, "expected a value, got the end of the value");
            }
            const char* start = p_;
            switch (*p_) {
            case '{':
                if (!open_container(false)) {
                    return false;
                }
                if (p_ < end_ && *p_ == '}') {
                    break; // empty object: closed below
                }
                if (!parse_key("expected '\"' or '}' after '{'")) {
                    return false;
                }
                continue;
            case '[':
                if (!open_container(true)) {
                    return false;
                }
                if (p_ < end_ && *p_ == ']') {
                    break; // empty array: closed below
                }
                continue;
            case '"':
                if (!parse_string_value()) {
                    return false;
                }
                value_done(start, JsonKind::string);
                break;
            case 't':
                if (!parse_literal("true")) {
                    return false;
                }
                value_done(start, JsonKind::boolean);
                break;
            case 'f':
                if (!parse_literal("false")) {
                    return false;
                }
                value_done(start, JsonKind::boolean);
                break;
            case 'n':
                if (!parse_literal("null")) {
                    return false;
                }
                value_done(start, JsonKind::null);
                break;
            default:
                if (*p_ != '-' && !is_digit(*p_)) {
                    return fail(p_, "expected a value, got " + show_byte(*p_));
                }
                if (!parse_number()) {
                    return false;
                }
                value_done(start, JsonKind::number);
            }
            need_value = false;
        }
        if (stack_.empty()) {
            return true;
        }
        skip_ws();
        Frame& frame = stack_.top();
        const char close = frame.is_array ? ']' : '}';
        if (p_ < end_ && *p_ == close) {
            ++p_;
            const char* start = frame.start;
            stack_.pop();
            value_done(start, close == ']' ? JsonKind::array : JsonKind::object);
        } else if (p_ < end_ && *p_ == ',') {
            ++p_;
            if (frame.is_array) {
                ++frame.index;
            } else {
                skip_ws();
                if (!parse_key("expected '\"' to start a key after ','")) {
                    return false;
                }
            }
            need_value = true;
        } else {
            return fail(p_,
                        std::string(frame.is_array ? "expected ',' or ']' after an array element"
                                                   : "expected ',' or '}' after an object member") +
                            ", got " + show_at(p_, end_));
        }
    }
}

bool Inspector::open_container(bool is_array)
{
    if (stack_.size() >= options_.max_depth) {
        return fail(p_,
                    "expected at most " + std::to_string(options_.max_depth) +
                        " nested arrays and objects (max_depth), got " + show_byte(*p_) +
                        " opening one more");
    }
    stack_.push(Frame{p_, {}, 0, is_array, false});
    ++p_;
    skip_ws();
    return true;
}

bool Inspector::parse_key(const char* context)
{
    if (p_ == end_ || *p_ != '"') {
        return fail(p_, std::string(context) + ", got " + show_at(p_, end_));
    }
    const char* open = p_;
    const Scan scan = scan_string();
    if (scan == Scan::failed) {
        return false;
    }
    const std::string_view key(open + 1, static_cast<std::size_t>(p_ - open - 2));
    const bool escaped = scan == Scan::escaped;
    Frame& frame = stack_.top();
    frame.key = key;
    frame.key_escaped = escaped;
    if (stack_.size() == 1 && (escaped || (!key.empty() && key[0] == '_'))) {
        // docs/protocol.md#reserved-fields: only root-level keys are reserved, compared unescaped
        std::string_view name = key;
        if (escaped) {
            unescape(key, scratch_);
            name = scratch_;
        }
        pending_ = name == "_id"        ? Reserved::id
                   : name == "_updated" ? Reserved::updated
                   : name == "_deleted" ? Reserved::deleted
                                        : Reserved::none;
    }
    skip_ws();
    if (p_ == end_ || *p_ != ':') {
        return fail(p_, "expected ':' after an object key, got " + show_at(p_, end_));
    }
    ++p_;
    return true;
}

Scan Inspector::scan_string()
{
    const char* open = p_++;
    Scan result = Scan::plain;
    for (;;) {
        p_ = skip_plain_string_bytes(p_, end_);
        if (p_ == end_) {
            fail(open, "expected '\"' to close the string, got the end of the value");
            return Scan::failed;
        }
        if (*p_ == '"') {
            ++p_;
            return result;
        }
        if (*p_ != '\\') {
            fail(p_,
                 "expected an escaped character in a string, got the raw control byte " +
                     show_byte(*p_));
            return Scan::failed;
        }
        result = Scan::escaped;
        if (!check_escape()) {
            return Scan::failed;
        }
    }
}

bool Inspector::check_escape()
{
    const char* slash = p_;
    if (end_ - p_ < 2) {
        return fail(slash, "expected an escape after '\\', got the end of the value");
    }
    const char e = p_[1];
    if (e == 'u') {
        for (int i = 2; i < 6; ++i) {
            if (p_ + i == end_ || !is_hex(p_[i])) {
                return fail(p_ + i,
                            "expected 4 hex digits after \\u, got " + show_at(p_ + i, end_));
            }
        }
        p_ += 6;
        return true;
    }
    if (std::string_view("\"\\/bfnrt").find(e) == std::string_view::npos) {
        return fail(slash,
                    "expected one of \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u in a string, got '\\' "
                    "followed by " +
                        show_byte(e));
    }
    p_ += 2;
    return true;
}

bool Inspector::parse_string_value()
{
    const char* open = p_;
    const Scan scan = scan_string();
    if (scan == Scan::failed) {
        return false;
    }
    const std::string_view body(open + 1, static_cast<std::size_t>(p_ - open - 2));
    const bool escaped = scan == Scan::escaped;
    // docs/protocol.md#transit rules 1-2: only values are transit; an escaped first byte may decode
    // to '~'
    if (!body.empty() && (body[0] == '~' || body[0] == '\\')) {
        check_transit_value(open, body, escaped);
    }
    if (stack_.size() == 1 && (pending_ == Reserved::id || pending_ == Reserved::updated)) {
        std::string& field = pending_ == Reserved::id ? view_.id : view_.updated;
        if (escaped) {
            unescape(body, field);
        } else {
            field.assign(body);
        }
    }
    return true;
}

void Inspector::check_transit_value(const char* open, std::string_view body, bool escaped)
{
    if (!options_.check_transit || transit_error_) {
        return;
    }
    std::string_view decoded = body;
    if (escaped) {
        unescape(body, scratch_);
        decoded = scratch_;
    }
    if (!looks_like_transit(decoded)) {
        return;
    }
    // docs/protocol.md#transit rule 3: a known tag that does not decode fails the whole parse
    if (const char* problem = check_transit(decoded)) {
        const std::string path = field_path();
        std::string message;
        if (!path.empty()) {
            message = (root_is_object_ ? "field " : "at ") + quoted(path) + ": ";
        }
        message += std::string(problem) + "; value " + quoted(decoded);
        transit_error_ =
            StreamError{base_ + static_cast<std::uint64_t>(open - begin_), std::move(message)};
    }
}

bool Inspector::parse_literal(std::string_view literal)
{
    for (std::size_t i = 0; i < literal.size(); ++i) {
        if (p_ + i == end_ || p_[i] != literal[i]) {
            return fail(p_ + i,
                        "expected the literal " + std::string(literal) + ", got " +
                            show_at(p_ + i, end_) + " after \"" + std::string(p_, i) + "\"");
        }
    }
    p_ += literal.size();
    return true;
}

bool Inspector::expect_digit(const char* what)
{
    if (p_ == end_ || !is_digit(*p_)) {
        return fail(p_, std::string("expected a digit ") + what + ", got " + show_at(p_, end_));
    }
    while (p_ < end_ && is_digit(*p_)) {
        ++p_;
    }
    return true;
}

bool Inspector::parse_number()
{
    if (*p_ == '-') {
        ++p_;
    }
    if (p_ < end_ && *p_ == '0') {
        ++p_;
        if (p_ < end_ && is_digit(*p_)) {
            return fail(p_,
                        "expected '.', 'e' or the end of the number after a leading 0, got " +
                            show_byte(*p_));
        }
    } else if (!expect_digit("to start the number")) {
        return false;
    }
    if (p_ < end_ && *p_ == '.') {
        ++p_;
        if (!expect_digit("after the decimal point")) {
            return false;
        }
    }
    if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
        ++p_;
        if (p_ < end_ && (*p_ == '+' || *p_ == '-')) {
            ++p_;
        }
        if (!expect_digit("in the exponent")) {
            return false;
        }
    }
    return true;
}

void Inspector::value_done(const char* start, JsonKind kind)
{
    if (stack_.size() != 1 || pending_ == Reserved::none) {
        return;
    }
    const std::string_view text(start, static_cast<std::size_t>(p_ - start));
    switch (pending_) {
    case Reserved::id:
        view_.id_kind = kind;
        if (kind != JsonKind::string) {
            view_.id.assign(text);
        }
        break;
    case Reserved::updated:
        view_.updated_kind = kind;
        if (kind != JsonKind::string) {
            view_.updated.assign(text);
        }
        break;
    case Reserved::deleted:
        view_.deleted_kind = kind;
        // docs/protocol.md#reserved-fields: only the literal true deletes
        view_.deleted = text == "true";
        break;
    case Reserved::none:
        break;
    }
    pending_ = Reserved::none;
}

std::string Inspector::field_path() const
{
    std::string path;
    for (std::size_t i = 0; i < stack_.size(); ++i) {
        const Frame& frame = stack_[i];
        if (frame.is_array) {
            path += '[' + std::to_string(frame.index) + ']';
            continue;
        }
        if (!path.empty()) {
            path += '.';
        }
        if (frame.key_escaped) {
            std::string key;
            unescape(frame.key, key);
            path += key;
        } else {
            path += frame.key;
        }
    }
    return path;
}

std::string Inspector::element_label() const
{
    if (!root_is_object_) {
        return "value at byte " + std::to_string(base_) + " (not an entity)";
    }
    const std::string index = " (index " + std::to_string(view_.index) + ")";
    switch (view_.id_kind) {
    case JsonKind::missing:
        return "entity without _id" + index;
    case JsonKind::string:
        return "entity " + quoted(view_.id) + index;
    default:
        return "entity with _id " + view_.id + index;
    }
}

std::string describe_top_level_scalar(char c)
{
    if (c == '"') {
        return "body is a JSON string, not an array of entities";
    }
    if (c == '-' || is_digit(c)) {
        return "body is a JSON number, not an array of entities";
    }
    return "expected '[' (an array of entities) at the start of the body, got " + show_byte(c);
}

} // namespace

std::optional<StreamError> inspect_element(std::string_view element,
                                           std::uint64_t base_offset,
                                           const EntityStreamParser::Options& options,
                                           EntityView& view)
{
    return Inspector(element, base_offset, options, view).run();
}

EntityStreamParser::EntityStreamParser(EntityCallback on_entity)
    : EntityStreamParser(std::move(on_entity), Options{})
{
}

EntityStreamParser::EntityStreamParser(EntityCallback on_entity, Options options)
    : on_entity_(std::move(on_entity)), options_(options)
{
}

std::optional<StreamError> EntityStreamParser::fail(std::uint64_t offset, std::string message)
{
    error_ = StreamError{offset, std::move(message)};
    return error_;
}

std::optional<StreamError> EntityStreamParser::feed(std::string_view bytes)
{
    if (error_) {
        return error_;
    }
    const char* const begin = bytes.data();
    const char* const end = begin + bytes.size();
    const std::uint64_t base = consumed_;
    consumed_ += bytes.size();

    const char* p = begin;
    while (p < end) {
        const char* start = p; // this chunk's part of the current element
        if (!in_element_) {
            const char c = *p;
            if (is_ws(c)) {
                ++p;
                continue;
            }
            bool begins_element = false;
            if (auto error = top_level_byte(
                    c, base + static_cast<std::uint64_t>(p - begin), begins_element)) {
                return error;
            }
            ++p;
            if (!begins_element) {
                continue;
            }
            if (c == '{') {
                // Fast path: an entity wholly inside this chunk is validated in one pass that
                // finds its end too. Anything else (cut by the chunk's end, too large, any
                // problem) takes the exact path below, so verdicts never depend on chunking.
                view_.index = entities_;
                const char* stop =
                    Inspector(std::string_view(start, static_cast<std::size_t>(end - start)),
                              element_offset_,
                              options_,
                              view_)
                        .run_prefix();
                if (stop != nullptr &&
                    (options_.max_entity_bytes == 0 ||
                     static_cast<std::size_t>(stop - start) <= options_.max_entity_bytes)) {
                    in_element_ = false;
                    on_entity_(view_);
                    ++entities_;
                    top_ = top_ == Top::in_single_object ? Top::done
                                                         : Top::in_array_expect_comma_or_end;
                    p = stop;
                    continue;
                }
            }
        }
        const char* stop = scan_element(p, end);
        const std::size_t size =
            carry_.size() + static_cast<std::size_t>((stop ? stop : end) - start);
        if (options_.max_entity_bytes != 0 && size > options_.max_entity_bytes) {
            return fail(element_offset_ + options_.max_entity_bytes,
                        "expected an element of at most " +
                            std::to_string(options_.max_entity_bytes) +
                            " bytes (max_entity_bytes), got a larger one starting at byte " +
                            std::to_string(element_offset_));
        }
        if (stop == nullptr) {
            carry_.append(start, end);
            return std::nullopt;
        }
        std::string_view element(start, static_cast<std::size_t>(stop - start));
        if (!carry_.empty()) {
            carry_.append(element);
            element = carry_;
        }
        in_element_ = false;
        if (auto error = complete_element(element, element_offset_)) {
            return error;
        }
        carry_.clear();
        p = stop;
    }
    return std::nullopt;
}

std::optional<StreamError>
EntityStreamParser::top_level_byte(char c, std::uint64_t offset, bool& begins_element)
{
    // docs/protocol.md#conventions parser tolerance: an array of entities, or one bare object
    switch (top_) {
    case Top::before:
        if (c == '[') {
            top_ = Top::in_array_expect_value_or_end;
            return std::nullopt;
        }
        if (c != '{') {
            return fail(offset, describe_top_level_scalar(c));
        }
        single_object_ = true;
        top_ = Top::in_single_object;
        break;
    case Top::in_array_expect_value_or_end:
        if (c == ']') {
            top_ = Top::done;
            return std::nullopt;
        }
        if (c == ',') {
            return fail(offset, "expected an entity or ']' after '[', got ','");
        }
        break;
    case Top::in_array_expect_value:
        if (c == ']' || c == ',') {
            return fail(offset, "expected an entity after ',', got " + show_byte(c));
        }
        break;
    case Top::in_array_expect_comma_or_end:
        if (c == ',') {
            top_ = Top::in_array_expect_value;
        } else if (c == ']') {
            top_ = Top::done;
        } else {
            return fail(offset, "expected ',' or ']' after an array element, got " + show_byte(c));
        }
        return std::nullopt;
    case Top::in_single_object:
    case Top::done:
        return fail(offset,
                    "unexpected " + show_byte(c) + " after the end of the " +
                        (single_object_ ? "object" : "array"));
    }
    begins_element = true;
    in_element_ = true;
    element_offset_ = offset;
    element_first_ = c;
    depth_ = c == '{' || c == '[' ? 1 : 0;
    in_string_ = c == '"';
    escape_ = false;
    return std::nullopt;
}

const char* EntityStreamParser::scan_element(const char* p, const char* end)
{
    if (depth_ == 0 && !in_string_) {
        // A scalar ends at the first delimiter, which is not part of it.
        while (p < end && *p != ',' && *p != ']' && !is_ws(*p)) {
            ++p;
        }
        return p < end ? p : nullptr;
    }
    // Locals rather than members, so that the hot loop keeps its state in registers.
    std::size_t depth = depth_;
    bool in_string = in_string_;
    bool escape = escape_;
    const char* done = nullptr;
    while (p < end) {
        if (in_string) {
            if (escape) {
                escape = false;
                ++p;
            }
            p = find_quote_or_backslash(p, end);
            if (p == end) {
                break;
            }
            if (*p++ == '\\') {
                escape = true;
                continue;
            }
            in_string = false;
            if (depth == 0) {
                done = p;
                break;
            }
        }
        while (p < end && !kStructural[static_cast<unsigned char>(*p)]) {
            ++p;
        }
        if (p == end) {
            break;
        }
        const char c = *p++;
        if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            ++depth;
        } else if (--depth == 0) {
            done = p;
            break;
        }
    }
    depth_ = depth;
    in_string_ = in_string;
    escape_ = escape;
    return done;
}

std::optional<StreamError> EntityStreamParser::complete_element(std::string_view element,
                                                                std::uint64_t offset)
{
    view_.index = entities_;
    if (auto error = inspect_element(element, offset, options_, view_)) {
        return fail(error->offset, std::move(error->message));
    }
    if (element_first_ == '{') {
        on_entity_(view_);
        ++entities_;
    } else {
        ++skipped_;
    }
    top_ = top_ == Top::in_single_object ? Top::done : Top::in_array_expect_comma_or_end;
    return std::nullopt;
}

std::optional<StreamError> EntityStreamParser::finish()
{
    if (error_) {
        return error_;
    }
    const std::string at = "body ends at byte " + std::to_string(consumed_);
    if (in_element_) {
        std::string what =
            element_first_ == '{' ? "entity " + std::to_string(entities_) : std::string("a value");
        what += " starting at byte " + std::to_string(element_offset_);
        return fail(consumed_,
                    at + " inside " + (in_string_ ? "a string in " : "") + what + " (cut short)");
    }
    switch (top_) {
    case Top::before:
        return fail(consumed_,
                    consumed_ == 0
                        ? "body is empty, expected a JSON array of entities"
                        : "body holds only whitespace, expected a JSON array of entities");
    case Top::in_array_expect_value_or_end:
        return fail(consumed_, at + " inside the array, expected an entity or ']' (cut short)");
    case Top::in_array_expect_value:
        return fail(consumed_, at + " inside the array, expected an entity after ',' (cut short)");
    case Top::in_array_expect_comma_or_end:
        return fail(consumed_, at + " inside the array, expected ',' or ']' (cut short)");
    case Top::in_single_object:
    case Top::done:
        break;
    }
    return std::nullopt;
}

} // namespace sesam::emulator
