#include "harness/report/reporter.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>
#include <utility>
#include <vector>

namespace sesam::harness {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// A run that exercises every verdict, both severities, a lesser finding, a baselined failure and
// text that needs escaping in every format: markup characters, control characters, non-ASCII
// text, invalid UTF-8, line breaks.
struct FixedRun {
    RunInfo info{"http://127.0.0.1:41873", {Role::source, Role::transform}, "0.1.0-test"};
    std::vector<CheckResult> results;
    RunSummary summary;

    FixedRun()
    {
        const std::string url = "http://127.0.0.1:41873";
        results.push_back({{"source.entities.array",
                            Role::source,
                            Severity::error,
                            "The response is a JSON array of entities",
                            "docs/protocol.md#reserved-fields"},
                           Verdict::passed,
                           Severity::error,
                           "",
                           {},
                           0.0123});
        results.push_back({{"source.since.exclusive",
                            Role::source,
                            Severity::error,
                            "Only entities after since come back",
                            "docs/protocol.md#pull-request"},
                           Verdict::failed,
                           Severity::error,
                           "2 entities at or before since=3 came back: <a&b> \"quoted\" 'single'",
                           {{"GET " + url + "/entities?since=3",
                             "a<b&\"c\"'d",
                             "_updated",
                             "> 3",
                             "3",
                             "curl -sS '" + url + "/entities?since=3'"},
                            {"GET " + url + "/entities?since=3",
                             "Bjørn Ærø 日本",
                             "_updated",
                             "> 3",
                             "2\x01 (a control character)",
                             "curl -sS '" + url + "/entities?since=3'"}},
                           0.0456});
        results.push_back({{"source.entity.id",
                            Role::source,
                            Severity::error,
                            "Every entity has an _id",
                            "docs/protocol.md#transit"},
                           Verdict::failed,
                           Severity::warning,
                           "1 entity has no _id",
                           {{"GET " + url + "/entities",
                             "",
                             "_id",
                             "a string",
                             "{\n  \"name\": \"x\"\n}",
                             "curl -sS '" + url + "/entities'"}},
                           0.001});
        results.push_back({{"source.limit.honoured",
                            Role::source,
                            Severity::error,
                            "No page is longer than limit",
                            "docs/protocol.md#pull-continuation"},
                           Verdict::skipped,
                           Severity::error,
                           "no --page-size given",
                           {},
                           0});
        results.push_back({{"source.updated.monotonic",
                            Role::source,
                            Severity::error,
                            "_updated grows along the feed",
                            "docs/protocol.md#pull-response"},
                           Verdict::failed,
                           Severity::error,
                           "_updated went back from 7 to 5",
                           {{"GET " + url + "/entities", "b", "_updated", "> 7", "5", ""}},
                           0.2,
                           true});
        results.push_back({{"transform.order.preserved",
                            Role::transform,
                            Severity::error,
                            "Entities come back in the order sent",
                            "docs/protocol.md#http-transform"},
                           Verdict::passed,
                           Severity::error,
                           "",
                           {},
                           0.03});
        results.push_back({{"transform.ids.kept",
                            Role::transform,
                            Severity::error,
                            "The transform keeps every _id",
                            "docs/protocol.md#rest-system"},
                           Verdict::failed,
                           Severity::error,
                           "the transform dropped _id \"x\"",
                           {{"POST " + url + "/transform",
                             "x",
                             "",
                             "[{\"_id\": \"x\"}]",
                             "invalid UTF-8 \xff\xfe then CR\r\nand a tab\tend",
                             "curl -sS -H 'Content-Type: application/json' --data-binary "
                             "'[{\"_id\": \"x\"}]' '" +
                                 url + "/transform'"}},
                           0.04});
        results.push_back({{"transform.batch.empty",
                            Role::transform,
                            Severity::warning,
                            "An empty batch gives an empty array",
                            "docs/protocol.md#rest-transform"},
                           Verdict::skipped,
                           Severity::warning,
                           "the service needs --allow-empty",
                           {},
                           0});
        summary = {2,
                   2,
                   1,
                   1,
                   2,
                   1.234,
                   "Serving on http://127.0.0.1:41873\nTraceback (most recent call last):\n"
                   "  File \"service.py\", line 12, in <module>\n"
                   "KeyError: '_id' & é \x1b[31mred\x1b[0m\n",
                   std::nullopt,
                   0,
                   ""};
    }

