// Inputs the fuzz targets in tests/fuzz/ found, kept as ordinary tests (tests/fuzz/README.md):
// each test names the target and the property that failed.
#include "emulator/entity/transit.hpp"
#include "emulator/http/beast_transport.hpp"
#include "emulator/http/url.hpp"
#include "harness/fixture/fixture_reader.hpp"
#include "harness/fixture/replay_index.hpp"
#include "tests/support/scripted_server.hpp"

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <unistd.h>

namespace sesam::emulator {
namespace {

using testing::RawConnection;
using testing::RawRequest;
using testing::ScriptedServer;

struct HeadSink final : ResponseSink {
    HttpResponseHead head;
    std::string body;
    void on_head(const HttpResponseHead& h) override { head = h; }
    bool on_body(std::string_view bytes) override
    {
        body.append(bytes);
        return true;
    }
};

// transit, "encode_datetime of a year 0001-9999 decodes": seconds before 1970 whose remainder of a
// day is -86399, with nanos below -1e9, borrowed two seconds and left second_of_day at -86401,
// one day's carry short; the text had an hour of -1 and did not decode.
TEST(FuzzRegressions, EncodeDatetimeCarriesEveryBorrowedSecond)
{
    // -51517382399 s and -1280049285 ns: the instant -51517382401 s + 719950715 ns.
    const std::string text = encode_datetime(-51517382399, -1280049285);
    EXPECT_EQ(text, "0337-06-24T23:59:59.719950715Z");
    const auto decoded = decode_transit("~t" + text);
    ASSERT_TRUE(std::holds_alternative<TransitValue>(decoded));
    EXPECT_EQ(std::get<TransitValue>(decoded).seconds, -51517382401);
    EXPECT_EQ(std::get<TransitValue>(decoded).nanos, 719950715);
    EXPECT_EQ(encode_datetime(-86399, -1'999'999'999), "1969-12-30T23:59:59.000000001Z");
}

// http_response, "the answer is the head on_head saw": the trailer fields of a chunked body were
// appended to the head after the sink had it, so send() returned another head than on_head saw,
// with the trailer fields as if they were headers.
TEST(FuzzRegressions, ChunkedTrailerFieldsAreNotMergedIntoTheHead)
{
    ScriptedServer server([](const RawRequest&, RawConnection& c) {
        c.write("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: "
                "chunked\r\n\r\n5;ext=1\r\n[{\"_i\r\nb\r\nd\":\"a\"}]   \r\n0\r\nX-Trailer: "
                "1\r\nContent-Encoding: gzip\r\n\r\n");
    });
    boost::asio::io_context ioc;
    BeastTransport transport(ioc,
                             TransportOptions{std::chrono::seconds(5), std::chrono::seconds(5)});
    HttpRequest request;
    request.url = server.base_url() + "/entities";
    HeadSink sink;
    const auto result = transport.send(request, sink);
    ASSERT_TRUE(result) << result.error().detail;
    EXPECT_EQ(sink.body, "[{\"_id\":\"a\"}]   ");
    EXPECT_EQ(result->headers.size(), sink.head.headers.size());
    EXPECT_FALSE(find_header(result->headers, "X-Trailer"));
    EXPECT_FALSE(find_header(result->headers, "Content-Encoding"));
}

// fixture_reader, "a recorded request, replayed in order, gets its own recorded answer": Boost.URL
// 1.81 ends a port at its first non-digit and takes the rest for the path, so
// `http://127.0.0.1:3357&3/transform` passed as port 3357 with the path `&3/transform`: the
// transport would send that as the request target, and replay never matched it. A typo in a
// port (`:50O0`) silently went to another port.
TEST(FuzzRegressions, AUrlWhosePortIsNotANumberIsRefused)
{
    for (const char* url : {"http://127.0.0.1:3357&3/transform",
                            "http://localhost:50O0/entities",
                            "http://h:80x",
                            "http://h:8a?x=1"}) {
        const auto bad = check_http_url(url);
        ASSERT_TRUE(bad) << url;
        EXPECT_EQ(bad->message,
                  "'" + std::string(url) +
                      "': the port is not a number, or the path does not start with '/'");
    }
    for (const char* url :
         {"http://h", "http://h:80", "http://h:80/a", "http://h?x", "http://[::1]:5/"})
        EXPECT_FALSE(check_http_url(url)) << url;

    const auto path = std::filesystem::temp_directory_path() /
                      ("sesam-fuzz-regression-" + std::to_string(::getpid()) + ".jsonl");
    std::ofstream(path)
        << R"({"format_version":1})"
        << "\n"
        << R"({"method":"POST","url":"http://127.0.0.1:3357&3/transform","status":200})"
        << "\n";
    EXPECT_THROW(harness::read_fixture(path.string()), harness::FixtureError);
    std::filesystem::remove(path);
}

// fixture_reader, "a recorded request, replayed in order, gets its own recorded answer": a
// recorded URL with an empty query and a fragment (`http://h?#x=1`).
TEST(FuzzRegressions, ARecordedUrlWithAnEmptyQueryAndAFragmentIsReplayed)
{
    const auto path = std::filesystem::temp_directory_path() /
                      ("sesam-fuzz-regression-" + std::to_string(::getpid()) + ".jsonl");
    std::ofstream(path)
        << R"({"format_version":1})"
        << "\n"
        << R"({"method":"GET","url":"http://response_hees?#ince=3&request_id=9",)"
        << R"("status":200,"response_body":[{"_id":"a"}],"response_body_type":"json"})"
        << "\n";
    auto index = harness::ReplayIndex::load(path.string());
    const auto target = request_target("http://response_hees?#ince=3&request_id=9");
    const auto match = index.match("GET", target);
    EXPECT_TRUE(match.exchange != nullptr) << target;
    std::filesystem::remove(path);
}

// node_config, "only ConfigError escapes": a component whose `type` is not a string
// (`"type": 10`) made json::value throw type_error out of make_plan (exit 4, "internal error").
TEST(FuzzRegressions, AComponentTypeThatIsNotAStringIsAConfigurationError)
{
    const auto path = std::filesystem::temp_directory_path() /
                      ("sesam-fuzz-regression-" + std::to_string(::getpid()) + ".json");
    std::ofstream(path) << R"([{"_id": "p", "type": "pipe", "source": {"type": 10}},
                              {"_id": "q", "type": "pipe", "source": {"type": "embedded"},
                               "transform": [{"type": ["dtl"]}]}])";
    const auto r = testing::run_command(std::string(SESAM_EMU_BINARY) + " plan " + path.string());
    EXPECT_EQ(r.exit_code, 2) << r.err;
    const auto name = path.filename().string();
    EXPECT_EQ(r.err,
              "sesam-emu: error: " + name +
                  ": /0/source/type: must be a string naming the source "
                  "type\nsesam-emu: error: " +
                  name +
                  ": /1/transform/0/type: must be a string "
                  "naming the transform type\n");
    std::filesystem::remove(path);
}

} // namespace
} // namespace sesam::emulator
