// libFuzzer target: the entity stream parser (emulator/json_stream), the bytes of a response body.
// Beyond "no crash and no sanitizer report", every input is checked for:
// - chunking: one feed, random chunks, byte by byte (up to 1 KiB) and (one input in eight)
//   through ParsePipeline give the same entities, the same verdict and the same error
//   (ARCHITECTURE.md promises it);
// - JSON: a body it accepts is JSON that nlohmann accepts too, and its entities are exactly that
//   JSON's top-level objects with the same `_id`, `_updated` and `_deleted` (where nlohmann can
//   judge: ASCII without \u escapes of surrogates, numbers within double range);
// - and the converse: JSON that nlohmann accepts, an array or an object no deeper than max_depth,
//   is accepted when transit checking is off.

#include "emulator/json_stream/entity_stream_parser.hpp"
#include "emulator/json_stream/json_depth.hpp"
#include "emulator/json_stream/parse_pipeline.hpp"
#include "tests/fuzz/fuzz_check.hpp"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace sesam::emulator;
using sesam::fuzz::InputRandom;
using sesam::fuzz::require;
using json = nlohmann::json;

struct Entity {
    std::string bytes;
    std::size_t index = 0;
    std::uint64_t offset = 0;
    JsonKind id_kind = JsonKind::missing;
    std::string id;
    JsonKind updated_kind = JsonKind::missing;
    std::string updated;
    JsonKind deleted_kind = JsonKind::missing;
    bool deleted = false;
    bool has_line_breaks = false;

    friend bool operator==(const Entity&, const Entity&) = default;
};

struct Outcome {
    std::vector<Entity> entities;
    std::optional<StreamError> error;
    std::size_t count = 0;
    std::size_t skipped = 0;
    bool single_object = false;
    std::uint64_t bytes_seen = 0;
};

EntityStreamParser::EntityCallback collect(std::vector<Entity>& out)
{
    return [&out](const EntityView& v) {
        out.push_back(Entity{std::string(v.bytes),
                             v.index,
                             v.offset,
                             v.id_kind,
                             v.id,
                             v.updated_kind,
                             v.updated,
                             v.deleted_kind,
                             v.deleted,
                             v.has_line_breaks});
    };
}

void finish(EntityStreamParser& parser, Outcome& out)
{
    if (!out.error) {
        out.error = parser.finish();
    }
    out.count = parser.entities();
    out.skipped = parser.skipped_values();
    out.single_object = parser.single_object();
    out.bytes_seen = parser.bytes_seen();
}

/// Feeds `body` in pieces whose lengths `piece` gives (0: the whole body at once).
template <typename Piece>
Outcome parse(std::string_view body, const EntityStreamParser::Options& options, Piece piece)
{
    Outcome out;
    EntityStreamParser parser(collect(out.entities), options);
    std::size_t at = 0;
    do {
        const std::size_t n = std::min(body.size() - at, piece());
        out.error = parser.feed(body.substr(at, n));
        at += n;
    } while (!out.error && at < body.size());
    finish(parser, out);
    return out;
}

Outcome parse_pipelined(std::string_view body,
                        const EntityStreamParser::Options& options,
                        InputRandom& random)
{
    Outcome out;
    EntityStreamParser parser(collect(out.entities), options);
    {
        ParsePipeline pipeline(
            parser, [] { return false; }, 2);
        for (std::size_t at = 0; at < body.size();) {
            const std::size_t n = std::min(body.size() - at, random.next(64));
            if (!pipeline.push(body.substr(at, n))) {
                break;
            }
            at += n;
        }
        out.error = pipeline.drain();
    }
    finish(parser, out);
    return out;
}

void require_same(const Outcome& a, const Outcome& b, const char* how)
{
    require(a.entities == b.entities, how);
    require(a.error.has_value() == b.error.has_value(), how);
    if (a.error) {
        require(a.error->offset == b.error->offset, how);
        require(a.error->message == b.error->message, how);
    } else {
        require(a.bytes_seen == b.bytes_seen, how);
    }
    require(a.count == b.count && a.skipped == b.skipped, how);
    require(a.single_object == b.single_object, how);
}

void require_chunking_irrelevant(std::string_view body,
                                 const EntityStreamParser::Options& options,
                                 const Outcome& whole,
                                 const std::uint8_t* data,
                                 bool thorough)
{
    InputRandom random(data, body.size());
    require_same(whole,
                 parse(body, options, [&] { return random.next(random.next(2) == 1 ? 8 : 300); }),
                 "random chunks give what one feed gives");
    if (!thorough) {
        return;
    }
    if (body.size() <= 1024) {
        require_same(whole,
                     parse(body, options, [] { return std::size_t{1}; }),
                     "byte-by-byte feeding gives what one feed gives");
    }
    // A thread per ParsePipeline costs ten times the rest: one input in eight goes through one.
    if (random.next(8) == 1) {
        require_same(whole,
                     parse_pipelined(body, options, random),
                     "ParsePipeline gives what one feed gives");
    }
}

