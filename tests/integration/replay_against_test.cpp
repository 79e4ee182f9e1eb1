// `sesam-emu replay against`: recorded requests re-sent to a service, answers compared with the
// recording; and the recordings shipped in fixtures/recordings/, replayed both ways.
#include "examples/reference-service/dataset.hpp"
#include "tests/support/cli_fixture.hpp"
#include "tests/support/reference_fixture.hpp"
#include "tests/support/scripted_server.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <fstream>
#include <regex>
#include <thread>

namespace sesam::harness {
namespace {

using namespace std::chrono_literals;
using testing::ChildProcess;
using testing::CliFixture;
using testing::kBinary;
using testing::RawConnection;
using testing::RawRequest;
using testing::RunningReferenceService;
using testing::ScriptedServer;

const std::string kRecordings = std::string(SESAM_SOURCE_DIR) + "/fixtures/recordings/";
const std::string kPeople = std::string(SESAM_SOURCE_DIR) + "/fixtures/datasets/people.json";
constexpr const char* kHeader =
    R"({"format_version":1,"sesam_emu_version":"0.1.0","command_line":"sesam-emu pull x"})";

/// One exchange line of a hand-written fixture.
std::string exchange(const std::string& method,
                     const std::string& url,
                     const nlohmann::json& status,
                     const nlohmann::json& body,
                     const std::string& extra = "")
{
    nlohmann::json x = {{"method", method},
                        {"url", url},
                        {"request_headers", nlohmann::json::array({{"Authorization", "***"}})},
                        {"request_body", ""},
                        {"request_body_type", "text"},
                        {"status", status},
                        {"response_body", body},
                        {"response_body_type", body.is_string() ? "text" : "json"}};
    if (!extra.empty())
        x.update(nlohmann::json::parse(extra));
    return x.dump() + "\n";
}

/// Lines of `text` that start with `prefix`.
std::vector<std::string> lines_starting(const std::string& text, const std::string& prefix)
{
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        if (line.rfind(prefix, 0) == 0)
            out.push_back(line);
    return out;
}

class ReplayAgainstTest : public CliFixture {
protected:
    /// A fixture of four exchanges recorded against `http://recorded.example:5000/entities`.
    void write_fixture()
    {
        std::ofstream(path("f.jsonl"))
            << kHeader << "\n"
            << exchange("GET",
                        "http://recorded.example:5000/entities?token=***",
                        200,
                        nlohmann::json::parse(R"([{"_id":"a","name":"A","_ts":1,"_hash":"x"},
                                                  {"_id":"b","x":1,"keep":{"_ts":1}},
                                                  {"_id":"c"}])"))
            << exchange("GET",
                        "http://recorded.example:5000/entities?since=3&token=***",
                        200,
                        nlohmann::json::array())
            << exchange("POST",
                        "http://recorded.example:5000/entities?is_full=true&request_id=1",
                        200,
                        "ok")
            << exchange("GET",
                        "http://recorded.example:5000/entities?since=9",
                        nullptr,
                        "",
                        R"({"error":{"code":"connection failed","detail":"refused"}})");
    }

