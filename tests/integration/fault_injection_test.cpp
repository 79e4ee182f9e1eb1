// The transport's fault injection (HttpRequest::cut_after_body_bytes) and what it does with a
// connection whose response the sink stopped reading: both leave nothing half-used behind.
#include "emulator/http/beast_transport.hpp"
#include "tests/support/scripted_server.hpp"

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

namespace sesam::emulator {
namespace {

using namespace std::chrono_literals;
using testing::RawConnection;
using testing::RawRequest;
using testing::ScriptedServer;

struct Collect final : ResponseSink {
    std::string body;
    bool stop = false; ///< stop at the first body bytes
    void on_head(const HttpResponseHead&) override {}
    bool on_body(std::string_view bytes) override
    {
        body.append(bytes);
        return !stop;
    }
};

class FaultInjectionTest : public ::testing::Test {
protected:
    BeastTransport make() { return BeastTransport(ioc, TransportOptions{5s, 5s}); }
    static HttpRequest post(const std::string& url, std::string body)
    {
        HttpRequest r;
        r.method = "POST";
        r.url = url;
        r.headers.push_back({"Content-Type", "application/json"});
        r.body = std::move(body);
        return r;
    }
    boost::asio::io_context ioc;
};

ScriptedServer ok_server()
{
    return ScriptedServer(
        [](const RawRequest&, RawConnection& c) { c.write(ScriptedServer::response(200, "{}")); });
}

TEST_F(FaultInjectionTest, ACutRequestAnnouncesTheWholeBodySendsPartAndCloses)
{
    auto server = ok_server();
    auto t = make();
    auto request = post(server.base_url() + "/receiver", std::string(1000, 'x'));
    request.cut_after_body_bytes = 400;
    Collect sink;
    auto r = t.send(request, sink);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, TransportErrc::aborted);
    EXPECT_EQ(r.error().detail,
              "cut the request after 400 of 1000 body bytes and closed the connection, as asked");
    EXPECT_TRUE(sink.body.empty()) << "no answer is read";

    // The next request goes out whole, on a new connection: the cut one is gone.
    request.cut_after_body_bytes.reset();
    auto whole = t.send(request, sink);
    ASSERT_TRUE(whole) << whole.error().detail;
    EXPECT_EQ(whole->status, 200);

    const auto requests = server.requests();
    ASSERT_EQ(requests.size(), 2u);
    EXPECT_NE(requests[0].head.find("Content-Length: 1000\r\n"), std::string::npos)
        << requests[0].head;
    EXPECT_EQ(requests[0].body, std::string(400, 'x')) << "the server saw EOF after 400 bytes";
    EXPECT_EQ(requests[1].body, std::string(1000, 'x'));
    EXPECT_EQ(server.connections(), 2u);
    EXPECT_EQ(t.connections_opened(), 2u);
}

TEST_F(FaultInjectionTest, ACutNeverGoesOutOnAPooledConnection)
{
    // A pooled connection the service had closed would swallow the cut unseen: always a new one.
    auto server = ok_server();
    auto t = make();
    Collect sink;
    ASSERT_TRUE(t.send(post(server.base_url() + "/r", "[]"), sink));
    auto request = post(server.base_url() + "/r", "[1,2,3,4]");
    request.cut_after_body_bytes = 4;
    EXPECT_FALSE(t.send(request, sink));
    EXPECT_EQ(t.connections_opened(), 2u);
    ASSERT_TRUE(t.send(post(server.base_url() + "/r", "[]"), sink));
    EXPECT_EQ(t.connections_opened(), 3u);
    const auto requests = server.requests();
    ASSERT_EQ(requests.size(), 3u);
    EXPECT_EQ(requests[1].body, "[1,2");
}

TEST_F(FaultInjectionTest, ACutAtOrPastTheEndSendsTheWholeBodyAndReadsNoAnswer)
{
    auto server = ok_server();
    auto t = make();
    auto request = post(server.base_url() + "/r", "[]");
    request.cut_after_body_bytes = 10;
    Collect sink;
    auto r = t.send(request, sink);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, TransportErrc::aborted);
    EXPECT_NE(r.error().detail.find("after 2 of 2 body bytes"), std::string::npos)
        << r.error().detail;
    EXPECT_TRUE(sink.body.empty());
}

TEST_F(FaultInjectionTest, ACutToANonListeningPortIsAConnectError)
{
    auto t = make();
    auto request = post("http://127.0.0.1:" + std::to_string(testing::free_port()) + "/r", "[1]");
    request.cut_after_body_bytes = 1;
    Collect sink;
    auto r = t.send(request, sink);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, TransportErrc::connect_failed) << r.error().detail;
}

TEST_F(FaultInjectionTest, AResponseTheSinkStoppedReadingIsNeverReused)
{
    // The connection still has the rest of the body on it: the next request must not read it as
    // its answer.
    ScriptedServer server([](const RawRequest& r, RawConnection& c) {
        if (r.target == "/half") {
            c.write("HTTP/1.1 200 OK\r\nContent-Length: 2000\r\n\r\n" + std::string(1000, 'a'));
            std::this_thread::sleep_for(50ms);
            c.write(std::string(1000, 'b'));
            return;
        }
        c.write(ScriptedServer::response(200, "[]"));
    });
    auto t = make();
    HttpRequest get;
    get.url = server.base_url() + "/half";
    Collect stopped;
    stopped.stop = true;
    auto r = t.send(get, stopped);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, TransportErrc::aborted);

    get.url = server.base_url() + "/next";
    Collect next;
    auto again = t.send(get, next);
    ASSERT_TRUE(again) << again.error().detail;
    EXPECT_EQ(again->status, 200);
    EXPECT_EQ(next.body, "[]");
    EXPECT_EQ(t.connections_opened(), 2u);
    EXPECT_EQ(server.connections(), 2u);
}

} // namespace
} // namespace sesam::emulator
