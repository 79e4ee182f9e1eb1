// `sesam-emu test` on the example configuration, its microservice the reference service on
// loopback: verify, --update, reports, and every way a test can fail.
#include "tests/support/cli_fixture.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace sesam::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

class NodeTestCommandTest : public CliFixture {
protected:
    void SetUp() override
    {
        CliFixture::SetUp();
        fs::copy(fs::path(SESAM_SOURCE_DIR) / "examples/node",
                 dir / "node",
                 fs::copy_options::recursive);
        fs::remove_all(dir / "node/.sesam-emu");
    }

    void write(const std::string& name, const std::string& text)
    {
        fs::create_directories((dir / name).parent_path());
        std::ofstream(dir / name, std::ios::binary) << text;
    }

    /// `sesam-emu test . ARGS` in the example's folder, its system the reference service.
    CommandResult test(const std::string& args = "")
    {
        return run_command("cd " + path("node") + " && " + kBinary +
                           " test . --secrets-file secrets.json --system-exec 'reference-ms=exec " +
                           kBinary + " serve --port $PORT' " + args + kMemoryCheckArgs);
    }
};

TEST_F(NodeTestCommandTest, TheExamplePassesAndItsStandInSaysSo)
{
    const auto r =
        test("--report junit:" + path("junit.xml") + " --report json:" + path("report.json"));
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_THAT(r.out,
                HasSubstr("PASS  orders-endpoint  expected/orders-endpoint.json: 2 entities\n"));
    EXPECT_THAT(r.out, HasSubstr("PASS  people-out  expected/people-out.json: 10 entities\n"));
    EXPECT_THAT(r.out,
                HasSubstr("PASS  people-out-source  expected/people-out-source.json: 10 entities "
                          "(stage source)\n"));
    // A DTL pipe whose output is its own expected file proves nothing about the DTL.
    EXPECT_THAT(r.out,
                HasSubstr("PASS (stand-in)  people-report  expected/people-report.json: 5 "
                          "entities\n"));
    EXPECT_THAT(r.out, HasSubstr("test: 4 specs: 4 passed (1 stand-in), 0 failed, 0 skipped"));
    EXPECT_THAT(r.err, HasSubstr("round 1 people: 14 in"));

    const auto junit = slurp(path("junit.xml"));
    EXPECT_THAT(junit, HasSubstr("<testsuite name=\"sesam-emu.test\" tests=\"4\" failures=\"0\""));
    EXPECT_THAT(junit, HasSubstr("<testcase classname=\"sesam-emu.test\" name=\"people-out\""));
    const auto json = slurp(path("report.json"));
    EXPECT_THAT(json, HasSubstr("\"suite\":\"sesam-emu.test\""));
    EXPECT_THAT(json, HasSubstr("{\"id\":\"people-report\",\"severity\""));
    EXPECT_THAT(json, HasSubstr("stand-in"));
    // The system's secret (given in secrets.json) is nowhere.
    for (const auto* text : {&r.out, &r.err, &junit, &json})
        EXPECT_THAT(*text, Not(HasSubstr("demo-system-local-key")));
}

TEST_F(NodeTestCommandTest, ABrokenExpectedFileFailsWithTheExactDifference)
{
    auto expected = slurp(path("node/expected/people-out.json"));
    const auto at = expected.find("\"Kari Nordmann\"");
    ASSERT_NE(at, std::string::npos);
    expected.replace(at, 15, "\"Kari Nordman\"");
    write("node/expected/people-out.json", expected);

    const auto r = test("--report junit:" + path("junit.xml"));
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
    EXPECT_THAT(r.out,
                HasSubstr("FAIL  people-out  expected/people-out.json: content mismatch in 10 "
                          "entities\n"
                          "        _id \"person-1\", field \"name\": expected \"Kari Nordman\", "
                          "actual \"Kari Nordmann\"\n"
                          "--- expected/people-out.json\n"
                          "+++ current-output.json\n"));
    EXPECT_THAT(
        r.out,
        HasSubstr("\n-    \"name\": \"Kari Nordman\",\n+    \"name\": \"Kari Nordmann\",\n"));
    EXPECT_THAT(r.out, HasSubstr("test: 4 specs: 3 passed (1 stand-in), 1 failed, 0 skipped"));
    const auto junit = slurp(path("junit.xml"));
    EXPECT_THAT(junit, HasSubstr("failures=\"1\""));
    EXPECT_THAT(junit, HasSubstr("<failure message=\"content mismatch in 10 entities\""));
    EXPECT_THAT(junit, HasSubstr("_id:      person-1"));

    const auto quiet = test("--no-diff");
    EXPECT_EQ(quiet.exit_code, 1);
    EXPECT_THAT(quiet.out, Not(HasSubstr("+++ current-output.json")));
}