    void play(Reporter& reporter) const
    {
        reporter.begin(info);
        for (const CheckResult& result : results) {
            reporter.check_started(result.info);
            reporter.check_finished(result);
        }
        reporter.end(summary);
    }
};

fs::path temp_dir(const std::string& name)
{
    auto dir =
        fs::temp_directory_path() / ("sesam-report-" + name + "-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    return dir;
}

std::string read_file(const fs::path& path)
{
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

/// `text` with the run of `chars` after each `prefix` replaced by `placeholder`.
std::string replace_runs(std::string_view text,
                         std::string_view prefix,
                         std::string_view chars,
                         std::string_view placeholder)
{
    std::string out;
    std::size_t done = 0;
    for (auto hit = text.find(prefix); hit != std::string_view::npos;
         hit = text.find(prefix, done)) {
        const std::size_t run = hit + prefix.size();
        const std::size_t run_end = std::min(text.find_first_not_of(chars, run), text.size());
        out += text.substr(done, run - done);
        if (run_end > run)
            out += placeholder;
        done = run_end;
    }
    return out += text.substr(done);
}

/// Times and ports change from run to run; golden files hold placeholders instead.
std::string scrub(const std::string& text)
{
    const std::string_view number = "0123456789.eE+-";
    std::string out = replace_runs(text, "time=\"", number, "T");
    out = replace_runs(out, "\"seconds\":", number, "T");
    out = replace_runs(out, "baselined in ", number, "T");
    return replace_runs(out, "127.0.0.1:", "0123456789", "PORT");
}

void expect_golden(const std::string& name, const std::string& output)
{
    const std::string path = std::string(SESAM_SOURCE_DIR) + "/tests/golden/" + name;
    const std::string actual = scrub(output);
    if (const char* update = std::getenv("SESAM_UPDATE_GOLDEN");
        update != nullptr && std::string_view(update) == "1") {
        std::ofstream(path, std::ios::binary) << actual;
        std::cerr << "rewrote " << path << "\n";
        return;
    }
    ASSERT_TRUE(fs::exists(path)) << path << " is missing: run with SESAM_UPDATE_GOLDEN=1";
    EXPECT_EQ(read_file(path), actual)
        << path << " differs; if the change is intended, run with SESAM_UPDATE_GOLDEN=1";
}

std::string render_console(bool colour)
{
    char* buffer = nullptr;
    std::size_t size = 0;
    std::FILE* out = ::open_memstream(&buffer, &size);
    FixedRun().play(*make_console_reporter(out, colour));
    std::fclose(out);
    std::string text(buffer, size);
    std::free(buffer);
    return text;
}

std::string render_file(std::unique_ptr<Reporter> (*make)(std::string), const std::string& name)
{
    const auto path = temp_dir(name) / name;
    FixedRun().play(*make(path.string()));
    std::string text = read_file(path);
    fs::remove_all(path.parent_path());
    return text;
}

template <typename Error = std::runtime_error, typename Body>
void expect_error_naming(const std::string& path, Body body)
{
    try {
        body();
        FAIL() << "expected an exception naming " << path;
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    }
}

TEST(ConsoleReporter, MatchesGolden)
{
    const std::string text = render_console(false);
    EXPECT_EQ(text.find('\x1b'), std::string::npos) << "no colour asked for";
    expect_golden("report_console.txt", text);
}

TEST(ConsoleReporter, ColourMatchesGolden)
{
    const std::string text = render_console(true);
    EXPECT_NE(text.find("\x1b[32mPASS\x1b[0m"), std::string::npos);
    EXPECT_NE(text.find("\x1b[31mFAIL\x1b[0m"), std::string::npos);
    EXPECT_NE(text.find("\x1b[33mWARN\x1b[0m"), std::string::npos);
    expect_golden("report_console_colour.txt", text);
}

TEST(ConsoleReporter, WriteErrorThrows)
{
    std::FILE* full = std::fopen("/dev/full", "w");
    ASSERT_NE(full, nullptr);
    EXPECT_THROW(FixedRun().play(*make_console_reporter(full, false)), std::runtime_error);
    std::fclose(full);
}

TEST(JunitReporter, MatchesGolden)
{
    expect_golden("report.junit.xml", render_file(make_junit_reporter, "report.xml"));
}

TEST(JunitReporter, IsWellFormedAndMatchesTheRun)
{
    if (::access("/usr/bin/python3", X_OK) != 0)
        GTEST_SKIP() << "needs /usr/bin/python3";
    const auto dir = temp_dir("junit-parse");
    const FixedRun run;
    run.play(*make_junit_reporter((dir / "report.xml").string()));

    // Python's XML parser proves the file well-formed and hands back a tree to check here.
    const std::string command =
        "/usr/bin/python3 -c 'import sys, json, xml.etree.ElementTree as E\n"
        "def tree(e): return {\"tag\": e.tag, \"attrib\": e.attrib, \"text\": e.text or \"\","
        " \"children\": [tree(c) for c in e]}\n"
        "json.dump(tree(E.parse(sys.argv[1]).getroot()), open(sys.argv[2], \"w\"))' " +
        (dir / "report.xml").string() + " " + (dir / "tree.json").string();
    ASSERT_EQ(std::system(command.c_str()), 0) << read_file(dir / "report.xml");
    const json root = json::parse(read_file(dir / "tree.json"));

    EXPECT_EQ(root["tag"], "testsuites");
    EXPECT_EQ(root["attrib"]["tests"], "8");
    EXPECT_EQ(root["attrib"]["failures"], "2");
    EXPECT_EQ(root["attrib"]["skipped"], "2");
    ASSERT_EQ(root["children"].size(), 2U);
    std::size_t next = 0;
    for (const json& suite : root["children"]) {
        const std::string name = suite["attrib"]["name"];
        std::size_t tests = 0, failures = 0, skipped = 0;
        bool has_tail = false;
        for (const json& child : suite["children"]) {
            if (child["tag"] == "system-err") {
                has_tail = child["text"].get<std::string>().find("KeyError: '_id' & é") !=
                           std::string::npos;
            }
            if (child["tag"] != "testcase")
                continue;
            ASSERT_LT(next, run.results.size());
            const CheckResult& r = run.results[next++];
            ++tests;
            EXPECT_EQ(name, std::string("sesam-emu.") + to_string(r.info.role));
            EXPECT_EQ(child["attrib"]["classname"], name);
            EXPECT_EQ(child["attrib"]["name"], r.info.id);
            const json& inner = child["children"];
            if (r.verdict == Verdict::passed) {
                EXPECT_TRUE(inner.empty()) << r.info.id;
                continue;
            }
            ASSERT_EQ(inner.size(), 1U) << r.info.id;
            const std::string text = inner[0]["text"];
            if (r.verdict == Verdict::skipped) {
                ++skipped;
                EXPECT_EQ(inner[0]["tag"], "skipped");
                EXPECT_EQ(inner[0]["attrib"]["message"], r.message);
            } else if (r.fails_run()) {
                ++failures;
                EXPECT_EQ(inner[0]["tag"], "failure");
                EXPECT_EQ(inner[0]["attrib"]["message"], r.message);
                EXPECT_EQ(inner[0]["attrib"]["type"], "error");
                EXPECT_NE(text.find("_id:      " + r.evidence[0].entity_id), std::string::npos);
            } else {
                EXPECT_EQ(inner[0]["tag"], "system-out") << r.info.id;
                EXPECT_NE(text.find(r.message), std::string::npos) << text;
            }
        }
        EXPECT_EQ(suite["attrib"]["tests"], std::to_string(tests));
        EXPECT_EQ(suite["attrib"]["failures"], std::to_string(failures));
        EXPECT_EQ(suite["attrib"]["skipped"], std::to_string(skipped));
        EXPECT_EQ(suite["attrib"]["errors"], "0");
        EXPECT_TRUE(has_tail) << name;
    }
    EXPECT_EQ(next, run.results.size());
    fs::remove_all(dir);
}

TEST(JunitReporter, ReplacesTheFileWholeAndLeavesNoTemporary)
{
    const auto dir = temp_dir("junit-replace");
    const auto path = dir / "report.xml";
    std::ofstream(path) << "an old report";
    auto reporter = make_junit_reporter(path.string());
    reporter->begin(FixedRun().info);
    reporter->check_finished(FixedRun().results[0]);
    EXPECT_EQ(read_file(path), "an old report") << "nothing is written before end()";
    reporter->end(FixedRun().summary);
    EXPECT_EQ(read_file(path).rfind("<?xml", 0), 0U);
    EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1);
    fs::remove_all(dir);
}

TEST(JunitReporter, UnwritablePathIsRefusedBeforeTheRun)
{
    // A bad --report is a usage error (exit 2): refused by the constructor, before a long run.
    const std::string path = "/proc/nope/x.xml";
    expect_error_naming<std::invalid_argument>(path, [&] { make_junit_reporter(path); });
    const auto dir = temp_dir("junit-unwritable");
    const std::string folder = (dir / "taken").string();
    fs::create_directories(folder);
    expect_error_naming<std::invalid_argument>(folder, [&] { make_junit_reporter(folder); });
    fs::remove_all(dir);
}

TEST(JunitReporter, ASymbolicLinkIsKeptAndItsTargetReplaced)
{
    const auto dir = temp_dir("junit-link");
    const auto target = dir / "real.xml";
    const auto link = dir / "report.xml";
    std::ofstream(target) << "old";
    fs::create_symlink(target, link);
    FixedRun().play(*make_junit_reporter(link.string()));
    EXPECT_TRUE(fs::is_symlink(link));
    std::ifstream in(target);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(text.rfind("<?xml", 0), 0u) << text;
    EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 2)
        << "no temporary file is left";
    fs::remove_all(dir);
}

TEST(JunitReporter, AFifoIsWrittenThroughNotReplaced)
{
    // As root, a rename would have replaced a device node such as /dev/full; a FIFO shows the
    // same without touching the machine's devices.
    const auto dir = temp_dir("junit-fifo");
    const auto fifo = dir / "report.xml";
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    std::string received;
    std::thread reader([&] {
        std::ifstream in(fifo);
        received.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    });
    FixedRun().play(*make_junit_reporter(fifo.string()));
    reader.join();
    EXPECT_TRUE(fs::is_fifo(fifo));
    EXPECT_EQ(received.rfind("<?xml", 0), 0u) << received;
    fs::remove_all(dir);
}

TEST(JsonReporter, MatchesGolden)
{
    expect_golden("report.json", render_file(make_json_reporter, "report.json"));
}

TEST(JsonReporter, ParsesBackToTheRun)
{
    const FixedRun run;
    const json report = json::parse(render_file(make_json_reporter, "parse.json"));

    EXPECT_EQ(report["run"]["service_url"], run.info.service_url);
    EXPECT_EQ(report["run"]["roles"], json::array({"source", "transform"}));
    EXPECT_EQ(report["run"]["sesam_emu_version"], "0.1.0-test");
    ASSERT_EQ(report["checks"].size(), run.results.size());
    for (std::size_t i = 0; i < run.results.size(); ++i) {
        const CheckResult& r = run.results[i];
        const json& check = report["checks"][i];
        EXPECT_EQ(check["id"], r.info.id);
        EXPECT_EQ(check["role"], to_string(r.info.role));
        EXPECT_EQ(check["severity"], to_string(r.severity));
        EXPECT_EQ(check["title"], r.info.title);
        EXPECT_EQ(check["spec"], r.info.spec);
        EXPECT_EQ(check["verdict"], to_string(r.verdict));
        EXPECT_EQ(check["message"], r.message);
        EXPECT_EQ(check["baselined"], r.baselined);
        EXPECT_DOUBLE_EQ(check["seconds"].get<double>(), r.seconds);
        ASSERT_EQ(check["evidence"].size(), r.evidence.size());
        for (std::size_t j = 0; j < r.evidence.size(); ++j) {
            const json& e = check["evidence"][j];
            EXPECT_EQ(e["request"], r.evidence[j].request);
            EXPECT_EQ(e["entity_id"], r.evidence[j].entity_id);
            EXPECT_EQ(e["field"], r.evidence[j].field);
            EXPECT_EQ(e["expected"], r.evidence[j].expected);
            EXPECT_EQ(e["curl"], r.evidence[j].curl);
        }
    }
    EXPECT_EQ(report["checks"][1]["evidence"][1]["actual"], "2\x01 (a control character)");
    EXPECT_EQ(report["checks"][6]["evidence"][0]["actual"],
              "invalid UTF-8 \xef\xbf\xbd\xef\xbf\xbd then CR\r\nand a tab\tend");
    const json& summary = report["summary"];
    EXPECT_EQ(summary["passed"], 2);
    EXPECT_EQ(summary["failed"], 2);
    EXPECT_EQ(summary["warnings"], 1);
    EXPECT_EQ(summary["baselined"], 1);
    EXPECT_EQ(summary["skipped"], 2);
    EXPECT_DOUBLE_EQ(summary["seconds"].get<double>(), 1.234);
    EXPECT_EQ(summary["service_output_tail"], run.summary.service_output_tail);
}

TEST(JsonReporter, StreamsEachCheckAsItFinishes)
{
    const auto path = temp_dir("json-stream") / "report.json";
    const FixedRun run;
    auto reporter = make_json_reporter(path.string());
    reporter->begin(run.info);
    EXPECT_NE(read_file(path).find("\"service_url\""), std::string::npos);
    reporter->check_finished(run.results[0]);
    EXPECT_NE(read_file(path).find("\"source.entities.array\""), std::string::npos);
    reporter->end(run.summary);
    EXPECT_TRUE(json::accept(read_file(path)));
    fs::remove_all(path.parent_path());
}

TEST(JsonReporter, UnwritablePathIsRefusedBeforeTheRun)
{
    const std::string path = "/proc/nope/x.json";
    expect_error_naming<std::invalid_argument>(path, [&] { make_json_reporter(path); });
    const auto dir = temp_dir("json-unwritable");
    expect_error_naming<std::invalid_argument>(dir.string(),
                                               [&] { make_json_reporter(dir.string()); });
    fs::remove_all(dir);
}

TEST(JsonReporter, AFullDeviceIsAWriteErrorAndStaysADevice)
{
    auto reporter = make_json_reporter("/dev/full");
    expect_error_naming("/dev/full", [&] { FixedRun().play(*reporter); });
    EXPECT_TRUE(fs::is_character_file("/dev/full"));
}

std::size_t count_of(std::string_view text, std::string_view what)
{
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string_view::npos; at = text.find(what, at + 1))
        ++n;
    return n;
}

