#include "harness/report/report_merge.hpp"

#include "harness/report/reporter.hpp"

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <regex>

namespace sesam::harness {

namespace {

/// The value of attribute `name` of the start tag `tag` as a number, 0 when it has none.
double attribute(const std::string& tag, const std::string& name)
{
    const std::regex pattern("\\s" + name + "\\s*=\\s*\"([^\"]*)\"");
    std::smatch m;
    if (!std::regex_search(tag, m, pattern))
        return 0;
    return std::strtod(m[1].str().c_str(), nullptr);
}

} // namespace

std::string merge_junit(const std::vector<ReportText>& reports, const std::string& name)
{
    double tests = 0, failures = 0, errors = 0, skipped = 0, seconds = 0;
    std::string suites;
    for (const auto& report : reports) {
        const auto& text = report.text;
        std::size_t found = 0;
        for (std::size_t at = text.find("<testsuite"); at != std::string::npos;
             at = text.find("<testsuite", at)) {
            // `<testsuites` is the root of many reports, not a suite.
            const char next = at + 10 < text.size() ? text[at + 10] : '\0';
            if (next != ' ' && next != '>' && next != '\n' && next != '\t' && next != '/') {
                at += 10;
                continue;
            }
            const auto tag_end = text.find('>', at);
            if (tag_end == std::string::npos)
                throw MergeError(report.name + ": a <testsuite> tag is not closed");
            const auto tag = text.substr(at, tag_end - at + 1);
            std::size_t end = tag_end + 1;
            if (tag.size() < 2 || tag[tag.size() - 2] != '/') {
                const auto close = text.find("</testsuite>", tag_end);
                if (close == std::string::npos)
                    throw MergeError(report.name + ": a <testsuite> has no </testsuite>");
                end = close + 12;
            }
            tests += attribute(tag, "tests");
            failures += attribute(tag, "failures");
            errors += attribute(tag, "errors");
            skipped += attribute(tag, "skipped");
            seconds += attribute(tag, "time");
            suites += "  " + text.substr(at, end - at) + "\n";
            ++found;
            at = end;
        }
        if (found == 0)
            throw MergeError(report.name + ": no <testsuite> in it: not a JUnit XML report");
    }
    return fmt::format("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                       "<testsuites name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" "
                       "skipped=\"{}\" time=\"{:.3f}\">\n{}</testsuites>\n",
                       xml_attribute(name),
                       static_cast<long long>(tests),
                       static_cast<long long>(failures),
                       static_cast<long long>(errors),
                       static_cast<long long>(skipped),
                       seconds,
                       suites);
}

std::string merge_json(const std::vector<ReportText>& reports)
{
    using Json = nlohmann::ordered_json;
    Json runs = Json::array();
    Json checks = Json::array();
    Json summary = {{"passed", 0},
                    {"failed", 0},
                    {"warnings", 0},
                    {"baselined", 0},
                    {"skipped", 0},
                    {"seconds", 0.0}};
    for (std::size_t i = 0; i < reports.size(); ++i) {
        const auto& report = reports[i];
        auto doc = Json::parse(report.text, nullptr, false);
        if (doc.is_discarded())
            throw MergeError(report.name + ": not JSON");
        if (!doc.is_object() || !doc.contains("run") || !doc.contains("checks") ||
            !doc["checks"].is_array() || !doc.contains("summary") || !doc["summary"].is_object())
            throw MergeError(report.name +
                             ": not a sesam-emu JSON report (it needs \"run\", \"checks\" and "
                             "\"summary\"; a report cut short by a crash has no summary)");
        auto run = doc["run"];
        if (run.is_object())
            run["report"] = report.name;
        runs.push_back(std::move(run));
        for (auto& check : doc["checks"]) {
            if (check.is_object())
                check["run"] = i;
            checks.push_back(std::move(check));
        }
        for (auto& [key, value] : summary.items()) {
            const auto it = doc["summary"].find(key);
            if (it == doc["summary"].end() || !it->is_number())
                continue;
            if (key == "seconds")
                value = value.get<double>() + it->get<double>();
            else
                value = value.get<long long>() + it->get<long long>();
        }
    }
    Json out = {{"runs", std::move(runs)}, {"checks", std::move(checks)}, {"summary", summary}};
    return out.dump(1) + "\n";
}

} // namespace sesam::harness
