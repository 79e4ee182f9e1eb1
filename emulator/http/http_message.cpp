#include "emulator/http/http_message.hpp"

#include <algorithm>
#include <cctype>

namespace sesam::emulator {

bool iequals(std::string_view a, std::string_view b) noexcept
{
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

namespace {

bool is_token_char(char c)
{
    // RFC 9110 tchar
    return std::isalnum(static_cast<unsigned char>(c)) ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

} // namespace

std::string_view trim_ows(std::string_view s) noexcept
{
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

std::optional<std::string_view> find_header(const HttpHeaders& headers, std::string_view name)
{
    for (const auto& h : headers)
        if (iequals(h.name, name))
            return std::string_view(h.value);
    return std::nullopt;
}

void set_header(HttpHeaders& headers, std::string_view name, std::string_view value)
{
    for (auto& h : headers) {
        if (iequals(h.name, name)) {
            h.value = value;
            return;
        }
    }
    headers.push_back({std::string(name), std::string(value)});
}

bool is_token(std::string_view text) noexcept
{
    return !text.empty() && std::all_of(text.begin(), text.end(), is_token_char);
}

std::optional<HttpHeader> parse_header_line(std::string_view line)
{
    auto colon = line.find(':');
    if (colon == std::string_view::npos)
        return std::nullopt;
    auto name = trim_ows(line.substr(0, colon));
    auto value = trim_ows(line.substr(colon + 1));
    if (!is_token(name))
        return std::nullopt;
    if (value.find_first_of("\r\n") != std::string_view::npos)
        return std::nullopt;
    return HttpHeader{std::string(name), std::string(value)};
}

std::string describe(const HttpRequest& request)
{
    return request.method + " " + request.url;
}

std::string describe_status(int status, std::string_view reason, std::string_view body)
{
    std::string out = "status " + std::to_string(status);
    if (!reason.empty())
        out += " " + std::string(reason);
    if (status >= 300 && status <= 399)
        out += " (redirects are not followed: use the URL it points to)";
    std::string shown;
    bool space = false;
    for (std::size_t i = 0; i < body.size() && shown.size() < kErrorBodyShown; ++i) {
        const auto c = static_cast<unsigned char>(body[i]);
        if (c == '\n' || c == '\r' || c == '\t' || c == ' ') {
            space = !shown.empty();
            continue;
        }
        if (space)
            shown += ' ';
        space = false;
        if (c < 0x20 || c == 0x7f) {
            static const char hex[] = "0123456789abcdef";
            shown += "\\x";
            shown += hex[c >> 4];
            shown += hex[c & 15];
        } else {
            shown += static_cast<char>(c);
        }
    }
    if (!shown.empty())
        out += "; body: " + shown + (shown.size() >= kErrorBodyShown ? " …" : "");
    return out;
}

} // namespace sesam::emulator
