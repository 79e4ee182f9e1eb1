#include "emulator/store/dataset_store.hpp"

#include "emulator/entity/entity.hpp"
#include "emulator/entity/run_seed.hpp"
#include "emulator/entity/transit.hpp"
#include "emulator/json_stream/json_depth.hpp"
#include "emulator/store/state_store.hpp"

#include <nlohmann/json.hpp>
#include <simdjson.h>
#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <bit>
#include <charconv>
#include <chrono>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <vector>

namespace sesam::emulator {

namespace {

using nlohmann::json;
using nlohmann::ordered_json;
namespace sj = simdjson::ondemand;

// ---- MurmurHash3 x64 128-bit (Austin Appleby's public-domain design), seed 0 ----

constexpr std::uint64_t kC1 = 0x87c37b91114253d5ULL;
constexpr std::uint64_t kC2 = 0x4cf5ad432745937fULL;

std::uint64_t load_le64(const unsigned char* p) noexcept
{
    std::uint64_t v = 0;
    for (int i = 7; i >= 0; --i)
        v = (v << 8) | p[i];
    return v;
}

std::uint64_t fmix64(std::uint64_t k) noexcept
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ULL;
    k ^= k >> 33;
    return k;
}

std::uint64_t mix_k1(std::uint64_t k1) noexcept
{
    return std::rotl(k1 * kC1, 31) * kC2;
}

std::uint64_t mix_k2(std::uint64_t k2) noexcept
{
    return std::rotl(k2 * kC2, 33) * kC1;
}

/// The 16 bytes of the digest in the customary order (h1 then h2, each little-endian).
std::array<unsigned char, 16> murmur3_x64_128(std::string_view data) noexcept
{
    const auto* bytes = reinterpret_cast<const unsigned char*>(data.data());
    const std::size_t blocks = data.size() / 16;
    std::uint64_t h1 = 0;
    std::uint64_t h2 = 0;
    for (std::size_t i = 0; i < blocks; ++i) {
        h1 ^= mix_k1(load_le64(bytes + i * 16));
        h1 = (std::rotl(h1, 27) + h2) * 5 + 0x52dce729;
        h2 ^= mix_k2(load_le64(bytes + i * 16 + 8));
        h2 = (std::rotl(h2, 31) + h1) * 5 + 0x38495ab5;
    }
    const unsigned char* tail = bytes + blocks * 16;
    const std::size_t rest = data.size() % 16;
    std::uint64_t k1 = 0;
    std::uint64_t k2 = 0;
    for (std::size_t i = rest; i > 8; --i)
        k2 = (k2 << 8) | tail[i - 1];
    for (std::size_t i = std::min<std::size_t>(rest, 8); i > 0; --i)
        k1 = (k1 << 8) | tail[i - 1];
    if (rest > 8)
        h2 ^= mix_k2(k2);
    if (rest > 0)
        h1 ^= mix_k1(k1);

    h1 ^= data.size();
    h2 ^= data.size();
    h1 += h2;
    h2 += h1;
    h1 = fmix64(h1);
    h2 = fmix64(h2);
    h1 += h2;
    h2 += h1;

    std::array<unsigned char, 16> out{};
    for (int i = 0; i < 8; ++i) {
        out[i] = static_cast<unsigned char>(h1 >> (8 * i));
        out[8 + i] = static_cast<unsigned char>(h2 >> (8 * i));
    }
    return out;
}

using HashText = std::array<char, 32>;

HashText hash_text(std::string_view canonical) noexcept
{
    static constexpr char kHex[] = "0123456789abcdef";
    const auto digest = murmur3_x64_128(canonical);
    HashText text{};
    for (std::size_t i = 0; i < digest.size(); ++i) {
        text[2 * i] = kHex[digest[i] >> 4];
        text[2 * i + 1] = kHex[digest[i] & 0xf];
    }
    return text;
}

std::string_view as_view(const HashText& hash)
{
    return {hash.data(), hash.size()};
}

// ---- entities as a dataset sink writes them (docs/protocol.md#reserved-fields) ----

/// Appends `text` as the inside of a JSON string, escaped as nlohmann::json's dump escapes valid
/// UTF-8 (multi-byte sequences are copied). Returns true when anything needed escaping.
bool append_escaped(std::string& out, std::string_view text)
{
    static constexpr char kHex[] = "0123456789abcdef";
    bool escaped = false;
    std::size_t plain = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        out.append(text.substr(plain, i - plain));
        plain = i + 1;
        escaped = true;
        switch (c) {
        case '"':
            out.append("\\\"");
            break;
        case '\\':
            out.append("\\\\");
            break;
        case '\b':
            out.append("\\b");
            break;
        case '\t':
            out.append("\\t");
            break;
        case '\n':
            out.append("\\n");
            break;
        case '\f':
            out.append("\\f");
            break;
        case '\r':
            out.append("\\r");
            break;
        default:
            out.append("\\u00");
            out.push_back(kHex[c >> 4]);
            out.push_back(kHex[c & 0xf]);
        }
    }
    out.append(text.substr(plain));
    return escaped;
}

void append_int(std::string& out, std::int64_t value)
{
    std::array<char, 24> digits{};
    const auto end = std::to_chars(digits.data(), digits.data() + digits.size(), value).ptr;
    out.append(digits.data(), end);
}

