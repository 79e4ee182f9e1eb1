#pragma once

#include "harness/report/report_file.hpp"
#include "harness/report/reporter.hpp"

#include <algorithm>
#include <cstddef>
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

/// The results of a run as the JUnit and HTML reports group them: one group per role (the run's
/// roles in their order, then any other role a result names) with RunInfo::suite_per_role, else
/// one group of every result. Groups without results are left out.
struct ResultGroup {
    Role role = Role::source;         ///< meaningless without suite_per_role
    std::vector<std::size_t> indices; ///< into the results, in their order
};

inline std::vector<ResultGroup> result_groups(const RunInfo& run,
                                              const std::vector<CheckResult>& results)
{
    std::vector<ResultGroup> groups;
    if (!run.suite_per_role) {
        groups.push_back({});
        for (std::size_t i = 0; i < results.size(); ++i)
            groups.back().indices.push_back(i);
    } else {
        for (const Role role : run.roles)
            groups.push_back({role, {}});
        for (std::size_t i = 0; i < results.size(); ++i) {
            const Role role = results[i].info.role;
            auto group = std::find_if(
                groups.begin(), groups.end(), [&](const ResultGroup& g) { return g.role == role; });
            if (group == groups.end())
                group = groups.insert(groups.end(), ResultGroup{role, {}});
            group->indices.push_back(i);
        }
    }
    std::erase_if(groups, [](const ResultGroup& g) { return g.indices.empty(); });
    return groups;
}

} // namespace sesam::harness
