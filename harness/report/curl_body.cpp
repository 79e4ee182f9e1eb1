#include "harness/report/curl_body.hpp"

namespace sesam::harness {

std::optional<ElidedCurl>
elide_curl_body(std::string_view curl, std::size_t max_shown, std::string_view file)
{
    constexpr std::string_view flag = " --data-binary '";
    const auto at = curl.find(flag);
    if (at == std::string_view::npos)
        return std::nullopt;
    // One shell word of quoted runs: 'text' and '\'' (a quote) joined until a space.
    std::string body;
    std::size_t i = at + flag.size() - 1;
    while (i < curl.size() && curl[i] != ' ') {
        if (curl[i] != '\'')
            return std::nullopt;
        const auto close = curl.find('\'', i + 1);
        if (close == std::string_view::npos)
            return std::nullopt;
        body.append(curl.substr(i + 1, close - i - 1));
        i = close + 1;
        if (curl.compare(i, 3, "\\''") == 0) { // the '\'' between two runs
            body += '\'';
            i += 2;
        }
    }
    if (body.size() <= max_shown)
        return std::nullopt;
    ElidedCurl out;
    out.command = std::string(curl.substr(0, at)) + " --data-binary @" + std::string(file) +
                  std::string(curl.substr(i));
    out.body = std::move(body);
    return out;
}

} // namespace sesam::harness