    /// Answers the fixture's requests: a reordered, changed list; a 500; "ok".
    static void answer(const RawRequest& req, RawConnection& c)
    {
        if (req.method == "POST")
            c.write(ScriptedServer::response(200, "ok", "", "text/plain"));
        else if (req.target.find("since=3") != std::string::npos)
            c.write(ScriptedServer::response(500, R"({"error":"boom"})"));
        else
            c.write(ScriptedServer::response(
                200,
                R"([{"_id":"b","x":2,"keep":{"_ts":2}},{"_id":"a","name":"A","_ts":99},{"_id":"d"}])"));
    }
};

TEST_F(ReplayAgainstTest, DiffsNameEachChangedMissingAndAddedEntityAndAChangedStatus)
{
    write_fixture();
    ScriptedServer server(answer);
    auto r = emu("replay against " + path("f.jsonl") + " '" + server.base_url() +
                 "/api/entities?token=abc' --header 'Authorization: Bearer abc' --report json:" +
                 path("r.json") + " --report junit:" + path("r.xml"));
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;

    // The requests: rebased on the URL's path, the URL's token in place of the recorded one,
    // the redacted Authorization header given again with --header.
    const auto requests = server.requests();
    ASSERT_EQ(requests.size(), 3u) << "the exchange recorded without a response is not sent";
    EXPECT_EQ(requests[0].target, "/api/entities?token=abc");
    EXPECT_EQ(requests[1].target, "/api/entities?since=3&token=abc");
    EXPECT_EQ(requests[2].target, "/api/entities?token=abc&is_full=true&request_id=1");
    EXPECT_NE(requests[0].head.find("Authorization: Bearer abc"), std::string::npos)
        << requests[0].head;

    const std::vector<std::string> expected_lines = {
        "DIFF  exchange 1: GET /entities?token=***: 3 entities differ: 1 changed, 1 missing, 1 "
        "added (3 recorded, 3 received)",
        "        _id \"b\", field \"keep._ts\": expected 1, actual 2",
        "        _id \"b\", field \"x\": expected 1, actual 2",
        "        _id \"c\": missing entity (expected {\"_id\":\"c\"})",
        "        _id \"d\": added entity (actual {\"_id\":\"d\"})",
    };
    for (const auto& line : expected_lines)
        EXPECT_NE(r.out.find(line + "\n"), std::string::npos) << line << "\n---\n" << r.out;
    EXPECT_NE(r.out.find("DIFF  exchange 2: GET /entities?since=3&token=***: status: expected "
                         "200, actual 500 Error; body not compared, received "
                         "{\"error\":\"boom\"}\n"),
              std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("SAME  exchange 3: POST /entities?is_full=true&request_id=1\n"),
              std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("SKIP  exchange 4: GET /entities?since=9: no response was recorded"),
              std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("replay: 4 of 4 exchanges: 1 same, 2 differ, 0 failed, 1 skipped"),
              std::string::npos)
        << r.out;
    EXPECT_EQ(r.out.find("abc"), std::string::npos)
        << "secrets stay out of the output: the header's, and the token that replaced ***";
    EXPECT_EQ(slurp(path("r.json")).find("abc"), std::string::npos);
    EXPECT_EQ(slurp(path("r.xml")).find("abc"), std::string::npos);

    // The JSON report: one check per exchange, the differences as evidence.
    const auto report = nlohmann::json::parse(slurp(path("r.json")), nullptr, false);
    ASSERT_FALSE(report.is_discarded()) << slurp(path("r.json"));
    EXPECT_EQ(report.at("run").at("suite"), "sesam-emu.replay");
    const auto& checks = report.at("checks");
    ASSERT_EQ(checks.size(), 4u);
    EXPECT_EQ(checks[0].at("id"), "exchange 1: GET /entities?token=***");
    EXPECT_EQ(checks[0].at("verdict"), "failed");
    std::vector<std::string> ids, fields, expected, actual;
    for (const auto& e : checks[0].at("evidence")) {
        ids.push_back(e.at("entity_id"));
        fields.push_back(e.at("field"));
        expected.push_back(e.at("expected"));
        actual.push_back(e.at("actual"));
        EXPECT_EQ(e.at("curl").get<std::string>().find("Bearer abc"), std::string::npos);
    }
    EXPECT_EQ(ids, (std::vector<std::string>{"b", "b", "c", "d"}));
    EXPECT_EQ(fields, (std::vector<std::string>{"keep._ts", "x", "", ""})) << "fields in key order";
    EXPECT_EQ(expected, (std::vector<std::string>{"1", "1", R"({"_id":"c"})", "(missing)"}));
    EXPECT_EQ(actual, (std::vector<std::string>{"2", "2", "(missing)", R"({"_id":"d"})"}));
    EXPECT_EQ(checks[1].at("verdict"), "failed");
    EXPECT_EQ(checks[2].at("verdict"), "passed");
    EXPECT_EQ(checks[2].at("role"), "sink");
    EXPECT_EQ(checks[3].at("verdict"), "skipped");
    EXPECT_EQ(report.at("summary").at("failed"), 2);

    const auto xml = slurp(path("r.xml"));
    EXPECT_NE(xml.find(R"(<testsuites name="sesam-emu.replay" tests="4" failures="2" skipped="1")"),
              std::string::npos)
        << xml;
    EXPECT_NE(xml.find(R"(<testcase classname="sesam-emu.replay.source" name="exchange 1: GET )"),
              std::string::npos)
        << xml;
}

TEST_F(ReplayAgainstTest, IgnoreFieldLeavesFieldsOutAndSameAnswersExitZero)
{
    write_fixture();
    ScriptedServer server(answer);
    auto r = emu("replay against " + path("f.jsonl") + " " + server.base_url() +
                 "/entities --ignore-field x --ignore-field '*._ts'");
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.out.find("DIFF  exchange 1: GET /entities?token=***: 2 entities differ: 1 "
                         "missing, 1 added (3 recorded, 3 received)\n"),
              std::string::npos)
        << r.out;
    EXPECT_EQ(r.out.find("field \"x\""), std::string::npos) << r.out;
    EXPECT_NE(r.err.find("warning: the recorded Authorization header was redacted and is not "
                         "sent; give it with --header 'Authorization: …'"),
              std::string::npos)
        << r.err;

