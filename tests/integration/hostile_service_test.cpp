// Services under test misbehave by definition: each test here is a service that does what a
// correct server library would not (interim responses, …), and asserts what every client does.
#include "tests/support/cli_fixture.hpp"
#include "tests/support/scripted_server.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <string>
#include <sys/stat.h>
#include <thread>
#include <utility>
#include <vector>

namespace sesam::testing {
namespace {

using HostileServiceTest = CliFixture;

std::string shell_quote(const std::string& s)
{
    std::string out = "'";
    for (char c : s)
        out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

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

TEST_F(HostileServiceTest, AnEncodedAnswerIsRefusedNamingTheEncoding)
{
    // sesam-emu sends no Accept-Encoding; gzip bytes must not be taken for JSON text.
    ScriptedServer server([](const RawRequest&, RawConnection& c) {
        c.write(
            ScriptedServer::response(200, "\x1f\x8b\x08\x00garbage", "Content-Encoding: gzip\r\n"));
    });
    auto r = emu("pull " + server.base_url() + "/entities -o /dev/null --state " + path("s.db"));
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_NE(r.err.find("the response has Content-Encoding: gzip, which sesam-emu does not "
                         "decode (it sends no Accept-Encoding)"),
              std::string::npos)
        << r.err;
}

TEST_F(HostileServiceTest, InvalidUtf8FailsTheJsonArrayCheckNamingTheByte)
{
    ScriptedServer server([](const RawRequest&, RawConnection& c) {
        c.write(ScriptedServer::response(200, "[{\"_id\":\"a\",\"n\":\"\xff\"}]"));
    });
    auto r = emu("check " + server.base_url() +
                 "/entities --role source --report json:" + path("r.json"));
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
    const auto report = nlohmann::json::parse(slurp(path("r.json")));
    bool found = false;
    for (const auto& c : report["checks"])
        if (c["id"] == "source.body.json-array") {
            found = true;
            EXPECT_EQ(c["verdict"], "failed");
            EXPECT_EQ(c["evidence"][0]["actual"],
                      "invalid UTF-8 at byte 17 (RFC 8259: JSON text is UTF-8)");
        }
    EXPECT_TRUE(found);
}

TEST_F(HostileServiceTest, CheckWaitsAMinuteNotHalfAnHourAndNamesTheRequest)
{
    auto help = emu("check --help");
    EXPECT_NE(help.out.find("--read-timeout FLOAT=60 "), std::string::npos) << help.out;
    auto replay_help = emu("replay against --help");
    EXPECT_NE(replay_help.out.find("--read-timeout FLOAT=60 "), std::string::npos)
        << replay_help.out;
    auto pull_help = emu("pull --help");
    EXPECT_NE(pull_help.out.find("--read-timeout FLOAT=1800 "), std::string::npos);

    ScriptedServer server([](const RawRequest&, RawConnection&) {
        std::this_thread::sleep_for(std::chrono::milliseconds(600)); // silent
    });
    auto r = emu("check " + server.base_url() +
                 "/entities --role source --only "
                 "source.status.ok --read-timeout 0.2");
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
    EXPECT_NE(r.out.find("request:  GET " + server.base_url() + "/entities"), std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("no response within the read timeout of 200 ms"), std::string::npos)
        << r.out;
}

TEST_F(HostileServiceTest, PullWarnsAboutEntitiesWithoutId)
{
    ScriptedServer server([](const RawRequest&, RawConnection& c) {
        c.write(ScriptedServer::response(200, R"([{"_id":"a"},{"v":1},{"v":2}])"));
    });
    auto r = emu("pull " + server.base_url() + "/e -o /dev/null --state " + path("s.db"));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find("sesam-emu pull: warning: 2 entities had no _id; a pipe must add one "
                         "before a sink\n"),
              std::string::npos)
        << r.err;
}

TEST_F(HostileServiceTest, BadFlagsAndInputsAreOneLineUsageErrors)
{
    struct Case {
        std::string args;
        std::string error; ///< the whole first line of stderr
    };
    std::filesystem::create_directories(path("folder"));
    const std::vector<Case> cases{
        {"pull http://127.0.0.1:9/e --state ''", "sesam-emu: error: --state: the path is empty"},
        {"push http://127.0.0.1:9/e --state ''", "sesam-emu: error: --state: the path is empty"},
        {"push http://127.0.0.1:9/e --batch-size 0",
         "sesam-emu: error: --batch-size: Value 0 not in range 1 to 1000000000"},
        {"transform http://127.0.0.1:9/e --batch-size 18446744073709551616",
         "sesam-emu: error: --batch-size: Value 18446744073709551616 not in range 1 to "
         "1000000000"},
        {"pull $'http://127.0.0.1:9/e\\r\\nX: y'",
         "sesam-emu: error: 'http://127.0.0.1:9/e\\r\\nX: y' is not a valid absolute URL"},
        {"push http://127.0.0.1:9/e --input " + path("folder") + " --state " + path("s.db"),
         "sesam-emu: error: cannot read input " + path("folder") + ": it is a directory"},
        {"transform http://127.0.0.1:9/e --input " + path("folder"),
         "sesam-emu: error: cannot read input " + path("folder") + ": it is a directory"},
        {"pull http://127.0.0.1:9/e --header 'Transfer-Encoding: chunked'",
         "sesam-emu: error: --header Transfer-Encoding: sesam-emu sets this header itself (it "
         "frames the request)"},
        {"check http://127.0.0.1:9/e --role sink --header 'Content-Length: 3'",
         "sesam-emu: error: --header Content-Length: sesam-emu sets this header itself (it "
         "frames the request)"},
        {"check http://127.0.0.1:9/e --role source --page-size 5",
         "sesam-emu: error: --page-size needs --supports-since, --is-chronological and a "
         "comparable _updated (docs/protocol.md#pull-continuation)"},
        {"check http://127.0.0.1:9/e --role source --supports-since --is-chronological "
         "--is-since-comparable false --page-size 5",
         "sesam-emu: error: --page-size needs --supports-since, --is-chronological and a "
         "comparable _updated (docs/protocol.md#pull-continuation)"},
        {"push http://127.0.0.1:9/e --header 'host: other'",
         "sesam-emu: error: --header host: sesam-emu sets this header itself (it frames the "
         "request)"},
    };
    for (const auto& c : cases) {
        auto r = run_command("bash -c " + shell_quote(kBinary + " " + c.args));
        EXPECT_EQ(r.exit_code, 2) << c.args << "\n" << r.err;
        EXPECT_EQ(r.err.substr(0, r.err.find('\n')), c.error) << c.args;
    }
}

TEST_F(HostileServiceTest, NoSecretLeavesThroughAnyDoorInAnyEncoding)
{
    // A service that echoes what it was given, in every encoding a JSON or HTTP library may use,
    // in its reason phrase and its body, and fails (so that errors and evidence show it).
    const std::string secret = "Sx/9q-Zk";
    ScriptedServer server([](const RawRequest& r, RawConnection& c) {
        auto header = [&](const std::string& name) {
            const auto at = r.head.find("\r\n" + name + ": ");
            return at == std::string::npos
                       ? std::string()
                       : r.head.substr(at + name.size() + 4,
                                       r.head.find("\r\n", at + 2) - (at + name.size() + 4));
        };
        const std::string body = R"({"raw":"Sx/9q-Zk","slash":"Sx\/9q-Zk","u":"\u0053x/9q-Zk",)"
                                 R"("pct":"Sx%2f9q-Zk","target":")" +
                                 r.target + R"(","auth":")" + header("Authorization") +
                                 R"(","key":")" + header("X-Api-Key") + R"("})";
        c.write("HTTP/1.1 500 Sx/9q-Zk\r\nContent-Type: application/json\r\nContent-Length: " +
                std::to_string(body.size()) + "\r\n\r\n" + body);
    });
    const auto url = server.base_url() + "/e?token=Sx%2F9q-Zk";
    const std::string secrets = " --secret token=" + secret +
                                " --header 'Authorization: Bearer B34rer-T0k'"
                                " --header 'X-Api-Key: K3y-V4l' ";
    const std::vector<std::string> forbidden{
        secret, "Sx\\/9q", "\\u0053x", "Sx%2f9q", "Sx%2F9q", "B34rer-T0k", "K3y-V4l"};
    auto expect_clean = [&](const std::string& door, const std::string& text) {
        EXPECT_FALSE(text.empty()) << door;
        for (const auto& f : forbidden)
            EXPECT_EQ(text.find(f), std::string::npos) << door << " holds " << f << ":\n" << text;
    };
    std::ofstream(path("in.json")) << R"([{"_id":"a"}])";

    auto pull = emu("pull '" + url + "'" + secrets + "--state " + path("pull.db") + " --record " +
                    path("pull.jsonl") + " -o /dev/null");
    EXPECT_EQ(pull.exit_code, 3) << pull.err;
    expect_clean("pull stderr", pull.err);
    expect_clean("pull fixture", slurp(path("pull.jsonl")));
    expect_clean("pull state", slurp(path("pull.db")));

    auto push =
        emu("push '" + url + "'" + secrets + "--input " + path("in.json") +
            " --batch-retries 0 --state " + path("push.db") + " --record " + path("push.jsonl"));
    EXPECT_EQ(push.exit_code, 3) << push.err;
    expect_clean("push stderr", push.err);
    expect_clean("push fixture", slurp(path("push.jsonl")));
    expect_clean("push state", slurp(path("push.db")));

    auto transform = emu("transform '" + url + "'" + secrets + "--input " + path("in.json") +
                         " -o /dev/null --record " + path("transform.jsonl"));
    EXPECT_EQ(transform.exit_code, 3) << transform.err;
    expect_clean("transform stderr", transform.err);
    expect_clean("transform fixture", slurp(path("transform.jsonl")));

    auto check =
        emu("check '" + url + "' --role source" + secrets + "--report junit:" + path("check.xml") +
            " --report json:" + path("check.json") + " --report html:" + path("check.html"));
    EXPECT_EQ(check.exit_code, 1) << check.err;
    expect_clean("check stdout", check.out + check.err);
    expect_clean("check JUnit", slurp(path("check.xml")));
    expect_clean("check JSON", slurp(path("check.json")));
    expect_clean("check HTML", slurp(path("check.html")));

    auto sink =
        emu("check '" + url + "' --role sink" + secrets + "--report json:" + path("sink.json"));
    expect_clean("check sink stdout", sink.out + sink.err);
    expect_clean("check sink JSON", slurp(path("sink.json")));

    // The recorded 500 is replayed against the same echo: its reason and body are echoed again.
    auto replay = emu("replay against " + path("pull.jsonl") + " '" + url + "'" + secrets +
                      "--report json:" + path("replay.json"));
    expect_clean("replay stdout", replay.out + replay.err);
    expect_clean("replay JSON", slurp(path("replay.json")));
}

