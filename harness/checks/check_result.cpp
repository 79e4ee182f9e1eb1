#include "harness/checks/check_result.hpp"

namespace sesam::harness {

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
