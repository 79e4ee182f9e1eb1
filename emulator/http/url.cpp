#include "emulator/http/url.hpp"

#include <boost/url/encode.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <boost/url/url.hpp>

namespace sesam::emulator {

namespace urls = boost::urls;

namespace {

/// `url` for a one-line message: control characters shown as `\r`, `\n`, `\t` or `\xHH`.
std::string shown(std::string_view url)
{
    std::string out;
    for (const char c : url) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '\r')
            out += "\\r";
        else if (c == '\n')
            out += "\\n";
        else if (c == '\t')
            out += "\\t";
        else if (u < 0x20 || u == 0x7f) {
            static constexpr char hex[] = "0123456789abcdef";
            out += "\\x";
            out += hex[u >> 4];
            out += hex[u & 15];
        } else
            out += c;
    }
    return out;
}

} // namespace

std::optional<UrlError> check_http_url(std::string_view url)
{
    auto parsed = urls::parse_uri(url);
    if (!parsed)
        return UrlError{"'" + shown(url) + "' is not a valid absolute URL"};
    if (parsed->scheme_id() == urls::scheme::https)
        return UrlError{"'" + shown(url) + "': https is not supported; use http://"};
    if (parsed->scheme_id() != urls::scheme::http)
        return UrlError{"'" + shown(url) + "' is not an http:// URL"};
    if (parsed->encoded_host().empty())
        return UrlError{"'" + shown(url) + "' has no host"};
    if (parsed->has_userinfo())
        // Never echoed: it holds a password. Credentials go in a header.
        return UrlError{"a URL with user:password is not supported; use --header "
                        "'Authorization: …' instead"};
    // Boost.URL 1.81 ends the port at the first non-digit and takes the rest for the path:
    // `http://host:50O0/x` would be port 50 and path `O0/x`. After a host the path must start
    // with '/' (RFC 3986 §3.3).
    if (!parsed->encoded_path().empty() && parsed->encoded_path().front() != '/')
        return UrlError{"'" + shown(url) +
                        "': the port is not a number, or the path does not start with '/'"};
    if (parsed->has_port() && (parsed->port_number() == 0 || parsed->port().size() > 5 ||
                               std::stoul(std::string(parsed->port())) > 65535))
        return UrlError{"'" + shown(url) + "': port " + std::string(parsed->port()) +
                        " is not between 1 and 65535"};
    return std::nullopt;
}

UrlResult join_url(std::string_view base, std::string_view relative)
{
    auto base_url = urls::parse_uri(base);
    if (!base_url)
        return UrlError{"base URL '" + shown(base) + "' is not a valid absolute URL"};
    auto ref = urls::parse_uri_reference(relative);
    if (!ref)
        return UrlError{"URL '" + shown(relative) + "' is not a valid URL reference"};
    urls::url joined;
    if (auto r = urls::resolve(*base_url, *ref, joined); !r)
        return UrlError{"cannot join '" + shown(relative) + "' to '" + shown(base) +
                        "': " + r.error().message()};
    return std::string(joined.buffer());
}

std::string apply_url_pattern(std::string_view pattern, std::string_view relative)
{
    // docs/protocol.md#url-resolution: the relative url replaces `%s`; without `%s` it is appended.
    std::string out(pattern);
    if (auto pos = out.find("%s"); pos != std::string::npos)
        out.replace(pos, 2, relative);
    else
        out.append(relative);
    return out;
}

UrlResult add_query_params(std::string_view url,
                           const std::vector<std::pair<std::string, std::string>>& params)
{
    auto parsed = urls::parse_uri(url);
    if (!parsed)
        return UrlError{"'" + shown(url) + "' is not a valid absolute URL"};
    urls::url out(*parsed);
    urls::encoding_opts form;
    form.space_as_plus = true;
    for (const auto& [name, value] : params) {
        // python-requests' urlencode (quote_plus): only unreserved characters stay literal,
        // so a '+' in a value is sent as %2B and never mistaken for a space.
        auto encoded_name = urls::encode(name, urls::unreserved_chars, form);
        auto encoded_value = urls::encode(value, urls::unreserved_chars, form);
        out.encoded_params().append(urls::param_pct_view(encoded_name, encoded_value));
    }
    return std::string(out.buffer());
}

std::string request_target(std::string_view url)
{
    auto parsed = urls::parse_uri_reference(url);
    if (!parsed)
        return std::string(url);
    std::string out = parsed->encoded_path().empty() ? "/" : std::string(parsed->encoded_path());
    if (parsed->has_query())
        out += "?" + std::string(parsed->encoded_query());
    return out;
}

std::string strip_query(std::string_view url)
{
    auto parsed = urls::parse_uri(url);
    if (!parsed)
        return std::string(url);
    urls::url out(*parsed);
    out.remove_query();
    out.remove_fragment();
    return std::string(out.buffer());
}

} // namespace sesam::emulator
