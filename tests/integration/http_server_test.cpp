// HttpServer: the plumbing the reference service and `replay serve` share, over real sockets.
#include "examples/reference-service/http_server.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <thread>

namespace sesam::reference {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

/// An HttpServer on 127.0.0.1, port 0, running on its own thread.
class RunningServer {
public:
    RunningServer(HttpServer::Handler handler, HttpServer::Options options = {})
    {
        options.host = "127.0.0.1";
        options.port = 0;
        options.on_response = [this](const HttpServer::Request&, const HttpServer::Response&) {
            ++answered;
        };
        server_ = std::make_unique<HttpServer>(ioc_, std::move(options), std::move(handler));
        const auto url = server_->start();
        port = static_cast<unsigned short>(std::stoi(url.substr(url.rfind(':') + 1)));
        thread_ = std::thread([this] { ioc_.run(); });
    }
    ~RunningServer()
    {
        ioc_.stop();
        thread_.join();
    }
    void stop()
    {
        asio::post(ioc_, [this] { server_->stop(); });
    }

    unsigned short port = 0;
    std::atomic<int> answered{0};

private:
    asio::io_context ioc_;
    std::unique_ptr<HttpServer> server_;
    std::thread thread_;
};

HttpServer::Response echo(const HttpServer::Request& req)
{
    HttpServer::Response res{http::status::ok, req.version()};
    res.body() = std::string(req.method_string()) + " " + std::string(req.target()) + " " +
                 std::to_string(req.body().size());
    res.prepare_payload();
    return res;
}

struct Client {
    explicit Client(unsigned short port) : socket(ioc)
    {
        socket.connect({asio::ip::make_address("127.0.0.1"), port});
    }
    http::response<http::string_body> send(http::request<http::string_body> req)
    {
        req.set(http::field::host, "127.0.0.1");
        req.prepare_payload();
        http::write(socket, req);
        http::response<http::string_body> res;
        http::read(socket, buffer, res);
        return res;
    }
    asio::io_context ioc;
    tcp::socket socket;
    beast::flat_buffer buffer;
};

TEST(HttpServerTest, KeepsAConnectionAliveForManyRequests)
{
    RunningServer server(echo);
    Client client(server.port);
    for (int i = 0; i < 3; ++i) {
        auto res = client.send({http::verb::post, "/x?i=" + std::to_string(i), 11, "abc"});
        EXPECT_EQ(res.result_int(), 200u);
        EXPECT_EQ(res.body(), "POST /x?i=" + std::to_string(i) + " 3");
        EXPECT_TRUE(res.keep_alive());
    }
    EXPECT_EQ(server.answered, 3) << "on_response sees every answer";
}

TEST(HttpServerTest, AnswersExpectContinueBeforeTheBody)
{
    RunningServer server(echo);
    Client client(server.port);
    const std::string head = "POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                             "Expect: 100-continue\r\n\r\n";
    asio::write(client.socket, asio::buffer(head));
    http::response_parser<http::empty_body> parser;
    http::read_header(client.socket, client.buffer, parser);
    EXPECT_EQ(parser.get().result_int(), 100u) << "the client may now send the body";
    asio::write(client.socket, asio::buffer(std::string("hello")));
    http::response<http::string_body> res;
    http::read(client.socket, client.buffer, res);
    EXPECT_EQ(res.body(), "POST /up 5");
}

TEST(HttpServerTest, ABodyOverTheLimitIs413)
{
    HttpServer::Options options;
    options.body_limit = 10;
    options.server = "test-server";
    RunningServer server(echo, options);
    Client client(server.port);
    auto res = client.send({http::verb::post, "/x", 11, std::string(11, 'a')});
    EXPECT_EQ(res.result_int(), 413u);
    EXPECT_EQ(res.body(), R"({"error":"body too large"})");
    EXPECT_EQ(res[http::field::server], "test-server");

    // A chunked body learns the limit only while it is read.
    Client chunked(server.port);
    const std::string request = "POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                                "6\r\naaaaaa\r\n6\r\naaaaaa\r\n0\r\n\r\n";
    asio::write(chunked.socket, asio::buffer(request));
    http::response<http::string_body> second;
    http::read(chunked.socket, chunked.buffer, second);
    EXPECT_EQ(second.result_int(), 413u);
}

TEST(HttpServerTest, AHandlerThatThrowsGets500WithTheMessage)
{
    RunningServer server([](const HttpServer::Request& req) -> HttpServer::Response {
        if (req.target() == "/boom")
            throw std::runtime_error("bad \xff thing");
        return echo(req);
    });
    Client client(server.port);
    auto res = client.send({http::verb::get, "/boom", 11});
    EXPECT_EQ(res.result_int(), 500u);
    EXPECT_EQ(res[http::field::content_type], "application/json");
    EXPECT_EQ(res.body(), "{\"error\":\"bad \xef\xbf\xbd thing\"}") << "invalid UTF-8 replaced";
    EXPECT_EQ(client.send({http::verb::get, "/fine", 11}).body(), "GET /fine 0")
        << "the connection goes on";
}

TEST(HttpServerTest, StartNamesWhatItCannotListenOn)
{
    asio::io_context ioc;
    HttpServer::Options options;
    options.host = "not-an-ip";
    HttpServer bad(ioc, options, echo);
    try {
        bad.start();
        FAIL() << "no exception";
    } catch (const std::runtime_error& e) {
        EXPECT_STREQ(e.what(), "--host 'not-an-ip' is not an IP address");
    }

    RunningServer taken(echo);
    options.host = "127.0.0.1";
    options.port = taken.port;
    HttpServer clash(ioc, options, echo);
    try {
        clash.start();
        FAIL() << "no exception";
    } catch (const std::runtime_error& e) {
        EXPECT_EQ(std::string(e.what()).rfind(
                      "cannot listen on 127.0.0.1:" + std::to_string(taken.port) + ": ", 0),
                  0u)
            << e.what();
    }
}

TEST(HttpServerTest, StopClosesTheListener)
{
    RunningServer server(echo);
    server.stop();
    for (int i = 0; i < 100; ++i) {
        asio::io_context ioc;
        tcp::socket socket(ioc);
        boost::system::error_code ec;
        socket.connect({asio::ip::make_address("127.0.0.1"), server.port}, ec);
        if (ec == asio::error::connection_refused)
            return;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    FAIL() << "still accepting after stop()";
}

} // namespace
} // namespace sesam::reference