/// Reads one entity as a dataset sink writes it (docs/protocol.md#reserved-fields), in one pass
/// without a DOM: checks it, keeps its own (non-`_`) root fields as compact JSON in their original
/// order, and builds the canonical text that `_hash` is taken of. That text is byte for byte
/// nlohmann::json's compact dump (keys sorted) of the entity reduced to its own fields, `_id` and a
/// boolean `_deleted`. The pass walks simdjson's On-Demand parser (UTF-8, structure, strings and
/// numbers checked as nlohmann checks them), and numbers are written as nlohmann reads them
/// (integers as integers, `-0` as `0`, everything else as a double). Anything unusual (an error, a
/// duplicate key, a key that needs escaping, a number simdjson does not take) is read again
/// through the DOM, which defines the behaviour and words the errors. Reused: its buffers keep
/// capacity.
class EntityReader {
public:
    /// Deeper entities are refused: far deeper than what a stream parser passes (512 levels), and
    /// the limit keeps both readings' recursion off the end of the stack.
    static constexpr std::size_t kMaxDepth = 1024;
    static_assert(kMaxDepth <= simdjson::DEFAULT_MAX_DEPTH, "the parser is made with the default");

    /// Reads `text`; `tombstone` makes it deleted (deletion tracking). Throws
    /// std::invalid_argument naming the problem.
    void read(std::string_view text, bool tombstone)
    {
        tombstone_ = tombstone;
        if (!read_fast(text))
            read_dom(text);
        hash_ = hash_text(canonical_);
    }

    /// read() through the DOM only (the reference).
    void read_by_dom(std::string_view text)
    {
        tombstone_ = false;
        read_dom(text);
        hash_ = hash_text(canonical_);
    }

    const std::string& id() const { return id_; }
    /// The own fields as `,"key":value` pairs, or empty.
    const std::string& own_fields() const { return own_; }
    bool deleted() const { return deleted_; }
    bool filtered() const { return filtered_; }
    const HashText& hash() const { return hash_; }

private:
    enum class RootField : std::uint8_t { own, id, deleted, filtered, dropped };

    /// An open object or array. `begin` is where it starts in canonical_.
    struct Frame {
        bool object;
        std::size_t begin;
        std::size_t first_member;
        std::size_t count;
    };
    /// An object member in canonical_: `"key":value` from `begin`, the key unescaped.
    struct Member {
        std::size_t begin;
        std::size_t key_size;
    };

    static RootField root_field(std::string_view name)
    {
        if (!is_reserved_field(name))
            return RootField::own;
        if (name == kId)
            return RootField::id;
        if (name == kDeleted)
            return RootField::deleted;
        return name == kFiltered ? RootField::filtered : RootField::dropped;
    }

    /// The walk over simdjson's On-Demand document. Returning false abandons it for the DOM.
    bool read_fast(std::string_view text)
    {
        own_.clear();
        canonical_.clear();
        frames_.clear();
        members_.clear();
        field_ = RootField::own;
        seen_ = 0;
        has_id_ = deleted_ = filtered_ = false;
        // simdjson reads up to SIMDJSON_PADDING bytes past the end.
        padded_.resize(text.size() + simdjson::SIMDJSON_PADDING);
        std::copy(text.begin(), text.end(), padded_.begin());
        sj::document doc;
        sj::object root;
        if (parser_.iterate(padded_.data(), text.size(), padded_.size()).get(doc) ||
            doc.get_object().get(root))
            return false;
        frames_.push_back({true, 0, 0, 0});
        canonical_.push_back('{');
        if (!walk_members(root) || !end_object())
            return false;
        const char* trailing = nullptr;
        return doc.current_location().get(trailing) != simdjson::SUCCESS; // nothing after it
    }

    bool walk_members(sj::object& object)
    {
        for (auto member : object) {
            std::string_view name;
            sj::value value;
            if (member.unescaped_key().get(name) || !key(name) || member.value().get(value) ||
                !walk(value))
                return false;
        }
        return true;
    }

    bool walk(sj::value& value)
    {
        sj::json_type type{};
        if (value.type().get(type))
            return false;
        switch (type) {
        case sj::json_type::object: {
            sj::object object;
            return deeper_allowed() && !value.get_object().get(object) &&
                   start_container(true, "{") && walk_members(object) && end_object();
        }
        case sj::json_type::array: {
            sj::array array;
            if (!deeper_allowed() || value.get_array().get(array) || !start_container(false, "["))
                return false;
            for (auto element : array) {
                sj::value item;
                if (element.get(item) || !walk(item))
                    return false;
            }
            return end_array();
        }
        case sj::json_type::string: {
            std::string_view text;
            return !value.get_string().get(text) && string(text);
        }
        case sj::json_type::number:
            return number(value);
        case sj::json_type::boolean: {
            bool flag = false;
            return !value.get_bool().get(flag) && boolean(flag);
        }
        case sj::json_type::null: {
            bool null = false;
            return !value.is_null().get(null) && null && scalar("null");
        }
        }
        return false;
    }

    /// Whether a container may open here. Checked before simdjson enters it: its parser allows
    /// kMaxDepth levels (and asserts that in debug builds); the DOM reading decides the rest.
    bool deeper_allowed() const { return frames_.size() + 1 < kMaxDepth; }