    // The same service, answering as recorded: exit 0.
    std::ofstream(path("same.jsonl"))
        << kHeader << "\n"
        << exchange("GET",
                    "http://recorded.example:5000/entities",
                    200,
                    nlohmann::json::parse(R"([{"_id":"a","_ts":1},{"_id":"b"}])"));
    ScriptedServer same([](const RawRequest&, RawConnection& c) {
        c.write(ScriptedServer::response(200, R"([{"_id":"b"},{"_id":"a","_ts":2}])"));
    });
    auto ok = emu("replay against " + path("same.jsonl") + " " + same.base_url() + "/");
    EXPECT_EQ(ok.exit_code, 0) << ok.out << ok.err;
    EXPECT_NE(ok.out.find("SAME  exchange 1: GET /entities\n"), std::string::npos) << ok.out;
    EXPECT_EQ(same.requests().at(0).target, "/entities") << "a URL with path / keeps the paths";
}

TEST_F(ReplayAgainstTest, ACutShortBodyIsADifferenceAndTheReplayGoesOn)
{
    std::ofstream(path("f.jsonl"))
        << kHeader << "\n"
        << exchange("GET",
                    "http://recorded.example:5000/e?page=1",
                    200,
                    nlohmann::json::parse(R"([{"_id":"a"}])"))
        << exchange("GET", "http://recorded.example:5000/e?page=2", 200, nlohmann::json::array());
    ScriptedServer server([](const RawRequest& req, RawConnection& c) {
        if (req.target.find("page=1") != std::string::npos) {
            c.write("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100"
                    "\r\n\r\n[{\"_id\":");
            c.close();
            return;
        }
        c.write(ScriptedServer::response(200, "[]"));
    });
    auto r = emu("replay against " + path("f.jsonl") + " " + server.base_url() + "/e");
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
    EXPECT_TRUE(std::regex_search(
        r.out,
        std::regex(
            R"(DIFF  exchange 1: GET /e\?page=1: no complete response: connection closed after 8 body bytes, before the body was complete)")))
        << r.out;
    EXPECT_NE(r.out.find("SAME  exchange 2: GET /e?page=2\n"), std::string::npos) << r.out;
}

TEST_F(ReplayAgainstTest, NonJsonAndChangedTextBodiesDiffer)
{
    std::ofstream(path("f.jsonl")) << kHeader << "\n"
                                   << exchange("GET", "http://h/e", 200, nlohmann::json::array())
                                   << exchange("POST", "http://h/e?is_first=true", 200, "accepted");
    ScriptedServer server([](const RawRequest& req, RawConnection& c) {
        c.write(req.method == "GET" ? ScriptedServer::response(200, "<html>", "", "text/html")
                                    : ScriptedServer::response(200, "refused", "", "text/plain"));
    });
    auto r = emu("replay against " + path("f.jsonl") + " " + server.base_url() + "/e");
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.out.find("DIFF  exchange 1: GET /e: body: recorded JSON, received text "
                         "\"<html>\"\n"),
              std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("DIFF  exchange 2: POST /e?is_first=true: body: expected \"accepted\", "
                         "actual \"refused\"\n"),
              std::string::npos)
        << r.out;
}

