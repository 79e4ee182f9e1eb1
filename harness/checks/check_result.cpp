#include "harness/checks/check_result.hpp"

namespace sesam::harness {

std::vector<EvidenceLine> evidence_lines(const Evidence& e)
{
    std::vector<EvidenceLine> out;
    if (!e.request.empty())
        out.push_back({"request", e.request});
    if (!e.entity_id.empty())
        out.push_back({"_id", e.entity_id});
    if (!e.field.empty())
        out.push_back({"field", e.field});
    if (!e.expected.empty() || !e.actual.empty()) {
        out.push_back({"expected", e.expected});
        out.push_back({"actual", e.actual});
    }
    if (!e.curl.empty())
        out.push_back({"curl", e.curl});
    return out;
}

const char* to_string(Role role) noexcept
{
    switch (role) {
    case Role::source:
        return "source";
    case Role::sink:
        return "sink";
    case Role::transform:
        return "transform";
    }
    return "source";
}

const char* to_string(Severity severity) noexcept
{
    return severity == Severity::error ? "error" : "warning";
}

const char* to_string(Verdict verdict) noexcept
{
    switch (verdict) {
    case Verdict::passed:
        return "passed";
    case Verdict::failed:
        return "failed";
    case Verdict::skipped:
        return "skipped";
    }
    return "passed";
}

} // namespace sesam::harness
