#pragma once

#include <nlohmann/json.hpp>

#include <string_view>

namespace sesam::reference {

/// JSON nested deeper than this is refused: copying and printing a JSON value recurse once per
/// level, so a body of 100,000 nested arrays would exhaust the stack. Sesam's own clients use
/// the same limit (sesam-emu's `max_depth`).
inline constexpr int kMaxJsonDepth = 512;

/// `text` parsed; discarded when it is not JSON or is nested deeper than kMaxJsonDepth, which
/// `too_deep` then tells apart. Parsing stops building values past the limit (nlohmann's
/// parser is iterative; only the values it builds would recurse).
/// `Json` is nlohmann::json or nlohmann::ordered_json (which keeps the keys' order).
template <class Json = nlohmann::json> Json parse_json(std::string_view text, bool& too_deep)
{
    too_deep = false;
    auto value = Json::parse(
        text,
        [&too_deep](int depth, typename Json::parse_event_t, Json&) {
            too_deep = too_deep || depth > kMaxJsonDepth;
            return !too_deep;
        },
        false);
    if (too_deep)
        return Json(Json::value_t::discarded);
    return value;
}

} // namespace sesam::reference
