// libFuzzer target: the HTTP response framing of BeastTransport (emulator/http), the bytes a
// server sends. A loopback server in this process (127.0.0.1, a free port) answers each request
// with the input, then closes its side; the real transport reads it, as every client does: a GET
// (then a second GET on the same transport, which reuses the kept connection, meets what was left
// on it, or retries on a new one), and a HEAD.
// Beyond "no crash and no sanitizer report", every exchange is checked for:
// - the sink sees on_head once, before any body byte, and only for an answer it is given;
// - an answer is final (never 1xx) and has no Content-Encoding other than identity (README);
// - an error is a sesam.transport error of the kind a server can cause, and its body_bytes is
//   what the sink was given.

#include "emulator/http/beast_transport.hpp"
#include "emulator/http/http_message.hpp"
#include "tests/fuzz/fuzz_check.hpp"

#include <boost/asio/io_context.hpp>

#include <arpa/inet.h>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <netinet/in.h>
#include <optional>
#include <string>
#include <string_view>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

namespace {

using namespace sesam::emulator;
using sesam::fuzz::require;

/// What the server answers on a connection that is not the first of an exchange (the transport
/// retrying on a new connection).
constexpr std::string_view kPlainAnswer =
    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n[]";

/// Serves connections one at a time on its own thread: reads the request head, writes its answer,
/// shuts down its sending side and reads until the client closes. Lives as long as the process.
class LoopbackServer {
public:
    LoopbackServer()
    {
        listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        int one = 1;
        ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        require(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
                    ::listen(listen_fd_, 16) == 0,
                "the loopback server listens on 127.0.0.1 (harness)");
        socklen_t len = sizeof addr;
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
        url_ = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
        std::thread([this] { loop(); }).detach();
    }

    const std::string& url() const { return url_; }

    /// The next connection accepted is answered with `bytes`.
    void answer_next(std::string_view bytes)
    {
        std::lock_guard lock(mutex_);
        next_.assign(bytes);
        have_next_ = true;
    }

    /// Waits until `total` connections (counted since the start) are closed.
    void wait_closed(std::size_t total)
    {
        std::unique_lock lock(mutex_);
        changed_.wait(lock, [&] { return closed_ >= total; });
    }

private:
    void loop()
    {
        std::string answer;
        for (;;) {
            const int fd = ::accept(listen_fd_, nullptr, nullptr);
            if (fd < 0) {
                continue;
            }
            {
                std::lock_guard lock(mutex_);
                answer = have_next_ ? next_ : std::string(kPlainAnswer);
                have_next_ = false;
            }
            serve(fd, answer);
            ::close(fd);
            {
                std::lock_guard lock(mutex_);
                ++closed_;
            }
            changed_.notify_all();
        }
    }

    static void serve(int fd, std::string_view answer)
    {
        std::string request;
        char buffer[4096];
        while (request.find("\r\n\r\n") == std::string::npos) {
            const auto n = ::recv(fd, buffer, sizeof buffer, 0);
            if (n <= 0) {
                return;
            }
            request.append(buffer, static_cast<std::size_t>(n));
        }
        while (!answer.empty()) {
            const auto n = ::send(fd, answer.data(), answer.size(), MSG_NOSIGNAL);
            if (n <= 0) {
                break;
            }
            answer.remove_prefix(static_cast<std::size_t>(n));
        }
        ::shutdown(fd, SHUT_WR);
        while (::recv(fd, buffer, sizeof buffer, 0) > 0) {
        }
    }

    int listen_fd_ = -1;
    std::string url_;
    std::mutex mutex_;
    std::condition_variable changed_;
    std::string next_;
    bool have_next_ = false;
    std::size_t closed_ = 0;
};

/// Records what the transport hands over and checks the order; stops after `stop_after` body
/// bytes when that is not 0.
class CheckingSink final : public ResponseSink {
public:
    explicit CheckingSink(std::uint64_t stop_after) : stop_after_(stop_after) {}

    void on_head(const HttpResponseHead& h) override
    {
        require(!head, "on_head is called once");
        head = h;
    }

    bool on_body(std::string_view bytes) override
    {
        require(head.has_value(), "no body byte before on_head");
        body_bytes += bytes.size();
        stopped = stop_after_ != 0 && body_bytes >= stop_after_;
        return !stopped;
    }

    std::optional<HttpResponseHead> head;
    std::uint64_t body_bytes = 0;
    bool stopped = false;

private:
    std::uint64_t stop_after_;
};

bool same_head(const HttpResponseHead& a, const HttpResponseHead& b)
{
    if (a.status != b.status || a.reason != b.reason || a.headers.size() != b.headers.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.headers.size(); ++i) {
        if (a.headers[i].name != b.headers[i].name || a.headers[i].value != b.headers[i].value) {
            return false;
        }
    }
    return true;
}

/// `fresh`: the exchange ran on a new connection answered with the input.
void check(const SendResult& result, const CheckingSink& sink, bool fresh)
{
    if (result) {
        require(sink.head && same_head(*sink.head, *result), "the answer is the head on_head saw");
        require(result->status < 100 || result->status > 199, "interim responses are skipped");
        const auto encoding = find_header(result->headers, "Content-Encoding");
        require(!encoding || iequals(trim_ows(*encoding), "identity"),
                "an encoded body is an error, not an answer");
        require(!sink.stopped, "an exchange the sink stopped is no answer");
        return;
    }
    const TransportError& error = result.error();
    require(error.code.category() == transport_category(), "errors are sesam.transport errors");
    require(error.body_bytes == sink.body_bytes, "body_bytes counts what the sink was given");
    require(!sink.stopped || error.code == TransportErrc::aborted, "a stopped exchange is aborted");
    require(error.code != TransportErrc::aborted || sink.stopped, "aborted only when stopped");
    if (fresh) {
        require(error.code == TransportErrc::bad_response ||
                    error.code == TransportErrc::body_cut_short ||
                    error.code == TransportErrc::read_failed ||
                    error.code == TransportErrc::aborted,
                "a fresh exchange fails only as the server's bytes make it");
        require(!sink.head || error.code != TransportErrc::read_failed,
                "read_failed only before a response came");
    }
}

HttpRequest request(const std::string& base, const char* method, const char* target)
{
    HttpRequest r;
    r.method = method;
    r.url = base + target;
    return r;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    static auto* const server = new LoopbackServer; // its thread runs until the process exits
    static boost::asio::io_context ioc;
    static std::size_t connections = 0;
    const TransportOptions options{std::chrono::seconds(10), std::chrono::seconds(10)};
    const std::string_view answer(reinterpret_cast<const char*>(data), size);

    server->answer_next(answer);
    {
        BeastTransport transport(ioc, options);
        CheckingSink first(4096);
        const auto result = transport.send(request(server->url(), "GET", "/entities"), first);
        check(result, first, true);
        if (result) {
            CheckingSink second(0);
            check(transport.send(request(server->url(), "GET", "/entities?since=1"), second),
                  second,
                  false);
        }
        connections += transport.connections_opened();
    }
    server->wait_closed(connections);

    server->answer_next(answer);
    {
        BeastTransport transport(ioc, options);
        CheckingSink sink(0);
        check(transport.send(request(server->url(), "HEAD", "/entities"), sink), sink, true);
        connections += transport.connections_opened();
    }
    server->wait_closed(connections);
    return 0;
}