TEST_F(NodeTestCommandTest, UpdateRewritesTheCommittedFilesByteForByte)
{
    const auto before_out = slurp(path("node/expected/people-out.json"));
    const auto before_report = slurp(path("node/expected/people-report.json"));
    fs::remove(dir / "node/expected/orders-endpoint.json");
    fs::remove(dir / "node/expected/orders-endpoint.test.json");
    write("node/expected/gone.test.json", "{}");

    const auto r = test("--update");
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_THAT(r.out,
                HasSubstr("update: removed expected/gone.test.json: it references a "
                          "non-existing output pipe 'gone'\n"));
    EXPECT_THAT(r.out, HasSubstr("update: created expected/orders-endpoint.test.json"));
    EXPECT_THAT(r.out, HasSubstr("test: 4 expected files updated"));
    EXPECT_EQ(slurp(path("node/expected/people-out.json")), before_out);
    EXPECT_EQ(slurp(path("node/expected/people-report.json")), before_report);
    EXPECT_EQ(slurp(path("node/expected/orders-endpoint.test.json")), "{\n}");
    EXPECT_EQ(
        slurp(path("node/expected/orders-endpoint.json")),
        slurp(std::string(SESAM_SOURCE_DIR) + "/examples/node/expected/orders-endpoint.json"));
    EXPECT_FALSE(fs::exists(dir / "node/expected/gone.test.json"));
    EXPECT_EQ(test().exit_code, 0);
}

TEST_F(NodeTestCommandTest, MissingSpecsAndSpecsForMissingPipesFail)
{
    fs::remove(dir / "node/expected/orders-endpoint.test.json");
    write("node/expected/nothing.test.json", "{}");
    write("node/expected/nothing.json", "[]");
    const auto r = test();
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
    EXPECT_THAT(r.out,
                HasSubstr("FAIL  nothing  expected/nothing.test.json: references a non-existing "
                          "output pipe 'nothing' - please remove expected/nothing.test.json\n"));
    EXPECT_THAT(r.out,
                HasSubstr("FAIL  orders-endpoint  expected/orders-endpoint.test.json: no test "
                          "references pipe orders-endpoint"));
}

TEST_F(NodeTestCommandTest, PipeAndWhitelistNarrowWhatIsVerified)
{
    const auto one = test("--pipe people-out");
    EXPECT_EQ(one.exit_code, 0) << one.out << one.err;
    EXPECT_THAT(one.out, HasSubstr("PASS  people-out  "));
    EXPECT_THAT(one.out,
                HasSubstr("SKIP  people-report  expected/people-report.json: pipe "
                          "people-report is not selected (--pipe)"));
    EXPECT_THAT(one.err, HasSubstr("round 1 people-report")); // every pipe still ran

    write("node/whitelist.txt",
          "pipes/cities.conf.json\npipes/orders.conf.json\n"
          "pipes/orders-endpoint.conf.json\nsystems/reference-ms.conf.json\n");
    const auto listed = test("--whitelist-file whitelist.txt");
    EXPECT_EQ(listed.exit_code, 0) << listed.out << listed.err;
    EXPECT_THAT(listed.out, HasSubstr("PASS  orders-endpoint  "));
    EXPECT_THAT(listed.out,
                HasSubstr("SKIP  people-out  expected/people-out.json: pipe "
                          "people-out is not in the whitelist"));
    EXPECT_THAT(listed.err, Not(HasSubstr("round 1 people-out")));

    EXPECT_EQ(test("--pipe nope").exit_code, 2);
}

TEST_F(NodeTestCommandTest, BadSpecsAndBadExpectedFilesStopBeforeTheRun)
{
    write("node/expected/people-out.test.json", "{\"stage\": 3}");
    auto r = test();
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(r.err,
              "sesam-emu: error: expected/people-out.test.json: /stage: a string, not a "
              "number\n");
    write("node/expected/people-out.test.json", "{}");
    write("node/expected/people-out.json", "[{\"_id\": \"a\"},\n oops]");
    r = test();
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(r.err,
              "sesam-emu: error: expected/people-out.json:2:2: invalid JSON: expecting a "
              "value\n");
    EXPECT_FALSE(fs::exists(dir / "node/.sesam-emu/state.db")) << "nothing ran";
}

TEST_F(NodeTestCommandTest, AServiceThatFailsDuringTheRunIsExitThree)
{
    const auto r = run_command("cd " + path("node") + " && " + kBinary +
                               " test . --secrets-file secrets.json --system-exec "
                               "'reference-ms=echo broken; exit 1'");
    EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
    EXPECT_THAT(r.err, HasSubstr("broken"));
    EXPECT_THAT(r.out, Not(HasSubstr("PASS")));
}

TEST_F(NodeTestCommandTest, KeepStateContinuesInsteadOfStartingClean)
{
    ASSERT_EQ(test().exit_code, 0);
    const auto again = test("--keep-state");
    EXPECT_EQ(again.exit_code, 0) << again.out << again.err;
    EXPECT_THAT(again.err, HasSubstr("round 1 people: 0 in")); // incremental: nothing new
    EXPECT_THAT(again.out, HasSubstr("PASS  people-out  expected/people-out.json: 10 entities"));
}

} // namespace
} // namespace sesam::testing
