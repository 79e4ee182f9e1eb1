#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace sesam::harness {

/// A report that cannot be merged: the message names the file and what is wrong with it.
class MergeError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// One report to merge: where it came from (for messages) and its text.
struct ReportText {
    std::string name;
    std::string text;
};

/// JUnit XML reports as one (`sesam-emu report merge`, the reports of a CI matrix's jobs): every
/// `<testsuite>` element of every input, in order, under one `<testsuites>` whose tests, failures,
/// errors, skipped and time are the sums of theirs. Inputs may have a `<testsuites>` root or a
/// single `<testsuite>` root, as JUnit producers differ. Throws MergeError for an input without
/// a testsuite or with unbalanced testsuite tags.
std::string merge_junit(const std::vector<ReportText>& reports, const std::string& name);

/// sesam-emu JSON reports (`{"run", "checks", "summary"}`) as one: `{"runs": [each run, with
/// its file as "report"], "checks": [every check, with "run": the index of its run],
/// "summary": the sums of the summaries' counts and seconds}`. Throws MergeError naming the file
/// for text that is not JSON or not a sesam-emu report.
std::string merge_json(const std::vector<ReportText>& reports);

} // namespace sesam::harness
