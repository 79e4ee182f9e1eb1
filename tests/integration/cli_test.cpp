// The sesam-emu executable as users and scripts run it: exit codes, output, summaries.
#include "tests/support/cli_fixture.hpp"
#include "tests/support/scripted_server.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <netinet/in.h>
#include <signal.h>
#include <sstream>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

namespace sesam::testing {
namespace {

using namespace std::chrono_literals;

const std::string kPeople = std::string(SESAM_SOURCE_DIR) + "/fixtures/datasets/people.json";

using CliTest = CliFixture;

TEST_F(CliTest, HelpExitsZeroAndListsCommands)
{
    auto r = emu("--help");
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_NE(r.out.find("pull"), std::string::npos);
    EXPECT_NE(r.out.find("serve"), std::string::npos);
    EXPECT_NE(r.out.find("Exit codes"), std::string::npos);
}

TEST_F(CliTest, UsageErrorsExitTwoWithOneLine)
{
    struct Case {
        std::string args;
        std::string message;
    };
    const std::vector<Case> cases{
        {"", "sesam-emu: error: A subcommand is required"},
        {"pull", "sesam-emu: error: URL is required"},
        {"pull http://127.0.0.1:1/e --page-size 0", "--page-size"},
        {"pull http://127.0.0.1:1/e --page-size 5",
         "page_size needs supports_since, is_chronological and is_since_comparable all true"},
        {"pull not-a-url", "'not-a-url' is not a valid absolute URL"},
        {"pull https://127.0.0.1/e", "https is not supported"},
        {"pull http://127.0.0.1:1/e --header nocolon", "--header 'nocolon …' is not of the form"},
        {"pull http://127.0.0.1:99999/e", "port 99999 is not between 1 and 65535"},
        {"pull http://user:hunter2@127.0.0.1:1/e", "a URL with user:password is not supported"},
        {"pull http://127.0.0.1:1/e --read-timeout 1e30", "--read-timeout must be between"},
        {"pull http://127.0.0.1:1/e --subset '[oops'", "subset is not valid JSON"},
        {"pull http://127.0.0.1:1/e --format xml", "--format"},
        {"pull http://127.0.0.1:1/e --is-since-comparable maybe", "--is-since-comparable"},
        {"pull http://127.0.0.1:1/e --state /proc/nope/state.db", "(--state)"},
        {"pull http://127.0.0.1:1/e --read-timeout 0",
         "--read-timeout must be between 0.001 and 1000000 seconds"},
        {"pull http://127.0.0.1:1/e --bogus", "--bogus"},
        {"serve --data /no/such/file.json", "--data"},
        {"serve --host not-an-ip", "--host 'not-an-ip' is not an IP address"},
    };
    for (const auto& c : cases) {
        const bool pull =
            c.args.rfind("pull ", 0) == 0 && c.args.find("--state") == std::string::npos;
        auto r = emu(pull ? c.args + " --state " + path("s.db") : c.args);
        EXPECT_EQ(r.exit_code, 2) << c.args << "\n" << r.err;
        EXPECT_NE(r.err.find(c.message), std::string::npos) << c.args << "\n" << r.err;
        EXPECT_EQ(r.err.find("terminate called"), std::string::npos) << r.err;
        EXPECT_EQ(r.err.find("hunter2"), std::string::npos) << r.err;
    }
}

TEST_F(CliTest, UnreachableServiceExitsThree)
{
    auto r = emu("pull http://127.0.0.1:9/e --connect-timeout 2 --state " + path("s.db"));
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_NE(
        r.err.find("sesam-emu pull: error: GET http://127.0.0.1:9/e: connect to 127.0.0.1:9:"),
        std::string::npos)
        << r.err;
}

TEST_F(CliTest, BadBodyExitsThreeAndKeepsWhatCame)
{
    ScriptedServer server([](const RawRequest&, RawConnection& c) {
        c.write("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n[{\"_id\":\"a\"},{\"_id\":\"b\"");
        c.close();
    });
    auto r =
        emu("pull " + server.base_url() + "/e -o " + path("out.json") + " --state " + path("s.db"));
    EXPECT_EQ(r.exit_code, 3) << r.err;
    auto out = nlohmann::json::parse(slurp(path("out.json")), nullptr, false);
    ASSERT_FALSE(out.is_discarded()) << "the output stays a valid array after a failure";
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0]["_id"], "a");
}

