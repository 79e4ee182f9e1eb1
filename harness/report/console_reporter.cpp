#include "harness/report/curl_body.hpp"
#include "harness/report/report_file.hpp"
#include "harness/report/reporter.hpp"

#include <fmt/core.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string_view>

namespace sesam::harness {
namespace {

constexpr std::string_view green = "\x1b[32m";
constexpr std::string_view red = "\x1b[31m";
constexpr std::string_view yellow = "\x1b[33m";
constexpr std::string_view bold = "\x1b[1m";
constexpr std::string_view reset = "\x1b[0m";

/// Makes text from the service safe to print: escape sequences, carriage returns and other
/// control characters are shown as `\uXXXX` instead of acting on the terminal.
std::string printable(std::string_view text)
{
    std::string out;
    out.reserve(text.size());
    for (const char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f) {
            out += fmt::format("\\u{:04x}", c);
        } else {
            out += ch;
        }
    }
    return out;
}

std::string status_word(const CheckResult& result)
{
    switch (result.verdict) {
    case Verdict::passed:
        return "PASS";
    case Verdict::skipped:
        return "SKIP";
    case Verdict::failed:
        break;
    }
    std::string word = result.severity == Severity::warning ? "WARN" : "FAIL";
    return result.baselined ? word + " (baseline)" : word;
}

/// Red marks exactly what fails the run.
std::string_view status_colour(const CheckResult& result)
{
    if (result.verdict == Verdict::passed)
        return green;
    return result.fails_run() ? red : yellow;
}

class ConsoleReporter final : public Reporter {
public:
    ConsoleReporter(std::FILE* out, bool colour, std::optional<std::filesystem::path> bodies)
        : out_(out), colour_(colour), bodies_(std::move(bodies))
    {
    }

    void begin(const RunInfo& run) override
    {
        std::string roles;
        for (const Role role : run.roles) {
            roles += (roles.empty() ? "" : ", ") + std::string(to_string(role));
        }
        write(fmt::format("sesam-emu{}{} checking {} as {}\n",
                          run.sesam_emu_version.empty() ? "" : " ",
                          run.sesam_emu_version,
                          printable(run.service_url),
                          roles));
    }

    void check_started(const CheckInfo& /*check*/) override {}

    void check_finished(const CheckResult& result) override
    {
        std::string line = status_line(result);
        if (result.verdict == Verdict::skipped) {
            line += " — skipped: " + printable(result.message);
        } else if (result.verdict == Verdict::passed && !result.message.empty()) {
            line += " — " + printable(result.message); // figures (the memory checks)
        }
        write(line + "\n");
        if (result.verdict == Verdict::failed)
            findings_.push_back(result);
    }

    void end(const RunSummary& summary) override
    {
        std::string text;
        if (!findings_.empty())
            text += "\n" + paint(bold, "Failures and warnings") + "\n";
        for (const CheckResult& result : findings_)
            text += "\n" + details(result);
        if (!summary.service_output_tail.empty()) {
            text += "\n" + paint(bold, "Service output (last lines):") + "\n";
            std::string_view tail = summary.service_output_tail;
            while (tail.ends_with('\n'))
                tail.remove_suffix(1);
            text += indented(printable(tail), "    ") + "\n";
        }
        if (summary.service_peak_rss_bytes)
            text += fmt::format("\nservice: peak memory {:.1f} MiB, CPU {:.2f} s ({})\n",
                                static_cast<double>(*summary.service_peak_rss_bytes) /
                                    (1024.0 * 1024.0),
                                summary.service_cpu_seconds,
                                printable(summary.service_usage_source));
        const std::string line =
            fmt::format("checks: {} passed, {} failed, {} warning{}, {} skipped, {} baselined in "
                        "{:.2f} s",
                        summary.passed,
                        summary.failed,
                        summary.warnings,
                        summary.warnings == 1 ? "" : "s",
                        summary.skipped,
                        summary.baselined,
                        summary.seconds);
        text += "\n" + paint(summary.failed == 0 ? green : red, line) + "\n";
        write(text);
        if (std::ferror(out_) != 0)
            throw ReportWriteError("cannot write the console report");
    }

private:
    std::string paint(std::string_view colour, std::string_view text) const
    {
        if (!colour_)
            return std::string(text);
        return fmt::format("{}{}{}", colour, text, reset);
    }

