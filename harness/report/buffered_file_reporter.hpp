#pragma once

#include "harness/report/report_file.hpp"
#include "harness/report/reporter.hpp"

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sesam::harness {

/// A reporter that keeps every result and writes its whole file at end() with
/// write_report_file(): the JUnit and HTML reports. The path is checked when it is made
/// (check_report_path: std::invalid_argument), so a report that could never be written fails
/// before a long run, not after it.
class BufferedFileReporter : public Reporter {
public:
    void begin(const RunInfo& run) final
    {
        run_ = run;
        results_.clear();
    }
    void check_started(const CheckInfo& /*check*/) final {}
    void check_finished(const CheckResult& result) final { results_.push_back(result); }
    void end(const RunSummary& summary) final
    {
        write_report_file(path_, render(run_, results_, summary), what_);
    }

protected:
    /// `what` names the report in errors ("JUnit report"); it must outlive the reporter.
    BufferedFileReporter(std::string path, std::string_view what)
        : path_(std::move(path)), what_(what)
    {
        check_report_path(path_, what_);
    }

    /// The whole file, from every result of the run.
    virtual std::string render(const RunInfo& run,
                               const std::vector<CheckResult>& results,
                               const RunSummary& summary) const = 0;

private:
    std::string path_;
    std::string_view what_;
    RunInfo run_;
    std::vector<CheckResult> results_;
};

} // namespace sesam::harness