/// Every value of the attribute `name` in `html` (between its double quotes).
std::vector<std::string> attribute_values(const std::string& html, const std::string& name)
{
    std::vector<std::string> values;
    const std::string prefix = " " + name + "=\"";
    for (auto at = html.find(prefix); at != std::string::npos; at = html.find(prefix, at + 1)) {
        const auto start = at + prefix.size();
        values.push_back(html.substr(start, html.find('"', start) - start));
    }
    return values;
}

std::string render_html()
{
    return render_file(make_html_reporter, "report.html");
}

TEST(HtmlReporter, MatchesGolden)
{
    expect_golden("report.html", render_html());
}

TEST(HtmlReporter, EscapesEverythingTheServiceSent)
{
    const std::string html = render_html();
    const auto npos = std::string::npos;
    // Markup in a message, an _id and the output tail is text, never markup.
    EXPECT_NE(html.find("came back: &lt;a&amp;b&gt; &quot;quoted&quot; &#39;single&#39;"), npos);
    EXPECT_NE(html.find("<pre>a&lt;b&amp;&quot;c&quot;&#39;d</pre>"), npos);
    EXPECT_EQ(html.find("<a&b>"), npos);
    EXPECT_EQ(html.find("a<b&"), npos);
    EXPECT_NE(html.find("KeyError: &#39;_id&#39; &amp; é \\u001b[31mred\\u001b[0m"), npos);
    // Control characters are shown as the console shows them; invalid UTF-8 is U+FFFD; a
    // carriage return is kept as a reference; other text is kept as it is.
    EXPECT_NE(html.find("2\\u0001 (a control character)"), npos);
    EXPECT_NE(html.find("invalid UTF-8 \xef\xbf\xbd\xef\xbf\xbd then CR&#13;\nand a tab\tend"),
              npos);
    EXPECT_NE(html.find("Bjørn Ærø 日本"), npos);
    for (const char c : {'\x01', '\x1b', '\r', '\xff'})
        EXPECT_EQ(html.find(c), npos) << static_cast<int>(c);
    // A curl command is escaped in its <pre>, which its copy button names.
    EXPECT_NE(html.find("<pre id=\"c1-curl1\">curl -sS &#39;http://127.0.0.1:41873/entities?"
                        "since=3&#39;</pre><button type=\"button\" class=\"copy\" "
                        "data-copy=\"c1-curl1\""),
              npos);
    EXPECT_NE(html.find("<pre id=\"c6-curl1\">curl -sS -H &#39;Content-Type: application/json"
                        "&#39; --data-binary &#39;[{&quot;_id&quot;: &quot;x&quot;}]&#39; "
                        "&#39;http://127.0.0.1:41873/transform&#39;</pre>"),
              npos);
}

