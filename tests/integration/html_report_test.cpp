// `--report html:PATH`: the page `check` writes about a broken service and the one `load` writes,
// read as text and, when Chromium is installed, rendered by a real headless browser.
#include "tests/support/cli_fixture.hpp"
#include "tests/support/reference_fixture.hpp"
#include "tests/support/scripted_server.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <unistd.h>

namespace sesam::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr const char* kChromium = "/usr/bin/chromium";

std::size_t count_of(std::string_view text, std::string_view what)
{
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string_view::npos; at = text.find(what, at + 1))
        ++n;
    return n;
}

/// A source whose one entity has markup and quotes in its `_id` and a `_deleted` that is not a
/// boolean: `source.entity.deleted-flag` fails, with the `_id` as evidence.
void markup_source(const RawRequest&, RawConnection& c)
{
    c.write(ScriptedServer::response(
        200, R"([{"_id":"<b>x</b>&\"'<script>alert(1)</script>","_deleted":"yes"}])"));
}

/// What a page may hold that would fetch something or leave it: none of it, and the only URLs
/// are the service's (`base`, as text).
void expect_self_contained(const std::string& html, const std::string& base)
{
    for (const char* fetching :
         {" src=", "<link", "<img", "<iframe", "<object", "url(", "@import", "https://", "xmlns"})
        EXPECT_EQ(html.find(fetching), std::string::npos) << fetching;
    for (auto at = html.find(" href=\""); at != std::string::npos;
         at = html.find(" href=\"", at + 1))
        EXPECT_EQ(html[at + 7], '#') << html.substr(at, 40);
    for (auto at = html.find("http://"); at != std::string::npos; at = html.find("http://", at + 1))
        EXPECT_EQ(html.compare(at, base.size(), base), 0) << html.substr(at, 40);
    EXPECT_EQ(count_of(html, "<script"), 1u);
    EXPECT_THAT(html,
                HasSubstr("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src "
                          "'none';"));
}

class HtmlReportTest : public CliFixture {
protected:
    /// `check` against markup_source, writing an HTML and a JSON report.
    CommandResult check_markup_source(const ScriptedServer& server)
    {
        return emu("check " + server.base_url() + "/e --role source --report html:" +
                   path("checks.html") + " --report json:" + path("checks.json"));
    }

    /// A headless Chromium on `page` (a file) with `args`: a profile of its own, never more
    /// than a minute, its console (CSP violations, script errors) on stderr.
    CommandResult chromium(const std::string& args, const std::string& page)
    {
        return run_command("timeout -k 5 60 " + std::string(kChromium) +
                           " --headless --no-sandbox --disable-gpu --no-first-run "
                           "--hide-scrollbars --enable-logging=stderr --v=0 --user-data-dir=" +
                           path("chromium-profile") + " " + args + " file://" + page);
    }

    /// Where screenshots go: SESAM_SCREENSHOT_DIR when set (to keep them), else the test's
    /// folder.
    std::string screenshot(const std::string& name) const
    {
        const char* keep = std::getenv("SESAM_SCREENSHOT_DIR");
        return keep != nullptr && *keep != '\0' ? (std::filesystem::path(keep) / name).string()
                                                : path(name);
    }

