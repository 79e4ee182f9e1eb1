#pragma once

#include <nlohmann/json.hpp>

#include <string_view>

namespace sesam::reference {

/// JSON nested deeper than this is refused: copying and printing a JSON value recurse once per
/// level, so a body of 100,000 nested arrays would exhaust the stack. Sesam's own clients use
/// the same limit (sesam-emu's `max_depth`).
inline constexpr int kMaxJsonDepth = 512;

/// Whether `text` nests arrays and objects deeper than kMaxJsonDepth (brackets inside strings do
/// not count). One linear pass, no recursion.
inline bool nested_too_deep(std::string_view text) noexcept
{
    int depth = 0;
    bool in_string = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (in_string) {
            if (c == '\\')
                ++i;
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > kMaxJsonDepth)
                return true;
        } else if ((c == ']' || c == '}') && depth > 0) {
            --depth;
        }
    }
    return false;
}

/// `text` parsed; discarded when it is not JSON or is nested deeper than kMaxJsonDepth, which
/// `too_deep` then tells apart. The depth is checked by a linear scan first and the parse has no
/// callback: nlohmann's callback parser looks at the parent array at the end of every object,
/// which made a body of N entities take time in N² (3.3 s for 100,000).
/// `Json` is nlohmann::json or nlohmann::ordered_json (which keeps the keys' order).
template <class Json = nlohmann::json> Json parse_json(std::string_view text, bool& too_deep)
{
    too_deep = nested_too_deep(text);
    if (too_deep)
        return Json(Json::value_t::discarded);
    return Json::parse(text, nullptr, false);
}

} // namespace sesam::reference
