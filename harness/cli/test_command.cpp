// `sesam-emu test CONFIG`: sesam-py's `sesam test` without a node: a run from a clean state,
// then its verify against `expected/` (docs/protocol.md#config-sesam-py), or its update with
// --update.
#include "emulator/store/dataset_store.hpp"
#include "emulator/store/state_store.hpp"
#include "harness/cli/command.hpp"
#include "harness/cli/exit_codes.hpp"
#include "harness/cli/node_options.hpp"
#include "harness/fixture/redactor.hpp"
#include "harness/node/node_runner.hpp"
#include "harness/node/verifier.hpp"
#include "harness/report/reporter.hpp"

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <chrono>
#include <deque>
#include <memory>
#include <unistd.h>

namespace sesam::harness {

namespace {

namespace em = sesam::emulator;

struct TestArgs {
    NodeArgs node;
    RunArgs run;
    bool keep_state = false;
    bool update = false;
    bool diff = true;
    bool no_large_int_bugs = false;
    bool unicode_encoding = false;
    bool disable_json_html_escape = false;
    std::vector<std::string> reports;
    std::size_t max_diffs = 20;
};

/// The entities the run kept, read back from the store as Python reads the node's JSON.
node::CurrentOutput current_output(const std::string& state)
{
    auto store = std::make_shared<em::StateStore>(em::StateStore::open(state));
    auto datasets = std::make_shared<em::DatasetStore>(*store);
    return
        [store, datasets](const node::PipePlan& pipe,
                          const std::string& stage) -> std::optional<std::vector<node::py::Value>> {
            std::vector<node::py::Value> out;
            datasets->latest_since(
                node::stage_dataset(pipe, stage), -1, [&](const em::StoredEntity& e) {
                    out.push_back(node::py::parse(e.json));
                    return true;
                });
            return out;
        };
}

std::string verdict_word(const node::SpecResult& r)
{
    using V = node::SpecResult::Verdict;
    const char* word = r.verdict == V::passed ? "PASS" : r.verdict == V::failed ? "FAIL" : "SKIP";
    return r.stand_in && r.verdict != V::skipped ? std::string(word) + " (stand-in)" : word;
}

/// The reports' view of a spec: one testcase named after it, its differences as evidence.
CheckResult to_check_result(const node::SpecResult& r,
                            std::deque<std::string>& strings,
                            std::size_t max_evidence)
{
    using V = node::SpecResult::Verdict;
    CheckResult c;
    c.info.id = strings.emplace_back(r.name);
    c.info.title = strings.emplace_back(
        "pipe " + r.pipe + " against " + r.file +
        (r.stand_in ? " (stand-in: the pipe's stages did not run, its output came from a file)"
                    : ""));
    c.info.spec = "docs/protocol.md#config-verify";
    c.verdict = r.verdict == V::passed   ? Verdict::passed
                : r.verdict == V::failed ? Verdict::failed
                                         : Verdict::skipped;
    c.message = r.message;
    for (std::size_t i = 0; i < r.differences.size() && i < max_evidence; ++i) {
        const auto& d = r.differences[i];
        Evidence e{r.file, d.entity_id, d.field, d.expected, d.actual, ""};
        using Kind = BodyDifference::Kind;
        if (d.kind == Kind::missing_entity || d.kind == Kind::missing_field)
            e.actual = "(missing)";
        if (d.kind == Kind::added_entity || d.kind == Kind::added_field)
            e.expected = "(missing)";
        c.evidence.push_back(std::move(e));
    }
    if (r.differences.size() > max_evidence)
        c.message +=
            fmt::format(" ({} more differences not shown)", r.differences.size() - max_evidence);
    return c;
}

std::unique_ptr<Reporter> file_reporters(const std::vector<std::string>& specs,
                                         const Redactor& redactor)
{
    std::vector<std::unique_ptr<Reporter>> reporters;
    for (const auto& spec : specs) {
        try {
            reporters.push_back(make_file_reporter(spec));
        } catch (const std::invalid_argument& e) {
            throw UsageError(std::string(e.what()) + " (--report)");
        }
    }
    return make_redacting_reporter(make_multi_reporter(std::move(reporters)), redactor);
}

int run_test(const TestArgs& args, bool profile_given)
{
    // Every pipe runs, as `sesam test` runs them all; --pipe only narrows what is verified.
    auto node_args = args.node;
    node_args.pipes.clear();
    const auto plan = node_args.plan(profile_given);
    for (const auto& id : args.node.pipes)
        if (std::none_of(plan.pipes.begin(), plan.pipes.end(), [&](const node::PipePlan& p) {
                return p.id == id;
            }))
            throw UsageError("--pipe " + id + ": no such pipe in " + args.node.config);
    auto specs = node::load_test_specs(plan.root);
    node::check_expected_files(plan.root, specs);
    if (!args.reports.empty() && args.update)
        throw UsageError("--report: --update verifies nothing to report");
    Redactor redactor;
    for (const auto& secret : plan.secret_values)
        redactor.add_secret(secret);
    auto reporter = file_reporters(args.reports, redactor);

    auto options = args.run.options(plan);
    options.reset = !args.keep_state;
    for (const auto& spec : specs)
        if (spec.stage && *spec.stage != "sink")
            options.keep_stages[spec.pipe].insert(*spec.stage);

    const auto started = std::chrono::steady_clock::now();
    if (const auto failed = run_node(plan, options, redactor, "test"))
        return *failed;

    node::VerifyScope scope;
    scope.whitelist = !args.node.whitelist_file.empty();
    scope.pipes = args.node.pipes;
    node::VerifyOptions verify;
    verify.large_int_bugs = !args.no_large_int_bugs;
    verify.unicode_encoding = args.unicode_encoding;
    verify.html_escape = !args.disable_json_html_escape;
    node::CurrentOutput current;
    try {
        current = current_output(options.state);
    } catch (const em::StoreError& e) {
        throw UsageError(std::string(e.what()) + " (--state)");
    }
    auto out = [&](const std::string& text) { fmt::print("{}\n", redactor.redact(text)); };

    if (args.update) {
        const auto report = node::update_expected(plan, specs, current, scope, verify);
        for (const auto& line : report.lines)
            out("update: " + line);
        out(fmt::format("test: {} expected {} updated in {}",
                        report.updated,
                        report.updated == 1 ? "file" : "files",
                        plan.root.string()));
        return static_cast<int>(exit_ok);
    }

    const auto results = node::verify_plan(plan, specs, current, scope, verify);
    RunInfo info;
    info.service_url = args.node.config;
    info.sesam_emu_version = SESAM_EMU_VERSION;
    info.suite = "sesam-emu.test";
    info.suite_per_role = false;
    reporter->begin(info);
    RunSummary summary;
    std::deque<std::string> strings;
    std::size_t stand_ins = 0;
    for (const auto& r : results) {
        out(fmt::format("{}  {}  {}: {}", verdict_word(r), r.name, r.file, r.message));
        if (r.verdict == node::SpecResult::Verdict::failed) {
            for (std::size_t i = 0; i < r.differences.size() && i < args.max_diffs; ++i)
                out("        " + describe_difference(r.differences[i]));
            if (r.differences.size() > args.max_diffs)
                out(fmt::format("        … and {} more (--max-diffs)",
                                r.differences.size() - args.max_diffs));
            if (args.diff && !r.diff.empty()) {
                auto diff = r.diff;
                if (diff.back() != '\n')
                    diff += '\n'; // difflib leaves the last line as the text ends
                fmt::print("{}", redactor.redact(diff));
            }
        }
        const auto result = to_check_result(r, strings, args.max_diffs);
        reporter->check_started(result.info);
        reporter->check_finished(result);
        switch (result.verdict) {
        case Verdict::passed:
            ++summary.passed;
            stand_ins += r.stand_in ? 1 : 0;
            break;
        case Verdict::failed:
            ++summary.failed;
            break;
        case Verdict::skipped:
            ++summary.skipped;
            break;
        }
    }
    summary.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    reporter->end(summary);
    if (results.empty()) {
        fmt::print(stderr,
                   "sesam-emu test: warning: found no tests (expected/*.test.json) and no output "
                   "pipes in {}\n",
                   args.node.config);
        return static_cast<int>(exit_ok);
    }
    out(fmt::format("test: {} specs: {} passed{}, {} failed, {} skipped; {:.2f} s",
                    results.size(),
                    summary.passed,
                    stand_ins ? fmt::format(" ({} stand-in)", stand_ins) : "",
                    summary.failed,
                    summary.skipped,
                    summary.seconds));
    return summary.failed > 0 ? static_cast<int>(exit_findings) : static_cast<int>(exit_ok);
}

} // namespace

Command add_test_command(CLI::App& app)
{
    auto args = std::make_shared<TestArgs>();
    auto* cmd = app.add_subcommand(
        "test",
        "sesam-py's `sesam test` without a node: run every pipe of a node configuration from a\n"
        "clean state (as `run --reset`), then compare each output and endpoint pipe with its\n"
        "expected/*.test.json and expected file, exactly as sesam-py's verify does (private\n"
        "fields dropped, blacklists, deletes ignored, numbers fixed, sorted). One line per spec:\n"
        "PASS, FAIL (with the differences by _id and field and sesam-py's unified diff) or SKIP;\n"
        "PASS (stand-in) when the pipe's output came from a file, not from running its stages.\n"
        "With --update, write the expected files instead, byte for byte as sesam-py writes them.");
    add_node_options(*cmd, args->node, false);
    cmd->add_option("--pipe",
                    args->node.pipes,
                    "Verify (or update) only this pipe; repeatable. Every pipe still runs.")
        ->allow_extra_args(false);
    add_run_options(*cmd, args->run);
    cmd->add_flag("--keep-state",
                  args->keep_state,
                  "Continue from the offsets and datasets in --state instead of starting clean");
    cmd->add_flag("--update",
                  args->update,
                  "Write expected/ from this run instead of verifying: the expected file of "
                  "every spec, {} specs for output pipes without one, [] for missing files; "
                  "specs of pipes that no longer exist are removed (sesam-py's update)");
    cmd->add_flag("--diff,!--no-diff",
                  args->diff,
                  "Print sesam-py's unified diff under a failed spec (default: on)");
    cmd->add_option(
           "--max-diffs", args->max_diffs, "Differences listed per failed spec, by _id and field")
        ->default_str("20")
        ->check(CLI::Range(std::size_t{0}, kMaxCount));
    cmd->add_flag("--no-large-int-bugs",
                  args->no_large_int_bugs,
                  "Do not round integers longer than 16 digits to the nearest double, as "
                  "sesam-py does by default to emulate a Go client");
    cmd->add_flag("--unicode-encoding",
                  args->unicode_encoding,
                  "--update writes non-ASCII characters as \\uXXXX (sesam-py's -unicode-encoding)");
    cmd->add_flag("--disable-json-html-escape",
                  args->disable_json_html_escape,
                  "--update writes <, > and & as they are, not as \\u003c, \\u003e, \\u0026");
    cmd->add_option("--report",
                    args->reports,
                    "Also write a report: junit:PATH, json:PATH or html:PATH (repeatable); one "
                    "testcase per spec in the suite sesam-emu.test")
        ->allow_extra_args(false);
    cmd->footer("Exit codes: 0 every spec passed, 1 a spec failed, 2 configuration or spec error, "
                "3 a system or service failed during the run, 130 interrupted.");
    return {cmd, [args, cmd] { return run_test(*args, cmd->count("--profile") > 0); }};
}

} // namespace sesam::harness