TEST_F(CliTest, ServeThenFullAndIncrementalPull)
{
    ChildProcess serve(kBinary + " serve --port 0 --quiet");
    const auto line = serve.first_line();
    ASSERT_EQ(line.rfind("listening on http://127.0.0.1:", 0), 0u) << line;
    const auto url = line.substr(std::string("listening on ").size()) + "entities";
    const auto common =
        " --supports-since --is-chronological --page-size 4 --state " + path("s.db");

    auto full = emu("pull " + url + common + " -o " + path("full.json"));
    ASSERT_EQ(full.exit_code, 0) << full.err;
    auto entities = nlohmann::json::parse(slurp(path("full.json")));
    ASSERT_EQ(entities.size(), 14u);
    EXPECT_EQ(entities[0]["_id"], "person-1");
    EXPECT_EQ(entities[0]["born"], "~t1980-02-01T00:00:00Z") << "transit strings are unchanged";
    EXPECT_NE(full.err.find("pull: 14 entities (2 deleted), 5 requests"), std::string::npos)
        << full.err;
    EXPECT_NE(full.err.find("offset none -> 13"), std::string::npos) << full.err;
    EXPECT_NE(full.err.find("[full run, chronological strategy]"), std::string::npos) << full.err;

    auto incremental = emu("pull " + url + common + " --format jsonl -o " + path("inc.jsonl"));
    ASSERT_EQ(incremental.exit_code, 0) << incremental.err;
    EXPECT_EQ(slurp(path("inc.jsonl")), "");
    EXPECT_NE(incremental.err.find("pull: 0 entities (0 deleted), 1 requests"), std::string::npos)
        << incremental.err;
    EXPECT_NE(incremental.err.find("offset 13 -> 13"), std::string::npos);
    EXPECT_NE(incremental.err.find("[incremental run"), std::string::npos);

    auto reset = emu("pull " + url + common + " --reset --format jsonl -o " + path("reset.jsonl"));
    ASSERT_EQ(reset.exit_code, 0) << reset.err;
    std::istringstream lines(slurp(path("reset.jsonl")));
    std::size_t count = 0;
    for (std::string l; std::getline(lines, l); ++count)
        EXPECT_FALSE(nlohmann::json::parse(l, nullptr, false).is_discarded()) << l;
    EXPECT_EQ(count, 14u);

    EXPECT_EQ(serve.terminate(), 0) << "serve stops cleanly on SIGTERM";
}

TEST_F(CliTest, PipesKeepSeparateOffsets)
{
    ChildProcess serve(kBinary + " serve --port 0 --quiet");
    const auto url = serve.first_line().substr(13) + "entities";
    auto a = emu("pull " + url + " --supports-since --pipe a -o /dev/null --state " + path("s.db"));
    ASSERT_EQ(a.exit_code, 0) << a.err;
    auto b = emu("pull " + url + " --supports-since --pipe b -o /dev/null --state " + path("s.db"));
    EXPECT_NE(b.err.find("14 entities"), std::string::npos)
        << "pipe b has no offset yet: " << b.err;
    auto a2 =
        emu("pull " + url + " --supports-since --pipe a -o /dev/null --state " + path("s.db"));
    EXPECT_NE(a2.err.find("0 entities"), std::string::npos) << a2.err;
}

TEST_F(CliTest, SigtermWhileWaitingExits130)
{
    ScriptedServer server(
        [](const RawRequest&, RawConnection&) { std::this_thread::sleep_for(1s); });
    ChildProcess pull(kBinary + " pull " + server.base_url() + "/e -o /dev/null --state " +
                      path("s.db"));
    ASSERT_TRUE(pull.wait_until_catches(SIGTERM));
    EXPECT_EQ(pull.terminate(), 130);
}