    /// A number as nlohmann reads it: an integer token that fits 64 bits is an integer (`-0`
    /// too, written `0`), any other a double, written as dump() writes a double. What simdjson
    /// refuses (beyond 64 bits, out of a double's range) goes to the DOM.
    bool number(sj::value& value)
    {
        // Not get_number(): in simdjson 3.0.1 it gives 0 for a double of more than 19 digits.
        sj::number_type type{};
        if (value.get_number_type().get(type))
            return false;
        if (type == sj::number_type::signed_integer) {
            std::int64_t number = 0;
            return !value.get_int64().get(number) && integer(number);
        }
        if (type == sj::number_type::unsigned_integer) {
            std::uint64_t number = 0;
            return !value.get_uint64().get(number) && integer(number);
        }
        double number = 0;
        if (value.get_double().get(number) || !std::isfinite(number) ||
            value.raw_json_token().find_first_of(".eE") == std::string_view::npos)
            return false; // an integer token beyond 64 bits: nlohmann reads a double
        // The formatting that dump() uses for a finite double, without dump()'s allocations.
        std::array<char, 64> digits{};
        const auto* end =
            nlohmann::detail::to_chars(digits.data(), digits.data() + digits.size(), number);
        return scalar({digits.data(), end});
    }

    bool boolean(bool value)
    {
        if (frames_.size() == 1 && field_ == RootField::deleted)
            deleted_ = value; // docs/protocol.md#reserved-fields: only the literal true deletes
        if (frames_.size() == 1 && field_ == RootField::filtered)
            filtered_ = value;
        return scalar(value ? "true" : "false");
    }

    bool string(std::string_view value)
    {
        // docs/protocol.md#transit rule 3: a known tag that does not decode is an error (worded by
        // read_dom)
        if (check_transit(value) != nullptr || !begin_value(true))
            return false;
        if (frames_.size() == 1 && field_ == RootField::id) {
            id_ = value;
            has_id_ = true;
        }
        if (copying()) {
            const auto begin = canonical_.size();
            canonical_.push_back('"');
            append_escaped(canonical_, value);
            canonical_.push_back('"');
            own_.append(canonical_, begin);
        }
        return true;
    }

    bool key(std::string_view name)
    {
        Frame& frame = frames_.back();
        if (frames_.size() == 1) {
            field_ = root_field(name);
            if (field_ != RootField::own)
                return field_ == RootField::dropped || note_once(field_);
            own_.push_back(','); // own root fields follow the reserved ones
        } else if (!copying()) {
            return true;
        } else if (frame.count > 0) {
            own_.push_back(',');
        }
        if (!add_member(frame, name))
            return false;
        own_.append(canonical_, members_.back().begin);
        return true;
    }

    bool end_object()
    {
        Frame frame = frames_.back();
        frames_.pop_back();
        if (frames_.empty())
            return close_root(frame);
        if (!copying())
            return true;
        own_.push_back('}');
        return close_object(frame);
    }

    bool end_array()
    {
        frames_.pop_back();
        if (copying())
            emit("]");
        return true;
    }

    /// The DOM reading: the reference for what read_fast does, and the wording of errors.
    void read_dom(std::string_view text)
    {
        if (json_depth(text) > kMaxDepth) // the DOM's copy and dump would recurse
            throw std::invalid_argument("entity is nested more than " + std::to_string(kMaxDepth) +
                                        " levels deep");
        auto entity = ordered_json::parse(text, nullptr, false);
        if (entity.is_discarded())
            throw std::invalid_argument("entity is not valid JSON");
        if (!entity.is_object())
            throw std::invalid_argument(std::string("entity is not a JSON object, got ") +
                                        entity.type_name());
        const auto id = entity.find(kId);
        if (id == entity.end())
            throw std::invalid_argument("entity has no _id");
        if (!id->is_string())
            throw std::invalid_argument("_id must be a string, got " + id->dump());
        json sorted(entity);
        if (const auto problem = validate_entity(sorted, IdRule::required_id))
            throw std::invalid_argument(describe(*problem));

        const auto literally_true = [&](std::string_view key) {
            const auto it = entity.find(key);
            return it != entity.end() && it->is_boolean() && it->get<bool>();
        };
        id_ = id->get<std::string>();
        deleted_ = tombstone_ || literally_true(kDeleted);
        filtered_ = literally_true(kFiltered);

        auto& hashed = sorted.get_ref<json::object_t&>();
        for (auto it = hashed.begin(); it != hashed.end();)
            it =
                is_reserved_field(it->first) && it->first != kId ? hashed.erase(it) : std::next(it);
        hashed.emplace(kDeleted, deleted_);
        canonical_ = sorted.dump();

        auto& own = entity.get_ref<ordered_json::object_t&>();
        for (auto it = own.begin(); it != own.end();)
            it = is_reserved_field(it->first) ? own.erase(it) : std::next(it);
        own_.clear();
        if (!entity.empty()) {
            own_ = entity.dump(); // `{...}` becomes `,...`
            own_.front() = ',';
            own_.pop_back();
        }
    }

    /// True while reading a value that is copied: an own root field or inside one.
    bool copying() const { return field_ == RootField::own; }

    void emit(std::string_view text)
    {
        own_.append(text);
        canonical_.append(text);
    }

