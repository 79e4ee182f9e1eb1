#pragma once

#include "harness/checks/check.hpp"
#include "harness/report/reporter.hpp"

#include <atomic>
#include <functional>
#include <set>
#include <string>
#include <vector>

namespace sesam::harness {

/// True when `id` matches `pattern`, where `*` matches any run of characters
/// (`source.since.*`, `*.transit`).
bool matches(std::string_view pattern, std::string_view id);

/// The checks of `roles` that match one of `only` (all when empty) and none of `skip`, in
/// catalogue order.
std::vector<const Check*> select_checks(const std::vector<Role>& roles,
                                        const std::vector<std::string>& only,
                                        const std::vector<std::string>& skip);

/// Reads a baseline: check ids of accepted failures, one per line (`#` comments and blank lines
/// skipped; a pattern with `*` is allowed). Throws std::invalid_argument naming the file.
std::vector<std::string> read_baseline(const std::string& path);

/// Runs `checks` in order, reporting each. A failure whose id matches the baseline is marked
/// baselined. Stops early once `*interrupted` is true; the check that was running then is not
/// reported (its requests were cancelled, so its verdict would mean nothing). `service_tail`, if
/// given, is asked for the service's output when a check failed, for the summary.
RunSummary run_checks(const std::vector<const Check*>& checks,
                      CheckContext& ctx,
                      Reporter& reporter,
                      const std::vector<std::string>& baseline,
                      const std::atomic<bool>* interrupted = nullptr,
                      const std::function<std::string()>& service_tail = {});

} // namespace sesam::harness