TEST_F(CliTest, HeadersAreSentAndAuthorizationIsNeverPrinted)
{
    ScriptedServer server([](const RawRequest&, RawConnection& c) {
        c.write(ScriptedServer::response(401, "{\"error\":\"denied\"}"));
    });
    auto r = emu("pull " + server.base_url() + "/e --header 'Authorization: Bearer s3cr3t-token'" +
                 " --header 'X-Tenant: acme' -o /dev/null --state " + path("s.db"));
    EXPECT_EQ(r.exit_code, 3);
    const auto head = server.requests().at(0).head;
    EXPECT_NE(head.find("Authorization: Bearer s3cr3t-token\r\n"), std::string::npos) << head;
    EXPECT_NE(head.find("X-Tenant: acme\r\n"), std::string::npos) << head;
    EXPECT_EQ(r.err.find("s3cr3t"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("status 401"), std::string::npos) << r.err;
}

TEST_F(CliTest, ServeRejectsABadDataset)
{
    std::ofstream(path("bad.json")) << "[{\"_id\": 5}]";
    auto r = emu("serve --port 0 --data " + path("bad.json"));
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("entity 0: _id must be a string, got 5 (--data)"), std::string::npos)
        << r.err;
}

TEST_F(CliTest, ServeJsonLinesDataset)
{
    std::ofstream(path("d.jsonl")) << "{\"_id\":\"x\"}\n{\"_id\":\"y\",\"_deleted\":true}\n";
    ChildProcess serve(kBinary + " serve --port 0 --quiet --data " + path("d.jsonl"));
    const auto url = serve.first_line().substr(13) + "entities";
    auto r = emu("pull " + url + " -o " + path("o.json") + " --state " + path("s.db"));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto out = nlohmann::json::parse(slurp(path("o.json")));
    EXPECT_EQ(out,
              nlohmann::json::parse(
                  R"([{"_id":"x","_updated":0},{"_id":"y","_deleted":true,"_updated":1}])"));
}

TEST_F(CliTest, PushFullThenIncrementalToTheReferenceReceiver)
{
    ChildProcess serve(kBinary + " serve --port 0 --quiet");
    const auto base = serve.first_line().substr(13);
    auto first = emu("push " + base + "receiver --input " + kPeople + " --batch-size 5 --state " +
                     path("s.db"));
    ASSERT_EQ(first.exit_code, 0) << first.err;
    // 14 lines, 12 distinct _id (person-2 and person-6 twice), person-6 and person-7 deleted
    EXPECT_NE(first.err.find("load: 14 entities into dataset"), std::string::npos) << first.err;
    EXPECT_NE(first.err.find(
                  "push: full sync, 12 entities acknowledged (2 deleted), 0 failed, 4 requests"),
              std::string::npos)
        << first.err;

    auto held = emu("pull " + base + "receiver/entities -o " + path("held.json") + " --state " +
                    path("p.db"));
    ASSERT_EQ(held.exit_code, 0) << held.err;
    auto entities = nlohmann::json::parse(slurp(path("held.json")));
    EXPECT_EQ(entities.size(), 10u);

    auto second = emu("push " + base + "receiver --state " + path("s.db"));
    ASSERT_EQ(second.exit_code, 0) << second.err;
    EXPECT_NE(
        second.err.find(
            "push: incremental sync, 0 entities acknowledged (0 deleted), 0 failed, 1 requests"),
        std::string::npos)
        << second.err;
}

TEST_F(CliTest, PushBadInputExitsTwoNamingTheEntity)
{
    std::ofstream(path("bad.json")) << R"([{"_id":"a"},{"_id":7}])";
    auto r =
        emu("push http://127.0.0.1:9/r --input " + path("bad.json") + " --state " + path("s.db"));
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find(path("bad.json") + ": entity 1: _id must be a string"), std::string::npos)
        << r.err;
    std::ofstream(path("cut.json")) << R"([{"_id":"a"},{"_id":)";
    r = emu("push http://127.0.0.1:9/r --input " + path("cut.json") + " --state " + path("s.db"));
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("cut short"), std::string::npos) << r.err;
}

