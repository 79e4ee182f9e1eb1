#include "emulator/http/beast_transport.hpp"
#include "tests/support/scripted_server.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <atomic>
#include <chrono>
#include <netinet/in.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace sesam::emulator {
namespace {

using namespace std::chrono_literals;
using testing::RawConnection;
using testing::RawRequest;
using testing::ScriptedServer;

struct Collect final : ResponseSink {
    HttpResponseHead head;
    std::string body;
    std::size_t calls = 0;
    bool stop_after_first = false;
    void on_head(const HttpResponseHead& h) override { head = h; }
    bool on_body(std::string_view bytes) override
    {
        ++calls;
        body.append(bytes);
        return !stop_after_first;
    }
};

class BeastTransportTest : public ::testing::Test {
protected:
    BeastTransport make(std::chrono::milliseconds read_timeout = 5s,
                        std::chrono::milliseconds connect_timeout = 5s)
    {
        return BeastTransport(ioc, TransportOptions{connect_timeout, read_timeout});
    }
    static HttpRequest get(const std::string& url)
    {
        HttpRequest r;
        r.url = url;
        return r;
    }
    boost::asio::io_context ioc;
};

TEST_F(BeastTransportTest, KeepAliveReusesOneConnection)
{
    ScriptedServer server(
        [](const RawRequest&, RawConnection& c) { c.write(ScriptedServer::response(200, "[]")); });
    auto t = make();
    for (int i = 0; i < 3; ++i) {
        Collect sink;
        auto r = t.send(get(server.base_url() + "/e"), sink);
        ASSERT_TRUE(r) << r.error().detail;
        EXPECT_EQ(r->status, 200);
        EXPECT_EQ(sink.body, "[]");
    }
    EXPECT_EQ(server.connections(), 1u);
    EXPECT_EQ(t.connections_opened(), 1u);
}

TEST_F(BeastTransportTest, ConnectionCloseOpensANewConnectionPerRequest)
{
    ScriptedServer server([](const RawRequest&, RawConnection& c) {
        c.write(ScriptedServer::response(200, "[1]", "Connection: close\r\n"));
        c.close();
    });
    auto t = make();
    for (int i = 0; i < 3; ++i) {
        Collect sink;
        auto r = t.send(get(server.base_url() + "/e"), sink);
        ASSERT_TRUE(r) << r.error().detail;
        EXPECT_EQ(sink.body, "[1]");
    }
    EXPECT_EQ(server.connections(), 3u);
}

TEST_F(BeastTransportTest, ServerThatClosesAnIdleKeepAliveConnectionIsRetriedOnce)
{
    // Answers without "Connection: close" but closes anyway, as an idle timeout would.
    ScriptedServer server([](const RawRequest&, RawConnection& c) {
        c.write(ScriptedServer::response(200, "[]"));
        c.close();
    });
    auto t = make();
    for (int i = 0; i < 2; ++i) {
        Collect sink;
        auto r = t.send(get(server.base_url() + "/e"), sink);
        ASSERT_TRUE(r) << "request " << i << ": " << r.error().detail;
    }
    EXPECT_EQ(server.requests().size(), 2u);
}

TEST_F(BeastTransportTest, ChunkedBodyArrivesWhole)
{
    ScriptedServer server([](const RawRequest&, RawConnection& c) {
        c.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
        c.write("3\r\n[{}\r\n");
        std::this_thread::sleep_for(20ms);
        c.write("4\r\n,{}]\r\n0\r\n\r\n");
    });
    auto t = make();
    Collect sink;
    auto r = t.send(get(server.base_url() + "/e"), sink);
    ASSERT_TRUE(r) << r.error().detail;
    EXPECT_EQ(sink.body, "[{},{}]");
}

TEST_F(BeastTransportTest, BodyUntilEofWithoutLength)
{
    ScriptedServer server([](const RawRequest&, RawConnection& c) {
        c.write("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n[{\"_id\":\"a\"}]");
        c.close();
    });
    auto t = make();
    Collect sink;
    auto r = t.send(get(server.base_url() + "/e"), sink);
    ASSERT_TRUE(r) << r.error().detail;
    EXPECT_EQ(sink.body, "[{\"_id\":\"a\"}]");
}

TEST_F(BeastTransportTest, ContentLengthBodyCutShortIsAnError)
{
    ScriptedServer server([](const RawRequest&, RawConnection& c) {
        c.write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n[{\"_id\":");
        c.close();
    });
    auto t = make();
    Collect sink;
    auto r = t.send(get(server.base_url() + "/e"), sink);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, TransportErrc::body_cut_short);
    EXPECT_EQ(r.error().body_bytes, 8u);
    EXPECT_EQ(r.error().detail,
              "connection closed after 8 body bytes, before the body was complete");
}

TEST_F(BeastTransportTest, ChunkedBodyCutShortIsAnError)
{
    ScriptedServer server([](const RawRequest&, RawConnection& c) {
        c.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n[{},{\r\n");
        c.close();
    });
    auto t = make();
    Collect sink;
    auto r = t.send(get(server.base_url() + "/e"), sink);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, TransportErrc::body_cut_short);
}

TEST_F(BeastTransportTest, SlowResponseHitsTheReadTimeout)
{
    ScriptedServer server([](const RawRequest&, RawConnection& c) {
        std::this_thread::sleep_for(600ms);
        c.write(ScriptedServer::response(200, "[]"));
    });
    auto t = make(150ms);
    Collect sink;
    const auto started = std::chrono::steady_clock::now();
    auto r = t.send(get(server.base_url() + "/e"), sink);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, TransportErrc::read_timeout);
    EXPECT_EQ(r.error().detail, "no response within the read timeout of 150 ms");
    EXPECT_LT(std::chrono::steady_clock::now() - started, 550ms);
}

TEST_F(BeastTransportTest, BodyStallHitsTheReadTimeout)
{
    ScriptedServer server([](const RawRequest&, RawConnection& c) {
        c.write("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n[{}");
        std::this_thread::sleep_for(600ms);
    });
    auto t = make(150ms);
    Collect sink;
    auto r = t.send(get(server.base_url() + "/e"), sink);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, TransportErrc::read_timeout);
    EXPECT_EQ(r.error().body_bytes, 3u);
}