TEST_F(ReplayAgainstTest, AnUnreachableServiceExitsThree)
{
    write_fixture();
    auto r = emu("replay against " + path("f.jsonl") + " http://127.0.0.1:9/entities");
    EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
    EXPECT_NE(r.out.find("FAIL  exchange 1: GET /entities?token=***: no response: connect to "
                         "127.0.0.1:9"),
              std::string::npos)
        << r.out;
    EXPECT_NE(r.err.find("sesam-emu replay: error: the service failed: no response: connect to "
                         "127.0.0.1:9"),
              std::string::npos)
        << r.err;
    EXPECT_NE(r.out.find("replay: 1 of 4 exchanges"), std::string::npos) << "it stops there";
}

TEST_F(ReplayAgainstTest, BadInputsExitTwoWithOneLine)
{
    write_fixture();
    std::ofstream(path("bad.jsonl")) << kHeader << "\n{oops\n";
    std::ofstream(path("empty.jsonl")) << kHeader << "\n";
    const std::string f = path("f.jsonl");
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"replay against " + path("bad.jsonl") + " http://127.0.0.1:9/",
         path("bad.jsonl") + ":2: not a JSON line"},
        {"replay against " + path("empty.jsonl") + " http://127.0.0.1:9/",
         path("empty.jsonl") + ": the fixture holds no exchanges"},
        {"replay against " + path("none.jsonl") + " http://127.0.0.1:9/",
         path("none.jsonl") + ": cannot read the fixture"},
        {"replay against " + f + " ftp://127.0.0.1:9/", "ftp://127.0.0.1:9/"},
        {"replay against " + f + " http://127.0.0.1:9/ --ignore-field 'a..b'",
         "field pattern 'a..b' is empty or has an empty segment (--ignore-field)"},
        {"replay against " + f + " http://127.0.0.1:9/ --report xml:r.xml",
         "--report 'xml:r.xml' is not junit:PATH, json:PATH or html:PATH"},
        {"replay against " + f, "URL is required"},
    };
    for (const auto& [args, message] : cases) {
        auto r = emu(args);
        EXPECT_EQ(r.exit_code, 2) << args << "\n" << r.err;
        const auto first_line = r.err.substr(0, r.err.find('\n'));
        EXPECT_NE(first_line.find("sesam-emu: error: "), std::string::npos) << r.err;
        EXPECT_NE(first_line.find(message), std::string::npos) << args << "\n" << r.err;
    }
}

TEST_F(ReplayAgainstTest, ExecStartsTheServiceAndRemovesIt)
{
    const auto port = std::to_string(testing::free_port());
    const auto serve = kBinary + " serve --port " + port;
    auto r = emu("replay against " + kRecordings + "source.jsonl http://127.0.0.1:" + port +
                 "/entities --exec '" + serve + "'");
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_NE(r.out.find("4 same, 0 differ"), std::string::npos) << r.out;
    EXPECT_NE(testing::run_command("pgrep -f '" + serve + "$'").exit_code, 0)
        << "the service is gone";

    // A service that differs: its last output lines come with the differences.
    std::ofstream(path("changed.json")) << R"([{"_id":"person-1","_updated":0}])";
    auto d = emu("replay against " + kRecordings + "source.jsonl http://127.0.0.1:" + port +
                 "/entities --exec '" + serve + " --data " + path("changed.json") + "'");
    EXPECT_EQ(d.exit_code, 1) << d.out << d.err;
    EXPECT_NE(d.err.find("sesam-emu replay: the service's last output lines:\nlistening on "),
              std::string::npos)
        << d.err;

    auto never = emu("replay against " + kRecordings + "source.jsonl http://127.0.0.1:" + port +
                     "/entities --exec false");
    EXPECT_EQ(never.exit_code, 3) << never.err;
    EXPECT_NE(never.err.find("the service exited with status 1 before it was ready"),
              std::string::npos)
        << never.err;
}

