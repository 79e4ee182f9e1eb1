#pragma once

#include "harness/checks/check_result.hpp"

#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sesam::harness {

/// Receives a conformance run as it happens. Reporters that write files buffer or stream as
/// they see fit; a file that cannot be written is a ReportWriteError (report_file.hpp) naming
/// it, thrown by begin() when that is already clear and otherwise by end().
class Reporter {
public:
    virtual ~Reporter() = default;
    virtual void begin(const RunInfo& run) = 0;
    virtual void check_started(const CheckInfo& check) = 0;
    virtual void check_finished(const CheckResult& result) = 0;
    virtual void end(const RunSummary& summary) = 0;
};

/// The terminal report: one line per check as it runs (`PASS`, `FAIL`, `WARN` for a failed
/// warning, `SKIP` with the reason, `FAIL (baseline)`), then every failure and warning with its
/// evidence, the service output tail and a summary line. With `colour`, ANSI red marks what fails
/// the run, yellow what does not, green a pass. Control characters from the service are shown as
/// `\uXXXX`. Each line is flushed; end() throws std::runtime_error if writing to `out` failed.
/// A curl command whose body is longer than 300 bytes reads it from `body-N.json` instead, a
/// file written into `bodies` (the reports' folder) when one is given; the JSON and JUnit
/// reports keep the whole command.
std::unique_ptr<Reporter> make_console_reporter(std::FILE* out,
                                                bool colour,
                                                std::optional<std::filesystem::path> bodies = {});

/// JUnit XML, written at end() by write_report_file(): a regular file is replaced atomically (a
/// crash leaves the old report or none), anything else (a FIFO, a device) is written through and
/// never replaced; a directory or an unwritable folder is refused by the constructor
/// (std::invalid_argument). One testsuite per role with results (named `SUITE.ROLE`,
/// RunInfo::suite), or one named SUITE without RunInfo::suite_per_role; one testcase per check
/// whose `name` is the check id, `<failure>` for failed
/// errors, `<skipped>` for skipped checks; failed warnings and baselined failures are passing
/// testcases with a `<system-out>` note. The service output tail goes into each testsuite's
/// `<system-err>`. Characters XML 1.0 forbids become `\uXXXX` (controls) or U+FFFD (invalid UTF-8).
std::unique_ptr<Reporter> make_junit_reporter(std::string path);

/// `text` escaped for an XML attribute value, as the JUnit reporter writes it.
std::string xml_attribute(std::string_view text);

/// JSON, streamed as the run goes: `{"run": …, "checks": [ … ], "summary": …}` with one check
/// object per line, flushed as it finishes (a crashed run leaves the checks done so far). The
/// file is opened by begin() and written through whatever `path` is; a directory or an unwritable
/// folder is refused by the constructor (std::invalid_argument). Invalid UTF-8 becomes U+FFFD.
std::unique_ptr<Reporter> make_json_reporter(std::string path);

/// One self-contained HTML page, written at end() by write_report_file() as the JUnit report
/// is (a directory or an unwritable folder is refused by the constructor with
/// std::invalid_argument): the summary first (PASSED or FAILED, the figures, links to each
/// failure), then the checks grouped by role (one group for runs without roles) with their
/// status, message and spec section, every evidence of a failure, skip reason and warning, each
/// curl command with a copy button, and the service's output tail. No file, font, image or
/// script from elsewhere (a Content-Security-Policy forbids every fetch, and allows only the
/// page's own script, by its hash); all text is HTML-escaped (html_escape), none of it reaches
/// the script.
std::unique_ptr<Reporter> make_html_reporter(std::string path);

/// The file reporter a `--report` value names: `junit:PATH`, `json:PATH` or `html:PATH`. Throws
/// std::invalid_argument for any other form, and what the reporter's constructor throws.
std::unique_ptr<Reporter> make_file_reporter(const std::string& spec);

class Redactor;

/// Forwards every event to `inner` with every secret of `redactor` masked (`***`) in the service
/// URL, messages, evidence (request, curl, expected, actual, …) and the service's output tail.
std::unique_ptr<Reporter> make_redacting_reporter(std::unique_ptr<Reporter> inner,
                                                  Redactor redactor);

/// Sends every event to each of `reporters`, in order. Every reporter's end() runs even when an
/// earlier one throws; the first exception is rethrown afterwards.
std::unique_ptr<Reporter> make_multi_reporter(std::vector<std::unique_ptr<Reporter>> reporters);

} // namespace sesam::harness