TEST(HtmlReporter, FetchesNothingAndLinksOnlyWithinItself)
{
    const std::string html = render_html();
    EXPECT_EQ(count_of(html, "<script"), 1u);
    EXPECT_EQ(count_of(html, "<style"), 1u);
    for (const char* fetching : {" src=",
                                 "<link",
                                 "<img",
                                 "<iframe",
                                 "<object",
                                 "<embed",
                                 "url(",
                                 "@import",
                                 "https://",
                                 "xmlns",
                                 "<form"})
        EXPECT_EQ(html.find(fetching), std::string::npos) << fetching;
    // The only URLs are the service's, as text.
    for (auto at = html.find("http://"); at != std::string::npos; at = html.find("http://", at + 1))
        EXPECT_EQ(html.compare(at, 22, "http://127.0.0.1:41873"), 0) << html.substr(at, 40);
    EXPECT_NE(html.find("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src "
                        "'none'; style-src 'unsafe-inline'; script-src 'sha256-"),
              std::string::npos);
    // Every link and every copy button points at an element of the page.
    const auto ids = attribute_values(html, "id");
    const std::set<std::string> known(ids.begin(), ids.end());
    EXPECT_EQ(known.size(), ids.size()) << "ids are unique";
    const auto links = attribute_values(html, "href");
    EXPECT_EQ(links.size(), 4u) << "one per failure and warning";
    for (const auto& link : links) {
        ASSERT_EQ(link.rfind('#', 0), 0u) << link;
        EXPECT_TRUE(known.count(link.substr(1))) << link;
    }
    const auto copies = attribute_values(html, "data-copy");
    EXPECT_EQ(copies, (std::vector<std::string>{"c1-curl1", "c1-curl2", "c2-curl1", "c6-curl1"}));
    for (const auto& copy : copies)
        EXPECT_TRUE(known.count(copy)) << copy;
}

