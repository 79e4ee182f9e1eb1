// `sesam-emu report merge OUT IN...`: the JUnit or JSON reports of several runs (the jobs of a
// CI matrix) as one.
#include "harness/cli/command.hpp"
#include "harness/cli/exit_codes.hpp"
#include "harness/report/report_file.hpp"
#include "harness/report/report_merge.hpp"

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <cctype>
#include <fstream>
#include <memory>
#include <sstream>

namespace sesam::harness {

namespace {

struct MergeArgs {
    std::string out;
    std::vector<std::string> in;
    std::string name = "sesam-emu";
};

char first_character(const std::string& text)
{
    const auto at = text.find_first_not_of(" \t\r\n\xEF\xBB\xBF");
    return at == std::string::npos ? '\0' : text[at];
}

/// An HTML page (`--report html:`) rather than a report that merges.
bool is_html(const std::string& text)
{
    const auto at = text.find_first_not_of(" \t\r\n\xEF\xBB\xBF");
    if (at == std::string::npos)
        return false;
    std::string start = text.substr(at, 14);
    for (auto& c : start)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return start.starts_with("<!doctype html") || start.starts_with("<html");
}

int run_merge(const MergeArgs& args)
{
    std::vector<ReportText> reports;
    for (const auto& path : args.in) {
        std::ifstream in(path, std::ios::binary);
        if (!in)
            throw UsageError("cannot read report " + path);
        std::ostringstream text;
        text << in.rdbuf();
        reports.push_back({path, text.str()});
        if (is_html(reports.back().text))
            throw UsageError(path + ": an HTML report, which is not merged (merge the JUnit or "
                                    "JSON reports of the same runs)");
    }
    const char kind = first_character(reports.front().text);
    if (kind != '<' && kind != '{')
        throw UsageError(reports.front().name + ": neither JUnit XML nor a JSON report");
    for (const auto& r : reports)
        if (first_character(r.text) != kind)
            throw UsageError(r.name + ": a " + (kind == '<' ? "JUnit XML" : "JSON") +
                             " report was expected, as " + reports.front().name + " is");
    std::string merged;
    try {
        merged = kind == '<' ? merge_junit(reports, args.name) : merge_json(reports);
    } catch (const MergeError& e) {
        throw UsageError(e.what());
    }
    write_report_file(args.out, merged, "merged report");
    fmt::print(stderr, "report: merged {} reports into {}\n", reports.size(), args.out);
    return exit_ok;
}

} // namespace

Command add_report_command(CLI::App& app)
{
    auto* report = app.add_subcommand("report", "Work with the reports of several runs");
    report->require_subcommand(1, 1);
    auto args = std::make_shared<MergeArgs>();
    auto* merge = report->add_subcommand(
        "merge",
        "Merge the reports of several runs (the jobs of a CI matrix: one per service or role)\n"
        "into OUT. JUnit XML: every <testsuite> of every input under one <testsuites> with\n"
        "the summed counts. JSON (sesam-emu's): the runs, every check (with the index of its\n"
        "run) and the summed summary. All inputs must be of one kind; HTML pages are not\n"
        "merged (each stands alone). Exit 0: merged (whatever the checks found: each job's\n"
        "own exit code says that); 2: an input cannot be read or is not a report of that\n"
        "kind; 4: OUT cannot be written.");
    merge->add_option("OUT", args->out, "The merged report to write")->required();
    merge->add_option("IN", args->in, "The reports to merge, in order")->required();
    merge->add_option("--name", args->name, "JUnit: the name of the merged <testsuites>")
        ->default_str(args->name);
    return {report, [args] { return run_merge(*args); }};
}

} // namespace sesam::harness
