// --seed: two runs of the same command record the same bytes, apart from their timings.
#include "tests/support/cli_fixture.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <string>

namespace sesam::testing {
namespace {

namespace fs = std::filesystem;

class SeedTest : public CliFixture {
protected:
    /// Runs `args` (which record into rec.jsonl and keep state in s.db) from a clean state and
    /// returns the fixture without its timings and loopback ports.
    std::string recorded(const std::string& args)
    {
        fs::remove(dir / "rec.jsonl");
        fs::remove(dir / "s.db");
        const auto r = run_command("cd " + dir.string() + " || exit 9; " + kBinary + " " + args);
        EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
        static const std::regex timing(R"re("elapsed_ms":[0-9.]+)re");
        static const std::regex port(R"re(127\.0\.0\.1:[0-9]+)re");
        auto text = std::regex_replace(slurp(path("rec.jsonl")), timing, "\"elapsed_ms\":_");
        // A started system gets a free port of its own each time: not something a seed decides.
        return std::regex_replace(text, port, "127.0.0.1:PORT");
    }
};

TEST_F(SeedTest, TwoSeededPushesRecordTheSameBytes)
{
    // A fresh reference service for each run (a receiver remembers the sequences it saw), on
    // the same port, so that the URLs in the two recordings are the same.
    const auto port = std::to_string(free_port());
    const auto push = [&](const std::string& seed) {
        return "serve --port " + port +
               " --quiet & server=$!; for i in $(seq 100); do curl -s "
               "-o /dev/null http://127.0.0.1:" +
               port + "/ && break; sleep 0.05; done; " + kBinary +
               " push http://127.0.0.1:" + port + "/receiver --input " + SESAM_SOURCE_DIR +
               "/fixtures/datasets/people.json --state s.db --full --record "
               "rec.jsonl --batch-size 4 " +
               seed + "; rc=$?; kill $server; wait $server; exit $rc";
    };
    const auto first = recorded(push("--seed 7"));
    EXPECT_NE(first.find("sequence_id="), std::string::npos);
    EXPECT_NE(first.find("\"_ts\":1767225600001000"), std::string::npos) << "the seeded clock";
    EXPECT_EQ(recorded(push("--seed 7")), first);
    EXPECT_NE(recorded(push("--seed 8")), first);
    EXPECT_NE(recorded(push("")), recorded(push(""))) << "unseeded: new ids and times";
}

TEST_F(SeedTest, TwoSeededRunsOfANodeConfigurationRecordTheSameBytes)
{
    fs::copy(
        fs::path(SESAM_SOURCE_DIR) / "examples/node", dir / "node", fs::copy_options::recursive);
    const auto run = "run node --secrets-file node/secrets.json --state s.db --record rec.jsonl "
                     "--system-exec 'reference-ms=exec " +
                     kBinary + " serve --port $PORT' --seed 3" + kMemoryCheckArgs;
    const auto first = recorded(run);
    EXPECT_NE(first.find("is_full=true"), std::string::npos);
    EXPECT_EQ(recorded(run), first);
}

} // namespace
} // namespace sesam::testing
