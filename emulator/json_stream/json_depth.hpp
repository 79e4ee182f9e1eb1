#pragma once

#include <algorithm>
#include <cstddef>
#include <string_view>

namespace sesam::emulator {

/// The deepest nesting of arrays and objects in `json` (brackets inside strings do not count),
/// for text that may not be JSON at all. Linear, no recursion: safe on any input, so it can stand
/// before the recursive JSON code that compares, copies and prints.
inline std::size_t json_depth(std::string_view json) noexcept
{
    std::size_t depth = 0;
    std::size_t deepest = 0;
    bool in_string = false;
    for (std::size_t i = 0; i < json.size(); ++i) {
        const char c = json[i];
        if (in_string) {
            if (c == '\\')
                ++i;
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            deepest = std::max(deepest, ++depth);
        } else if ((c == ']' || c == '}') && depth > 0) {
            --depth;
        }
    }
    return deepest;
}

} // namespace sesam::emulator
