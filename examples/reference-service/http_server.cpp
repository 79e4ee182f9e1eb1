#include "examples/reference-service/http_server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <nlohmann/json.hpp>

#include <stdexcept>

namespace sesam::reference {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {
constexpr auto nothrow_awaitable = asio::as_tuple(asio::use_awaitable);
} // namespace

HttpServer::Response
json_response(unsigned version, http::status status, std::string body, const std::string& server)
{
    HttpServer::Response res{status, version};
    res.set(http::field::server, server);
    res.set(http::field::content_type, "application/json");
    res.body() = std::move(body);
    res.prepare_payload();
    return res;
}

HttpServer::Response error_response(unsigned version,
                                    http::status status,
                                    const std::string& message,
                                    const std::string& server)
{
    // A message may hold bytes from the request (a decoded URL can be invalid UTF-8).
    const auto body = nlohmann::json{{"error", message}}.dump(
        -1, ' ', false, nlohmann::json::error_handler_t::replace);
    return json_response(version, status, body, server);
}

struct HttpServer::Impl : std::enable_shared_from_this<Impl> {
    Impl(asio::io_context& context, Options opts, Handler h)
        : ioc(context), options(std::move(opts)), handler(std::move(h)), acceptor(context)
    {
    }

    asio::io_context& ioc;
    Options options;
    Handler handler;
    tcp::acceptor acceptor;

    Response answer(const Request& req)
    {
        try {
            return handler(req);
        } catch (const std::exception& e) {
            // A bug must still get an answer, never a silent drop.
            return error_response(
                req.version(), http::status::internal_server_error, e.what(), options.server);
        }
    }

    asio::awaitable<void> too_large(beast::tcp_stream& stream)
    {
        auto res =
            error_response(11, http::status::payload_too_large, "body too large", options.server);
        res.keep_alive(false);
        co_await http::async_write(stream, res, nothrow_awaitable);
    }

    asio::awaitable<void> session(beast::tcp_stream stream)
    {
        auto self = shared_from_this();
        beast::error_code ignored;
        stream.socket().set_option(tcp::no_delay(true), ignored);
        beast::flat_buffer buffer;
        buffer.reserve(64 * 1024);
        for (;;) {
            http::request_parser<http::string_body> parser;
            parser.body_limit(options.body_limit);
            stream.expires_after(options.idle_timeout);
            auto [hec, hn] =
                co_await http::async_read_header(stream, buffer, parser, nothrow_awaitable);
            if (hec) {
                // A Content-Length over the limit is refused here, before any body is read.
                if (hec == http::error::body_limit)
                    co_await too_large(stream);
                break;
            }
            if (parser.get()[http::field::expect] == "100-continue") {
                http::response<http::empty_body> cont{http::status::continue_, 11};
                auto [cec, cn] = co_await http::async_write(stream, cont, nothrow_awaitable);
                if (cec)
                    break;
            }
            auto [rec, rn] = co_await http::async_read(stream, buffer, parser, nothrow_awaitable);
            if (rec) {
                if (rec == http::error::body_limit) // a chunked body grew over the limit
                    co_await too_large(stream);
                break;
            }
            const auto& req = parser.get();
            Response res = answer(req);
            res.keep_alive(req.keep_alive());
            if (options.on_response)
                options.on_response(req, res);
            auto [wec, wn] = co_await http::async_write(stream, res, nothrow_awaitable);
            if (wec || !res.keep_alive())
                break;
        }
        stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    }

    asio::awaitable<void> accept_loop()
    {
        auto self = shared_from_this();
        for (;;) {
            auto [ec, socket] = co_await acceptor.async_accept(nothrow_awaitable);
            if (ec == asio::error::operation_aborted || !acceptor.is_open())
                co_return;
            if (ec == asio::error::no_descriptors || ec == asio::error::no_buffer_space ||
                ec == asio::error::no_memory) {
                // Out of file descriptors (EMFILE, ENFILE) or memory: accepting again at once
                // would fail again and spin at 100 % CPU. Wait for connections to close.
                asio::steady_timer pause(ioc, std::chrono::milliseconds(100));
                co_await pause.async_wait(nothrow_awaitable);
                continue;
            }
            if (ec)
                continue;
            asio::co_spawn(ioc, session(beast::tcp_stream(std::move(socket))), asio::detached);
        }
    }
};

HttpServer::HttpServer(asio::io_context& ioc, Options options, Handler handler)
    : impl_(std::make_shared<Impl>(ioc, std::move(options), std::move(handler)))
{
}

HttpServer::~HttpServer()
{
    stop();
}

std::string HttpServer::start()
{
    beast::error_code ec;
    auto address = asio::ip::make_address(impl_->options.host, ec);
    if (ec)
        throw std::runtime_error("--host '" + impl_->options.host + "' is not an IP address");
    tcp::endpoint endpoint(address, impl_->options.port);
    auto& acceptor = impl_->acceptor;
    const auto where = impl_->options.host + ":" + std::to_string(impl_->options.port);
    if (acceptor.open(endpoint.protocol(), ec); ec)
        throw std::runtime_error("cannot open a socket for " + where + ": " + ec.message());
    acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (acceptor.bind(endpoint, ec); ec)
        throw std::runtime_error("cannot listen on " + where + ": " + ec.message());
    if (acceptor.listen(asio::socket_base::max_listen_connections, ec); ec)
        throw std::runtime_error("cannot listen on " + where + ": " + ec.message());
    const auto bound = acceptor.local_endpoint();
    asio::co_spawn(impl_->ioc, impl_->accept_loop(), asio::detached);
    const auto host = bound.address().is_v6() ? "[" + bound.address().to_string() + "]"
                                              : bound.address().to_string();
    return "http://" + host + ":" + std::to_string(bound.port()) + "/";
}

void HttpServer::stop()
{
    beast::error_code ignored;
    impl_->acceptor.close(ignored);
}

} // namespace sesam::reference
