#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace sesam::emulator {

/// A URL, or why it could not be made: one line naming the input.
struct UrlError {
    std::string message;
};
using UrlResult = std::variant<std::string, UrlError>;

/// Checks that `url` is an absolute `http://` URL with a host. https is not supported (yet).
std::optional<UrlError> check_http_url(std::string_view url);

/// RFC 3986 reference resolution of `relative` against `base`, as a `system:url` with
/// `base_url` does (docs/protocol.md#url-resolution). With a base ending in `/`, both `entities`
/// and `/entities` resolve below the base's authority.
UrlResult join_url(std::string_view base, std::string_view relative);

/// `system:url` with `url_pattern` (docs/protocol.md#url-resolution): `relative` replaces the `%s`
/// in `pattern`, or is appended when there is none.
std::string apply_url_pattern(std::string_view pattern, std::string_view relative);

/// Adds `params` to the query string `url` already has (docs/protocol.md#conventions "Existing
/// query string"), each name and value form-encoded as python-requests does (unreserved characters
/// kept, space as `+`, everything else percent-encoded).
UrlResult add_query_params(std::string_view url,
                           const std::vector<std::pair<std::string, std::string>>& params);

/// The request target of an absolute URL as recorded and named in messages: its path (`/` when
/// empty) and query, as encoded (`/entities?since=3`). `url` itself when it does not parse.
std::string request_target(std::string_view url);

/// The URL without its query string and fragment (used for deriving default names).
std::string strip_query(std::string_view url);

} // namespace sesam::emulator