    std::string status_line(const CheckResult& result) const
    {
        return fmt::format("{}  {}  {}",
                           paint(status_colour(result), status_word(result)),
                           result.info.id,
                           result.info.title);
    }

    static std::string continued(std::string_view text, std::string_view indent)
    {
        std::string out;
        for (const char ch : text) {
            out += ch;
            if (ch == '\n')
                out += indent;
        }
        return out;
    }

    static std::string indented(std::string_view text, std::string_view indent)
    {
        return std::string(indent) + continued(text, indent);
    }

    std::string details(const CheckResult& result) const
    {
        constexpr std::string_view indent = "      ";
        std::string text = status_line(result);
        if (!result.info.spec.empty())
            text += fmt::format(" ({})", result.info.spec);
        text += "\n";
        if (!result.message.empty()) {
            text += indented(printable(result.message), indent) + "\n";
        }
        // Continuation lines of a multi-line value line up under its first line.
        const std::string value_indent(indent.size() + 10, ' ');
        const auto field = [&](std::string_view label, std::string_view value) {
            text += fmt::format("{}{:<10}{}\n",
                                indent,
                                std::string(label) + ":",
                                continued(printable(value), value_indent));
        };
        bool first = true;
        for (const Evidence& e : result.evidence) {
            if (!first)
                text += "\n";
            first = false;
            for (const auto& line : evidence_lines(e)) {
                if (line.label == "curl") {
                    if (auto elided = elide_body(line.value)) {
                        field("curl", elided->first);
                        text += fmt::format("{}{:<10}{}\n", indent, "", elided->second);
                        continue;
                    }
                }
                field(line.label, line.value);
            }
        }
        return text;
    }

    /// A curl command whose body is longer than kBodyShown, reading it from `body-N.json`
    /// instead (written beside the reports when there are reports), and a note saying where the
    /// body is.
    std::optional<std::pair<std::string, std::string>> elide_body(std::string_view curl) const
    {
        constexpr std::size_t kBodyShown = 300;
        const auto name = fmt::format("body-{}.json", bodies_written_ + 1);
        const auto file = bodies_ ? (*bodies_ / name).string() : name;
        auto elided = elide_curl_body(curl, kBodyShown, file);
        if (!elided)
            return std::nullopt;
        ++bodies_written_;
        const auto size = elided->body.size();
        if (!bodies_)
            return std::pair{elided->command,
                             fmt::format("# the {}-byte body is not shown (with --report it is "
                                         "written beside the reports)",
                                         size)};
        std::ofstream body(file, std::ios::binary | std::ios::trunc);
        body.write(elided->body.data(), static_cast<std::streamsize>(size));
        body.close();
        if (!body)
            return std::pair{elided->command,
                             fmt::format("# the {}-byte body could not be written to {}: {}",
                                         size,
                                         file,
                                         std::strerror(errno))};
        return std::pair{elided->command, fmt::format("# {}: the {}-byte body", file, size)};
    }

    void write(std::string_view text)
    {
        std::fwrite(text.data(), 1, text.size(), out_);
        // Lines show up as checks finish even when the output is a pipe (CI logs).
        std::fflush(out_);
    }

    std::FILE* out_;
    bool colour_;
    std::optional<std::filesystem::path> bodies_;
    mutable std::size_t bodies_written_ = 0; ///< numbers the body files
    std::vector<CheckResult> findings_;
};

} // namespace

std::unique_ptr<Reporter>
make_console_reporter(std::FILE* out, bool colour, std::optional<std::filesystem::path> bodies)
{
    return std::make_unique<ConsoleReporter>(out, colour, std::move(bodies));
}

} // namespace sesam::harness
