#pragma once

#include "harness/fixture/body_diff.hpp"
#include "harness/node/plan.hpp"
#include "harness/node/python_json.hpp"
#include "harness/node/test_spec.hpp"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace sesam::harness::node {

/// sesam-py's switches that change what verify and update compute (docs/protocol.md#config-verify,
/// #config-update).
struct VerifyOptions {
    bool large_int_bugs = true;    ///< off: `--no-large-int-bugs`
    bool unicode_encoding = false; ///< `--unicode-encoding`: `ensure_ascii` on
    bool html_escape = true;       ///< off: `--disable-json-html-escape` (update only)
};

/// The kinds of pipe sesam-py's `get_pipe_type` tells apart
/// (docs/protocol.md#config-verify, step 1): `embedded` source → input; a sink type ending in
/// `_endpoint` → endpoint; a source reading datasets and a sink with a `dataset` → internal; a
/// sink without `dataset` → output (json sinks too); else internal. Output and endpoint pipes are
/// the ones verified.
enum class PipeKind { input, endpoint, internal, output };
PipeKind pipe_kind(const PipePlan& pipe);
bool verified(const PipePlan& pipe);

/// sesam-py's `filter_entity` (docs/protocol.md#config-verify, step 2): at every level, blacklisted
/// paths dropped first, then every key starting with `_` except `_id` and a `_deleted` that is
/// exactly `true`.
py::Value filter_entity(const py::Value& entity, const TestSpec& spec);

/// sesam-py's `_fix_decimal_to_ints` (docs/protocol.md#config-verify, step 4): a float whose
/// `str()` ends in `.0` becomes an int; with `large_int_bugs`, an int of more than 16 characters
/// becomes the integer of the nearest double (`int(Decimal(str(float(v))))`, its Go-client
/// emulation).
void fix_numbers(py::Value& value, bool large_int_bugs);

/// `sorted(entities, key=entity_sorter_func)` (docs/protocol.md#config-verify, step 5): by each
/// field of `fields_to_sort_by` (a dict as its sorted JSON), then by the whole entity's sorted
/// JSON.
void sort_entities(std::vector<py::Value>& entities, const TestSpec& spec, bool ensure_ascii);

/// What verify concluded for one json spec.
struct Comparison {
    bool same = false;
    std::size_t expected_count = 0;
    std::size_t current_count = 0;
    /// Both sides as sesam-py compares and diffs them: `json.dumps(indent=2, sort_keys=True,
    /// ensure_ascii=False)` of the sorted lists.
    std::string expected_json;
    std::string current_json;
};

/// sesam-py's verify of one `json` spec (docs/protocol.md#config-verify, steps 2 to 6): `expected`
/// as read (an array of objects, not filtered), `current` the pipe's entities at the spec's stage
/// as the node holds them. Throws ConfigError when `expected` is not an array of objects.
Comparison compare_output(const TestSpec& spec,
                          const py::Value& expected,
                          std::vector<py::Value> current,
                          const VerifyOptions& options);

/// The bytes sesam-py's update writes as the expected file (docs/protocol.md#config-update):
/// filtered, numbers fixed, tombstones dropped under `ignore_deletes`, sorted,
/// `json.dumps(indent="  ", sort_keys=True, ensure_ascii=unicode_encoding)` and a newline, `<`, `>`
/// and `&` as `\u003c`, `\u003e`, `\u0026` unless html_escape is off. Throws py::EncodeError for a
/// lone surrogate in UTF-8 mode.
std::string expected_file_text(const TestSpec& spec,
                               std::vector<py::Value> current,
                               const VerifyOptions& options);

/// Reads every expected file that verify will read (specs not ignored, endpoint json or excel,
/// file present), so that a broken one stops `test` before the run. Throws ConfigError naming
/// the file: bad JSON (line and column), not a list of objects.
void check_expected_files(const std::filesystem::path& root, const std::vector<TestSpec>& specs);

/// The outcome of one spec (or of an output pipe without one) in `sesam-emu test`.
struct SpecResult {
    enum class Verdict { passed, failed, skipped };
    std::string name; ///< the spec's name, or the pipe id when no spec references it
    std::string pipe;
    std::string file; ///< the expected file, or the spec file when there is no expected file
    Verdict verdict = Verdict::passed;
    bool stand_in = false; ///< the pipe's stages did not run: its output came from a file
    std::string message;   ///< `12 entities`, `length mismatch: …`, why it was skipped
    std::vector<BodyDifference> differences; ///< by `_id` and field
    std::string
        diff; ///< the unified diff sesam-py prints, `expected/x.json` → `current-output.json`
};

/// The entities of `pipe` at `stage` (`source`, `before-transforms`, `after-transforms`, `sink`)
/// as kept from the run, or nullopt when the run did not keep that stage.
using CurrentOutput = std::function<std::optional<std::vector<py::Value>>(
    const PipePlan& pipe, const std::string& stage)>;

/// What `sesam-emu test` verifies.
struct VerifyScope {
    bool whitelist = false;         ///< a whitelist limited the configuration read
    std::vector<std::string> pipes; ///< `--pipe`: only these (empty: all)
};

/// sesam-py's verify (docs/protocol.md#config-verify) over a run's output: one result per spec in
/// file order, then one failure per output or endpoint pipe that no spec references. A spec for a
/// pipe that is not an output or endpoint pipe fails; a spec that is `ignore`d, for a pipe outside
/// the whitelist or `--pipe`, for an endpoint other than `json` or `excel`, or for a pipe sesam-emu
/// did not run is skipped, saying why. Throws ConfigError for an expected file that cannot be read
/// or is not a list of objects.
std::vector<SpecResult> verify_plan(const Plan& plan,
                                    const std::vector<TestSpec>& specs,
                                    const CurrentOutput& current,
                                    const VerifyScope& scope,
                                    const VerifyOptions& options);

/// What `--update` did to the files of `expected/`.
struct UpdateReport {
    std::vector<std::string> lines; ///< one per file written or removed, and per spec skipped
    std::size_t updated = 0;        ///< expected files written
};

/// sesam-py's update (docs/protocol.md#config-update) in the configuration folder `plan.root`:
/// specs naming pipes that are not output or endpoint pipes are removed (unless `ignore`d), `{\n}`
/// specs are written for output and endpoint pipes without one, `[]\n` for missing expected files,
/// the expected file of an ignored spec is removed, and every other spec's expected file is written
/// as expected_file_text() makes it. Pipes outside `scope` are left alone. Throws ConfigError when
/// a file cannot be written.
UpdateReport update_expected(const Plan& plan,
                             std::vector<TestSpec> specs,
                             const CurrentOutput& current,
                             const VerifyScope& scope,
                             const VerifyOptions& options);

} // namespace sesam::harness::node