TEST_F(ReplayAgainstTest, AnswersAsOddAsTheRecordingAreTheSame)
{
    // Invalid UTF-8 was recorded as U+FFFD; a body that a transport error cut short was
    // recorded with its error: the same answers again are the same.
    std::ofstream(path("f.jsonl"))
        << kHeader << "\n"
        << exchange("GET", "http://h/text", 200, "caf\xef\xbf\xbd")
        << exchange("GET",
                    "http://h/cut",
                    200,
                    R"([{"_id":)",
                    R"({"error":{"code":"response body cut short","detail":"cut after 8 bytes"}})");
    ScriptedServer server([](const RawRequest& req, RawConnection& c) {
        if (req.target == "/text") {
            c.write(ScriptedServer::response(200, "caf\xff", "", "text/plain"));
            return;
        }
        c.write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n[{\"_id\":");
        c.close();
    });
    auto r = emu("replay against " + path("f.jsonl") + " " + server.base_url() + "/");
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_NE(r.out.find("SAME  exchange 1: GET /text\n"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("SAME  exchange 2: GET /cut: incomplete, as recorded: "),
              std::string::npos)
        << r.out;

    // The cut-short recording against a service that now answers whole: it differs.
    ScriptedServer fixed([](const RawRequest&, RawConnection& c) {
        c.write(ScriptedServer::response(200, "caf\xff", "", "text/plain"));
    });
    auto d = emu("replay against " + path("f.jsonl") + " " + fixed.base_url() + "/");
    EXPECT_EQ(d.exit_code, 1);
    EXPECT_NE(d.out.find("DIFF  exchange 2: GET /cut: recorded an incomplete response (response "
                         "body cut short: cut after 8 bytes); now a complete one, status 200\n"),
              std::string::npos)
        << d.out;
}

TEST_F(ReplayAgainstTest, TooDeepAnAnswerDiffersWithoutCrashing)
{
    std::ofstream(path("f.jsonl")) << kHeader << "\n"
                                   << exchange("GET", "http://h/e", 200, nlohmann::json::array());
    ScriptedServer server([](const RawRequest&, RawConnection& c) {
        c.write(ScriptedServer::response(200, std::string(100000, '[') + std::string(100000, ']')));
    });
    auto r = emu("replay against " + path("f.jsonl") + " " + server.base_url() + "/e");
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.out.find("DIFF  exchange 1: GET /e: status 200; body nested deeper than 512 "
                         "levels, not compared\n"),
              std::string::npos)
        << r.out;
}

TEST_F(ReplayAgainstTest, AReadTimeoutStopsTheReplayWithExitThree)
{
    write_fixture();
    ScriptedServer server(
        [](const RawRequest&, RawConnection&) { std::this_thread::sleep_for(1s); });
    auto r = emu("replay against " + path("f.jsonl") + " " + server.base_url() +
                 "/entities --read-timeout 0.2");
    EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
    EXPECT_NE(r.out.find("FAIL  exchange 1: GET /entities?token=***: no response: "),
              std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("replay: 1 of 4 exchanges: 0 same, 0 differ, 1 failed, 0 skipped"),
              std::string::npos)
        << r.out;
    EXPECT_EQ(server.requests().size(), 1u) << "it stops there";
}

TEST_F(ReplayAgainstTest, RedactedValuesSentAsRecordedAreNamedOnce)
{
    std::ofstream(path("f.jsonl"))
        << kHeader << "\n"
        << exchange("POST",
                    "http://h/e?key=***&page=1",
                    200,
                    "",
                    R"({"request_headers":[["X-Key","k-***"]],"request_body":"{\"a\":\"***\"}"})")
        << exchange("POST", "http://h/e?key=***&page=2", 200, "");
    ScriptedServer server([](const RawRequest&, RawConnection& c) {
        c.write(ScriptedServer::response(200, "", "", "text/plain"));
    });
    auto r = emu("replay against " + path("f.jsonl") + " " + server.base_url() + "/e");
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    const std::string prefix = "sesam-emu replay: warning: ";
    EXPECT_EQ(lines_starting(r.err, prefix),
              (std::vector<std::string>{
                  prefix + "the recorded X-Key header holds a redacted value (***) and is sent "
                           "as recorded; give it with --header 'X-Key: …'",
                  prefix + "the recorded query parameter key holds a redacted value (***) and "
                           "is sent as recorded; give it in URL (…?key=…)",
                  prefix + "recorded request bodies hold redacted values (***) and are sent as "
                           "recorded",
                  prefix + "the recorded Authorization header was redacted and is not sent; "
                           "give it with --header 'Authorization: …'",
              }))
        << r.err;
    auto given = emu("replay against " + path("f.jsonl") + " '" + server.base_url() +
                     "/e?key=k1' --header 'X-Key: k-2' --header 'Authorization: a'");
    EXPECT_EQ(lines_starting(given.err, prefix).size(), 1u) << "only the body is left" << given.err;
    EXPECT_EQ(server.requests().back().target, "/e?key=k1&page=2");
}

TEST_F(ReplayAgainstTest, SigtermWhileWaitingExits130)
{
    write_fixture();
    ScriptedServer server(
        [](const RawRequest&, RawConnection&) { std::this_thread::sleep_for(1s); });
    ChildProcess replay(kBinary + " replay against " + path("f.jsonl") + " " + server.base_url() +
                        "/entities");
    for (int i = 0; i < 500 && server.requests().empty(); ++i)
        std::this_thread::sleep_for(10ms);
    EXPECT_EQ(server.requests().size(), 1u) << "the first request is waiting for its answer";
    EXPECT_EQ(replay.terminate(), 130);
}

// The recordings in fixtures/recordings/ (scripts/record-fixtures) still match the reference
// service: replayed against it, every answer is as recorded.
TEST_F(ReplayAgainstTest, ShippedRecordingsMatchTheReferenceService)
{
    for (const auto& [role, path] : std::vector<std::pair<std::string, std::string>>{
             {"source", "entities"}, {"sink", "receiver"}, {"transform", "transform"}}) {
        RunningReferenceService service(reference::Dataset::load(kPeople));
        auto r =
            emu("replay against " + kRecordings + role + ".jsonl " + service.base_url() + path);
        EXPECT_EQ(r.exit_code, 0) << role << "\n" << r.out << r.err;
        EXPECT_NE(r.out.find(" 0 differ, 0 failed, 0 skipped"), std::string::npos) << r.out;
        EXPECT_EQ(lines_starting(r.out, "DIFF").size(), 0u) << r.out;
        EXPECT_GE(lines_starting(r.out, "SAME").size(), 3u) << r.out;
    }
}

// Served by `replay serve`, the same recordings stand in for the service: pull, push and
// transform run as they did against the reference service.
TEST_F(ReplayAgainstTest, ShippedRecordingsStandInForTheServiceForPullPushAndTransform)
{
    const auto serve = [](const std::string& role) {
        return std::make_unique<ChildProcess>(kBinary + " replay serve " + kRecordings + role +
                                              ".jsonl --port 0 --strict");
    };
    const auto url_of = [](ChildProcess& child) {
        const auto line = child.first_line();
        return line.rfind("listening on ", 0) == 0 ? line.substr(13) : std::string();
    };

    auto source = serve("source");
    auto url = url_of(*source);
    ASSERT_FALSE(url.empty());
    auto pull = emu("pull " + url + "entities --supports-since --is-chronological --page-size 5" +
                    " --state " + path("pull.db") + " -o " + path("pulled.json"));
    EXPECT_EQ(pull.exit_code, 0) << pull.err;
    EXPECT_NE(pull.err.find("pull: 14 entities (2 deleted), 4 requests"), std::string::npos)
        << pull.err;
    EXPECT_EQ(source->terminate(), 0) << "--strict: every request matched";

    auto sink = serve("sink");
    url = url_of(*sink);
    ASSERT_FALSE(url.empty());
    auto push = emu("push " + url + "receiver --input " + kPeople + " --batch-size 5 --state " +
                    path("push.db"));
    EXPECT_EQ(push.exit_code, 0) << push.err;
    EXPECT_NE(push.err.find("push: full sync, 12 entities acknowledged (2 deleted), 0 failed, 4 "
                            "requests"),
              std::string::npos)
        << push.err;
    EXPECT_EQ(sink->terminate(), 0);

    auto transform = serve("transform");
    url = url_of(*transform);
    ASSERT_FALSE(url.empty());
    auto t = emu("transform " + url + "transform --input " + kPeople + " --batch-size 5 -o " +
                 path("out.json"));
    EXPECT_EQ(t.exit_code, 0) << t.err;
    const auto out = nlohmann::json::parse(slurp(path("out.json")), nullptr, false);
    ASSERT_TRUE(out.is_array()) << slurp(path("out.json"));
    EXPECT_EQ(out.size(), 14u);
    EXPECT_EQ(out.at(0).at("transformed"), true) << "the recorded reference transform's answer";
    EXPECT_EQ(transform->terminate(), 0);
}

} // namespace
} // namespace sesam::harness
