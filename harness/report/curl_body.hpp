#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace sesam::harness {

/// A curl command (checks' evidence) with its body taken out.
struct ElidedCurl {
    std::string command; ///< the command with `--data-binary @FILE` instead of the body
    std::string body;    ///< the body, unquoted
};

/// When `curl` (as curl_command writes it: `--data-binary 'BODY'`, shell-quoted) carries a body
/// longer than `max_shown` bytes: the command reading the body from `file` instead, and the body.
/// nullopt for a shorter body, no body, or a command not in that form.
std::optional<ElidedCurl>
elide_curl_body(std::string_view curl, std::size_t max_shown, std::string_view file);

} // namespace sesam::harness
