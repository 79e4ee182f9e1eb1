// `sesam-emu replay serve`: a recorded pull replayed gives the same run, without the service.
#include "tests/support/cli_fixture.hpp"
#include "tests/support/scripted_server.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

namespace sesam::harness {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using testing::ChildProcess;
using testing::CommandResult;
using testing::run_command;

constexpr std::string_view kListening = "listening on ";

struct Reply {
    unsigned status = 0;
    std::string content_type;
    std::string body;
};

/// One GET over a fresh connection; `base` is `http://127.0.0.1:PORT/`.
Reply get(const std::string& base, const std::string& target)
{
    const auto port = static_cast<unsigned short>(
        std::stoi(base.substr(base.rfind(':') + 1, base.size() - base.rfind(':') - 2)));
    asio::io_context ioc;
    asio::ip::tcp::socket socket(ioc);
    socket.connect({asio::ip::make_address("127.0.0.1"), port});
    http::request<http::empty_body> req{http::verb::get, target, 11};
    req.set(http::field::host, "127.0.0.1");
    req.keep_alive(false);
    http::write(socket, req);
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(socket, buffer, res);
    return {res.result_int(), std::string(res[http::field::content_type]), res.body()};
}

using testing::CliFixture;
using testing::kBinary;

class ReplayServeTest : public CliFixture {
protected:
    static std::string base_url(ChildProcess& child)
    {
        const auto line = child.first_line();
        EXPECT_EQ(line.rfind(std::string(kListening) + "http://127.0.0.1:", 0), 0u) << line;
        return line.size() > kListening.size() ? line.substr(kListening.size()) : "";
    }

    /// Records a paged pull of the reference service into f.jsonl; returns the entities.
    nlohmann::json record()
    {
        ChildProcess serve(kBinary + " serve --port 0 --quiet");
        const auto url = base_url(serve) + "entities";
        auto r = emu("pull " + url + kPullFlags + " --state " + path("s1.db") + " -o " +
                     path("recorded.json") + " --record " + path("f.jsonl"));
        EXPECT_EQ(r.exit_code, 0) << r.err;
        return nlohmann::json::parse(slurp(path("recorded.json")), nullptr, false);
    }

    static constexpr const char* kPullFlags = " --supports-since --is-chronological --page-size 4";
};

TEST_F(ReplayServeTest, ReplayedPullGivesTheSameEntities)
{
    const auto recorded = record();
    ASSERT_TRUE(recorded.is_array());
    ASSERT_EQ(recorded.size(), 14u);

    ChildProcess replay(kBinary + " replay serve " + path("f.jsonl") + " --port 0");
    const auto base = base_url(replay);
    ASSERT_FALSE(base.empty());
    auto r = emu("pull " + base + "entities" + kPullFlags + " --state " + path("s2.db") + " -o " +
                 path("replayed.json"));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find("pull: 14 entities (2 deleted), 5 requests"), std::string::npos) << r.err;
    EXPECT_EQ(nlohmann::json::parse(slurp(path("replayed.json"))), recorded);

    auto again = emu("pull " + base + "entities" + kPullFlags + " --state " + path("s3.db") +
                     " -o " + path("again.json"));
    ASSERT_EQ(again.exit_code, 0) << again.err;
    EXPECT_EQ(nlohmann::json::parse(slurp(path("again.json"))), recorded)
        << "after the recorded responses run out, the last ones repeat";

    EXPECT_EQ(replay.terminate(), 0);
}

TEST_F(ReplayServeTest, UnmatchedRequestGets501WithTheNearest)
{
    record();
    ChildProcess replay(kBinary + " replay serve " + path("f.jsonl") + " --port 0");
    const auto base = base_url(replay);
    ASSERT_FALSE(base.empty());
    const auto reply = get(base, "/entities?limit=4&since=999");
    EXPECT_EQ(reply.status, 501u);
    EXPECT_EQ(reply.content_type, "application/json");
    const auto body = nlohmann::json::parse(reply.body, nullptr, false);
    ASSERT_TRUE(body.is_object()) << reply.body;
    EXPECT_EQ(body["error"], "no recorded exchange matches");
    EXPECT_EQ(body["request"], "GET /entities?limit=4&since=999");
    ASSERT_TRUE(body["nearest"].is_string()) << reply.body;
    EXPECT_EQ(body["nearest"].get<std::string>().rfind("GET /entities?", 0), 0u) << reply.body;
    EXPECT_NE(body["nearest"].get<std::string>().find("limit=4"), std::string::npos) << reply.body;
    EXPECT_EQ(replay.terminate(), 0) << "without --strict, unmatched requests do not fail";
}

TEST_F(ReplayServeTest, StrictExitsOneAfterAnUnmatchedRequest)
{
    record();
    {
        ChildProcess clean(kBinary + " replay serve " + path("f.jsonl") + " --port 0 --strict");
        ASSERT_FALSE(base_url(clean).empty());
        EXPECT_EQ(clean.terminate(), 0);
    }
    ChildProcess strict(kBinary + " replay serve " + path("f.jsonl") + " --port 0 --strict");
    const auto base = base_url(strict);
    ASSERT_FALSE(base.empty());
    EXPECT_EQ(get(base, "/nowhere").status, 501u);
    EXPECT_EQ(strict.terminate(), 1);
}

TEST_F(ReplayServeTest, ABadFixtureLineExitsTwoNamingTheLine)
{
    std::ofstream(path("bad.jsonl"))
        << R"({"format_version":1,"sesam_emu_version":"0.1.0","command_line":"x"})"
        << "\n"
        << R"({"method":"GET","url":"http://h/a","status":200,"response_body":"","response_body_type":"text"})"
        << "\n{oops\n";
    auto r = emu("replay serve " + path("bad.jsonl") + " --port 0");
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("sesam-emu: error: " + path("bad.jsonl") + ":3: not a JSON line"),
              std::string::npos)
        << r.err;
    EXPECT_EQ(r.out, "");

    std::ofstream(path("v2.jsonl")) << R"({"format_version":2})"
                                    << "\n";
    auto v2 = emu("replay serve " + path("v2.jsonl") + " --port 0");
    EXPECT_EQ(v2.exit_code, 2);
    EXPECT_NE(v2.err.find(path("v2.jsonl") + ":1: format_version 2"), std::string::npos) << v2.err;
}

} // namespace
} // namespace sesam::harness