    /// Before each value: false when it may not stand here (a non-string `_id`); writes the
    /// comma between array elements.
    bool begin_value(bool is_string)
    {
        if (frames_.size() == 1 && field_ == RootField::id && !is_string)
            return false;
        Frame& frame = frames_.back();
        if (!frame.object && copying() && frame.count++ > 0)
            emit(",");
        return true;
    }

    bool scalar(std::string_view text)
    {
        if (!begin_value(false))
            return false;
        if (copying())
            emit(text);
        return true;
    }

    template <typename Integer> bool integer(Integer value)
    {
        std::array<char, 24> digits{};
        const auto end = std::to_chars(digits.data(), digits.data() + digits.size(), value).ptr;
        return scalar({digits.data(), end});
    }

    bool start_container(bool object, std::string_view open)
    {
        if (!begin_value(false))
            return false;
        frames_.push_back({object, canonical_.size(), members_.size(), 0});
        if (copying())
            emit(open);
        return true;
    }

    /// Records `_id`, `_deleted` and `_filtered` once; a repeat takes the DOM reading.
    bool note_once(RootField field)
    {
        const auto bit = 1U << static_cast<unsigned>(field);
        const bool first = (seen_ & bit) == 0;
        seen_ |= bit;
        return first;
    }

    /// Writes `"name":` as the next member of `frame`. A key that needs escaping takes the DOM
    /// reading: then sorting the written keys is sorting the keys.
    bool add_member(Frame& frame, std::string_view name)
    {
        if (frame.count++ > 0)
            canonical_.push_back(',');
        members_.push_back({canonical_.size(), name.size()});
        canonical_.push_back('"');
        if (append_escaped(canonical_, name))
            return false;
        canonical_.append("\":");
        return true;
    }

    /// docs/protocol.md#reserved-fields: `_id` and `_deleted` (a boolean, false when absent) count
    /// towards the hash.
    bool close_root(Frame& root)
    {
        if (!has_id_)
            return false;
        deleted_ = deleted_ || tombstone_;
        add_member(root, kId);
        canonical_.push_back('"');
        append_escaped(canonical_, id_);
        canonical_.push_back('"');
        add_member(root, kDeleted);
        canonical_.append(deleted_ ? "true" : "false");
        return close_object(root);
    }

    /// Puts the members of the object in key order, as nlohmann::json's std::map keeps them.
    /// A duplicate key takes the DOM reading (the last value wins there).
    bool close_object(const Frame& frame)
    {
        const std::size_t first = frame.first_member;
        const std::size_t count = members_.size() - first;
        const auto key = [&](std::size_t i) {
            return std::string_view(canonical_)
                .substr(members_[first + i].begin + 1, members_[first + i].key_size);
        };
        order_.resize(count);
        std::iota(order_.begin(), order_.end(), std::size_t{0});
        std::sort(order_.begin(), order_.end(), [&](auto a, auto b) { return key(a) < key(b); });
        for (std::size_t i = 1; i < count; ++i)
            if (key(order_[i - 1]) == key(order_[i]))
                return false;
        if (!std::is_sorted(order_.begin(), order_.end())) {
            scratch_.assign(1, '{');
            for (std::size_t i = 0; i < count; ++i) {
                const std::size_t m = order_[i];
                const std::size_t begin = members_[first + m].begin;
                const std::size_t end =
                    m + 1 < count ? members_[first + m + 1].begin - 1 : canonical_.size();
                if (i > 0)
                    scratch_.push_back(',');
                scratch_.append(canonical_, begin, end - begin);
            }
            canonical_.resize(frame.begin);
            canonical_.append(scratch_);
        }
        canonical_.push_back('}');
        members_.resize(first);
        return true;
    }

    bool tombstone_ = false;
    std::string id_;
    std::string own_;
    std::string canonical_;
    std::string scratch_;
    std::string padded_; ///< the entity, with simdjson's padding
    sj::parser parser_;
    bool has_id_ = false;
    bool deleted_ = false;
    bool filtered_ = false;
    HashText hash_{};
    RootField field_ = RootField::own;
    unsigned seen_ = 0;
    std::vector<Frame> frames_;
    std::vector<Member> members_;
    std::vector<std::size_t> order_;
};

/// What a load writes of one entity: EntityReader's results, held by the reader or a batch.
struct ReadEntity {
    std::string_view id;
    std::string_view own_fields; ///< `,"key":value` pairs, or empty
    std::string_view hash;
    bool deleted;
    bool filtered;
};

ReadEntity read_entity(const EntityReader& reader)
{
    return {reader.id(),
            reader.own_fields(),
            as_view(reader.hash()),
            reader.deleted(),
            reader.filtered()};
}

// ---- SQLite ----

std::int64_t system_now_micros()
{
    return run_clock_micros(); // the system clock, or --seed's (run_seed.hpp)
}

[[noreturn]] void fail(sqlite3* db, const std::string& path, std::string_view what)
{
    throw StoreError("state store " + path + ": " + std::string(what) + ": " + sqlite3_errmsg(db));
}

void exec(sqlite3* db, const std::string& path, const char* sql, std::string_view what)
{
    if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK)
        fail(db, path, what);
}