/// An answer that never ends: 200 and an array of entities in chunks of `chunk_bytes`, with
/// `pause` after each, until the peer goes away (at most `chunks` chunks, so the loop is
/// bounded).
ScriptedServer::Script
entities_without_end(std::size_t chunk_bytes, std::chrono::milliseconds pause, int chunks)
{
    return [=](const RawRequest&, RawConnection& c) {
        std::string chunk;
        while (chunk.size() < chunk_bytes)
            chunk +=
                R"({"_id":"x","v":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},)";
        c.write("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n[");
        for (int i = 0; i < chunks && !c.closed(); ++i) {
            c.write(chunk);
            if (pause.count() > 0)
                std::this_thread::sleep_for(pause);
        }
    };
}

/// As fast as the peer reads, 1 MiB at a time (at most 8 GiB).
const auto endless_entities = entities_without_end(1 << 20, std::chrono::milliseconds(0), 8192);

/// Paced at about 64 MB/s (64 KiB a millisecond, for at most about two minutes): bytes flow all
/// the time, yet a client's response cap (about 95 MB) is not reached within the first second,
/// so a signal sent a few hundred milliseconds in always finds the exchange still streaming.
const auto steady_entities = entities_without_end(1 << 16, std::chrono::milliseconds(1), 120000);