/// nlohmann takes a NUL byte for the end of its input.
bool has_nul(std::string_view body)
{
    return body.find('\0') != std::string_view::npos;
}

/// nlohmann refuses what the stream parser deliberately passes on as received: bytes that are not
/// UTF-8 and unpaired surrogate escapes. Bodies without either (nor NUL) are judged by both.
bool nlohmann_can_judge(std::string_view body)
{
    for (std::size_t i = 0; i < body.size(); ++i) {
        const auto u = static_cast<unsigned char>(body[i]);
        if (u >= 0x80 || u == 0) {
            return false;
        }
        if (body[i] == '\\' && i + 2 < body.size() && body[i + 1] == 'u' &&
            (body[i + 2] == 'd' || body[i + 2] == 'D')) {
            return false;
        }
    }
    return true;
}

JsonKind kind_of(const json& j)
{
    switch (j.type()) {
    case json::value_t::null:
        return JsonKind::null;
    case json::value_t::boolean:
        return JsonKind::boolean;
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
        return JsonKind::number;
    case json::value_t::string:
        return JsonKind::string;
    case json::value_t::object:
        return JsonKind::object;
    case json::value_t::array:
        return JsonKind::array;
    default:
        return JsonKind::missing;
    }
}

/// `_id` or `_updated` as the parser reports it: decoded for a string, the raw text otherwise.
void require_reserved(const json& entity,
                      const char* name,
                      JsonKind kind,
                      const std::string& text,
                      const char* property)
{
    const auto it = entity.find(name);
    if (it == entity.end()) {
        require(kind == JsonKind::missing, property);
        return;
    }
    require(kind == kind_of(*it), property);
    if (it->is_string()) {
        require(text == it->get<std::string>(), property);
    } else {
        require(json::parse(text) == *it, property);
    }
}

void require_agrees_with_nlohmann(std::string_view body, const Outcome& out)
{
    json doc;
    try {
        doc = json::parse(body);
    } catch (const json::out_of_range&) {
        return; // a number beyond double range: nlohmann's limit, not JSON's
    } catch (const json::parse_error&) {
        require(false, "a body the parser accepts is JSON");
    }
    std::vector<const json*> elements;
    if (doc.is_object()) {
        require(out.single_object && out.count == 1, "a top-level object is one entity");
        elements.push_back(&doc);
    } else {
        require(doc.is_array() && !out.single_object, "an accepted body is an array or an object");
        std::size_t skipped = 0;
        for (const auto& e : doc) {
            if (e.is_object()) {
                elements.push_back(&e);
            } else {
                ++skipped;
            }
        }
        require(out.skipped == skipped, "every non-object element is skipped");
    }
    require(out.entities.size() == elements.size(), "every top-level object is an entity");
    for (std::size_t i = 0; i < elements.size(); ++i) {
        const Entity& e = out.entities[i];
        const json& expected = *elements[i];
        require(e.index == i, "entities are numbered in order");
        require(body.substr(e.offset, e.bytes.size()) == e.bytes, "an entity's offset is its '{'");
        require(json::parse(e.bytes) == expected, "an entity's bytes are its JSON object");
        require_reserved(expected, "_id", e.id_kind, e.id, "_id as nlohmann reads it");
        require_reserved(
            expected, "_updated", e.updated_kind, e.updated, "_updated as nlohmann reads it");
        const auto deleted = expected.find("_deleted");
        require(e.deleted == (deleted != expected.end() && *deleted == true),
                "_deleted is true only for the literal true");
        require(e.deleted_kind ==
                    (deleted == expected.end() ? JsonKind::missing : kind_of(*deleted)),
                "_deleted's kind");
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view body(reinterpret_cast<const char*>(data), size);
    const auto whole = [] { return ~std::size_t{0}; };

    // The clients' options.
    const EntityStreamParser::Options defaults;
    const Outcome out = parse(body, defaults, whole);
    require_chunking_irrelevant(body, defaults, out, data, true);
    if (!out.error && nlohmann_can_judge(body)) {
        require_agrees_with_nlohmann(body, out);
    }

    // Small limits, so that max_depth and max_entity_bytes are reached by small inputs.
    EntityStreamParser::Options small;
    small.max_depth = 6;
    small.max_entity_bytes = 96;
    require_chunking_irrelevant(body, small, parse(body, small, whole), data, false);

    // Without transit checks, any JSON array or object within max_depth is accepted.
    EntityStreamParser::Options plain;
    plain.check_transit = false;
    const Outcome lenient = parse(body, plain, whole);
    if (lenient.error) {
        const auto first = body.find_first_not_of(" \t\r\n");
        const bool shaped =
            first != std::string_view::npos && (body[first] == '[' || body[first] == '{');
        require(!(shaped && !has_nul(body) && json_depth(body) <= plain.max_depth &&
                  json::accept(body)),
                "JSON that nlohmann accepts is accepted (an array or object, transit off)");
    } else if (nlohmann_can_judge(body)) {
        require_agrees_with_nlohmann(body, lenient);
    }
    return 0;
}