/// A prepared statement, reset and reusable after each run.
class Statement {
public:
    Statement(sqlite3* db, const std::string& path, const char* sql) : db_(db), path_(&path)
    {
        if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr) !=
            SQLITE_OK)
            fail(db, path, "cannot prepare a dataset query");
    }
    ~Statement() { sqlite3_finalize(stmt_); }
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;

    Statement& bind(int index, std::string_view text)
    {
        check(sqlite3_bind_text(
            stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_STATIC));
        return *this;
    }
    Statement& bind(int index, std::int64_t value)
    {
        check(sqlite3_bind_int64(stmt_, index, value));
        return *this;
    }
    Statement& bind(int index, std::optional<std::int64_t> value)
    {
        if (value)
            return bind(index, *value);
        check(sqlite3_bind_null(stmt_, index));
        return *this;
    }

    /// Steps once: true for a row, false when done. Throws StoreError naming `what`.
    bool step(std::string_view what)
    {
        const int rc = sqlite3_step(stmt_);
        if (rc == SQLITE_ROW)
            return true;
        if (rc != SQLITE_DONE)
            fail(db_, *path_, what);
        return false;
    }
    /// Runs a statement that returns no rows, then resets it.
    void run(std::string_view what)
    {
        step(what);
        reset();
    }
    void reset()
    {
        sqlite3_reset(stmt_);
        sqlite3_clear_bindings(stmt_);
    }

    std::int64_t integer(int column) const { return sqlite3_column_int64(stmt_, column); }
    bool is_null(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }
    std::string_view text(int column) const
    {
        const auto* data = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
        return {data ? data : "", static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column))};
    }

private:
    void check(int rc) const
    {
        if (rc != SQLITE_OK)
            fail(db_, *path_, "cannot bind a dataset query parameter");
    }

    sqlite3* db_;
    const std::string* path_;
    sqlite3_stmt* stmt_ = nullptr;
};

/// The row of (updated, id, deleted, previous, json) that `st` stands on.
StoredEntity stored_entity(const Statement& st)
{
    StoredEntity entity;
    entity.updated = st.integer(0);
    entity.id = st.text(1);
    entity.deleted = st.integer(2) != 0;
    if (!st.is_null(3))
        entity.previous = st.integer(3);
    entity.json = st.text(4);
    return entity;
}

/// Reads rows of (updated, id, deleted, previous, json) and hands them to `visit`.
void visit_rows(Statement& st,
                std::string_view what,
                const std::function<bool(const StoredEntity&)>& visit)
{
    while (st.step(what))
        if (!visit(stored_entity(st)))
            break;
}

constexpr const char* kSchema =
    // one row per dataset: `next_updated` is the dataset's counter
    // (docs/protocol.md#reserved-fields)
    "CREATE TABLE IF NOT EXISTS datasets ("
    " ds INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL UNIQUE,"
    " next_updated INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS entity_versions ("
    " ds INTEGER NOT NULL,"
    " updated INTEGER NOT NULL,"
    " id TEXT NOT NULL,"
    " deleted INTEGER NOT NULL,"
    " filtered INTEGER NOT NULL,"
    " hash TEXT NOT NULL,"
    " previous INTEGER,"
    " ts INTEGER NOT NULL,"
    " json TEXT NOT NULL,"
    " PRIMARY KEY (ds, updated)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS latest_entities ("
    " ds INTEGER NOT NULL,"
    " id TEXT NOT NULL,"
    " updated INTEGER NOT NULL,"
    " deleted INTEGER NOT NULL,"
    " filtered INTEGER NOT NULL,"
    " hash TEXT NOT NULL,"
    " PRIMARY KEY (ds, id)) WITHOUT ROWID;"
    // Covers what a push reads (`filtered` included): without it, every row of a push's scan was
    // a second lookup of latest_entities by (ds, id), a third of the push's time. Stores made
    // before get the covering index on first open, and lose the narrower one.
    "CREATE INDEX IF NOT EXISTS latest_entities_by_updated_filtered"
    " ON latest_entities (ds, updated, filtered);"
    "DROP INDEX IF EXISTS latest_entities_by_updated;";

// Per connection and per load. Made by each load: changing temp_store drops temp tables.
constexpr const char* kLoadTables =
    "CREATE TEMP TABLE IF NOT EXISTS load_seen (id TEXT PRIMARY KEY) WITHOUT ROWID;"
    "CREATE TEMP TABLE IF NOT EXISTS load_tracked (id TEXT NOT NULL, json TEXT NOT NULL,"
    " filtered INTEGER NOT NULL);"
    "DELETE FROM temp.load_seen;"
    "DELETE FROM temp.load_tracked;";

} // namespace

// ---- EntityBatch ----

struct EntityBatch::Impl {
    /// One entity: its id and own fields in `text`.
    struct Item {
        std::size_t begin;
        std::size_t id_size;
        std::size_t own_size;
        HashText hash;
        bool deleted;
        bool filtered;
    };

    ReadEntity entity(const Item& item) const
    {
        const std::string_view all(text);
        return {all.substr(item.begin, item.id_size),
                all.substr(item.begin + item.id_size, item.own_size),
                as_view(item.hash),
                item.deleted,
                item.filtered};
    }

    EntityReader reader;
    std::string text;
    std::vector<Item> items;
};