TEST_F(BeastTransportTest, TheDeadlineMovesWithEachRequestOnAKeptAliveConnection)
{
    // Five prompt answers, 80 ms apart, outlast a 200 ms read timeout together: each request has
    // a deadline of its own; only the slow sixth answer passes it.
    std::atomic<int> served{0};
    ScriptedServer server([&](const RawRequest&, RawConnection& c) {
        std::this_thread::sleep_for(++served == 6 ? 600ms : 80ms);
        c.write(ScriptedServer::response(200, "[]"));
    });
    auto t = make(200ms);
    for (int i = 0; i < 5; ++i) {
        Collect sink;
        auto r = t.send(get(server.base_url() + "/e"), sink);
        ASSERT_TRUE(r) << i << ": " << r.error().detail;
        EXPECT_EQ(sink.body, "[]");
    }
    EXPECT_EQ(t.connections_opened(), 1u);
    Collect sink;
    const auto started = std::chrono::steady_clock::now();
    auto r = t.send(get(server.base_url() + "/e"), sink);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().detail, "no response within the read timeout of 200 ms");
    EXPECT_LT(std::chrono::steady_clock::now() - started, 550ms);
}

TEST_F(BeastTransportTest, AConnectThatHangsHitsTheConnectTimeout)
{
    // A listener whose accept queue is full: the kernel drops further SYNs, so connect() waits.
    const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ASSERT_EQ(::listen(listener, 0), 0);
    socklen_t len = sizeof addr;
    ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
    std::vector<int> fillers;
    for (int i = 0; i < 3; ++i) {
        fillers.push_back(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0));
        ::connect(fillers.back(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    }
    std::this_thread::sleep_for(50ms);
    const auto port = std::to_string(ntohs(addr.sin_port));

    auto t = make(5s, 250ms);
    Collect sink;
    const auto started = std::chrono::steady_clock::now();
    auto r = t.send(get("http://127.0.0.1:" + port + "/e"), sink);
    const auto took = std::chrono::steady_clock::now() - started;
    for (int fd : fillers)
        ::close(fd);
    ::close(listener);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, TransportErrc::connect_timeout) << r.error().detail;
    EXPECT_EQ(r.error().detail, "connect to 127.0.0.1:" + port + " timed out after 250 ms");
    EXPECT_GE(took, 240ms);
    EXPECT_LT(took, 2s);
}

TEST_F(BeastTransportTest, ARequestHeaderReplacesTheDefaultOfItsName)
{
    ScriptedServer server(
        [](const RawRequest&, RawConnection& c) { c.write(ScriptedServer::response(200, "")); });
    auto t = make();
    HttpRequest req;
    req.method = "POST";
    req.url = server.base_url() + "/r";
    req.headers = {{"user-agent", "my-node"},
                   {"Content-Length", "999"},
                   {"Connection", "close"},
                   {"X-Two", "a"}};
    req.body = "[]";
    Collect sink;
    auto r = t.send(req, sink);
    ASSERT_TRUE(r) << r.error().detail;
    const auto head = server.requests().at(0).head;
    EXPECT_EQ(head.rfind("POST /r HTTP/1.1\r\n", 0), 0u) << head;
    EXPECT_NE(head.find("\r\nuser-agent: my-node\r\n"), std::string::npos) << head;
    EXPECT_EQ(head.find("sesam-emu/"), std::string::npos) << head;
    EXPECT_NE(head.find("\r\nAccept: */*\r\n"), std::string::npos) << head;
    EXPECT_NE(head.find("\r\nContent-Length: 2\r\n"), std::string::npos) << head;
    EXPECT_EQ(head.find("999"), std::string::npos) << head;
    EXPECT_EQ(head.find("Connection"), std::string::npos) << head; // kept alive
    EXPECT_EQ(server.requests().at(0).body, "[]");
}

