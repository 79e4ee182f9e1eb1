// Inputs the fuzz targets in tests/fuzz/ found, kept as ordinary tests (tests/fuzz/README.md):
// each test names the target and the property that failed.
#include "emulator/http/beast_transport.hpp"
#include "emulator/http/url.hpp"
#include "harness/fixture/fixture_reader.hpp"
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

} // namespace
} // namespace sesam::emulator