TEST(HtmlReporter, SummaryFirstThenTheChecksByRole)
{
    const FixedRun run;
    const std::string html = render_html();
    const auto npos = std::string::npos;
    EXPECT_NE(html.find("<span class=\"verdict failed\" id=\"verdict\">FAILED</span>"), npos);
    EXPECT_NE(html.find("<title>sesam-emu: FAILED (2 failed, 2 passed) "
                        "http://127.0.0.1:41873</title>"),
              npos);
    for (const auto& [name, n] :
         std::vector<std::pair<std::string, std::size_t>>{{"passed", run.summary.passed},
                                                          {"failed", run.summary.failed},
                                                          {"warnings", run.summary.warnings},
                                                          {"baselined", run.summary.baselined},
                                                          {"skipped", run.summary.skipped}}) {
        EXPECT_NE(html.find("id=\"count-" + name + "\"><b>" + std::to_string(n) + "</b>"), npos)
            << name;
    }
    const auto summary = html.find("<section id=\"summary\">");
    const auto source = html.find("<section class=\"role\" id=\"role-source\">");
    const auto transform = html.find("<section class=\"role\" id=\"role-transform\">");
    const auto tail = html.find("<section id=\"service-output\">");
    ASSERT_NE(summary, npos);
    EXPECT_LT(summary, source);
    EXPECT_LT(source, transform);
    EXPECT_LT(transform, tail);
    EXPECT_NE(html.find("<h2>source<span class=\"counts\">1 passed · 1 failed · 1 warning · 1 "
                        "baselined · 1 skipped</span></h2>"),
              npos);
    EXPECT_NE(html.find("<h2>transform<span class=\"counts\">1 passed · 1 failed · 1 "
                        "skipped</span></h2>"),
              npos);
    for (std::size_t i = 0; i < run.results.size(); ++i) {
        const CheckResult& r = run.results[i];
        const auto check = html.find("id=\"c" + std::to_string(i) + "\"");
        ASSERT_NE(check, npos) << r.info.id;
        // In its role's group, with its id and status word.
        EXPECT_EQ(check > transform, r.info.role == Role::transform) << r.info.id;
        const auto end = html.find("</article>", check);
        const std::string article = html.substr(check, end - check);
        EXPECT_NE(article.find("<code class=\"id\">" + std::string(r.info.id) + "</code>"), npos);
        const char* word = r.verdict == Verdict::passed      ? ">PASS<"
                           : r.verdict == Verdict::skipped   ? ">SKIP<"
                           : r.baselined                     ? ">FAIL (baseline)<"
                           : r.severity == Severity::warning ? ">WARN<"
                                                             : ">FAIL<";
        EXPECT_NE(article.find(word), npos) << r.info.id << ": " << word;
        EXPECT_EQ(count_of(article, "<div class=\"evidence\">"), r.evidence.size()) << r.info.id;
    }
    EXPECT_NE(html.find("skipped: no --page-size given"), npos);
    EXPECT_NE(html.find("accepted by the baseline: does not fail the run"), npos);
}