EntityBatch::EntityBatch() : impl_(std::make_unique<Impl>()) {}
EntityBatch::~EntityBatch() = default;
EntityBatch::EntityBatch(EntityBatch&&) noexcept = default;
EntityBatch& EntityBatch::operator=(EntityBatch&&) noexcept = default;

void EntityBatch::add(std::string_view entity_json)
{
    auto& b = *impl_;
    b.reader.read(entity_json, false);
    const auto& r = b.reader;
    b.items.push_back(
        {b.text.size(), r.id().size(), r.own_fields().size(), r.hash(), r.deleted(), r.filtered()});
    b.text.append(r.id()).append(r.own_fields());
}

std::size_t EntityBatch::size() const noexcept
{
    return impl_->items.size();
}

std::size_t EntityBatch::bytes() const noexcept
{
    return impl_->text.size();
}

void EntityBatch::clear() noexcept
{
    impl_->text.clear();
    impl_->items.clear();
}

// ---- DatasetStore::Load ----

struct DatasetStore::Load::Impl {
    Impl(StateStore& store,
         std::string_view dataset,
         bool full_load,
         std::function<std::int64_t()> clock)
        : state(&store), db(store.handle()), path(store.path()), name(dataset), full(full_load),
          now_micros(std::move(clock)), read_error("cannot read dataset " + name),
          write_error("cannot write dataset " + name),
          find_latest(db,
                      path,
                      "SELECT updated, hash, filtered FROM latest_entities"
                      " WHERE ds = ?1 AND id = ?2"),
          insert_version(db,
                         path,
                         "INSERT INTO entity_versions"
                         " (ds, updated, id, deleted, filtered, hash, previous, ts, json)"
                         " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"),
          upsert_latest(db,
                        path,
                        "INSERT INTO latest_entities (ds, id, updated, deleted, filtered, hash)"
                        " VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (ds, id) DO UPDATE SET"
                        " updated = excluded.updated, deleted = excluded.deleted,"
                        " filtered = excluded.filtered, hash = excluded.hash"),
          insert_latest(db,
                        path,
                        "INSERT INTO latest_entities (ds, id, updated, deleted, filtered, hash)"
                        " VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (ds, id) DO NOTHING"),
          mark_seen(db, path, "INSERT OR IGNORE INTO temp.load_seen (id) VALUES (?1)")
    {
    }

    /// Writes `entity` as a new version unless its latest version has the same content.
    WriteOutcome put(const ReadEntity& entity)
    {
        const auto id = entity.id;
        const auto hash = entity.hash;
        const bool filtered = entity.filtered;
        // The latest row (insert_latest or upsert_latest) for the version `updated`.
        const auto write_latest = [&](Statement& st, std::int64_t updated) {
            st.bind(1, ds)
                .bind(2, id)
                .bind(3, updated)
                .bind(4, std::int64_t{entity.deleted})
                .bind(5, std::int64_t{filtered})
                .bind(6, hash)
                .run(write_error);
        };
        std::optional<std::int64_t> previous;
        bool unchanged = false;
        bool inserted = false;
        if (fresh) {
            // A dataset empty when the load began: nearly every entity is new, and trying the
            // insert first finds the key once instead of twice (lookup, then upsert).
            write_latest(insert_latest, next_updated);
            inserted = sqlite3_changes(db) == 1;
        }
        if (!inserted) {
            find_latest.bind(1, ds).bind(2, id);
            if (find_latest.step(read_error)) {
                previous = find_latest.integer(0);
                unchanged =
                    find_latest.text(1) == hash && (find_latest.integer(2) != 0) == filtered;
            }
            find_latest.reset();
        }
        if (unchanged) {
            // Entities written by this load count as seen without a row: see track_deletions.
            if (full)
                mark_seen.bind(1, id).run(write_error);
            return WriteOutcome::unchanged;
        }

        const std::int64_t updated = next_updated++;
        const std::int64_t ts = now_micros();
        // docs/protocol.md#reserved-fields: the dataset's own fields first, then the entity's in
        // their original order
        text.assign("{\"_id\":\"");
        append_escaped(text, id);
        text.append(entity.deleted ? "\",\"_deleted\":true" : "\",\"_deleted\":false");
        text.append(",\"_updated\":");
        append_int(text, updated);
        text.append(",\"_previous\":");
        if (previous)
            append_int(text, *previous);
        else
            text.append("null");
        text.append(",\"_ts\":");
        append_int(text, ts);
        text.append(",\"_hash\":\"").append(hash).append("\"");
        text.append(entity.own_fields).append("}");

        insert_version.bind(1, ds)
            .bind(2, updated)
            .bind(3, id)
            .bind(4, std::int64_t{entity.deleted})
            .bind(5, std::int64_t{filtered})
            .bind(6, hash)
            .bind(7, previous)
            .bind(8, ts)
            .bind(9, text)
            .run(write_error);
        if (!inserted)
            write_latest(upsert_latest, updated);
        return WriteOutcome::written;
    }

    WriteOutcome count(WriteOutcome outcome)
    {
        ++summary.received;
        ++(outcome == WriteOutcome::written ? summary.written : summary.unchanged);
        return outcome;
    }

    void check_open() const
    {
        if (finished)
            throw std::logic_error("dataset load of " + name + " is already committed or failed");
    }

