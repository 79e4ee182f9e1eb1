#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sesam::emulator {

/// The JSON kind of a scalar token or container.
enum class JsonKind : std::uint8_t { missing, null, boolean, number, string, object, array };

/// What the stream parser learnt about one top-level entity, without building a DOM.
/// Views point into parser-owned or caller-owned memory and are valid only during the callback.
struct EntityView {
    std::string_view bytes;   ///< the entity exactly as received, `{` to `}` inclusive
    std::size_t index = 0;    ///< position among the entities of the body, from 0
    std::uint64_t offset = 0; ///< byte offset of the entity's `{` in the body

    JsonKind id_kind = JsonKind::missing;
    std::string id; ///< the decoded `_id` when it is a string; the raw token text otherwise

    JsonKind updated_kind = JsonKind::missing;
    /// `_updated`: the decoded string for a string, the raw token text for anything else
    /// (`42`, `1.5e3`, `{"a":1}`); empty when missing.
    std::string updated;

    JsonKind deleted_kind = JsonKind::missing;
    /// true only when `_deleted` is the literal `true` (docs/protocol.md#reserved-fields)
    bool deleted = false;

    bool has_line_breaks = false; ///< the bytes contain `\n` or `\r` (whitespace between tokens)
};

/// A body that is not what the protocol allows: says what and at which byte of the body.
struct StreamError {
    std::uint64_t offset = 0; ///< byte offset in the body where the problem was seen
    std::string message;      ///< one line, e.g. "expected ',' or ']' after an entity, got 'x'"
};

/// Streaming parser for a Sesam JSON body: one top-level array of entity objects
/// (docs/protocol.md#conventions).
///
/// Bytes are fed as they arrive; each complete top-level object is handed to the callback at once,
/// so memory is bounded by the largest entity, not by the body. Every byte is validated as JSON.
/// Tolerances of Sesam's own parser (docs/protocol.md#conventions "Parser tolerance"): a single
/// top-level object is taken as one entity (and `single_object()` becomes true, for a warning);
/// scalars and arrays inside the top-level array are validated but not emitted (counted in
/// `skipped_values()`). A top-level scalar, a body cut short, trailing non-whitespace after the
/// array, or an empty body is an error. When transit checking is on, a string value at any depth
/// with a known transit tag that does not decode (docs/protocol.md#transit) is an error naming the
/// entity `_id`, index and field.
class EntityStreamParser {
public:
    using EntityCallback = std::function<void(const EntityView&)>;

    struct Options {
        bool check_transit = true;   ///< docs/protocol.md#transit rule 3
        std::size_t max_depth = 512; ///< deeper nesting is an error (no recursion limit hit)
        std::size_t max_entity_bytes =
            256u << 20; ///< 0 = unlimited; a larger entity is an error (a service streaming an
                        ///< endless value must not exhaust memory)
    };

    explicit EntityStreamParser(EntityCallback on_entity);
    EntityStreamParser(EntityCallback on_entity, Options options);

    /// Feeds the next bytes of the body. Returns the first error; after an error the parser
    /// stays failed and further calls return the same error.
    std::optional<StreamError> feed(std::string_view bytes);

    /// Declares the end of the body. Returns an error if the body is incomplete or was empty.
    std::optional<StreamError> finish();

    std::size_t entities() const noexcept { return entities_; }
    std::size_t skipped_values() const noexcept { return skipped_; }
    bool single_object() const noexcept { return single_object_; }
    std::uint64_t bytes_seen() const noexcept { return consumed_; }

private:
    enum class Top : std::uint8_t {
        before,
        in_array_expect_value,
        in_array_expect_value_or_end,
        in_array_expect_comma_or_end,
        in_single_object,
        done
    };

    std::optional<StreamError> fail(std::uint64_t offset, std::string message);
    std::optional<StreamError> top_level_byte(char c, std::uint64_t offset, bool& begins_element);
    const char* scan_element(const char* p, const char* end);
    std::optional<StreamError> complete_element(std::string_view element, std::uint64_t offset);

    EntityCallback on_entity_;
    Options options_;
    Top top_ = Top::before;

    // The element (entity or skipped value) being scanned for its end.
    bool in_element_ = false;
    std::string carry_; ///< bytes of the element that began in an earlier chunk
    std::uint64_t element_offset_ = 0;
    char element_first_ = 0; ///< '{', '[', '"' or the first byte of a scalar
    std::size_t depth_ = 0;
    bool in_string_ = false;
    bool escape_ = false;
    EntityView view_; ///< reused for every entity so its strings keep their capacity

    std::size_t entities_ = 0;
    std::size_t skipped_ = 0;
    bool single_object_ = false;
    std::uint64_t consumed_ = 0;
    std::optional<StreamError> error_;
};

/// Validates one complete JSON value held in contiguous memory and extracts the entity facts.
/// Used by EntityStreamParser for each element once its end is found; exposed for tests.
/// `base_offset` is added to error offsets so they are body offsets. `view.index` is left as the
/// caller set it (messages name it); every other member of `view` is overwritten.
std::optional<StreamError> inspect_element(std::string_view element,
                                           std::uint64_t base_offset,
                                           const EntityStreamParser::Options& options,
                                           EntityView& view);

} // namespace sesam::emulator
