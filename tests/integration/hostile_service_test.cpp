// Services under test misbehave by definition: each test here is a service that does what a
// correct server library would not (interim responses, …), and asserts what every client does.
#include "tests/support/cli_fixture.hpp"
#include "tests/support/scripted_server.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <string>

namespace sesam::testing {
namespace {

using HostileServiceTest = CliFixture;

/// What a service may legally send before its final answer (RFC 9110 §15.2).
constexpr const char* kInterim = "HTTP/1.1 100 Continue\r\n\r\n"
                                 "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n";

/// Ten entities e1..e10 with integer _updated, after the interim responses.
void interim_then_entities(const RawRequest&, RawConnection& c)
{
    auto out = nlohmann::json::array();
    for (int i = 1; i <= 10; ++i)
        out.push_back({{"_id", "e" + std::to_string(i)}, {"_updated", i}});
    c.write(std::string(kInterim) + ScriptedServer::response(200, out.dump()));
}

TEST_F(HostileServiceTest, PushDoesNotTakeAnInterimResponseForTheAnswer)
{
    // A receiver that refuses every batch holding entity "c", each answer after a 100 Continue:
    // before the fix, push took the 100 for the answer and acknowledged all three.
    ScriptedServer server([](const RawRequest& r, RawConnection& c) {
        const bool has_c = r.body.find(R"("_id":"c")") != std::string::npos;
        c.write(std::string(kInterim) +
                ScriptedServer::response(has_c ? 400 : 200, has_c ? R"({"error":"c"})" : "{}"));
    });
    std::ofstream(path("in.json")) << R"([{"_id":"a"},{"_id":"b"},{"_id":"c"}])";
    auto r = emu("push " + server.base_url() + "/receiver --input " + path("in.json") +
                 " --batch-size 1 --batch-retries 0 --state " + path("s.db"));
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_NE(r.err.find("2 entities acknowledged (0 deleted), 1 failed"), std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find("400"), std::string::npos) << r.err;
}

TEST_F(HostileServiceTest, PullTransformCheckAndReplayReadTheFinalResponse)
{
    ScriptedServer server(interim_then_entities);
    const auto url = server.base_url() + "/entities";

    auto pull = emu("pull " + url + " -o " + path("out.json") + " --state " + path("s.db") +
                    " --record " + path("pull.jsonl"));
    ASSERT_EQ(pull.exit_code, 0) << pull.err;
    EXPECT_EQ(nlohmann::json::parse(slurp(path("out.json"))).size(), 10u);

    std::ofstream(path("in.json")) << R"([{"_id":"x"}])";
    auto transform =
        emu("transform " + url + " --input " + path("in.json") + " -o " + path("t.json"));
    ASSERT_EQ(transform.exit_code, 0) << transform.err;
    EXPECT_EQ(nlohmann::json::parse(slurp(path("t.json"))).size(), 10u);

    auto check = emu("check " + url + " --role source --only source.status.ok");
    EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
    EXPECT_NE(check.out.find("PASS  source.status.ok"), std::string::npos) << check.out;

    auto replay = emu("replay against " + path("pull.jsonl") + " " + url);
    EXPECT_EQ(replay.exit_code, 0) << replay.out << replay.err;
    EXPECT_NE(replay.out.find("1 same"), std::string::npos) << replay.out;
}

TEST_F(HostileServiceTest, ReportsAreNeverRenamedOverWhatIsNotARegularFile)
{
    ScriptedServer server(interim_then_entities);
    const auto url = server.base_url() + "/entities";
    const auto check = "check " + url + " --role source --only source.status.ok ";

    // A folder is refused before the run: a usage error, one line.
    auto folder = emu(check + "--report junit:" + dir.string());
    EXPECT_EQ(folder.exit_code, 2) << folder.err;
    EXPECT_EQ(folder.err,
              "sesam-emu: error: the JUnit report " + dir.string() + " is a directory\n");

    // A device is written through (and stays a device); a full one is an I/O error, exit 4. (The
    // JUnit report over a device is shown with a FIFO in reporter_test: a regression here must not
    // replace a device of the machine.)
    auto full = emu(check + "--report json:/dev/full");
    EXPECT_EQ(full.exit_code, 4) << full.err;
    EXPECT_EQ(full.err,
              "sesam-emu: error: cannot write the JSON report /dev/full: No space left on "
              "device\n");
    EXPECT_TRUE(std::filesystem::is_character_file("/dev/full"));

    // A symbolic link keeps pointing where it did; its target gets the report.
    std::ofstream(path("real.xml")) << "old";
    std::filesystem::create_symlink(path("real.xml"), path("link.xml"));
    auto linked = emu(check + "--report junit:" + path("link.xml"));
    EXPECT_EQ(linked.exit_code, 0) << linked.err;
    EXPECT_TRUE(std::filesystem::is_symlink(path("link.xml")));
    EXPECT_NE(slurp(path("real.xml")).find("<testsuites"), std::string::npos);
}

} // namespace
} // namespace sesam::testing