TEST(HtmlReporter, ItsScriptIsTheOneTheContentSecurityPolicyAllows)
{
    if (::access("/usr/bin/python3", X_OK) != 0)
        GTEST_SKIP() << "needs /usr/bin/python3";
    const auto dir = temp_dir("html-hash");
    const std::string html = render_html();
    const auto start = html.find("<script>") + 8;
    std::ofstream(dir / "script.js", std::ios::binary)
        << html.substr(start, html.find("</script>") - start);
    const std::string command =
        "/usr/bin/python3 -c 'import sys, hashlib, base64\n"
        "print(base64.b64encode(hashlib.sha256(open(sys.argv[1], \"rb\").read()).digest())"
        ".decode(), end=\"\")' " +
        (dir / "script.js").string() + " > " + (dir / "hash").string();
    ASSERT_EQ(std::system(command.c_str()), 0);
    const std::string hash = read_file(dir / "hash");
    ASSERT_FALSE(hash.empty());
    EXPECT_NE(html.find("script-src 'sha256-" + hash + "'"), std::string::npos)
        << "the script changed: put sha256-" << hash << " in kScriptHash (html_report.cpp)";
    fs::remove_all(dir);
}

TEST(HtmlReporter, ARunWithoutRolesIsOneGroup)
{
    FixedRun run;
    run.info.suite = "sesam-emu.test";
    run.info.suite_per_role = false;
    run.info.roles.clear();
    run.summary.failed = 0;
    const auto dir = temp_dir("html-test");
    run.play(*make_html_reporter((dir / "r.html").string()));
    const std::string html = read_file(dir / "r.html");
    EXPECT_NE(html.find("<h1>Node configuration tests <span class=\"verdict passed\" "
                        "id=\"verdict\">PASSED</span></h1>"),
              std::string::npos);
    EXPECT_EQ(count_of(html, "<section class=\"role\""), 1u);
    EXPECT_NE(html.find("id=\"role-tests\""), std::string::npos);
    EXPECT_EQ(count_of(html, "<article class=\"check"), run.results.size());
    fs::remove_all(dir);
}