TEST_F(CliTest, PushInputOfManyBatchesIsLoadedInOrderAndABadEntityLateInItKeepsNothing)
{
    // The input is read and hashed on a second thread, in batches of 512, ahead of the writes.
    std::string many = "[";
    for (int i = 0; i < 3000; ++i)
        many += (i ? "," : "") + std::string(R"({"_id":"e)") + std::to_string(i) + R"(","n":)" +
                std::to_string(i) + "}";
    std::ofstream(path("many.json")) << many + R"(,{"_id":"e5","n":-5},{"_id":"e6","n":6}])";
    ChildProcess serve(kBinary + " serve --port 0 --quiet");
    const auto base = serve.first_line().substr(std::string("listening on ").size());
    auto r = emu("push " + base + "receiver --input " + path("many.json") + " --state " +
                 path("s.db") + " --dataset people");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find("load: 3002 entities into dataset 'people': 3001 written, 1 unchanged, "
                         "0 deleted by deletion tracking"),
              std::string::npos)
        << r.err;
    auto shown = emu("dataset show people --state " + path("s.db"));
    ASSERT_EQ(shown.exit_code, 0) << shown.err;
    const auto entities = nlohmann::json::parse(shown.out);
    ASSERT_EQ(entities.size(), 3000u);
    EXPECT_EQ(entities[0]["_id"], "e0");
    EXPECT_EQ(entities[2998]["_id"], "e2999");
    EXPECT_EQ(entities[2999]["_id"], "e5"); // its second version is the latest
    EXPECT_EQ(entities[2999]["n"], -5);
    EXPECT_EQ(entities[2999]["_previous"], 5);

    // Entity 2000 is in the fourth batch: the first three were written, and rolled back.
    std::string bad = "[";
    for (int i = 0; i < 3000; ++i)
        bad += (i ? "," : "") + (i == 2000 ? std::string(R"({"_id":7})")
                                           : R"({"_id":"b)" + std::to_string(i) + R"("})");
    std::ofstream(path("bad.json")) << bad + "]";
    r = emu("push " + base + "receiver --input " + path("bad.json") + " --state " + path("s.db") +
            " --dataset other");
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find(path("bad.json") + ": entity 2000: _id must be a string"),
              std::string::npos)
        << r.err;
    auto listed = emu("dataset list --state " + path("s.db"));
    ASSERT_EQ(listed.exit_code, 0) << listed.err;
    EXPECT_EQ(listed.out.find("other"), std::string::npos) << listed.out;
    EXPECT_NE(listed.out.find("people"), std::string::npos) << listed.out;
}

TEST_F(CliTest, PushToADeadReceiverExitsThree)
{
    std::ofstream(path("one.json")) << R"([{"_id":"a"}])";
    auto r = emu("push http://127.0.0.1:9/r --input " + path("one.json") +
                 " --batch-retries 0 --state " + path("s.db"));
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_NE(r.err.find("sesam-emu push: error: POST http://127.0.0.1:9/r?sequence_id="),
              std::string::npos)
        << r.err;
}

TEST_F(CliTest, TransformThroughTheReferenceService)
{
    ChildProcess serve(kBinary + " serve --port 0 --quiet");
    const auto base = serve.first_line().substr(13);
    auto r = emu("transform " + base + "transform --input " + kPeople + " --batch-size 4 -o " +
                 path("out.json"));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find("transform: 14 entities in, 14 out, 4 batches"), std::string::npos)
        << r.err;
    auto out = nlohmann::json::parse(slurp(path("out.json")));
    ASSERT_EQ(out.size(), 14u);
    EXPECT_EQ(out[0]["_id"], "person-1");
    EXPECT_EQ(out[0]["transformed"], true);
    EXPECT_EQ(out[0]["born"], "~t1980-02-01T00:00:00Z");
}

