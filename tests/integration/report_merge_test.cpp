// `sesam-emu report merge`: the reports of two check runs (two CI jobs) as one.
#include "tests/support/cli_fixture.hpp"
#include "tests/support/reference_fixture.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <regex>

namespace sesam::testing {
namespace {

class ReportMergeTest : public CliFixture {
protected:
    void SetUp() override
    {
        CliFixture::SetUp();
        // Two jobs of a matrix: the source role and the transform role.
        const auto base = service_.base_url();
        ASSERT_EQ(emu("check " + base + "entities --role source --report junit:" +
                      path("source.xml") + " --report json:" + path("source.json"))
                      .exit_code,
                  0);
        ASSERT_EQ(emu("check " + base + "transform --role transform --report junit:" +
                      path("transform.xml") + " --report json:" + path("transform.json"))
                      .exit_code,
                  0);
    }

    static long long count(const std::string& xml, const std::string& attribute)
    {
        std::smatch m;
        const std::regex pattern("<testsuites[^>]*\\s" + attribute + "=\"([0-9]+)\"");
        return std::regex_search(xml, m, pattern) ? std::stoll(m[1]) : -1;
    }

    RunningReferenceService service_{reference::Dataset{}};
};

TEST_F(ReportMergeTest, JUnitReportsBecomeOneWithEverySuiteAndTheSummedCounts)
{
    const auto r = emu("report merge " + path("all.xml") + " " + path("source.xml") + " " +
                       path("transform.xml") + " --name matrix");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.err, "report: merged 2 reports into " + path("all.xml") + "\n");
    const auto merged = slurp(path("all.xml"));
    const auto source = slurp(path("source.xml"));
    const auto transform = slurp(path("transform.xml"));
    EXPECT_NE(merged.find("<testsuites name=\"matrix\""), std::string::npos);
    EXPECT_NE(merged.find("<testsuite name=\"sesam-emu.source\""), std::string::npos);
    EXPECT_NE(merged.find("<testsuite name=\"sesam-emu.transform\""), std::string::npos);
    for (const char* attribute : {"tests", "failures", "skipped"})
        EXPECT_EQ(count(merged, attribute), count(source, attribute) + count(transform, attribute))
            << attribute;
    EXPECT_GT(count(merged, "tests"), 20);
    // Every testcase of both, once.
    auto cases = [](const std::string& xml) {
        std::size_t n = 0;
        for (auto at = xml.find("<testcase "); at != std::string::npos;
             at = xml.find("<testcase ", at + 1))
            ++n;
        return n;
    };
    EXPECT_EQ(cases(merged), cases(source) + cases(transform));
}

TEST_F(ReportMergeTest, JsonReportsKeepEveryRunAndCheckAndSumTheSummaries)
{
    const auto r = emu("report merge " + path("all.json") + " " + path("source.json") + " " +
                       path("transform.json"));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto merged = nlohmann::json::parse(slurp(path("all.json")));
    const auto source = nlohmann::json::parse(slurp(path("source.json")));
    const auto transform = nlohmann::json::parse(slurp(path("transform.json")));
    ASSERT_EQ(merged["runs"].size(), 2u);
    EXPECT_EQ(merged["runs"][1]["report"], path("transform.json"));
    EXPECT_EQ(merged["checks"].size(), source["checks"].size() + transform["checks"].size());
    EXPECT_EQ(merged["checks"].back()["run"], 1);
    EXPECT_EQ(merged["checks"].front()["run"], 0);
    for (const char* key : {"passed", "failed", "warnings", "skipped", "baselined"})
        EXPECT_EQ(merged["summary"][key].get<long long>(),
                  source["summary"][key].get<long long>() +
                      transform["summary"][key].get<long long>())
            << key;
}

TEST_F(ReportMergeTest, AnythingButReportsOfOneKindIsAUsageErrorNamingTheFile)
{
    std::ofstream(path("junk.txt")) << "hello";
    std::ofstream(path("cut.json")) << "{\"run\": {}, \"checks\": [";
    std::ofstream(path("other.xml")) << "<?xml version=\"1.0\"?><coverage/>";
    std::ofstream(path("page.html")) << "\n<!DOCTYPE html>\n<html lang=\"en\"></html>\n";
    const std::vector<std::pair<std::string, std::string>> cases{
        {path("source.xml") + " " + path("source.json"),
         path("source.json") + ": a JUnit XML report was expected, as " + path("source.xml") +
             " is"},
        {path("junk.txt"), path("junk.txt") + ": neither JUnit XML nor a JSON report"},
        {path("cut.json"), path("cut.json") + ": not JSON"},
        {path("other.xml"), path("other.xml") + ": no <testsuite> in it: not a JUnit XML report"},
        {path("missing.xml"), "cannot read report " + path("missing.xml")},
        {path("source.xml") + " " + path("page.html"),
         path("page.html") +
             ": an HTML report, which is not merged (merge the JUnit or JSON reports of the "
             "same runs)"},
    };
    for (const auto& [inputs, message] : cases) {
        const auto r = emu("report merge " + path("out") + " " + inputs);
        EXPECT_EQ(r.exit_code, 2) << inputs;
        EXPECT_EQ(r.err, "sesam-emu: error: " + message + "\n") << inputs;
        EXPECT_FALSE(std::filesystem::exists(path("out"))) << inputs;
    }
}

} // namespace
} // namespace sesam::testing