    /// Runs `step`; if it fails, the load is rolled back: it may have written half an entity.
    template <typename Step> auto guarded(Step&& step)
    {
        try {
            return step();
        } catch (...) {
            roll_back();
            throw;
        }
    }

    void roll_back() noexcept
    {
        if (!finished) {
            sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
            state->resume_checkpoints();
        }
        finished = true;
    }

    /// docs/protocol.md#pull-full-incremental: every entity not seen in a full load, and not
    /// deleted already, gets a `_deleted: true` version. Entities written by this load have
    /// `_updated` >= first_updated.
    void track_deletions()
    {
        Statement collect(db,
                          path,
                          "INSERT INTO temp.load_tracked (id, json, filtered)"
                          " SELECT l.id, v.json, l.filtered FROM latest_entities l"
                          " JOIN entity_versions v ON v.ds = l.ds AND v.updated = l.updated"
                          " WHERE l.ds = ?1 AND l.updated < ?2 AND l.deleted = 0"
                          " AND l.id NOT IN (SELECT id FROM temp.load_seen)"
                          " ORDER BY l.updated");
        const std::string what = "cannot track deletions in dataset " + name;
        collect.bind(1, ds).bind(2, first_updated).run(what);
        // Read from a copy: the loop below rewrites latest_entities.
        Statement tracked(
            db, path, "SELECT id, json, filtered FROM temp.load_tracked ORDER BY rowid");
        while (tracked.step(what)) {
            reader.read(tracked.text(1), true);
            auto entity = read_entity(reader);
            entity.filtered = tracked.integer(2) != 0;
            put(entity);
            ++summary.deleted_by_tracking;
        }
    }

    StateStore* state;
    sqlite3* db;
    std::string path;
    std::string name;
    bool full;
    std::function<std::int64_t()> now_micros;
    std::string read_error;
    std::string write_error;
    std::int64_t ds = 0;
    std::int64_t first_updated = 0;
    std::int64_t next_updated = 0;
    bool fresh = false; ///< the dataset had no version when the load began
    bool finished = false;
    LoadSummary summary;
    EntityReader reader;
    std::string text; ///< the version being written
    Statement find_latest;
    Statement insert_version;
    Statement upsert_latest;
    Statement insert_latest;
    Statement mark_seen;
};

