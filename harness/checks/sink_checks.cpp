// Conformance checks of the sink role (being written).
#include "harness/checks/check.hpp"

namespace sesam::harness {

std::vector<Check> sink_checks()
{
    return {};
}

} // namespace sesam::harness