TEST_F(CliTest, TransformUsageErrors)
{
    auto r = emu("transform http://127.0.0.1:9/t");
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("--input is required"), std::string::npos) << r.err;
    r = emu("transform http://127.0.0.1:9/t --input /no/such/file.json");
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("cannot read input /no/such/file.json"), std::string::npos) << r.err;
}

TEST_F(CliTest, HeaderErrorsDoNotEchoTheValue)
{
    auto r = emu("pull http://127.0.0.1:1/e --header 'Authorization Bearer s3cr3t' --state " +
                 path("s.db"));
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(r.err.find("s3cr3t"), std::string::npos) << r.err;
}

// An offset never covers entities that did not reach the output
TEST_F(CliTest, UnwritableOutputExitsFourAndKeepsTheOffset)
{
    ChildProcess serve(kBinary + " serve --port 0 --quiet");
    const auto url = serve.first_line().substr(13) + "entities";
    auto r = emu("pull " + url + " --supports-since -o /dev/full --state " + path("s.db"));
    EXPECT_EQ(r.exit_code, 4) << r.err;
    EXPECT_NE(
        r.err.find(
            "sesam-emu pull: error: cannot write the output: /dev/full: No space left on device"),
        std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find("offset none -> none"), std::string::npos) << r.err;
    auto again = emu("pull " + url + " --supports-since -o /dev/null --state " + path("s.db"));
    EXPECT_NE(again.err.find("14 entities"), std::string::npos)
        << "nothing was lost: " << again.err;
}

TEST_F(CliTest, AClosedPipeIsAnErrorNotACrash)
{
    ChildProcess serve(kBinary + " serve --port 0 --quiet");
    const auto url = serve.first_line().substr(13) + "entities";
    // The reader closes its end at once; the pull writes only after its request, so it meets
    // EPIPE (SIGPIPE is ignored) and must report it and keep the offset where it was.
    run_command("sh -c '(" + kBinary + " pull " + url + " --supports-since --state " +
                path("s.db") + " 2>" + path("err") + "; echo $? >" + path("rc") +
                ") | (exec 0<&-; sleep 1)'");
    EXPECT_EQ(slurp(path("rc")), "4\n");
    const auto err = slurp(path("err"));
    EXPECT_NE(err.find("cannot write the output: stdout: Broken pipe"), std::string::npos) << err;
    auto again = emu("pull " + url + " --supports-since -o /dev/null --state " + path("s.db"));
    EXPECT_NE(again.err.find("14 entities"), std::string::npos) << again.err;
}

TEST_F(CliTest, InputFilesEmptyOrOneObjectOverManyLines)
{
    std::ofstream(path("empty.json")) << "  \n";
    auto r =
        emu("push http://127.0.0.1:9/r --input " + path("empty.json") + " --state " + path("s.db"));
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("the input is empty"), std::string::npos) << r.err;

    ChildProcess serve(kBinary + " serve --port 0 --quiet");
    const auto base = serve.first_line().substr(13);
    std::ofstream(path("one.json")) << "{\n  \"_id\": \"solo\",\n  \"n\": 1\n}\n";
    r = emu("transform " + base + "transform --input " + path("one.json") + " -o " +
            path("out.json"));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto out = nlohmann::json::parse(slurp(path("out.json")));
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0]["_id"], "solo");
}

TEST_F(CliTest, InvalidUtf8InAUrlGetsAnAnswerFromTheReferenceService)
{
    ChildProcess serve(kBinary + " serve --port 0 --quiet");
    const auto base = serve.first_line().substr(13);
    auto r = emu("pull '" + base + "entities?since=%FF' --state " + path("s.db"));
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_NE(r.err.find("status 400"), std::string::npos) << r.err;
}

/// A port nothing listens on now, as text.
std::string free_port()
{
    return std::to_string(testing::free_port());
}