DatasetStore::Load::Load(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

DatasetStore::Load::Load(Load&&) noexcept = default;

DatasetStore::Load::~Load()
{
    if (impl_)
        impl_->roll_back();
}

WriteOutcome DatasetStore::Load::write(std::string_view entity_json)
{
    auto& load = *impl_;
    load.check_open();
    load.reader.read(entity_json, false); // a bad entity writes nothing: the load may go on
    return load.count(load.guarded([&] { return load.put(read_entity(load.reader)); }));
}

void DatasetStore::Load::write(const EntityBatch& batch)
{
    auto& load = *impl_;
    load.check_open();
    const auto& b = *batch.impl_;
    load.guarded([&] {
        for (const auto& item : b.items)
            load.count(load.put(b.entity(item)));
    });
}

LoadSummary DatasetStore::Load::commit()
{
    auto& load = *impl_;
    load.check_open();
    load.guarded([&] {
        if (load.full)
            load.track_deletions();
        Statement save(load.db, load.path, "UPDATE datasets SET next_updated = ?2 WHERE ds = ?1");
        save.bind(1, load.ds).bind(2, load.next_updated).run(load.write_error);
        exec(load.db, load.path, "COMMIT", "cannot commit dataset " + load.name);
    });
    load.finished = true;
    // Committed: the load is in the write-ahead log, safe from a crash. Copying it into the
    // database file (a checkpoint, with an fsync) is as long as the load's own writes; it runs
    // beside what comes next instead of inside the commit.
    load.state->checkpoint_in_background(); // noexcept: the load is committed whatever it does
    return load.summary;
}

// ---- DatasetStore ----

DatasetStore::DatasetStore(StateStore& state)
    : state_(&state), db_(state.handle()), path_(state.path()), now_micros_(system_now_micros)
{
    exec(db_, path_, kSchema, "cannot create the dataset tables");
}

DatasetStore::Load DatasetStore::begin_load(std::string_view dataset, bool full)
{
    const std::string what = "cannot start a load of dataset " + std::string(dataset);
    // IMMEDIATE: another writer fails here rather than half way through the load. So does a
    // second load on this connection, before it can empty the first one's temp tables.
    exec(db_, path_, "BEGIN IMMEDIATE", what);
    // The commit then does not wait for the log to be copied into the database file: see
    // Load::commit.
    state_->defer_checkpoints();
    Load handle(nullptr);
    try {
        exec(db_, path_, kLoadTables, what);
        handle.impl_ = std::make_unique<Load::Impl>(*state_, dataset, full, now_micros_);
    } catch (...) {
        sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
        state_->resume_checkpoints();
        throw;
    }
    auto& impl = *handle.impl_;
    Statement add(db_, path_, "INSERT OR IGNORE INTO datasets (name) VALUES (?1)");
    add.bind(1, dataset).run(what);
    Statement find(db_, path_, "SELECT ds, next_updated FROM datasets WHERE name = ?1");
    find.bind(1, dataset).step(what);
    impl.ds = find.integer(0);
    impl.first_updated = impl.next_updated = find.integer(1);
    impl.fresh = impl.first_updated == 0;
    return handle;
}

void DatasetStore::latest_since(std::string_view dataset,
                                std::int64_t after,
                                const std::function<bool(const StoredEntity&)>& visit) const
{
    // docs/protocol.md#push-full-sync: the latest versions in `_updated` order. Two scans in
    // that order, merged: latest_entities_by_updated_filtered for which versions, and the
    // versions themselves in key order. Reading the versions in order instead of looking each up
    // by its key was a fifth of a push's time. A long run of superseded versions between two
    // latest ones is jumped over with a lookup.
    const std::string what = "cannot read dataset " + std::string(dataset);
    Statement info(db_, path_, "SELECT ds FROM datasets WHERE name = ?1");
    info.bind(1, dataset);
    if (!info.step(what))
        return;
    const std::int64_t ds = info.integer(0);
    Statement latest(db_,
                     path_,
                     "SELECT updated FROM latest_entities"
                     " WHERE ds = ?1 AND updated > ?2 AND filtered = 0 ORDER BY updated");
    Statement versions(db_,
                       path_,
                       "SELECT updated, id, deleted, previous, json FROM entity_versions"
                       " WHERE ds = ?1 AND updated >= ?2 ORDER BY updated");
    latest.bind(1, ds).bind(2, after);
    bool positioned = false; // versions stands on a row
    while (latest.step(what)) {
        const auto wanted = latest.integer(0);
        for (int steps = 0; positioned && versions.integer(0) < wanted && steps < 8; ++steps)
            positioned = versions.step(what);
        if (!positioned || versions.integer(0) < wanted) {
            versions.reset();
            versions.bind(1, ds).bind(2, wanted);
            positioned = versions.step(what);
        }
        if (positioned && versions.integer(0) == wanted && !visit(stored_entity(versions)))
            return;
    }
}

void DatasetStore::versions(std::string_view dataset,
                            std::string_view id,
                            const std::function<bool(const StoredEntity&)>& visit) const
{
    // Follows the `_previous` chain back from the latest version: no index on id needed.
    Statement st(db_,
                 path_,
                 "WITH RECURSIVE chain (ds, updated) AS ("
                 " SELECT l.ds, l.updated FROM datasets d JOIN latest_entities l ON l.ds = d.ds"
                 " WHERE d.name = ?1 AND l.id = ?2"
                 " UNION ALL SELECT v.ds, v.previous FROM chain c JOIN entity_versions v"
                 " ON v.ds = c.ds AND v.updated = c.updated WHERE v.previous IS NOT NULL)"
                 " SELECT v.updated, v.id, v.deleted, v.previous, v.json FROM chain c"
                 " JOIN entity_versions v ON v.ds = c.ds AND v.updated = c.updated"
                 " ORDER BY v.updated");
    st.bind(1, dataset).bind(2, id);
    visit_rows(st, "cannot read dataset " + std::string(dataset), visit);
}

std::size_t DatasetStore::count_since(std::string_view dataset, std::int64_t after) const
{
    Statement st(db_,
                 path_,
                 "SELECT count(*) FROM datasets d JOIN latest_entities l ON l.ds = d.ds"
                 " WHERE d.name = ?1 AND l.updated > ?2 AND l.filtered = 0");
    st.bind(1, dataset).bind(2, after);
    if (!st.step("cannot read dataset " + std::string(dataset)))
        return 0;
    return static_cast<std::size_t>(st.integer(0));
}

std::optional<std::int64_t> DatasetStore::max_updated(std::string_view dataset) const
{
    // Every `_updated` below the counter is taken: the counter only moves when a version is made.
    Statement st(db_, path_, "SELECT next_updated FROM datasets WHERE name = ?1");
    st.bind(1, dataset);
    if (!st.step("cannot read dataset " + std::string(dataset)) || st.integer(0) == 0)
        return std::nullopt;
    return st.integer(0) - 1;
}

void DatasetStore::drop(std::string_view dataset)
{
    for (const char* sql : {"DELETE FROM entity_versions WHERE ds IN "
                            "(SELECT ds FROM datasets WHERE name = ?1)",
                            "DELETE FROM latest_entities WHERE ds IN "
                            "(SELECT ds FROM datasets WHERE name = ?1)",
                            "DELETE FROM datasets WHERE name = ?1"}) {
        Statement st(db_, path_, sql);
        st.bind(1, dataset);
        st.step("cannot drop dataset " + std::string(dataset));
    }
}

std::vector<std::string> DatasetStore::names() const
{
    std::vector<std::string> out;
    Statement st(db_, path_, "SELECT name FROM datasets ORDER BY name");
    while (st.step("cannot list the datasets"))
        out.emplace_back(st.text(0));
    return out;
}

void DatasetStore::set_clock(std::function<std::int64_t()> now_micros)
{
    now_micros_ = std::move(now_micros);
}

std::string entity_hash(std::string_view entity_json)
{
    thread_local EntityReader reader; // its parser and buffers, kept between calls
    reader.read(entity_json, false);
    return std::string(as_view(reader.hash()));
}

std::string entity_hash_by_dom(std::string_view entity_json)
{
    thread_local EntityReader reader;
    reader.read_by_dom(entity_json);
    return std::string(as_view(reader.hash()));
}

} // namespace sesam::emulator