TEST(HtmlReporter, WritesTheFileWholeAtTheEndAndRefusesAFolder)
{
    const auto dir = temp_dir("html-replace");
    const auto path = dir / "report.html";
    std::ofstream(path) << "an old report";
    auto reporter = make_html_reporter(path.string());
    reporter->begin(FixedRun().info);
    reporter->check_finished(FixedRun().results[0]);
    EXPECT_EQ(read_file(path), "an old report") << "nothing is written before end()";
    reporter->end(FixedRun().summary);
    EXPECT_EQ(read_file(path).rfind("<!DOCTYPE html>\n", 0), 0U);
    EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1);
    expect_error_naming<std::invalid_argument>(dir.string(),
                                               [&] { make_html_reporter(dir.string()); });
    expect_error_naming<std::invalid_argument>("/proc/nope/r.html",
                                               [&] { make_html_reporter("/proc/nope/r.html"); });
    fs::remove_all(dir);
}

TEST(FileReporter, NamesHtmlBesideJunitAndJson)
{
    const auto dir = temp_dir("file-reporter");
    FixedRun().play(*make_file_reporter("html:" + (dir / "r.html").string()));
    EXPECT_NE(read_file(dir / "r.html").find("source.since.exclusive"), std::string::npos);
    for (const char* bad : {"html:", "xml:r.xml", "html"}) {
        try {
            make_file_reporter(bad);
            ADD_FAILURE() << bad << " was taken";
        } catch (const std::invalid_argument& e) {
            EXPECT_EQ(std::string(e.what()),
                      "--report '" + std::string(bad) +
                          "' is not junit:PATH, json:PATH or html:PATH");
        }
    }
    fs::remove_all(dir);
}

