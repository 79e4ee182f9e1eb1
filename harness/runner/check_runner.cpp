#include "harness/runner/check_runner.hpp"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <stdexcept>

namespace sesam::harness {

bool matches(std::string_view pattern, std::string_view id)
{
    // Iterative glob with backtracking to the last '*'.
    std::size_t p = 0, i = 0, star = std::string_view::npos, mark = 0;
    while (i < id.size()) {
        if (p < pattern.size() && pattern[p] == '*') {
            star = p++;
            mark = i;
        } else if (p < pattern.size() && pattern[p] == id[i]) {
            ++p;
            ++i;
        } else if (star != std::string_view::npos) {
            p = star + 1;
            i = ++mark;
        } else {
            return false;
        }
    }
    while (p < pattern.size() && pattern[p] == '*')
        ++p;
    return p == pattern.size();
}

std::vector<const Check*> select_checks(const std::vector<Role>& roles,
                                        const std::vector<std::string>& only,
                                        const std::vector<std::string>& skip)
{
    auto any = [](const std::vector<std::string>& patterns, std::string_view id) {
        return std::any_of(
            patterns.begin(), patterns.end(), [&](const auto& p) { return matches(p, id); });
    };
    std::vector<const Check*> out;
    for (const auto& check : all_checks()) {
        if (std::find(roles.begin(), roles.end(), check.info.role) == roles.end())
            continue;
        if (!only.empty() && !any(only, check.info.id))
            continue;
        if (any(skip, check.info.id))
            continue;
        out.push_back(&check);
    }
    return out;
}

std::vector<std::string> read_baseline(const std::string& path)
{
    std::ifstream in(path);
    if (!in)
        throw std::invalid_argument("cannot read baseline " + path);
    std::vector<std::string> ids;
    std::string line;
    while (std::getline(in, line)) {
        if (auto hash = line.find('#'); hash != std::string::npos)
            line.erase(hash);
        const auto first = line.find_first_not_of(" \t\r");
        if (first == std::string::npos)
            continue;
        const auto last = line.find_last_not_of(" \t\r");
        ids.push_back(line.substr(first, last - first + 1));
    }
    return ids;
}

RunSummary run_checks(const std::vector<const Check*>& checks,
                      CheckContext& ctx,
                      Reporter& reporter,
                      const std::vector<std::string>& baseline,
                      const std::atomic<bool>* interrupted,
                      const std::function<std::string()>& service_tail)
{
    const auto started = std::chrono::steady_clock::now();
    RunSummary summary;
    bool any_failure = false;
    for (const auto* check : checks) {
        if (interrupted && *interrupted)
            break;
        reporter.check_started(check->info);
        const auto t0 = std::chrono::steady_clock::now();
        CheckResult result = check->run(ctx);
        result.seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (interrupted && *interrupted)
            break;
        if (result.verdict == Verdict::failed &&
            std::any_of(baseline.begin(), baseline.end(), [&](const auto& p) {
                return matches(p, result.info.id);
            }))
            result.baselined = true;
        switch (result.verdict) {
        case Verdict::passed:
            ++summary.passed;
            break;
        case Verdict::skipped:
            ++summary.skipped;
            break;
        case Verdict::failed:
            any_failure = true;
            if (result.baselined)
                ++summary.baselined;
            else if (result.severity == Severity::warning)
                ++summary.warnings;
            else
                ++summary.failed;
            break;
        }
        reporter.check_finished(result);
    }
    if (any_failure && service_tail)
        summary.service_output_tail = service_tail();
    summary.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return summary;
}

} // namespace sesam::harness
