#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

namespace sesam::emulator {

/// The transit tags a Sesam node recognises (docs/protocol.md#transit rule 5). Any other tag is a
/// plain string.
enum class TransitTag : char {
    namespaced_id = ':',
    uri = 'r',
    datetime = 't',
    bytes = 'b',
    uuid = 'u',
    decimal = 'f',
};

/// A decoded transit value. Which members are meaningful depends on `tag`:
/// - datetime: `seconds` and `nanos` (UTC, since 1970-01-01T00:00:00Z; `seconds` may be negative,
///   `nanos` is 0..999999999). A date (`~t2015-12-31`) decodes to midnight
///   (docs/protocol.md#transit rule 6).
/// - bytes: `text` holds the decoded bytes.
/// - uuid: `text` holds the canonical lower-case form `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`.
/// - decimal: `text` holds the decimal text as received (e.g. `-12.50`).
/// - uri, namespaced_id: `text` holds the payload as received.
struct TransitValue {
    TransitTag tag = TransitTag::uri;
    std::string text;
    std::int64_t seconds = 0;
    std::int32_t nanos = 0;

    friend bool operator==(const TransitValue&, const TransitValue&) = default;
};

/// Why a string that carries a known transit tag could not be decoded.
struct TransitError {
    std::string message; ///< e.g. "~t value is not one of the four ISO-8601 date forms"
};

/// The outcome of looking at one JSON string value: not transit (no tag or an unknown tag,
/// docs/protocol.md#transit rules 2 and 4), a decoded value, or an error (a known tag with a bad
/// payload, rule 3).
using TransitDecoded = std::variant<std::monostate, TransitValue, TransitError>;

/// True when `s` has the shape of a transit value: length >= 2 and a leading `~`
/// (docs/protocol.md#transit rule 2).
inline bool looks_like_transit(std::string_view s) noexcept
{
    return s.size() >= 2 && s[0] == '~';
}

/// True when `tag` is one of the six tags the node decodes (docs/protocol.md#transit rule 5).
bool is_known_transit_tag(char tag) noexcept;

/// Decodes a (JSON-unescaped) string value per docs/protocol.md#transit decoding rules 2-6. Payload
/// syntax: `~t` the four forms of rule 6 with a valid calendar date and time; `~f`
/// `[+-]digits[.digits][e[+-] digits]` (either side of the point may be empty, not both); `~b`
/// standard base64, length a multiple of 4, at most two `=` at the end; `~u` 32 hex digits with
/// hyphens anywhere, optional `urn:`/`uuid:` prefixes and surrounding braces; `~r` and `~:`
/// anything non-empty.
TransitDecoded decode_transit(std::string_view s);

/// Hot-path check without allocation: nullptr when `s` is valid or not transit, otherwise a static
/// message saying what is wrong. Agrees with decode_transit on every input.
const char* check_transit(std::string_view s) noexcept;

/// Encodes a value back to its transit string, as a node writes it (docs/protocol.md#transit
/// encoding rules): datetimes with trailing fraction zeros removed and no fraction when it is zero,
/// bytes as padded standard base64, uuids lower-case canonical.
std::string encode_transit(const TransitValue& value);

/// The ISO-8601 text of a datetime, without the `~t` tag: `YYYY-MM-DDTHH:MM:SS[.fraction]Z`
/// (used by encode_transit, exposed for tests and for the store). `nanos` outside 0..999999999 is
/// carried into the seconds; a year outside 0001..9999 is printed as is and will not decode.
std::string encode_datetime(std::int64_t seconds, std::int32_t nanos);

/// Padded standard base64 of `bytes`, without the `~b` tag.
std::string encode_base64(std::string_view bytes);

} // namespace sesam::emulator
