#include "harness/report/html_report.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

namespace sesam::harness {
namespace {

std::size_t count_of(std::string_view text, std::string_view what)
{
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string_view::npos; at = text.find(what, at + 1))
        ++n;
    return n;
}

TEST(HtmlEscape, MarkupQuotesAndControlsNeverReachThePageAsThemselves)
{
    EXPECT_EQ(html_escape("<a href=\"x\">&'</a>"),
              "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;");
    EXPECT_EQ(html_escape("line\nand\ttab"), "line\nand\ttab");
    EXPECT_EQ(html_escape("cr\r"), "cr&#13;");
    EXPECT_EQ(html_escape(std::string_view("nul\0", 4)), "nul\\u0000");
    EXPECT_EQ(html_escape("esc\x1b[0m del\x7f"), "esc\\u001b[0m del\\u007f");
    EXPECT_EQ(html_escape("C1 \xc2\x85"), "C1 \\u0085");
    EXPECT_EQ(html_escape("Bjørn 日本 😀"), "Bjørn 日本 😀");
}

TEST(HtmlEscape, InvalidUtf8AndNoncharactersBecomeTheReplacementCharacter)
{
    const std::string fffd = "\xef\xbf\xbd";
    EXPECT_EQ(html_escape("a\xff"
                          "b"),
              "a" + fffd + "b");
    EXPECT_EQ(html_escape("\xc0\xaf"), fffd + fffd) << "overlong";
    EXPECT_EQ(html_escape("\xed\xa0\x80"), fffd + fffd + fffd) << "a surrogate";
    EXPECT_EQ(html_escape("\xe6\x97"), fffd + fffd) << "cut short";
    EXPECT_EQ(html_escape("\xef\xbf\xbe"), fffd) << "U+FFFE";
    EXPECT_EQ(html_escape("\xef\xb7\x90"), fffd) << "U+FDD0";
}

LoadFigures sample_figures()
{
    LoadFigures f;
    f.seconds = 2;
    f.entities = 5000;
    f.requests = 52;
    f.bytes_sent = 1'500'000;
    f.rounds = 2;
    f.errors = {{"status 503 <Service Unavailable>", 3}, {"read_timeout", 1}};
    // 40 fast requests around 1 ms, 10 around 20 ms and 2 slow ones at 300 ms.
    for (int i = 0; i < 40; ++i)
        f.latency.record(900 + static_cast<std::uint64_t>(i) * 10);
    for (int i = 0; i < 10; ++i)
        f.latency.record(20'000 + static_cast<std::uint64_t>(i) * 100);
    f.latency.record(300'000);
    f.latency.record(301'000);
    for (int i = 0; i < 52; ++i)
        f.first_byte.record(100 + static_cast<std::uint64_t>(i));
    f.cpu_seconds = 0.25;
    return f;
}

/// The counts in the bars' tooltips (`…: 12 requests (…)`) of the SVG that starts at `from`.
std::uint64_t bar_total(const std::string& html, std::size_t from)
{
    const auto end = html.find("</svg>", from);
    std::uint64_t total = 0;
    for (auto at = html.find("<rect class=\"bar\"", from); at < end;
         at = html.find("<rect class=\"bar\"", at + 1)) {
        const auto colon = html.find(" ms: ", at) + 5;
        total += std::strtoull(html.c_str() + colon, nullptr, 10);
    }
    return total;
}

TEST(LoadReportHtml, FiguresAndAnSvgHistogramWhoseBarsHoldEveryRequest)
{
    LoadPageInfo info;
    info.role = Role::sink;
    info.url = "http://127.0.0.1:5000/receivers/pipe-{pipe}/entities?a=1&b=<2>";
    info.description = "2 pipes at once, 2500 entities in batches of 100";
    info.service_cpu_seconds = 1.5;
    info.service_peak_rss_mb = 19.6;
    info.service_usage_source = "process group 4242";
    info.thresholds = true;
    info.missed = {"--max-p99 50: p99 301.00 ms"};
    info.sesam_emu_version = "0.1.0-test";
    const auto figures = sample_figures();
    const std::string html = load_report_html(info, figures);
    const auto npos = std::string::npos;

    EXPECT_EQ(html.rfind("<!DOCTYPE html>\n", 0), 0u);
    EXPECT_NE(html.find("<code id=\"service\">http://127.0.0.1:5000/receivers/pipe-{pipe}/"
                        "entities?a=1&amp;b=&lt;2&gt;</code>"),
              npos);
    EXPECT_NE(html.find("id=\"verdict\">THRESHOLD MISSED</span>"), npos);
    EXPECT_NE(html.find("MISSED</span> --max-p99 50: p99 301.00 ms"), npos);
    EXPECT_NE(html.find("id=\"figure-entities\"><b>5000</b>entities"), npos);
    EXPECT_NE(html.find("id=\"figure-rate\"><b>2500</b>entities/s"), npos);
    EXPECT_NE(html.find("id=\"figure-throughput\"><b>0.8</b>MB/s"), npos);
    EXPECT_NE(html.find("id=\"figure-requests\"><b>52</b>requests"), npos);
    EXPECT_NE(html.find("class=\"figure failed\" id=\"figure-errors\"><b>4</b>errors"), npos);
    // Errors by kind, escaped.
    EXPECT_NE(html.find("<code>status 503 &lt;Service Unavailable&gt;</code></td><td>3</td>"),
              npos);
    EXPECT_NE(html.find("<code>read_timeout</code></td><td>1</td>"), npos);
    // Percentiles in the table: p50 is among the fast requests, p99 among the slow ones.
    const auto p50 = static_cast<double>(figures.latency.percentile(50)) / 1000.0;
    EXPECT_GT(p50, 0.9);
    EXPECT_LT(p50, 1.4);
    EXPECT_NE(html.find("<tr><th scope=\"row\">whole response</th><td>"), npos);
    EXPECT_EQ(html.find("first byte</th>"), npos) << "a sink has no first-byte figures";
    EXPECT_NE(html.find("<tr><th scope=\"row\">service CPU</th><td>1.50 s</td></tr>"), npos);
    EXPECT_NE(html.find("<tr><th scope=\"row\">service peak memory</th><td>19.6 MB</td>"), npos);
    EXPECT_NE(html.find("<tr><th scope=\"row\">sesam-emu CPU</th><td>0.25 s</td></tr>"), npos);
    EXPECT_NE(html.find("service figures from process group 4242"), npos);

    // One histogram, inline, with every request in its bars and the percentiles marked.
    EXPECT_EQ(count_of(html, "<svg "), 1u);
    const auto svg = html.find("<svg id=\"latency-histogram\"");
    ASSERT_NE(svg, npos);
    EXPECT_EQ(bar_total(html, svg), figures.latency.count());
    EXPECT_NE(html.find("latency per request histogram: 52 requests from 0.900 to 301 ms", svg),
              npos);
    for (const char* mark : {">p50 ", ">p95 ", ">p99 "})
        EXPECT_NE(html.find(mark, svg), npos) << mark;
    // 0.9 to 301 ms spans 10 powers of two: 4 steps each, at most 40 bars, equal widths.
    const auto bars = count_of(html, "<rect class=\"bar\"");
    EXPECT_GE(bars, 3u);
    EXPECT_LE(bars, 40u);
    EXPECT_NE(html.find(">1 ms</text>", svg), npos);
    EXPECT_NE(html.find(">100 ms</text>", svg), npos);

    for (const char* fetching : {" src=", " href=", "<link", "url(", "https://", "xmlns"})
        EXPECT_EQ(html.find(fetching), npos) << fetching;
    EXPECT_NE(html.find("content=\"default-src 'none';"), npos);
}

TEST(LoadReportHtml, ASourceGetsItsFirstByteHistogramAndAnEmptyRunSaysSo)
{
    LoadPageInfo info;
    info.role = Role::source;
    info.url = "http://127.0.0.1:5000/entities";
    const auto figures = sample_figures();
    const std::string html = load_report_html(info, figures);
    EXPECT_EQ(count_of(html, "<svg "), 2u);
    const auto svg = html.find("<svg id=\"first-byte-histogram\"");
    ASSERT_NE(svg, std::string::npos);
    EXPECT_EQ(bar_total(html, svg), figures.first_byte.count());
    EXPECT_NE(html.find("first byte</th>"), std::string::npos);
    EXPECT_EQ(html.find("id=\"verdict\""), std::string::npos) << "no thresholds, no verdict";
    EXPECT_NE(html.find("shown when sesam-emu starts it"), std::string::npos);

    const std::string empty = load_report_html(info, LoadFigures{});
    EXPECT_EQ(count_of(empty, "<svg "), 0u);
    EXPECT_EQ(count_of(empty, "No request was measured."), 2u);
    EXPECT_NE(empty.find("No errors."), std::string::npos);
}

TEST(LoadReportHtml, OneValueStillDrawsABarBetweenLabelledEnds)
{
    LoadFigures figures;
    for (int i = 0; i < 7; ++i)
        figures.latency.record(1500);
    LoadPageInfo info;
    const std::string html = load_report_html(info, figures);
    EXPECT_EQ(count_of(html, "<rect class=\"bar\""), 1u);
    EXPECT_EQ(bar_total(html, html.find("<svg ")), 7u);
    EXPECT_NE(html.find("7 requests (100.00 %)"), std::string::npos);
    EXPECT_EQ(html.find("nan"), std::string::npos);
    EXPECT_EQ(html.find("inf"), std::string::npos);
}

} // namespace
} // namespace sesam::harness