TEST_F(CliTest, CheckStartsTheReferenceServiceAndPasses)
{
    const auto port = free_port();
    auto r =
        emu("check http://127.0.0.1:" + port +
            "/entities --role source --supports-since --is-chronological --page-size 5 --exec '" +
            kBinary + " serve --quiet --port " + port + "' --report junit:" + path("r.xml") +
            " --report json:" + path("r.json") + kMemoryCheckArgs);
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    // The 14 source checks, service.memory.limit, and source.body.streamed skipped: the
    // built-in sample is far below the 32 MiB it needs.
    EXPECT_NE(r.out.find(kMemoryCheckArgs.empty()
                             ? "checks: 15 passed, 0 failed, 0 warnings, 1 skipped, 0 baselined"
                             : "checks: 14 passed, 0 failed, 0 warnings, 2 skipped, 0 baselined"),
              std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("source.body.streamed  A large full pull is streamed: its first byte "
                         "comes early and the service's memory does not grow with the body — "
                         "skipped: the full pull is 0.0 MiB;"),
              std::string::npos)
        << r.out;
    if (kMemoryCheckArgs.empty()) {
        EXPECT_NE(r.out.find("PASS  service.memory.limit"), std::string::npos) << r.out;
    }
    EXPECT_NE(r.out.find("service: peak memory "), std::string::npos) << r.out;
    auto json = nlohmann::json::parse(slurp(path("r.json")));
    EXPECT_EQ(json["checks"].size(), 16u);
    EXPECT_GT(json["summary"]["service_peak_rss_mb"].get<double>(), 1.0);
    EXPECT_EQ(json["checks"].back()["id"], "service.memory.limit");
    if (kMemoryCheckArgs.empty()) {
        EXPECT_LT(json["summary"]["service_peak_rss_mb"].get<double>(), 128.0);
        EXPECT_NE(json["checks"].back()["message"].get<std::string>().find(
                      "of the default docker.memory 128 MiB"),
                  std::string::npos);
    }
    EXPECT_NE(slurp(path("r.xml"))
                  .find("<testcase classname=\"sesam-emu.source\" name=\"source.status.ok\""),
              std::string::npos);
    EXPECT_FALSE(emu("pull http://127.0.0.1:" + port +
                     "/entities --connect-timeout 1 -o /dev/null --state " + path("s.db"))
                     .exit_code == 0)
        << "the service is gone once check returns";
}

TEST_F(CliTest, ALongRequestBodyIsElidedInTheConsoleAndWrittenBesideTheReports)
{
    // A transform that refuses batches over 5000 bytes: transform.batch.full fails with its
    // 100-entity batch as evidence.
    ScriptedServer server([](const RawRequest& r, RawConnection& c) {
        c.write(r.body.size() > 5000 ? ScriptedServer::response(413, "too large")
                                     : ScriptedServer::response(200, r.body));
    });
    std::filesystem::create_directories(path("reports"));
    auto r = emu("check " + server.base_url() +
                 "/transform --role transform --only transform.batch.full --report json:" +
                 path("reports/r.json"));
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
    EXPECT_NE(r.out.find("--data-binary @" + path("reports/body-1.json") + " '"), std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("# " + path("reports/body-1.json") + ": the "), std::string::npos)
        << r.out;
    const auto body = slurp(path("reports/body-1.json"));
    const auto batch = nlohmann::json::parse(body);
    EXPECT_EQ(batch.size(), 100u);
    std::istringstream lines(r.out);
    for (std::string line; std::getline(lines, line);)
        EXPECT_LT(line.size(), 1000u) << line.substr(0, 200);
    // The JSON report keeps the whole command.
    const auto report = nlohmann::json::parse(slurp(path("reports/r.json")));
    EXPECT_NE(
        report["checks"][0]["evidence"][0]["curl"].get<std::string>().find("--data-binary '[{"),
        std::string::npos)
        << r.out;

    // Without a report, the console says where the body is instead.
    r = emu("check " + server.base_url() +
            "/transform --role transform --only transform.batch.full");
    EXPECT_NE(r.out.find("--data-binary @body-1.json '"), std::string::npos) << r.out;
    EXPECT_NE(
        r.out.find("-byte body is not shown (with --report it is written beside the reports)"),
        std::string::npos)
        << r.out;
    EXPECT_FALSE(std::filesystem::exists("body-1.json"));
}