/// Logs every event it receives, and can fail at end().
class RecordingReporter final : public Reporter {
public:
    RecordingReporter(std::string name, std::vector<std::string>& log, bool fail_at_end)
        : name_(std::move(name)), log_(log), fail_at_end_(fail_at_end)
    {
    }
    void begin(const RunInfo& run) override { log_.push_back(name_ + " begin " + run.service_url); }
    void check_started(const CheckInfo& check) override
    {
        log_.push_back(name_ + " started " + std::string(check.id));
    }
    void check_finished(const CheckResult& result) override
    {
        log_.push_back(name_ + " finished " + std::string(result.info.id));
    }
    void end(const RunSummary& /*summary*/) override
    {
        log_.push_back(name_ + " end");
        if (fail_at_end_)
            throw std::runtime_error(name_ + " failed");
    }

private:
    std::string name_;
    std::vector<std::string>& log_;
    bool fail_at_end_;
};

TEST(MultiReporter, FansOutInOrder)
{
    std::vector<std::string> log;
    std::vector<std::unique_ptr<Reporter>> reporters;
    reporters.push_back(std::make_unique<RecordingReporter>("a", log, false));
    reporters.push_back(std::make_unique<RecordingReporter>("b", log, false));
    FixedRun run;
    run.results.resize(1);
    run.play(*make_multi_reporter(std::move(reporters)));
    const std::vector<std::string> expected = {"a begin http://127.0.0.1:41873",
                                               "b begin http://127.0.0.1:41873",
                                               "a started source.entities.array",
                                               "b started source.entities.array",
                                               "a finished source.entities.array",
                                               "b finished source.entities.array",
                                               "a end",
                                               "b end"};
    EXPECT_EQ(log, expected);
}

TEST(MultiReporter, EveryEndRunsBeforeTheFirstErrorIsRethrown)
{
    std::vector<std::string> log;
    std::vector<std::unique_ptr<Reporter>> reporters;
    reporters.push_back(std::make_unique<RecordingReporter>("a", log, true));
    reporters.push_back(std::make_unique<RecordingReporter>("b", log, true));
    reporters.push_back(std::make_unique<RecordingReporter>("c", log, false));
    auto multi = make_multi_reporter(std::move(reporters));
    try {
        multi->end({});
        FAIL() << "expected std::runtime_error";
    } catch (const std::runtime_error& e) {
        EXPECT_STREQ(e.what(), "a failed");
    }
    EXPECT_EQ(log, (std::vector<std::string>{"a end", "b end", "c end"}));
}

} // namespace
} // namespace sesam::harness
