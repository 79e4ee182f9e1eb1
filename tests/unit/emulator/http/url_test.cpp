#include "emulator/http/http_message.hpp"
#include "emulator/http/url.hpp"

#include <gtest/gtest.h>

namespace sesam::emulator {
namespace {

std::string ok(const UrlResult& r)
{
    if (auto* e = std::get_if<UrlError>(&r))
        return "ERROR: " + e->message;
    return std::get<std::string>(r);
}

// docs/protocol.md#url-resolution: both "entities" and "/entities" resolve below a base ending in
// '/'
TEST(JoinUrl, RelativeAndRootedPathsBelowMicroserviceBase)
{
    EXPECT_EQ(ok(join_url("http://crm:5000/", "get_contacts")), "http://crm:5000/get_contacts");
    EXPECT_EQ(ok(join_url("http://crm:5000/", "/get-contacts")), "http://crm:5000/get-contacts");
}

TEST(JoinUrl, Rfc3986ReplacesLastSegmentWithoutTrailingSlash)
{
    EXPECT_EQ(ok(join_url("http://host/api/v1", "entities")), "http://host/api/entities");
    EXPECT_EQ(ok(join_url("http://host/api/v1/", "entities")), "http://host/api/v1/entities");
    EXPECT_EQ(ok(join_url("http://host/api/v1/", "../x?a=1")), "http://host/api/x?a=1");
}

TEST(JoinUrl, AbsoluteReferenceWins)
{
    EXPECT_EQ(ok(join_url("http://host/api/", "http://other:1/e")), "http://other:1/e");
}

TEST(JoinUrl, BadBaseIsAnError)
{
    EXPECT_EQ(ok(join_url("not a url", "x")),
              "ERROR: base URL 'not a url' is not a valid absolute URL");
}

// docs/protocol.md#url-resolution url_pattern
TEST(UrlPattern, ReplacesPercentSOrAppends)
{
    EXPECT_EQ(apply_url_pattern("http://host:5000/api/%s", "entities"),
              "http://host:5000/api/entities");
    EXPECT_EQ(apply_url_pattern("http://host:5000/api/", "entities"),
              "http://host:5000/api/entities");
    EXPECT_EQ(apply_url_pattern("http://h/%s?x=1", "e"), "http://h/e?x=1");
}

// docs/protocol.md#conventions: Sesam's parameters are added to the URL's own query string
TEST(AddQueryParams, KeepsExistingQueryString)
{
    EXPECT_EQ(ok(add_query_params("http://h/?ms_url=a&ms_do_skip_empty_data=1", {{"since", "5"}})),
              "http://h/?ms_url=a&ms_do_skip_empty_data=1&since=5");
    EXPECT_EQ(ok(add_query_params("http://h/entities", {{"since", "5"}, {"limit", "3"}})),
              "http://h/entities?since=5&limit=3");
    EXPECT_EQ(ok(add_query_params("http://h/entities", {})), "http://h/entities");
}

// docs/protocol.md#pull-request, #pull-example: strings URL-encoded; '+' must not be read back as a
// space
TEST(AddQueryParams, FormEncodesLikePythonRequests)
{
    EXPECT_EQ(ok(add_query_params("http://h/e", {{"since", "2024-01-02T09:00:00Z"}})),
              "http://h/e?since=2024-01-02T09%3A00%3A00Z");
    EXPECT_EQ(ok(add_query_params("http://h/e", {{"since", "2024-01-02T09:00:00+01:00"}})),
              "http://h/e?since=2024-01-02T09%3A00%3A00%2B01%3A00");
    EXPECT_EQ(ok(add_query_params("http://h/e", {{"subset", R"(["eq", "_S.vowel", true])"}})),
              "http://h/e?subset=%5B%22eq%22%2C+%22_S.vowel%22%2C+true%5D");
    EXPECT_EQ(ok(add_query_params("http://h/e", {{"since", "a&b=c"}})),
              "http://h/e?since=a%26b%3Dc");
}

TEST(CheckHttpUrl, AcceptsHttpRejectsOthers)
{
    EXPECT_FALSE(check_http_url("http://127.0.0.1:5000/entities"));
    ASSERT_TRUE(check_http_url("https://h/"));
    EXPECT_EQ(check_http_url("https://h/")->message,
              "'https://h/': https is not supported; use http://");
    ASSERT_TRUE(check_http_url("ftp://h/"));
    EXPECT_EQ(check_http_url("ftp://h/")->message, "'ftp://h/' is not an http:// URL");
    ASSERT_TRUE(check_http_url("localhost:5000"));
    ASSERT_TRUE(check_http_url("entities"));
}

TEST(StripQuery, DropsQueryAndFragment)
{
    EXPECT_EQ(strip_query("http://h:1/e?since=1#x"), "http://h:1/e");
}

TEST(HeaderLine, ParsesNameAndTrimmedValue)
{
    auto h = parse_header_line("X-Api-Key:  abc def ");
    ASSERT_TRUE(h);
    EXPECT_EQ(h->name, "X-Api-Key");
    EXPECT_EQ(h->value, "abc def");
    EXPECT_FALSE(parse_header_line("no colon"));
    EXPECT_FALSE(parse_header_line(": empty name"));
    EXPECT_FALSE(parse_header_line("Bad Name: x"));
}

TEST(RequestTarget, PathAndQueryAsEncoded)
{
    EXPECT_EQ(request_target("http://h:1/entities?since=3&subset=%5B1%5D"),
              "/entities?since=3&subset=%5B1%5D");
    EXPECT_EQ(request_target("http://h:1"), "/") << "an empty path is /";
    EXPECT_EQ(request_target("http://h:1/a#frag"), "/a") << "no fragment";
    EXPECT_EQ(request_target("not a url"), "not a url");
}

TEST(Headers, IsTokenIsRfc9110)
{
    EXPECT_TRUE(is_token("GET"));
    EXPECT_TRUE(is_token("X-Custom_1!#$%&'*+.^`|~"));
    EXPECT_FALSE(is_token(""));
    EXPECT_FALSE(is_token("GE T"));
    EXPECT_FALSE(is_token("A:B"));
    EXPECT_FALSE(is_token(std::string_view("A\0", 2)));
}

TEST(Headers, FindAndSetAreCaseInsensitive)
{
    HttpHeaders headers{{"Content-Type", "text/plain"}};
    EXPECT_EQ(find_header(headers, "content-type").value_or(""), "text/plain");
    set_header(headers, "CONTENT-TYPE", "application/json");
    ASSERT_EQ(headers.size(), 1u);
    EXPECT_EQ(headers[0].value, "application/json");
    EXPECT_FALSE(find_header(headers, "Accept"));
}

} // namespace
} // namespace sesam::emulator