TEST_F(BeastTransportTest, AHeaderWithALineBreakIsNotSent)
{
    ScriptedServer server(
        [](const RawRequest&, RawConnection& c) { c.write(ScriptedServer::response(200, "")); });
    auto t = make();
    for (const HttpHeader& bad : {HttpHeader{"X-Key", "k\r\nX-Injected: 1"},
                                  HttpHeader{"X-Key\nX-Injected", "1"},
                                  HttpHeader{"X-Key", std::string("k\0v", 3)},
                                  HttpHeader{"X:Key", "k"},
                                  HttpHeader{"", "k"}}) {
        HttpRequest req = get(server.base_url() + "/e");
        req.headers = {bad};
        Collect sink;
        auto r = t.send(req, sink);
        ASSERT_FALSE(r) << bad.name;
        EXPECT_EQ(r.error().code, TransportErrc::write_failed);
        EXPECT_EQ(r.error().detail,
                  "a request header has a CR, LF or NUL in its name or value, or an empty name "
                  "or a ':' in it: not sent");
    }
    // The method too goes into the head: only a token is sent (a fixture may hold anything).
    for (const std::string bad : {"GET /x HTTP/1.1\r\nX-Injected: 1\r\n\r\nGET", "", "GE T"}) {
        HttpRequest req = get(server.base_url() + "/e");
        req.method = bad;
        Collect sink;
        auto r = t.send(req, sink);
        ASSERT_FALSE(r) << bad;
        EXPECT_EQ(r.error().code, TransportErrc::write_failed);
        EXPECT_EQ(r.error().detail, "the request method is not an HTTP token: not sent");
    }
    EXPECT_EQ(server.connections(), 0u);
}

TEST_F(BeastTransportTest, NothingListeningIsConnectFailedNamingTheAddress)
{
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    const auto port = std::to_string(ntohs(addr.sin_port));
    ::close(fd); // the port is now free and nothing listens on it

    auto t = make();
    Collect sink;
    auto r = t.send(get("http://127.0.0.1:" + port + "/e"), sink);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, TransportErrc::connect_failed);
    EXPECT_EQ(r.error().detail.rfind("connect to 127.0.0.1:" + port + ": ", 0), 0u)
        << r.error().detail;
}

TEST_F(BeastTransportTest, SendsExtraHeadersHostAndPostBody)
{
    ScriptedServer server(
        [](const RawRequest&, RawConnection& c) { c.write(ScriptedServer::response(201, "")); });
    auto t = make();
    HttpRequest req;
    req.method = "POST";
    req.url = server.base_url() + "/receiver?x=1";
    req.headers = {{"X-Api-Key", "k1"}, {"Content-Type", "application/json"}};
    req.body = "[{\"_id\":\"a\"}]";
    Collect sink;
    auto r = t.send(req, sink);
    ASSERT_TRUE(r) << r.error().detail;
    EXPECT_EQ(r->status, 201);
    auto got = server.requests().at(0);
    EXPECT_EQ(got.method, "POST");
    EXPECT_EQ(got.target, "/receiver?x=1");
    EXPECT_NE(got.head.find("X-Api-Key: k1\r\n"), std::string::npos) << got.head;
    EXPECT_NE(got.head.find("Host: 127.0.0.1:" + std::to_string(server.port()) + "\r\n"),
              std::string::npos);
    EXPECT_NE(got.head.find("Content-Type: application/json\r\n"), std::string::npos);
    EXPECT_EQ(got.body, req.body);
}

TEST_F(BeastTransportTest, ErrorStatusIsAResponseNotATransportError)
{
    ScriptedServer server([](const RawRequest&, RawConnection& c) {
        c.write(ScriptedServer::response(500, "boom", "", "text/plain"));
    });
    auto t = make();
    auto r = t.fetch(get(server.base_url() + "/e"));
    ASSERT_TRUE(r) << r.error().detail;
    EXPECT_EQ(r->head.status, 500);
    EXPECT_EQ(r->body, "boom");
}

