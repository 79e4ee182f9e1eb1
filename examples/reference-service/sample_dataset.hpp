#pragma once

#include <string_view>

namespace sesam::reference {

/// The sample dataset served when no `--data` is given: fixtures/datasets/people.json, built into
/// the binary so that `sesam-emu serve` works from any folder.
std::string_view sample_dataset_json() noexcept;

} // namespace sesam::reference
