#pragma once

#include "emulator/http/beast_transport.hpp"
#include "harness/checks/check.hpp"
#include "harness/report/reporter.hpp"
#include "harness/runner/check_runner.hpp"

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <string>
#include <vector>

namespace sesam::testing {

/// A reporter that keeps every result.
class CollectingReporter final : public harness::Reporter {
public:
    explicit CollectingReporter(std::vector<harness::CheckResult>& out) : out_(out) {}
    void begin(const harness::RunInfo&) override {}
    void check_started(const harness::CheckInfo&) override {}
    void check_finished(const harness::CheckResult& r) override { out_.push_back(r); }
    void end(const harness::RunSummary&) override {}

private:
    std::vector<harness::CheckResult>& out_;
};

/// Runs every check of `role` against `service` over real HTTP; returns the results in order.
inline std::vector<harness::CheckResult> run_role_checks(harness::Role role,
                                                         const harness::ServiceDescription& service)
{
    boost::asio::io_context ioc;
    emulator::BeastTransport transport(
        ioc, emulator::TransportOptions{std::chrono::seconds(5), std::chrono::seconds(5)});
    harness::CheckContext ctx(transport, service);
    std::vector<harness::CheckResult> results;
    CollectingReporter collect(results);
    harness::run_checks(harness::select_checks({role}, {}, {}), ctx, collect, {});
    return results;
}

/// The ids of the results with this verdict, in order.
inline std::vector<std::string> ids_with(const std::vector<harness::CheckResult>& results,
                                         harness::Verdict verdict)
{
    std::vector<std::string> ids;
    for (const auto& r : results)
        if (r.verdict == verdict)
            ids.emplace_back(r.info.id);
    return ids;
}

} // namespace sesam::testing
