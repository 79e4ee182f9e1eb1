#include "harness/report/curl_body.hpp"

#include <gtest/gtest.h>

namespace sesam::harness {
namespace {

TEST(CurlBody, ALongBodyIsReadFromAFileAndEverythingElseStays)
{
    const std::string body = "[" + std::string(400, 'x') + "]";
    const auto curl = "curl -sS -X POST -H 'Content-Type: application/json' --data-binary '" +
                      body + "' 'http://127.0.0.1:5000/receiver?is_full=true'";
    const auto elided = elide_curl_body(curl, 300, "reports/body-1.json");
    ASSERT_TRUE(elided);
    EXPECT_EQ(elided->command,
              "curl -sS -X POST -H 'Content-Type: application/json' --data-binary "
              "@reports/body-1.json 'http://127.0.0.1:5000/receiver?is_full=true'");
    EXPECT_EQ(elided->body, body);
}

TEST(CurlBody, QuotesAndSpacesInTheBodyAreUnquotedAsTheShellWould)
{
    // shell_quote writes a ' as '\'' (end the run, an escaped quote, start a new run).
    const std::string body = R"([{"_id": "it's a test", "n": "a b"}])" + std::string(300, ' ');
    std::string quoted = "'";
    for (const char c : body)
        quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
    quoted += "'";
    const auto elided =
        elide_curl_body("curl -sS --data-binary " + quoted + " 'http://x/t'", 300, "b.json");
    ASSERT_TRUE(elided);
    EXPECT_EQ(elided->body, body);
    EXPECT_EQ(elided->command, "curl -sS --data-binary @b.json 'http://x/t'");
}

TEST(CurlBody, ShortOrMissingBodiesAreLeftAlone)
{
    EXPECT_FALSE(elide_curl_body("curl -sS --data-binary '[]' 'http://x/t'", 300, "b.json"));
    EXPECT_FALSE(elide_curl_body("curl -sS 'http://x/entities'", 300, "b.json"));
    EXPECT_FALSE(elide_curl_body("curl -sS --data-binary @body.json 'http://x/t'", 0, "b.json"));
    EXPECT_FALSE(elide_curl_body("curl -sS --data-binary 'unterminated", 0, "b.json"));
}

} // namespace
} // namespace sesam::harness
