#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace boost::asio {
class io_context;
} // namespace boost::asio

namespace sesam::reference {

/// The HTTP plumbing of a small service, shared by the reference service and `replay serve`:
/// it listens, runs one coroutine per connection on the given io_context (each on a strand, so
/// any number of threads may run the context), keeps connections alive until an idle timeout,
/// answers `Expect: 100-continue` (Beast does not, STYLE.md), refuses bodies over a limit with
/// 413, writes each response in one write with no Nagle delay, and answers 500 `{"error": …}`
/// when the handler throws. What the service does is all in the handler.
class HttpServer {
public:
    using Request = boost::beast::http::request<boost::beast::http::string_body>;
    using Response = boost::beast::http::response<boost::beast::http::string_body>;

    /// What a handler answers: a response with its body, or a response and the views of bytes
    /// the handler keeps (a dataset serialized once), written one after the other as its body
    /// without being copied. Those bytes must live as long as the handler.
    struct Answer {
        Answer(Response r) : response(std::move(r)) {} // NOLINT: a response is an answer
        /// `head` with a Content-Length of the views' total size, and `body` as its body.
        Answer(Response head, std::vector<std::string_view> body);

        Response response;
        std::vector<std::string_view> kept_body; ///< empty: the body is response.body()
    };

    /// Answers one request. Runs on one of the io_context's threads; may throw (500).
    using Handler = std::function<Answer(const Request&)>;

    struct Options {
        std::string host = "127.0.0.1";
        unsigned short port = 5000;       ///< 0 picks a free port
        std::string server = "sesam-emu"; ///< the Server header of the responses made here
        std::uint64_t body_limit = 512ull * 1024 * 1024;
        std::chrono::seconds idle_timeout{75};
        /// Called after each answer is made, before it is written, with its response (without
        /// its kept body); empty = nothing.
        std::function<void(const Request&, const Response&)> on_response;
    };

    /// `handler` may hold shared state: it lives as long as any connection does.
    HttpServer(boost::asio::io_context& ioc, Options options, Handler handler);
    ~HttpServer();
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    /// Binds and starts accepting. Returns the base URL, e.g. `http://127.0.0.1:40123/`.
    /// Throws std::runtime_error naming the address when it cannot listen.
    std::string start();

    /// Stops accepting and closes the listening socket; open connections finish their request.
    void stop();

private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

/// A response with `body` as `application/json` and the Server header `server`.
HttpServer::Response json_response(unsigned version,
                                   boost::beast::http::status status,
                                   std::string body,
                                   const std::string& server);

/// `{"error": message}` as a json_response; bytes that are not UTF-8 become U+FFFD.
HttpServer::Response error_response(unsigned version,
                                    boost::beast::http::status status,
                                    const std::string& message,
                                    const std::string& server);

} // namespace sesam::reference