TEST_F(CliTest, CheckFindingsExitOneAndBaselinesAcceptThem)
{
    ScriptedServer server([](const RawRequest&, RawConnection& c) {
        c.write(ScriptedServer::response(200, R"([{"_id":"a","_deleted":"yes"}])"));
    });
    auto r = emu("check " + server.base_url() + "/e --role source");
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
    EXPECT_NE(r.out.find("FAIL  source.entity.deleted-flag"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("curl -sS '" + server.base_url() + "/e'"), std::string::npos) << r.out;

    std::ofstream(path("baseline.txt")) << "# accepted for now\nsource.entity.deleted-*\n";
    r = emu("check " + server.base_url() + "/e --role source --baseline " + path("baseline.txt"));
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_NE(r.out.find("1 baselined"), std::string::npos) << r.out;
}

TEST_F(CliTest, CheckExitCodesForNothingSelectedAndBadOptions)
{
    ScriptedServer server(
        [](const RawRequest&, RawConnection& c) { c.write(ScriptedServer::response(200, "[]")); });
    EXPECT_EQ(emu("check " + server.base_url() + "/e --role source --only 'nothing.*'").exit_code,
              5);
    auto r = emu("check " + server.base_url() + "/e --role source --report xml:" + path("x"));
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("--report 'xml:"), std::string::npos) << r.err;
    r = emu("check " + server.base_url() + "/e --role nonsense");
    EXPECT_EQ(r.exit_code, 2);
    r = emu("check " + server.base_url() + "/e --role source --baseline /no/such/baseline");
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("cannot read baseline /no/such/baseline"), std::string::npos) << r.err;
    r = emu("check " + server.base_url() + "/e --role source --image x");
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("--image needs --port"), std::string::npos) << r.err;
}

TEST_F(CliTest, CheckServiceThatCannotStartExitsThree)
{
    const auto port = free_port();
    auto r =
        emu("check http://127.0.0.1:" + port + "/e --role source --exec 'no-such-command-xyz'");
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_NE(r.err.find("status 127"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("not found"), std::string::npos) << r.err;

    r = emu("check http://127.0.0.1:" + port +
            "/e --role source --ready-timeout 0.5 --exec 'sleep 30'");
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_NE(r.err.find("not ready within"), std::string::npos) << r.err;

    r = emu("check http://127.0.0.1:" + port + "/e --role source");
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_NE(r.err.find("cannot connect to http://127.0.0.1:" + port + "/e"), std::string::npos)
        << r.err;
}

TEST_F(CliTest, CheckInterruptedExits130AndRemovesTheService)
{
    const auto port = free_port();
    const auto marker = path("service-pid");
    // A service that accepts and never answers; it writes its pid so the test can see it die.
    std::ofstream(path("hang.py")) << "import os, socket, time\n"
                                   << "open('" << marker << "', 'w').write(str(os.getpid()))\n"
                                   << "s = socket.socket()\n"
                                   << "s.bind(('127.0.0.1', " << port << "))\n"
                                   << "s.listen()\n"
                                   << "c = s.accept()\n"
                                   << "time.sleep(60)\n";
    ChildProcess check(kBinary + " check http://127.0.0.1:" + port +
                       "/e --role source --exec 'exec /usr/bin/python3 " + path("hang.py") + "'");
    for (int i = 0; i < 100 && slurp(marker).empty(); ++i)
        std::this_thread::sleep_for(50ms);
    std::this_thread::sleep_for(300ms);
    const int pid = std::atoi(slurp(marker).c_str());
    ASSERT_GT(pid, 0);
    EXPECT_EQ(check.terminate(), 130);
    EXPECT_NE(::kill(pid, 0), 0) << "the service is gone once check returns";
}

} // namespace
} // namespace sesam::testing
