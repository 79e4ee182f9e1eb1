// Recording a run into a fixture: every field of the format, and no secret in the file.
#include "emulator/http/beast_transport.hpp"
#include "emulator/pull/pull_client.hpp"
#include "harness/fixture/fixture_reader.hpp"
#include "harness/fixture/fixture_writer.hpp"
#include "harness/fixture/recording_transport.hpp"
#include "tests/support/reference_fixture.hpp"
#include "tests/support/scripted_server.hpp"

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

namespace sesam::harness {
namespace {

using namespace std::chrono_literals;
namespace em = sesam::emulator;
using testing::RawConnection;
using testing::RawRequest;
using testing::RunningReferenceService;
using testing::ScriptedServer;

reference::Dataset numbered(int n)
{
    std::string lines;
    for (int i = 0; i < n; ++i)
        lines += nlohmann::json{{"_id", "e" + std::to_string(i)}, {"n", i}}.dump() + "\n";
    return reference::Dataset::parse(lines, "test");
}

std::string slurp(const std::string& file)
{
    std::ifstream in(file, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

std::vector<nlohmann::json> lines_of(const std::string& file)
{
    std::vector<nlohmann::json> out;
    std::istringstream in(slurp(file));
    for (std::string line; std::getline(in, line);)
        out.push_back(nlohmann::json::parse(line));
    return out;
}

std::optional<std::string> header(const nlohmann::json& headers, const std::string& name)
{
    for (const auto& h : headers)
        if (h.at(0).get<std::string>() == name)
            return h.at(1).get<std::string>();
    return std::nullopt;
}

class RecordingTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        dir = std::filesystem::temp_directory_path() /
              ("sesam-rec-" +
               std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "-" +
               std::to_string(::getpid()));
        std::filesystem::remove_all(dir);
        std::filesystem::create_directories(dir);
    }
    void TearDown() override { std::filesystem::remove_all(dir); }
    std::string path(const std::string& name) const { return (dir / name).string(); }

    /// Pulls `url` through a RecordingTransport around a BeastTransport; returns the ids.
    std::vector<std::string> record_pull(const std::string& url,
                                         const std::string& fixture,
                                         std::size_t body_cap = RecordingTransport::kDefaultBodyCap)
    {
        boost::asio::io_context ioc;
        em::BeastTransport beast(ioc, em::TransportOptions{5s, 5s});
        Redactor redactor;
        redactor.add_secret("tok-1");
        RecordingTransport recorder(
            beast, FixtureWriter(fixture, "sesam-emu pull x"), std::move(redactor), body_cap);
        em::PullOptions options;
        options.url = url;
        options.headers = {{"Authorization", "Bearer tok-1"}, {"X-Test", "yes"}};
        em::PullClient client(recorder, nullptr, options);
        std::vector<std::string> ids;
        auto report = client.run("pipe", [&](const em::EntityView& e) { ids.push_back(e.id); });
        EXPECT_TRUE(report.ok()) << report.failure->message;
        EXPECT_FALSE(recorder.error());
        return ids;
    }

    std::filesystem::path dir;
};

TEST_F(RecordingTest, PullAgainstReferenceServiceRecordsEveryField)
{
    RunningReferenceService service(numbered(3));
    const auto url = service.base_url() + "entities?tok=tok-1";
    const auto ids = record_pull(url, path("f.jsonl"));
    EXPECT_EQ(ids, (std::vector<std::string>{"e0", "e1", "e2"}));

    const auto lines = lines_of(path("f.jsonl"));
    ASSERT_EQ(lines.size(), 2u) << "a header line and one exchange";
    const auto& head = lines[0];
    EXPECT_EQ(head.at("format_version"), 1);
    EXPECT_EQ(head.at("sesam_emu_version"), SESAM_EMU_VERSION);
    EXPECT_EQ(head.at("command_line"), "sesam-emu pull x");

    const auto& x = lines[1];
    EXPECT_EQ(x.at("method"), "GET");
    EXPECT_EQ(x.at("url"), service.base_url() + "entities?tok=***")
        << "the URL with its query, secrets masked";
    EXPECT_EQ(header(x.at("request_headers"), "Authorization"), "***");
    EXPECT_EQ(header(x.at("request_headers"), "X-Test"), "yes");
    EXPECT_EQ(x.at("request_body"), "");
    EXPECT_EQ(x.at("request_body_type"), "text");
    EXPECT_EQ(x.at("status"), 200);
    EXPECT_EQ(x.at("reason"), "OK");
    const auto type = header(x.at("response_headers"), "Content-Type");
    ASSERT_TRUE(type);
    EXPECT_NE(type->find("application/json"), std::string::npos);
    EXPECT_EQ(x.at("response_body_type"), "json");
    ASSERT_TRUE(x.at("response_body").is_array());
    ASSERT_EQ(x.at("response_body").size(), 3u);
    EXPECT_EQ(x.at("response_body")[1].at("_id"), "e1");
    EXPECT_EQ(x.at("response_body")[1].at("n"), 1);
    EXPECT_EQ(x.at("body_truncated"), false);
    EXPECT_TRUE(x.at("elapsed_ms").is_number());
    EXPECT_GE(x.at("elapsed_ms").get<double>(), 0.0);
    EXPECT_TRUE(x.at("error").is_null());
}

TEST_F(RecordingTest, ABodyBeyondTheCapIsTruncatedInTheFixtureOnly)
{
    RunningReferenceService service(numbered(50));
    const auto ids = record_pull(service.base_url() + "entities", path("f.jsonl"), 16);
    EXPECT_EQ(ids.size(), 50u) << "the client still receives the whole body";
    const auto lines = lines_of(path("f.jsonl"));
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_EQ(lines[1].at("body_truncated"), true);
    EXPECT_EQ(lines[1].at("response_body_type"), "text");
    EXPECT_EQ(lines[1].at("response_body").get<std::string>().size(), 16u);
}

TEST_F(RecordingTest, AFailedExchangeIsRecordedWithItsError)
{
    boost::asio::io_context ioc;
    em::BeastTransport beast(ioc, em::TransportOptions{5s, 5s});
    {
        RecordingTransport recorder(beast, FixtureWriter(path("f.jsonl"), ""), Redactor());
        auto r = recorder.fetch(em::HttpRequest{"GET", "http://127.0.0.1:9/e", {}, ""});
        EXPECT_TRUE(r.has_error());
    }
    const auto lines = lines_of(path("f.jsonl"));
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_TRUE(lines[1].at("status").is_null());
    EXPECT_FALSE(lines[1].at("error").is_null());
}

// What RecordingTransport writes, read_fixture reads back: every field of every exchange.
TEST_F(RecordingTest, AFixtureRoundTripsThroughTheReader)
{
    ScriptedServer server([](const RawRequest& req, RawConnection& c) {
        if (req.method == "POST")
            c.write(
                ScriptedServer::response(409, "stale sequence", "X-Note: tok-1\r\n", "text/plain"));
        else
            c.write(ScriptedServer::response(200, R"([{"_id":"a","n":1.5}])"));
    });
    boost::asio::io_context ioc;
    em::BeastTransport beast(ioc, em::TransportOptions{5s, 5s});
    {
        Redactor redactor;
        redactor.add_secret("tok-1");
        RecordingTransport recorder(
            beast, FixtureWriter(path("f.jsonl"), "sesam-emu push x"), std::move(redactor));
        const auto base = server.base_url();
        EXPECT_TRUE(recorder.fetch({"GET", base + "/e?since=3", {{"X-A", "1"}}, ""}).has_value());
        EXPECT_TRUE(recorder
                        .fetch({"POST",
                                base + "/r?is_first=true",
                                {{"Content-Type", "application/json"}},
                                R"([{"_id":"a"}])"})
                        .has_value());
        EXPECT_TRUE(recorder.fetch({"GET", "http://127.0.0.1:9/e", {}, ""}).has_error());
    }
    const auto f = read_fixture(path("f.jsonl"));
    EXPECT_EQ(f.header.format_version, 1);
    EXPECT_EQ(f.header.sesam_emu_version, SESAM_EMU_VERSION);
    EXPECT_EQ(f.header.command_line, "sesam-emu push x");
    ASSERT_EQ(f.exchanges.size(), 3u);

    const auto& get = f.exchanges[0];
    EXPECT_EQ(get.line, 2u);
    EXPECT_EQ(get.method, "GET");
    EXPECT_EQ(get.url, server.base_url() + "/e?since=3");
    EXPECT_EQ(get.request_headers, (decltype(get.request_headers){{"X-A", "1"}}));
    EXPECT_FALSE(get.request_body.json);
    EXPECT_EQ(get.request_body.text, "");
    EXPECT_EQ(get.status, 200u);
    EXPECT_EQ(get.reason, "OK");
    EXPECT_TRUE(get.response_body.json);
    EXPECT_EQ(get.response_body.text, R"([{"_id":"a","n":1.5}])");
    EXPECT_FALSE(get.body_truncated);
    EXPECT_GE(get.elapsed_ms, 0.0);
    EXPECT_FALSE(get.error);

    const auto& post = f.exchanges[1];
    EXPECT_EQ(post.method, "POST");
    EXPECT_TRUE(post.request_body.json);
    EXPECT_EQ(post.request_body.text, R"([{"_id":"a"}])");
    EXPECT_EQ(post.status, 409u);
    EXPECT_FALSE(post.response_body.json);
    EXPECT_EQ(post.response_body.text, "stale sequence");
    const auto note = std::find_if(post.response_headers.begin(),
                                   post.response_headers.end(),
                                   [](const auto& h) { return h.first == "X-Note"; });
    ASSERT_NE(note, post.response_headers.end());
    EXPECT_EQ(note->second, "***") << "the secret in a response header stays masked";

    const auto& failed = f.exchanges[2];
    EXPECT_FALSE(failed.status);
    ASSERT_TRUE(failed.error);
    EXPECT_EQ(failed.error->code, "connection failed");
    EXPECT_NE(failed.error->detail.find("connect to 127.0.0.1:9"), std::string::npos)
        << failed.error->detail;
}

TEST_F(RecordingTest, JsonTooDeepToWriteAsJsonIsRecordedAsText)
{
    const std::string deep = std::string(100000, '[') + std::string(100000, ']');
    ScriptedServer server(
        [&](const RawRequest&, RawConnection& c) { c.write(ScriptedServer::response(200, deep)); });
    boost::asio::io_context ioc;
    em::BeastTransport beast(ioc, em::TransportOptions{5s, 5s});
    {
        RecordingTransport recorder(beast, FixtureWriter(path("f.jsonl"), ""), Redactor());
        EXPECT_TRUE(recorder.fetch({"GET", server.base_url() + "/e", {}, ""}).has_value());
        EXPECT_FALSE(recorder.error());
    }
    const auto f = read_fixture(path("f.jsonl"));
    ASSERT_EQ(f.exchanges.size(), 1u);
    EXPECT_FALSE(f.exchanges[0].response_body.json);
    EXPECT_EQ(f.exchanges[0].response_body.text, deep);
}

TEST_F(RecordingTest, AFixtureThatCannotBeCreatedThrowsNamingThePath)
{
    try {
        FixtureWriter writer(path("no/such/dir/f.jsonl"), "");
        FAIL() << "expected std::runtime_error";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find(path("no/such/dir/f.jsonl")), std::string::npos)
            << e.what();
    }
}

// Issue 5: no secret given in any of the four ways reaches the fixture, wherever it appears.
TEST_F(RecordingTest, CliRecordKeepsEverySecretOutOfTheFixture)
{
    ScriptedServer server([](const RawRequest&, RawConnection& c) {
        c.write(ScriptedServer::response(
            200, R"([{"_id":"a","echo":"s3cr3t-C"}])", "X-Echo: s3cr3t-D\r\n"));
    });
    const std::string command =
        "MY_SECRET=s3cr3t-C " + std::string(SESAM_EMU_BINARY) + " pull '" + server.base_url() +
        "/e?token=s3cr3t-B' --header 'Authorization: Bearer s3cr3t-A' --header "
        "'X-Api-Key: s3cr3t-D' --secret token=s3cr3t-B --secret-env MY_SECRET "
        "--redact-header X-Api-Key --record " +
        path("f.jsonl") + " -o " + path("out.json") + " --state " + path("s.db");
    const auto r = testing::run_command(command);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    ASSERT_NE(slurp(path("out.json")).find("s3cr3t-C"), std::string::npos)
        << "the service did echo the secret";
    ASSERT_EQ(server.requests().size(), 1u);
    ASSERT_NE(server.requests()[0].head.find("s3cr3t-A"), std::string::npos)
        << "the secrets were really sent";

    const auto bytes = slurp(path("f.jsonl"));
    for (const auto* secret : {"s3cr3t-A", "s3cr3t-B", "s3cr3t-C", "s3cr3t-D"})
        EXPECT_EQ(bytes.find(secret), std::string::npos) << secret << " in:\n" << bytes;
    EXPECT_NE(bytes.find("***"), std::string::npos);
    const auto lines = lines_of(path("f.jsonl"));
    ASSERT_EQ(lines.size(), 2u) << bytes;
    EXPECT_NE(lines[0].at("command_line").get<std::string>().find("--record"), std::string::npos);
    EXPECT_EQ(lines[1].at("response_body")[0].at("echo"), "***");
}

} // namespace
} // namespace sesam::harness