/// Waits until `server` has received more than `before` requests (at most 10 s).
void wait_for_request(const ScriptedServer& server, std::size_t before = 0)
{
    for (int i = 0; i < 500 && server.requests().size() <= before; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
}

TEST_F(HostileServiceTest, SigtermStopsEveryClientWhileABodyStreamsInFast)
{
    // Paced, not flat out: flat out, `check` reached its response caps and finished by itself
    // in about 0.35 s, before the signal, on a fast machine.
    ScriptedServer server(steady_entities);
    const auto url = server.base_url() + "/e";
    std::ofstream(path("in.json")) << R"([{"_id":"a"}])";
    const std::vector<std::pair<std::string, std::string>> commands{
        {"pull", "pull " + url + " -o /dev/null --state " + path("pull.db")},
        {"pull --record",
         "pull " + url + " -o /dev/null --state " + path("rec.db") + " --record " +
             path("rec.jsonl")},
        {"check", "check " + url + " --role source"},
        {"transform", "transform " + url + " --input " + path("in.json") + " -o /dev/null"},
        {"push", "push " + url + " --input " + path("in.json") + " --state " + path("push.db")},
    };
    for (const auto& [name, args] : commands) {
        const auto before = server.requests().size();
        ChildProcess child(kBinary + " " + args + " > " + path("out.txt") + " 2> " +
                           path("err.txt"));
        wait_for_request(server, before);
        std::this_thread::sleep_for(std::chrono::milliseconds(300)); // bytes are flowing
        EXPECT_EQ(child.terminate(), 130) << name << ": " << slurp(path("err.txt"));
    }
    // The recording of the interrupted exchange was still written, with its error.
    const auto recording = slurp(path("rec.jsonl"));
    EXPECT_NE(recording.find(R"("error":{"code":"interrupted")"), std::string::npos)
        << recording.substr(recording.size() - std::min<std::size_t>(recording.size(), 300));
}

TEST_F(HostileServiceTest, SigtermWhileReadingAnInputNobodyWrites)
{
    ASSERT_EQ(::mkfifo(path("fifo").c_str(), 0600), 0);
    for (const std::string& command :
         {"push http://127.0.0.1:9/r --state " + path("s.db"),
          std::string("transform http://127.0.0.1:9/r -o /dev/null")}) {
        ChildProcess child(kBinary + " " + command + " --input " + path("fifo") + " 2> " +
                           path("err.txt"));
        ASSERT_TRUE(child.wait_until_catches(SIGTERM)) << command; // then blocks in open()
        EXPECT_EQ(child.terminate(), 130) << command;
        EXPECT_EQ(slurp(path("err.txt")),
                  "sesam-emu: interrupted: while reading the input " + path("fifo") +
                      "; nothing of it was kept\n")
            << command;
    }
}

TEST_F(HostileServiceTest, ServeStopsOnSigtermWhileARequestIsProcessed)
{
    ChildProcess serve(kBinary + " serve --port 0 --quiet");
    const auto base = serve.first_line().substr(13);
    ASSERT_FALSE(base.empty());
    // A large transform request keeps the service busy for seconds.
    std::string body = "[";
    for (int i = 0; i < 150000; ++i)
        body += (i ? ",{\"_id\":\"e" : "{\"_id\":\"e") + std::to_string(i) + "\"}";
    body += "]";
    std::ofstream(path("big.json")) << body;
    ChildProcess client("curl -s -X POST -H 'Content-Type: application/json' --data-binary @" +
                        path("big.json") + " " + base + "transform -o /dev/null");
    std::this_thread::sleep_for(std::chrono::milliseconds(800));
    EXPECT_EQ(serve.terminate(), 0); // within the 2 s terminate() waits, not after the request
}

TEST_F(HostileServiceTest, AClosedOutputStopsPullAndTransformAgainstAnEndlessService)
{
    ScriptedServer server(endless_entities);
    auto pull = run_command("bash -c " + shell_quote("set -o pipefail; " + kBinary + " pull " +
                                                     server.base_url() + "/e --state " +
                                                     path("s.db") + " | head -c 100 > /dev/null"));
    EXPECT_EQ(pull.exit_code, 4) << pull.err;
    EXPECT_NE(pull.err.find("cannot write the output: stdout: Broken pipe"), std::string::npos)
        << pull.err;
}

TEST_F(HostileServiceTest, MemoryStaysWithinTheCapsAgainstAnEndlessAnswer)
{
#if defined(__SANITIZE_ADDRESS__)
    GTEST_SKIP() << "AddressSanitizer's shadow memory and quarantine are not the program's";
#endif
    ScriptedServer server(endless_entities);
    const auto url = server.base_url() + "/e";
    std::ofstream(path("in.json")) << R"([{"_id":"a"}])";
    auto run = [&](const std::string& args, int expected_exit, const std::string& message) {
        ChildProcess child(kBinary + " " + args + " > " + path("out.txt") + " 2> " +
                           path("err.txt"));
        EXPECT_EQ(child.wait(), expected_exit) << args << "\n" << slurp(path("err.txt"));
        const auto output = slurp(path("out.txt")) + slurp(path("err.txt"));
        EXPECT_NE(output.find(message), std::string::npos) << args << "\n" << output;
        return child.peak_rss_kb();
    };
    // check keeps summaries of at most --max-response-mb of a response, and never an old and a
    // new copy of them at once (22 MiB measured with a 16 MiB cap: the rest is the program).
    const auto check = run("check " + url +
                               " --role source --only source.body.json-array "
                               "--max-response-mb 16",
                           1,
                           "the response is larger than check keeps of one (--max-response-mb "
                           "16)");
    EXPECT_LT(check, (16 + 12) * 1024) << "KiB";
    // transform holds one batch's answer, at most --max-answer-mb of it.
    const auto transform =
        run("transform " + url + " --input " + path("in.json") + " -o /dev/null --max-answer-mb 16",
            3,
            "the answer is larger than 16 MiB (--max-answer-mb)");
    EXPECT_LT(transform, 48 * 1024) << "KiB";
    // replay against reads an answer up to 4 times the recorded body (at least 1 MiB).
    {
        ScriptedServer small(interim_then_entities);
        auto recorded = emu("pull " + small.base_url() + "/e -o /dev/null --state " + path("r.db") +
                            " --record " + path("small.jsonl"));
        ASSERT_EQ(recorded.exit_code, 0) << recorded.err;
    }
    const auto replay = run("replay against " + path("small.jsonl") + " " + url,
                            1,
                            "no complete response: the body is larger than 1048576 bytes, the "
                            "most kept of it; stopped reading");
    EXPECT_LT(replay, 40 * 1024) << "KiB";
}

TEST_F(HostileServiceTest, ARecordedBodyIsSplicedAsReceivedNotParsedIntoADom)
{
#if defined(__SANITIZE_ADDRESS__)
    GTEST_SKIP() << "AddressSanitizer's shadow memory and quarantine are not the program's";
#endif
    // About 40 MiB of entities, pretty-printed, with an escape and a number as written; made
    // as they are sent, so that this process stays small: a child's peak RSS counts its parent's
    // at fork (Linux keeps the high-water mark across exec).
    auto entity = [](int i) {
        return std::string(i ? ",\n" : "[\n") + "  {\"_id\": \"e" + std::to_string(i) +
               "\", \"path\": \"a\\/b\", \"n\": 1.0E2, \"s\": \"" + std::string(150, 'x') + "\"}";
    };
    constexpr int kEntities = 200000;
    std::size_t length = 2; // "\n]"
    for (int i = 0; i < kEntities; ++i)
        length += entity(i).size();
    ScriptedServer server([&](const RawRequest&, RawConnection& c) {
        c.write("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                std::to_string(length) + "\r\n\r\n");
        std::string chunk;
        for (int i = 0; i < kEntities; ++i) {
            chunk += entity(i);
            if (chunk.size() > (1U << 20))
                c.write(std::exchange(chunk, {}));
        }
        c.write(chunk + "\n]");
    });
    auto pull = [&](const std::string& extra) {
        ChildProcess child(kBinary + " pull " + server.base_url() + "/e -o /dev/null --state " +
                           path("s.db") + " --reset" + extra + " 2> " + path("err.txt"));
        EXPECT_EQ(child.wait(), 0) << slurp(path("err.txt"));
        return child.peak_rss_kb();
    };
    const auto plain = pull("");
    const auto recording = pull(" --record " + path("big.jsonl"));
    const auto recorded = slurp(path("big.jsonl"));
    EXPECT_NE(recorded.find(R"("response_body":[{"_id":"e0","path":"a\/b","n":1.0E2,"s":")"),
              std::string::npos)
        << recorded.substr(0, 600);
    EXPECT_NE(recorded.find(R"(,{"_id":"e199999",)"), std::string::npos);
    // Recording adds the body kept for the fixture and its redacted copy, nothing more; parsed
    // into a DOM, the same body took several times its size.
    EXPECT_LT(recording - plain, (2 * 40 + 8) * 1024) << "KiB: " << plain << " → " << recording;
}

TEST_F(HostileServiceTest, FixturesKeepBodiesAsReceivedAndReplayNeedsSomethingCompared)
{
    // A body with a key twice is recorded as text, byte for byte: parsed, the last _id would win.
    const std::string body = R"([{"_id":"a","v":1,"_id":"b"}])";
    ScriptedServer server(
        [&](const RawRequest&, RawConnection& c) { c.write(ScriptedServer::response(200, body)); });
    auto pull = emu("pull " + server.base_url() + "/e -o /dev/null --state " + path("s.db") +
                    " --record " + path("dup.jsonl"));
    ASSERT_EQ(pull.exit_code, 0) << pull.err;
    const auto recorded = slurp(path("dup.jsonl"));
    EXPECT_NE(recorded.find(R"("response_body":"[{\"_id\":\"a\",\"v\":1,\"_id\":\"b\"}]",)"
                            R"("response_body_type":"text")"),
              std::string::npos)
        << recorded;
    auto same = emu("replay against " + path("dup.jsonl") + " " + server.base_url() + "/e");
    EXPECT_EQ(same.exit_code, 0) << same.out << same.err;

    // Every exchange skipped (no response was recorded): nothing compared is no pass.
    std::ofstream(path("skipped.jsonl"))
        << R"({"format_version":1,"sesam_emu_version":"0.1.0","command_line":"x"})"
        << "\n"
        << R"({"method":"GET","url":"http://127.0.0.1:9/e","status":null,"error":)"
        << R"({"code":"connect failed","detail":"refused"}})"
        << "\n";
    auto skipped = emu("replay against " + path("skipped.jsonl") + " " + server.base_url() + "/e");
    EXPECT_EQ(skipped.exit_code, 1) << skipped.out << skipped.err;
    EXPECT_NE(skipped.err.find("nothing was compared: every exchange was skipped"),
              std::string::npos)
        << skipped.err;
}

} // namespace
} // namespace sesam::testing