    /// Takes a 1200×1600 screenshot of `page` and checks that it is a PNG of that size.
    void expect_screenshot(const std::string& page, const std::string& name)
    {
        const auto png = screenshot(name);
        std::filesystem::remove(png);
        const auto shot = chromium("--screenshot=" + png + " --window-size=1200,1600", page);
        ASSERT_EQ(shot.exit_code, 0) << shot.err;
        const std::string bytes = slurp(png);
        ASSERT_GE(bytes.size(), 24u) << png;
        EXPECT_EQ(bytes.substr(0, 8), "\x89PNG\r\n\x1a\n");
        auto be32 = [&](std::size_t at) {
            return (std::uint32_t{static_cast<unsigned char>(bytes[at])} << 24) |
                   (std::uint32_t{static_cast<unsigned char>(bytes[at + 1])} << 16) |
                   (std::uint32_t{static_cast<unsigned char>(bytes[at + 2])} << 8) |
                   std::uint32_t{static_cast<unsigned char>(bytes[at + 3])};
        };
        EXPECT_EQ(be32(16), 1200u) << "width in IHDR";
        EXPECT_EQ(be32(20), 1600u) << "height in IHDR";
        EXPECT_GT(bytes.size(), 20'000u) << "a page, not a blank image";
    }

    /// Chromium's DOM of `page` after its script ran; fails the test on a console message about
    /// the Content-Security-Policy or a script error.
    std::string rendered_dom(const std::string& page)
    {
        const auto dom = chromium("--dump-dom", page);
        EXPECT_EQ(dom.exit_code, 0) << dom.err;
        EXPECT_THAT(dom.err, Not(HasSubstr("Content Security Policy")));
        EXPECT_THAT(dom.err, Not(HasSubstr("Uncaught")));
        return dom.out;
    }
};

TEST_F(HtmlReportTest, CheckWritesTheFailureItsEscapedEvidenceAndCurlInOneFile)
{
    ScriptedServer server(markup_source);
    const auto r = check_markup_source(server);
    ASSERT_EQ(r.exit_code, 1) << r.out << r.err;
    const std::string html = slurp(path("checks.html"));
    const auto json = nlohmann::json::parse(slurp(path("checks.json")));

    // The summary first, with the run's figures (the JSON report's).
    const auto summary = html.find("<section id=\"summary\">");
    ASSERT_NE(summary, std::string::npos);
    EXPECT_LT(summary, html.find("<section class=\"role\" id=\"role-source\">"));
    EXPECT_THAT(html, HasSubstr("id=\"verdict\">FAILED</span>"));
    for (const char* figure : {"passed", "failed", "skipped"}) {
        EXPECT_THAT(html,
                    HasSubstr("id=\"count-" + std::string(figure) + "\"><b>" +
                              std::to_string(json["summary"][figure].get<int>()) + "</b>"))
            << figure;
    }
    EXPECT_GE(json["summary"]["failed"].get<int>(), 1);

    // The failing check, linked from the summary, with its evidence and its curl command.
    const auto check = html.find("<code class=\"id\">source.entity.deleted-flag</code>");
    ASSERT_NE(check, std::string::npos);
    EXPECT_THAT(html, HasSubstr(">source.entity.deleted-flag</a>"));
    const auto article_start = html.rfind("<article ", check);
    const std::string article =
        html.substr(article_start, html.find("</article>", check) - article_start);
    EXPECT_THAT(article, HasSubstr("<article class=\"check failed\""));
    EXPECT_THAT(article, HasSubstr("<span class=\"badge failed\">FAIL</span>"));
    EXPECT_THAT(article,
                HasSubstr("<dt>_id</dt><dd><pre>&lt;b&gt;x&lt;/b&gt;&amp;&quot;&#39;&lt;script&gt;"
                          "alert(1)&lt;/script&gt;</pre></dd>"));
    EXPECT_THAT(article, HasSubstr("<dt>field</dt><dd><pre>_deleted</pre></dd>"));
    EXPECT_THAT(article, HasSubstr("<dt>expected</dt><dd><pre>true or false</pre></dd>"));
    EXPECT_THAT(article,
                HasSubstr("curl -sS &#39;" + server.base_url() +
                          "/e&#39;</pre><button "
                          "type=\"button\" class=\"copy\""));
    // Markup from the service is text, never markup.
    EXPECT_THAT(html, Not(HasSubstr("<b>x</b>")));
    EXPECT_THAT(html, Not(HasSubstr("<script>alert")));
    expect_self_contained(html, server.base_url() + "/");
}

TEST_F(HtmlReportTest, ReplayAndAFolderTakeTheHtmlFormLikeTheOthers)
{
    ScriptedServer server([](const RawRequest&, RawConnection& c) {
        c.write(ScriptedServer::response(200, R"([{"_id":"a","_updated":1}])"));
    });
    ASSERT_EQ(emu("pull " + server.base_url() + "/e -o /dev/null --state " + path("s.db") +
                  " --record " + path("pull.jsonl"))
                  .exit_code,
              0);
    const auto replay = emu("replay against " + path("pull.jsonl") + " " + server.base_url() +
                            "/ --report html:" + path("replay.html"));
    EXPECT_EQ(replay.exit_code, 0) << replay.out << replay.err;
    const std::string html = slurp(path("replay.html"));
    EXPECT_THAT(html, HasSubstr("<h1>Replay against a service <span class=\"verdict passed\""));
    EXPECT_THAT(html, HasSubstr("id=\"count-passed\"><b>1</b>"));
    expect_self_contained(html, server.base_url() + "/");

    const auto folder =
        emu("check " + server.base_url() + "/e --role source --report html:" + dir.string());
    EXPECT_EQ(folder.exit_code, 2);
    EXPECT_EQ(folder.err,
              "sesam-emu: error: the HTML report " + dir.string() + " is a directory\n");
}

TEST_F(HtmlReportTest, LoadWritesItsFiguresAndAnSvgHistogramOfEveryRequest)
{
    RunningReferenceService service(reference::Dataset{});
    const auto url = service.base_url() + "receivers/p{pipe}/entities";
    const auto r = emu("load " + url +
                       " --role sink --entities 500 --concurrency 2 --max-errors 0 "
                       "--report html:" +
                       path("load.html") + " --report json:" + path("load.json"));
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    const std::string html = slurp(path("load.html"));
    const auto json = nlohmann::json::parse(slurp(path("load.json")));
    const auto requests = json["requests"].get<std::uint64_t>();
    EXPECT_GT(requests, 0u);
    EXPECT_THAT(html,
                HasSubstr("<h1>Load: sink <span class=\"verdict passed\" "
                          "id=\"verdict\">THRESHOLDS MET</span></h1>"));
    EXPECT_THAT(html,
                HasSubstr("id=\"figure-entities\"><b>" +
                          std::to_string(json["entities"].get<std::uint64_t>()) + "</b>entities"));
    EXPECT_THAT(html, HasSubstr("id=\"figure-requests\"><b>" + std::to_string(requests) + "</b>"));
    EXPECT_THAT(html, HasSubstr("<p class=\"note\">No errors.</p>"));
    EXPECT_THAT(html, HasSubstr("2 pipes at once, 500 entities in batches of 100"));

    // One inline SVG; its bars hold every request.
    EXPECT_EQ(count_of(html, "<svg "), 1u);
    const auto svg = html.find("<svg id=\"latency-histogram\"");
    ASSERT_NE(svg, std::string::npos);
    EXPECT_THAT(html,
                HasSubstr("latency per request histogram: " + std::to_string(requests) +
                          " requests from "));
    std::uint64_t in_bars = 0;
    for (auto at = html.find("<rect class=\"bar\"", svg); at != std::string::npos;
         at = html.find("<rect class=\"bar\"", at + 1))
        in_bars += std::strtoull(html.c_str() + html.find(" ms: ", at) + 5, nullptr, 10);
    EXPECT_EQ(in_bars, requests);
    expect_self_contained(html, service.base_url());

    const auto wrong = emu("load " + url + " --role sink --report html:");
    EXPECT_EQ(wrong.exit_code, 2);
    EXPECT_THAT(wrong.err, HasSubstr("load writes json:PATH or html:PATH"));
    const auto folder = emu("load " + url + " --role sink --report html:" + dir.string());
    EXPECT_EQ(folder.exit_code, 2);
    EXPECT_THAT(folder.err, HasSubstr("the HTML report " + dir.string() + " is a directory"));
}

TEST_F(HtmlReportTest, ChromiumRendersTheCheckReportWithItsScriptAndNothingFromTheService)
{
    if (::access(kChromium, X_OK) != 0)
        GTEST_SKIP() << "needs " << kChromium
                     << " (Debian's chromium; scripts/test-all installs it)";
    ScriptedServer server(markup_source);
    ASSERT_EQ(check_markup_source(server).exit_code, 1);
    const auto json = nlohmann::json::parse(slurp(path("checks.json")));
    const std::string dom = rendered_dom(path("checks.html"));

    // The script ran (the Content-Security-Policy allows it by its hash): it marks the document
    // and shows the filter buttons.
    EXPECT_THAT(dom, HasSubstr("<html lang=\"en\" data-script=\"on\">"));
    EXPECT_THAT(dom, HasSubstr("<nav id=\"filters\"><button"));
    // The summary counts, the failing check and its evidence as the browser holds them.
    EXPECT_THAT(dom, HasSubstr("<title>sesam-emu: FAILED ("));
    for (const char* figure : {"passed", "failed", "skipped"}) {
        EXPECT_THAT(dom,
                    HasSubstr("id=\"count-" + std::string(figure) + "\"><b>" +
                              std::to_string(json["summary"][figure].get<int>()) + "</b>" + figure +
                              "</li>"))
            << figure;
    }
    EXPECT_THAT(dom, HasSubstr("<code class=\"id\">source.entity.deleted-flag</code>"));
    EXPECT_THAT(dom, HasSubstr("<pre id=\"c"));
    EXPECT_THAT(dom, HasSubstr("curl -sS '" + server.base_url() + "/e'</pre>"));
    // The service's markup stayed text: the browser made no element of it.
    EXPECT_THAT(dom,
                HasSubstr("&lt;b&gt;x&lt;/b&gt;&amp;\"'&lt;script&gt;alert(1)&lt;/script&gt;"));
    EXPECT_THAT(dom, Not(HasSubstr("<b>x</b>")));
    EXPECT_EQ(count_of(dom, "<script"), 1u);

    expect_screenshot(path("checks.html"), "check-failures.png");
}

TEST_F(HtmlReportTest, ChromiumRendersTheLoadReportWithItsHistogram)
{
    if (::access(kChromium, X_OK) != 0)
        GTEST_SKIP() << "needs " << kChromium
                     << " (Debian's chromium; scripts/test-all installs it)";
    RunningReferenceService service(reference::Dataset{});
    ASSERT_EQ(emu("load " + service.base_url() +
                  "entities --role source --page-size 5 --report "
                  "html:" +
                  path("load.html") + " --report json:" + path("load.json"))
                  .exit_code,
              0);
    const auto json = nlohmann::json::parse(slurp(path("load.json")));
    const std::string dom = rendered_dom(path("load.html"));
    EXPECT_THAT(dom, HasSubstr("<h1>Load: source</h1>"));
    EXPECT_THAT(dom,
                HasSubstr("id=\"figure-requests\"><b>" +
                          std::to_string(json["requests"].get<std::uint64_t>()) +
                          "</b>requests</li>"));
    EXPECT_THAT(dom, HasSubstr("<svg id=\"latency-histogram\""));
    EXPECT_THAT(dom, HasSubstr("<svg id=\"first-byte-histogram\""));
    EXPECT_GE(count_of(dom, "<rect class=\"bar\""), 2u);
    EXPECT_THAT(dom, HasSubstr("<th scope=\"row\">first byte</th>"));

    expect_screenshot(path("load.html"), "load-source.png");
}

} // namespace
} // namespace sesam::testing
