#include "examples/reference-service/http_server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/basic_waitable_timer.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <tuple>
#include <vector>

namespace sesam::reference {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

// The I/O objects name their executors' types rather than the type-erased any_io_executor, which
// is copied and dispatched through a table on every operation. Each connection runs on its own
// strand, so its coroutine and its watchdog never run at once when several threads serve.
using IoExecutor = asio::io_context::executor_type;
using Executor = asio::strand<IoExecutor>;
using Acceptor = asio::basic_socket_acceptor<tcp, IoExecutor>;
using Socket = asio::basic_stream_socket<tcp, Executor>;
using Clock = std::chrono::steady_clock;
constexpr auto accept_awaitable = asio::as_tuple(asio::use_awaitable_t<IoExecutor>{});
constexpr auto nothrow_awaitable = asio::as_tuple(asio::use_awaitable_t<Executor>{});

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

HttpServer::Answer::Answer(Response head, std::vector<std::string_view> body)
    : response(std::move(head)), kept_body(std::move(body))
{
    std::uint64_t size = 0;
    for (const auto part : kept_body)
        size += part.size();
    response.body().clear();
    response.content_length(size);
}

struct HttpServer::Impl : std::enable_shared_from_this<Impl> {
    Impl(asio::io_context& context, Options opts, Handler h)
        : ioc(context), options(std::move(opts)), handler(std::move(h)),
          acceptor(context.get_executor())
    {
    }

    asio::io_context& ioc;
    Options options;
    Handler handler;
    Acceptor acceptor;

    Answer answer(const Request& req)
    {
        try {
            return handler(req);
        } catch (const std::exception& e) {
            // A bug must still get an answer, never a silent drop.
            return error_response(
                req.version(), http::status::internal_server_error, e.what(), options.server);
        }
    }

    asio::awaitable<void, Executor> too_large(Socket& socket)
    {
        auto res =
            error_response(11, http::status::payload_too_large, "body too large", options.server);
        res.keep_alive(false);
        co_await http::async_write(socket, res, nothrow_awaitable);
    }

    /// Writes an answer in one gathered write: its header, rendered by Beast's own field writer
    /// into `head`, then its body, as it is. Beast's serializer would produce the same bytes
    /// through several layers of buffer views, which cost more than the rest of a small request;
    /// it still writes chunked bodies. `head` and `buffers` are the connection's, reused.
    static asio::awaitable<std::tuple<beast::error_code, std::size_t>, Executor>
    write(Socket& socket,
          const Answer& answer,
          std::string& head,
          std::vector<asio::const_buffer>& buffers)
    {
        const auto& res = answer.response;
        if (res.chunked() && answer.kept_body.empty())
            return http::async_write(socket, res, nothrow_awaitable);
        const http::fields::writer header(res.base(), res.version(), res.result_int());
        head.clear();
        for (const auto buffer : header.get())
            head.append(static_cast<const char*>(buffer.data()), buffer.size());
        buffers.assign({asio::buffer(head)});
        if (answer.kept_body.empty())
            buffers.push_back(asio::buffer(res.body()));
        for (const auto part : answer.kept_body)
            buffers.push_back(asio::buffer(part));
        return asio::async_write(socket, buffers, nothrow_awaitable);
    }

    /// Answers the requests of one connection in turn. Each must be read, answered and written
    /// before `deadline`, which it sets when it starts; the watchdog enforces it.
    asio::awaitable<void, Executor> serve(Socket& socket, Clock::time_point& deadline)
    {
        beast::flat_buffer buffer;
        buffer.reserve(64 * 1024);
        std::string head;
        std::vector<asio::const_buffer> buffers;
        for (;;) {
            http::request_parser<http::string_body> parser;
            parser.body_limit(options.body_limit);
            deadline = Clock::now() + options.idle_timeout;
            auto [hec, hn] =
                co_await http::async_read_header(socket, buffer, parser, nothrow_awaitable);
            if (hec) {
                // A Content-Length over the limit is refused here, before any body is read.
                if (hec == http::error::body_limit)
                    co_await too_large(socket);
                break;
            }
            if (parser.get()[http::field::expect] == "100-continue") {
                http::response<http::empty_body> cont{http::status::continue_, 11};
                auto [cec, cn] = co_await http::async_write(socket, cont, nothrow_awaitable);
                if (cec)
                    break;
            }
            if (!parser.is_done()) { // a request without a body is complete with its header
                auto [rec, rn] =
                    co_await http::async_read(socket, buffer, parser, nothrow_awaitable);
                if (rec) {
                    if (rec == http::error::body_limit) // a chunked body grew over the limit
                        co_await too_large(socket);
                    break;
                }
            }
            const auto& req = parser.get();
            Answer ans = answer(req);
            ans.response.keep_alive(req.keep_alive());
            if (options.on_response)
                options.on_response(req, ans.response);
            auto [wec, wn] = co_await write(socket, ans, head, buffers);
            if (wec || !ans.response.keep_alive())
                break;
        }
        beast::error_code ignored;
        socket.shutdown(tcp::socket::shutdown_send, ignored);
    }

    /// Closes the connection once `deadline` has passed. One timer per connection that wakes
    /// only at the deadline, rather than one armed and cancelled around every read and write
    /// (Beast's tcp_stream), which costs as much as the rest of the plumbing of a request.
    static asio::awaitable<void, Executor> watchdog(Socket& socket,
                                                    const Clock::time_point& deadline)
    {
        asio::basic_waitable_timer<Clock, asio::wait_traits<Clock>, Executor> timer(
            socket.get_executor());
        while (deadline > Clock::now()) {
            timer.expires_at(deadline);
            auto [ec] = co_await timer.async_wait(nothrow_awaitable);
            if (ec) // the connection ended first
                co_return;
        }
        beast::error_code ignored;
        socket.close(ignored);
    }

    asio::awaitable<void, Executor> session(Socket socket)
    {
        auto self = shared_from_this();
        beast::error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        Clock::time_point deadline = Clock::now() + options.idle_timeout;
        // Whichever ends first, even by an exception, cancels the other.
        const auto executor = socket.get_executor();
        co_await asio::experimental::make_parallel_group(
            asio::co_spawn(executor, serve(socket, deadline), asio::deferred),
            asio::co_spawn(executor, watchdog(socket, deadline), asio::deferred))
            .async_wait(asio::experimental::wait_for_one(), asio::use_awaitable_t<Executor>{});
    }

    asio::awaitable<void, IoExecutor> accept_loop()
    {
        auto self = shared_from_this();
        for (;;) {
            auto [ec, socket] =
                co_await acceptor.async_accept(asio::make_strand(ioc), accept_awaitable);
            if (ec == asio::error::operation_aborted || !acceptor.is_open())
                co_return;
            if (ec == asio::error::no_descriptors || ec == asio::error::no_buffer_space ||
                ec == asio::error::no_memory) {
                // Out of file descriptors (EMFILE, ENFILE) or memory: accepting again at once
                // would fail again and spin at 100 % CPU. Wait for connections to close.
                asio::basic_waitable_timer<Clock, asio::wait_traits<Clock>, IoExecutor> pause(
                    ioc, std::chrono::milliseconds(100));
                co_await pause.async_wait(accept_awaitable);
                continue;
            }
            if (ec)
                continue;
            auto executor = socket.get_executor();
            asio::co_spawn(executor, session(std::move(socket)), asio::detached);
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
