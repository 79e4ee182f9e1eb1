// The memory checks (source.body.streamed, sink.memory.bounded, service.memory.limit) through
// `sesam-emu check`, which starts the service and samples its memory: the streaming reference
// service passes them, a deliberately greedy one (tests/support/greedy_service.cpp) trips them.
#include "tests/support/cli_fixture.hpp"
#include "tests/support/reference_fixture.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>

namespace sesam::testing {
namespace {

using ::testing::HasSubstr;

const std::string kGreedy = SESAM_GREEDY_BINARY;

/// The sanitizers' shadow memory and quarantine of freed blocks make a streaming service look
/// greedy: figures that must stay low are judged in a plain build only.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif

class MemoryChecksTest : public CliFixture {
protected:
    /// A dataset of `n` entities of about 1 KiB each, as JSON lines.
    std::string big_dataset(std::size_t n)
    {
        const auto file = path("big.json");
        std::ofstream out(file);
        const std::string text(900, 'x');
        for (std::size_t i = 1; i <= n; ++i)
            out << "{\"_id\": \"e" << i << "\", \"_updated\": " << i << ", \"text\": \"" << text
                << i << "\"}\n";
        return file;
    }

    /// The result of check `id` in the JSON report `file`.
    nlohmann::json result(const std::string& file, const std::string& id)
    {
        const auto report = nlohmann::json::parse(slurp(file));
        for (const auto& c : report["checks"])
            if (c["id"] == id)
                return c;
        ADD_FAILURE() << "no " << id << " in " << report.dump();
        return nlohmann::json::object();
    }
};

TEST_F(MemoryChecksTest, TheStreamingReferenceSourcePassesAndAGreedyOneTripsBoth)
{
    const auto port = std::to_string(testing::free_port());
    const auto url = "http://127.0.0.1:" + port + "/entities --role source";
    const auto only = " --only source.body.streamed --only service.memory.limit --report json:";
    // 40,000 entities: a 36 MiB body, over the 32 MiB the check needs to judge.
    auto r = emu("check " + url + only + path("ref.json") + " --exec '" + kBinary +
                 " serve --quiet --port " + port + " --data " + big_dataset(40000) + "'" +
                 kMemoryCheckArgs);
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    auto streamed = result(path("ref.json"), "source.body.streamed");
    if (!kSanitized) {
        EXPECT_EQ(streamed["verdict"], "passed") << streamed.dump();
        EXPECT_EQ(result(path("ref.json"), "service.memory.limit")["verdict"], "passed");
    }
    EXPECT_THAT(streamed["message"].get<std::string>(), HasSubstr("MiB in "));
    EXPECT_THAT(streamed["message"].get<std::string>(), HasSubstr(", first byte after "));
    EXPECT_THAT(r.out, HasSubstr("service: peak memory "));

    // The greedy service builds each 36 MiB body before sending it, and keeps it.
    r = emu("check " + url + only + path("greedy.json") + " --exec '" + kGreedy + " --port " +
            port + " --entities 36000' --memory-limit 64");
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err; // service.memory.limit is an error
    streamed = result(path("greedy.json"), "source.body.streamed");
    EXPECT_EQ(streamed["verdict"], "failed") << streamed.dump();
    EXPECT_EQ(streamed["severity"], "warning");
    EXPECT_THAT(streamed["message"].get<std::string>(),
                HasSubstr("its memory grew by")); // at least the body's 35 MiB
    EXPECT_THAT(streamed["message"].get<std::string>(), HasSubstr("instead of streaming it"));
    EXPECT_THAT(streamed["evidence"][0]["request"].get<std::string>(),
                HasSubstr("GET http://127.0.0.1:" + port + "/entities"));
    const auto limit = result(path("greedy.json"), "service.memory.limit");
    EXPECT_EQ(limit["verdict"], "failed");
    EXPECT_THAT(limit["message"].get<std::string>(), HasSubstr("is over --memory-limit 64"));
    EXPECT_THAT(r.out, HasSubstr("WARN  source.body.streamed"));
    EXPECT_THAT(r.out, HasSubstr("FAIL  service.memory.limit"));
}

TEST_F(MemoryChecksTest, TheReferenceReceiverStaysBoundedAndAGreedyOneDoesNot)
{
    const auto port = std::to_string(testing::free_port());
    const auto only = " --only sink.memory.bounded --only service.memory.limit --report json:";
    auto r =
        emu("check http://127.0.0.1:" + port + "/receiver --role sink" + only + path("ref.json") +
            " --exec '" + kBinary + " serve --quiet --port " + port + "'" + kMemoryCheckArgs);
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    auto bounded = result(path("ref.json"), "sink.memory.bounded");
    EXPECT_THAT(bounded["message"].get<std::string>(), HasSubstr("32.0 MiB"));
    if (!kSanitized) {
        EXPECT_EQ(bounded["verdict"], "passed") << bounded.dump();
        // Both full syncs are described: 32 MiB in the sink's batches, 16 MiB in ten times
        // those.
        EXPECT_THAT(bounded["message"].get<std::string>(), HasSubstr("32.0 MiB in "));
        EXPECT_THAT(bounded["message"].get<std::string>(), HasSubstr(", batches of 100 ("));
        EXPECT_THAT(bounded["message"].get<std::string>(), HasSubstr("16.0 MiB in "));
        EXPECT_THAT(bounded["message"].get<std::string>(), HasSubstr(", batches of 1000 ("));
    }

    // The greedy receiver keeps every body: 48 MiB of them by the end.
    r = emu("check http://127.0.0.1:" + port + "/receiver --role sink" + only +
            path("greedy.json") + " --exec '" + kGreedy + " --port " + port +
            "' --memory-limit 40");
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
    bounded = result(path("greedy.json"), "sink.memory.bounded");
    EXPECT_EQ(bounded["verdict"], "failed") << bounded.dump();
    EXPECT_EQ(bounded["severity"], "warning");
    EXPECT_THAT(bounded["message"].get<std::string>(),
                HasSubstr("while a full sync of 32.0 MiB came in batches of 100 entities"));
    EXPECT_THAT(bounded["message"].get<std::string>(), HasSubstr("it keeps what it receives"));
    EXPECT_THAT(bounded["evidence"][0]["request"].get<std::string>(),
                HasSubstr("is_full=true&request_id=1&is_first=true"));
    // The bodies are too large to keep in the evidence: the curl command says so.
    EXPECT_THAT(bounded["evidence"][0]["curl"].get<std::string>(),
                HasSubstr("--data-binary @body.json"));
    const auto limit = result(path("greedy.json"), "service.memory.limit");
    EXPECT_EQ(limit["verdict"], "failed");
    EXPECT_THAT(limit["message"].get<std::string>(), HasSubstr("is over --memory-limit 40"));
}

TEST_F(MemoryChecksTest, AServiceSesamEmuDidNotStartIsSkippedSayingSo)
{
    RunningReferenceService service(reference::Dataset{});
    const auto r = emu("check " + service.base_url() +
                       "receiver --role sink --only 'sink.memory.*' --only service.memory.limit");
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_THAT(r.out,
                HasSubstr("sink.memory.bounded  The service's memory stays bounded while large "
                          "full syncs come in: it does not grow with the data, nor far beyond a "
                          "batch as the batches grow — skipped: the service was not started by "
                          "sesam-emu (--exec, --image or --pipe), so its memory cannot be seen"));
    EXPECT_THAT(r.out, HasSubstr("checks: 0 passed, 0 failed, 0 warnings, 2 skipped"));
    EXPECT_THAT(r.out, ::testing::Not(HasSubstr("service: peak memory")));
}

TEST_F(MemoryChecksTest, MemoryLimitZeroTurnsTheLimitOffAndABadValueIsAUsageError)
{
    const auto port = std::to_string(testing::free_port());
    const auto r = emu("check http://127.0.0.1:" + port +
                       "/transform --role transform --only service.memory.limit --exec '" +
                       kBinary + " serve --quiet --port " + port + "' --memory-limit 0");
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_THAT(r.out, HasSubstr("skipped: --memory-limit 0 turns it off; peak "));
    const auto bad = emu("check http://127.0.0.1:9/t --role transform --memory-limit -1");
    EXPECT_EQ(bad.exit_code, 2);
    EXPECT_THAT(bad.err, HasSubstr("--memory-limit"));
}

} // namespace
} // namespace sesam::testing
