#pragma once

#include <cstddef>
#include <string_view>
#include <utility>

namespace sesam::harness {

/// U+FFFD, what the reports put in place of bytes that are not valid UTF-8.
inline constexpr std::string_view replacement_character = "\xef\xbf\xbd";

/// The code point and length of the UTF-8 sequence that starts `text` (not empty), or a length
/// of 0 when it is not valid UTF-8 (overlong, surrogate, truncated, out of range).
inline std::pair<char32_t, std::size_t> decode_utf8(std::string_view text)
{
    const auto lead = static_cast<unsigned char>(text[0]);
    const std::size_t length = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 0;
    if (length == 0 || lead > 0xf4 || text.size() < length)
        return {0, 0};
    char32_t code = lead & (0x3fu >> (length - 1));
    for (std::size_t i = 1; i < length; ++i) {
        const auto byte = static_cast<unsigned char>(text[i]);
        if ((byte & 0xc0) != 0x80)
            return {0, 0};
        code = (code << 6) | (byte & 0x3fu);
    }
    constexpr char32_t shortest[] = {0, 0, 0x80, 0x800, 0x10000};
    if (code < shortest[length] || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff))
        return {0, 0};
    return {code, length};
}

} // namespace sesam::harness
