#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sesam::emulator {

/// One HTTP header field, as sent or received.
struct HttpHeader {
    std::string name;
    std::string value;
};

using HttpHeaders = std::vector<HttpHeader>;

/// The value of the first header called `name` (case-insensitive), if any.
/// ASCII case-insensitive equality (header names, tokens).
bool iequals(std::string_view a, std::string_view b) noexcept;
/// `s` without the spaces and tabs around it (RFC 9110 OWS).
std::string_view trim_ows(std::string_view s) noexcept;

std::optional<std::string_view> find_header(const HttpHeaders& headers, std::string_view name);

/// Adds or replaces (case-insensitively) the header `name`.
void set_header(HttpHeaders& headers, std::string_view name, std::string_view value);

/// True for a non-empty RFC 9110 token: what a method or a header name must be.
bool is_token(std::string_view text) noexcept;

/// Parses `Name: value` as given on a command line or in a config. nullopt when there is no
/// colon or the name is empty or not a valid header token.
std::optional<HttpHeader> parse_header_line(std::string_view line);

/// A request as the clients build it: no Beast types, so fakes and recorders can implement
/// Transport without knowing Beast.
struct HttpRequest {
    std::string method = "GET";
    std::string url; ///< absolute http URL including the query string
    HttpHeaders headers;
    std::string body;
    /// Fault injection (check --faults), a client that dies while sending: when set, the request
    /// goes out on a fresh connection with the whole body's Content-Length, but only this many
    /// body bytes follow before the connection is closed; no answer is read, and send() returns
    /// TransportErrc::aborted. Honoured by BeastTransport (a recorder passes it on); transports
    /// that send nothing, such as fakes, may ignore it.
    std::optional<std::size_t> cut_after_body_bytes{};
};

/// The status line and headers of a response.
struct HttpResponseHead {
    int status = 0;
    std::string reason;
    HttpHeaders headers;
};

/// A response whose body was collected in memory (see Transport::fetch).
struct HttpResponse {
    HttpResponseHead head;
    std::string body;
};

/// True for 2xx statuses, the only ones the clients count as success
/// (docs/protocol.md#pull-response, #push-receiver-rules).
inline bool is_success(int status) noexcept
{
    return status >= 200 && status <= 299;
}

/// `GET http://host/path?x=1`: how requests are named in messages and reports.
std::string describe(const HttpRequest& request);

/// How much of an error body describe_status shows.
inline constexpr std::size_t kErrorBodyShown = 200;

/// `status 500 Internal Server Error; body: …` for a message line: the body shortened to
/// kErrorBodyShown bytes, line breaks folded and control characters escaped; a 3xx gets a hint
/// that redirects are not followed.
std::string describe_status(int status, std::string_view reason, std::string_view body);

} // namespace sesam::emulator