TEST_F(BeastTransportTest, SinkCanStopTheExchange)
{
    ScriptedServer server([](const RawRequest&, RawConnection& c) {
        c.write("HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n");
        c.write(std::string(1000, 'x'));
        std::this_thread::sleep_for(50ms);
        c.write(std::string(1000, 'x'));
    });
    auto t = make();
    Collect sink;
    sink.stop_after_first = true;
    auto r = t.send(get(server.base_url() + "/e"), sink);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, TransportErrc::aborted);
    EXPECT_EQ(sink.calls, 1u);
}

// STYLE.md: without a reserved read buffer Beast reads 512 bytes at a time.
TEST_F(BeastTransportTest, LargeBodyIsReadInLargeRuns)
{
    const std::string body(16 * 1024 * 1024, 'a');
    ScriptedServer server(
        [&](const RawRequest&, RawConnection& c) { c.write(ScriptedServer::response(200, body)); });
    auto t = make();
    Collect sink;
    auto r = t.send(get(server.base_url() + "/e"), sink);
    ASSERT_TRUE(r) << r.error().detail;
    EXPECT_EQ(sink.body.size(), body.size());
    EXPECT_LT(sink.calls, body.size() / 8192) << "body handed over in tiny pieces";
}

TEST_F(BeastTransportTest, NotHttpIsABadResponse)
{
    ScriptedServer server([](const RawRequest&, RawConnection& c) {
        c.write("SSH-2.0-OpenSSH\r\n\r\n");
        c.close();
    });
    auto t = make();
    Collect sink;
    auto r = t.send(get(server.base_url() + "/e"), sink);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, TransportErrc::bad_response);
}

TEST_F(BeastTransportTest, CancelInterruptsAPendingExchange)
{
    ScriptedServer server(
        [](const RawRequest&, RawConnection&) { std::this_thread::sleep_for(800ms); });
    auto t = make();
    boost::asio::steady_timer timer(ioc);
    timer.expires_after(100ms);
    timer.async_wait([&](boost::system::error_code) { t.cancel(); });
    Collect sink;
    auto r = t.send(get(server.base_url() + "/e"), sink);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, TransportErrc::interrupted);
}

TEST_F(BeastTransportTest, InterimResponsesAreSkippedAndTheFinalOneIsTheAnswer)
{
    // RFC 9110 §15.2: 100 Continue and 103 Early Hints come before the final response. Each
    // request's final answer must be its own, not the one left on the connection before it.
    int n = 0;
    ScriptedServer server([&](const RawRequest&, RawConnection& c) {
        ++n;
        c.write("HTTP/1.1 100 Continue\r\n\r\n"
                "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n" +
                ScriptedServer::response(n == 1 ? 400 : 200,
                                         n == 1 ? R"({"error":"entity c"})" : "[1]"));
    });
    auto transport = make();
    HttpRequest post;
    post.method = "POST";
    post.url = server.base_url() + "/receiver";
    post.body = "[]";
    Collect first;
    ASSERT_TRUE(transport.send(post, first));
    EXPECT_EQ(first.head.status, 400);
    EXPECT_EQ(first.body, R"({"error":"entity c"})");
    EXPECT_FALSE(find_header(first.head.headers, "Link"));
    Collect second;
    ASSERT_TRUE(transport.send(get(server.base_url() + "/entities"), second));
    EXPECT_EQ(second.head.status, 200);
    EXPECT_EQ(second.body, "[1]");
    EXPECT_EQ(server.connections(), 1u);
}

TEST_F(BeastTransportTest, SwitchingProtocolsIsABadResponse)
{
    ScriptedServer server([](const RawRequest&, RawConnection& c) {
        c.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n");
    });
    auto transport = make();
    Collect sink;
    auto result = transport.send(get(server.base_url() + "/"), sink);
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code, TransportErrc::bad_response);
    EXPECT_EQ(result.error().detail,
              "the service answered 101 Switching Protocols, which is no answer to an HTTP/1.1 "
              "request");
}

TEST_F(BeastTransportTest, EndlessInterimResponsesAreABadResponse)
{
    ScriptedServer server([](const RawRequest&, RawConnection& c) {
        for (int i = 0; i < 40; ++i)
            c.write("HTTP/1.1 103 Early Hints\r\n\r\n");
        c.write(ScriptedServer::response(200, "[]"));
    });
    auto transport = make();
    Collect sink;
    auto result = transport.send(get(server.base_url() + "/"), sink);
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code, TransportErrc::bad_response);
    EXPECT_EQ(result.error().detail,
              "the service sent more than 16 interim (1xx) responses and no final one");
}

TEST_F(BeastTransportTest, InvalidUrl)
{
    auto t = make();
    Collect sink;
    auto r = t.send(get("https://example.org/"), sink);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, TransportErrc::invalid_url);
}

} // namespace
} // namespace sesam::emulator
