#include "harness/report/buffered_file_reporter.hpp"
#include "harness/report/report_file.hpp"
#include "harness/report/reporter.hpp"
#include "harness/report/utf8.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <stdexcept>
#include <string_view>
#include <system_error>
#include <unistd.h>
#include <utility>

namespace sesam::harness {
namespace {

/// Evidence holds whatever the service sent, but an XML 1.0 parser rejects the whole report
/// over one control character or invalid byte: those are replaced, never dropped silently.
void append_escaped(std::string& out, std::string_view text, bool attribute)
{
    for (std::size_t i = 0; i < text.size();) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c >= 0x80) {
            const auto [code, length] = decode_utf8(text.substr(i));
            const bool allowed = length != 0 && code != 0xfffe && code != 0xffff;
            out += allowed ? text.substr(i, length) : replacement_character;
            i += std::max<std::size_t>(length, 1);
            continue;
        }
        ++i;
        switch (c) {
        case '&':
            out += "&amp;";
            break;
        case '<':
            out += "&lt;";
            break;
        case '>':
            out += "&gt;";
            break;
        // Quotes stay readable in text, where curl commands are copied from; attributes need
        // them escaped. Parsers normalise raw line breaks and tabs in attributes to spaces, and
        // \r anywhere.
        case '"':
            out += attribute ? "&quot;" : "\"";
            break;
        case '\'':
            out += attribute ? "&apos;" : "'";
            break;
        case '\n':
            out += attribute ? "&#10;" : "\n";
            break;
        case '\t':
            out += attribute ? "&#9;" : "\t";
            break;
        case '\r':
            out += "&#13;";
            break;
        default:
            if (c < 0x20 || c == 0x7f) {
                out += fmt::format("\\u{:04x}", c);
            } else {
                out += static_cast<char>(c);
            }
        }
    }
}

std::string attr(std::string_view text)
{
    std::string out;
    append_escaped(out, text, true);
    return out;
}

std::string text_node(std::string_view text)
{
    std::string out;
    append_escaped(out, text, false);
    return out;
}

std::string describe(const std::vector<Evidence>& evidence)
{
    std::string text;
    for (const Evidence& e : evidence) {
        if (!text.empty())
            text += "\n";
        for (const auto& line : evidence_lines(e))
            text += fmt::format("{:<10}{}\n", std::string(line.label) + ":", line.value);
    }
    return text;
}

std::string testcase(const CheckResult& r, const RunInfo& run)
{
    const std::string suite =
        run.suite_per_role ? run.suite + "." + to_string(r.info.role) : run.suite;
    std::string xml = fmt::format(R"(    <testcase classname="{}" name="{}" time="{:.3f}")",
                                  attr(suite),
                                  attr(r.info.id),
                                  r.seconds);
    const std::string evidence = describe(r.evidence);
    if (r.verdict == Verdict::skipped) {
        xml += fmt::format(">\n      <skipped message=\"{}\"/>\n", attr(r.message));
    } else if (r.fails_run()) {
        xml += fmt::format(">\n      <failure message=\"{}\" type=\"{}\">{}</failure>\n",
                           attr(r.message),
                           to_string(r.severity),
                           text_node(evidence));
    } else if (r.verdict == Verdict::failed) {
        const char* what = r.severity == Severity::warning ? "warning" : "failure";
        const std::string note =
            r.baselined ? fmt::format("{} accepted by the baseline: {}", what, r.message)
                        : fmt::format("{} (does not fail the run): {}", what, r.message);
        xml += fmt::format(">\n      <system-out>{}</system-out>\n",
                           text_node(evidence.empty() ? note + "\n" : note + "\n\n" + evidence));
    } else {
        return xml + "/>\n";
    }
    return xml + "    </testcase>\n";
}

constexpr std::string_view kWhat = "JUnit report";

class JunitReporter final : public BufferedFileReporter {
public:
    explicit JunitReporter(std::string path) : BufferedFileReporter(std::move(path), kWhat) {}

private:
    std::string render(const RunInfo& run,
                       const std::vector<CheckResult>& results,
                       const RunSummary& summary) const override
    {
        std::string suites;
        std::size_t tests = 0, failures = 0, skipped = 0;
        for (const auto& [role, indices] : result_groups(run, results)) {
            std::string cases;
            const std::size_t n = indices.size();
            std::size_t failed = 0, skips = 0;
            double seconds = 0;
            for (const std::size_t i : indices) {
                const CheckResult& r = results[i];
                failed += r.fails_run() ? 1 : 0;
                skips += r.verdict == Verdict::skipped ? 1 : 0;
                seconds += r.seconds;
                cases += testcase(r, run);
            }
            tests += n;
            failures += failed;
            skipped += skips;
            suites += fmt::format(
                "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" skipped=\"{}\" "
                "errors=\"0\" time=\"{:.3f}\">\n",
                attr(run.suite_per_role ? run.suite + "." + to_string(role) : run.suite),
                n,
                failed,
                skips,
                seconds);
            suites += fmt::format("    <properties>\n"
                                  "      <property name=\"service_url\" value=\"{}\"/>\n"
                                  "      <property name=\"sesam_emu_version\" value=\"{}\"/>\n"
                                  "    </properties>\n",
                                  attr(run.service_url),
                                  attr(run.sesam_emu_version));
            suites += cases;
            if (!summary.service_output_tail.empty()) {
                suites += fmt::format("    <system-err>{}</system-err>\n",
                                      text_node(summary.service_output_tail));
            }
            suites += "  </testsuite>\n";
        }
        return fmt::format("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                           "<testsuites name=\"{}\" tests=\"{}\" failures=\"{}\" "
                           "skipped=\"{}\" errors=\"0\" time=\"{:.3f}\">\n{}"
                           "</testsuites>\n",
                           attr(run.suite),
                           tests,
                           failures,
                           skipped,
                           summary.seconds,
                           suites);
    }
};

} // namespace

std::unique_ptr<Reporter> make_junit_reporter(std::string path)
{
    return std::make_unique<JunitReporter>(std::move(path));
}

std::string xml_attribute(std::string_view text)
{
    return attr(text);
}

} // namespace sesam::harness
