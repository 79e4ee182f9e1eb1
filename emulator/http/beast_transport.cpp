#include "emulator/http/beast_transport.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/url/parse.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

namespace sesam::emulator {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using namespace std::string_view_literals;

namespace {

constexpr auto nothrow_awaitable = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kReadBufferBytes = 64 * 1024; // STYLE.md: reserve, or Beast reads 512 B
constexpr std::size_t kBodyChunkBytes = 256 * 1024; // body bytes handed to the sink at most
constexpr std::uint32_t kHeaderLimit = 64 * 1024;
/// Interim (1xx) responses accepted before the final one (RFC 9110 §15.2); more is an error.
constexpr std::size_t kMaxInterimResponses = 16;

struct Target {
    std::string host;
    std::string port;
    std::string host_header;
    std::string target;
    std::string key() const { return host + ":" + port; }
};

std::optional<Target> split_url(std::string_view url)
{
    auto u = boost::urls::parse_uri(url);
    if (!u || u->scheme_id() != boost::urls::scheme::http || u->encoded_host().empty())
        return std::nullopt;
    Target t;
    t.host = u->host_address();
    t.port = u->has_port() ? std::string(u->port()) : std::string("80");
    t.host_header = u->encoded_host_and_port();
    t.target = u->encoded_path().empty() ? std::string("/") : std::string(u->encoded_path());
    if (u->has_query())
        t.target += "?" + std::string(u->encoded_query());
    return t;
}

std::string seconds_text(std::chrono::milliseconds d)
{
    auto ms = d.count();
    if (ms % 1000 == 0)
        return std::to_string(ms / 1000) + " s";
    return std::to_string(ms) + " ms";
}

/// State shared with the resolve deadline's handler, which may outlive one coroutine frame.
struct ResolveState {
    explicit ResolveState(asio::io_context& ioc) : resolver(ioc), timer(ioc) {}
    tcp::resolver resolver;
    asio::steady_timer timer;
    bool timed_out = false;
};

/// A response parser that hands body bytes to the sink straight out of the read buffer (no copy
/// into a body buffer), chunked or not, and collects the status line and headers.
class StreamingResponseParser final : public http::basic_parser<false> {
public:
    explicit StreamingResponseParser(ResponseSink& sink) : sink_(sink) {}

    HttpResponseHead head;
    std::uint64_t body_bytes = 0;
    bool stopped = false; ///< the sink asked to stop

private:
    void
    on_request_impl(http::verb, beast::string_view, beast::string_view, int, error_code&) override
    {
    }
    void on_response_impl(int code, beast::string_view reason, int, error_code&) override
    {
        head.status = code;
        head.reason = std::string(reason);
    }
    void on_field_impl(http::field,
                       beast::string_view name,
                       beast::string_view value,
                       error_code&) override
    {
        // Beast reports the trailer fields of a chunked body here too, after the head went to
        // the sink: they are not headers (RFC 9110 §6.5.1) and are not merged into the head.
        if (!header_done_)
            head.headers.push_back({std::string(name), std::string(value)});
    }
    void on_header_impl(error_code&) override { header_done_ = true; }
    void on_body_init_impl(const boost::optional<std::uint64_t>&, error_code&) override {}
    std::size_t on_body_impl(beast::string_view body, error_code& ec) override
    {
        return deliver(body, ec);
    }
    void on_chunk_header_impl(std::uint64_t, beast::string_view, error_code&) override {}
    std::size_t on_chunk_body_impl(std::uint64_t, beast::string_view body, error_code& ec) override
    {
        return deliver(body, ec);
    }
    void on_finish_impl(error_code&) override {}

    std::size_t deliver(beast::string_view body, error_code& ec)
    {
        body_bytes += body.size();
        if (!sink_.on_body(std::string_view(body.data(), body.size()))) {
            stopped = true;
            ec = make_error_code(TransportErrc::aborted);
        }
        return body.size();
    }

    ResponseSink& sink_;
    bool header_done_ = false;
};

/// One connection and its deadline. Instead of a timer armed and cancelled around every
/// operation (beast::tcp_stream's way, a timerfd update and an extra handler each), one timer
/// watches a deadline that each operation moves forward: it only fires, and re-arms itself, when
/// the deadline it was set for has passed, and closes the socket if an operation is then still
/// pending past its deadline. Shared with the timer's handler, which may outlive the transport's
/// hold on it.
struct Connection : std::enable_shared_from_this<Connection> {
    explicit Connection(asio::io_context& ioc) : socket(ioc), timer(ioc) {}

    tcp::socket socket;
    asio::steady_timer timer;
    asio::steady_timer::time_point deadline;
    bool active = false; ///< an operation is pending with `deadline`
    /// A deadline passed with an operation pending, and the socket was closed: whatever fails on
    /// this connection from then on (even an operation that completed just before, with the
    /// next one finding the socket closed) is that timeout.
    bool timed_out = false;
    bool waiting = false; ///< the timer has a wait pending
    std::uint64_t generation = 0;

    /// Starts the clock for one operation: it fails with operation_aborted (and timed_out set)
    /// when it has not completed within `limit`.
    void arm(std::chrono::milliseconds limit)
    {
        deadline = asio::steady_timer::clock_type::now() + limit;
        active = true;
        if (waiting && timer.expiry() <= deadline)
            return; // it fires first and waits on for the rest
        wait(deadline);
    }

    /// The operation completed: the deadline no longer applies.
    void disarm() { active = false; }

    void close()
    {
        active = false;
        waiting = false;
        ++generation; // a wait still queued is stale
        timer.cancel();
        error_code ignored;
        socket.shutdown(tcp::socket::shutdown_both, ignored);
        socket.close(ignored);
    }

private:
    void wait(asio::steady_timer::time_point at)
    {
        timer.expires_at(at); // a wait still pending completes with operation_aborted: stale
        waiting = true;
        timer.async_wait(
            [self = shared_from_this(), g = ++generation](error_code ec) { self->fired(ec, g); });
    }

    void fired(error_code ec, std::uint64_t g)
    {
        if (g != generation)
            return;
        waiting = false;
        if (ec || !active)
            return;
        if (asio::steady_timer::clock_type::now() < deadline) {
            wait(deadline);
            return;
        }
        timed_out = true;
        active = false;
        error_code ignored;
        socket.close(ignored); // ends the pending operation, connect included
    }
};

/// RFC 9110 §5.6.2: the characters of a token (a method).
constexpr std::string_view kTokenCharacters =
    "!#$%&'*+-.^_`|~0123456789"
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// The request's head as HTTP/1.1 puts it on the wire: Host, User-Agent and Accept, then the
/// request's own headers (one replaces a default of the same name, as Beast's set() did), then
/// Content-Length when there is a body (or the method expects one). Connection is left out: the
/// connection is kept alive. A header with an empty name, a ':' in its name, or CR, LF or NUL in
/// its name or value is not sent (nullopt): it could add lines to the head.
std::optional<std::string> serialize_head(const HttpRequest& req, const Target& t)
{
    const bool with_body =
        !req.body.empty() || req.method == "POST" || req.method == "PUT" || req.method == "PATCH";
    HttpHeaders fields{
        {"Host", t.host_header}, {"User-Agent", "sesam-emu/" SESAM_EMU_VERSION}, {"Accept", "*/*"}};
    for (const auto& h : req.headers) {
        if (h.name.empty() || h.name.find_first_of("\r\n\0:"sv) != std::string::npos ||
            h.value.find_first_of("\r\n\0"sv) != std::string::npos)
            return std::nullopt;
        if (iequals(h.name, "Connection") || (with_body && (iequals(h.name, "Content-Length") ||
                                                            iequals(h.name, "Transfer-Encoding"))))
            continue;
        std::erase_if(fields, [&](const HttpHeader& f) { return iequals(f.name, h.name); });
        fields.push_back(h);
    }
    std::string head;
    head.reserve(256 + req.url.size());
    head.append(req.method).append(" ").append(t.target).append(" HTTP/1.1\r\n");
    for (const auto& f : fields)
        head.append(f.name).append(": ").append(f.value).append("\r\n");
    if (with_body)
        head.append("Content-Length: ").append(std::to_string(req.body.size())).append("\r\n");
    head.append("\r\n");
    return head;
}

} // namespace

struct BeastTransport::Impl {
    Impl(asio::io_context& context, TransportOptions opts) : ioc(context), options(opts) {}

    asio::io_context& ioc;
    TransportOptions options;
    std::shared_ptr<Connection> conn;
    std::string connection_key;
    beast::flat_buffer buffer;
    bool cancelled = false;
    std::size_t connections = 0;

    void close()
    {
        if (conn) {
            conn->close();
            conn.reset();
        }
        buffer.clear();
        connection_key.clear();
    }

    TransportError error(TransportErrc code, std::string detail, std::uint64_t body_bytes = 0)
    {
        if (cancelled)
            return {make_error_code(TransportErrc::interrupted), "interrupted", body_bytes};
        return {make_error_code(code), std::move(detail), body_bytes};
    }

    asio::awaitable<std::optional<TransportError>> connect(const Target& t)
    {
        close();
        auto state = std::make_shared<ResolveState>(ioc);
        state->timer.expires_after(options.connect_timeout);
        state->timer.async_wait([state](error_code ec) {
            if (!ec) {
                state->timed_out = true;
                state->resolver.cancel();
            }
        });
        auto [rec, endpoints] =
            co_await state->resolver.async_resolve(t.host, t.port, nothrow_awaitable);
        state->timer.cancel();
        // A signal handled while resolving found no stream to cancel: stop here.
        if (cancelled)
            co_return error(TransportErrc::interrupted, "interrupted");
        if (rec) {
            if (state->timed_out)
                co_return error(TransportErrc::connect_timeout,
                                "resolving " + t.host + " took longer than " +
                                    seconds_text(options.connect_timeout));
            co_return error(TransportErrc::resolve_failed,
                            "cannot resolve host " + t.host + ": " + rec.message());
        }
        conn = std::make_shared<Connection>(ioc);
        conn->arm(options.connect_timeout);
        auto [cec, endpoint] =
            co_await asio::async_connect(conn->socket, endpoints, nothrow_awaitable);
        conn->disarm();
        if (cec || cancelled) {
            const bool timed_out = conn->timed_out;
            close();
            if (timed_out)
                co_return error(TransportErrc::connect_timeout,
                                "connect to " + t.key() + " timed out after " +
                                    seconds_text(options.connect_timeout));
            co_return error(TransportErrc::connect_failed,
                            "connect to " + t.key() + ": " + cec.message());
        }
        error_code ignored;
        conn->socket.set_option(tcp::no_delay(true), ignored);
        buffer.reserve(kReadBufferBytes);
        connection_key = t.key();
        ++connections;
        co_return std::nullopt;
    }

    /// Fault injection (HttpRequest::cut_after_body_bytes): the head with the whole body's
    /// Content-Length, then only `cut` body bytes, then the connection closed; nothing is read.
    asio::awaitable<SendResult>
    send_cut(const std::string& head, const std::string& body, const Target& t, std::size_t cut)
    {
        // Always a fresh connection: a pooled one the service has closed since would swallow
        // the cut without the service ever seeing it.
        if (auto failed = co_await connect(t))
            co_return *failed;
        cut = std::min(cut, body.size());
        conn->arm(options.read_timeout);
        const std::array<asio::const_buffer, 2> bytes{asio::buffer(head),
                                                      asio::buffer(body.data(), cut)};
        auto [ec, written] = co_await asio::async_write(conn->socket, bytes, nothrow_awaitable);
        conn->disarm();
        const bool timed_out = conn->timed_out;
        close();
        if (timed_out)
            co_return error(TransportErrc::write_failed,
                            "sending the request timed out after " +
                                seconds_text(options.read_timeout) + ", before the cut");
        if (ec || cancelled)
            co_return error(TransportErrc::write_failed,
                            "sending the request failed before the cut: " + ec.message());
        co_return TransportError{make_error_code(TransportErrc::aborted),
                                 "cut the request after " + std::to_string(cut) + " of " +
                                     std::to_string(body.size()) +
                                     " body bytes and closed the connection, as asked",
                                 0};
    }

    asio::awaitable<SendResult> exchange(const HttpRequest& req, ResponseSink& sink)
    {
        if (cancelled)
            co_return error(TransportErrc::interrupted, "interrupted");
        auto target = split_url(req.url);
        if (!target)
            co_return error(TransportErrc::invalid_url,
                            "'" + req.url + "' is not an absolute http:// URL");
        // RFC 9110 §9.1: a method is a token; anything else could inject lines into the head.
        if (req.method.empty() ||
            req.method.find_first_not_of(kTokenCharacters) != std::string::npos)
            co_return error(TransportErrc::write_failed,
                            "the request method is not an HTTP token: not sent");
        const auto head = serialize_head(req, *target);
        if (!head)
            co_return error(TransportErrc::write_failed,
                            "a request header has a CR, LF or NUL in its name or value, or an "
                            "empty name or a ':' in it: not sent");
        if (req.cut_after_body_bytes)
            co_return co_await send_cut(*head, req.body, *target, *req.cut_after_body_bytes);

        for (int attempt = 0;; ++attempt) {
            const bool reused = conn != nullptr && connection_key == target->key();
            if (!reused) {
                if (auto failed = co_await connect(*target))
                    co_return *failed;
            }
            // A pooled connection the server has since closed fails before any byte of a
            // response; such a request is sent once more on a fresh connection.
            const bool may_retry = reused && attempt == 0;

            if (cancelled) {
                close();
                co_return error(TransportErrc::interrupted, "interrupted");
            }
            // One gathered write: the head and the body as they are, nothing copied.
            conn->arm(options.read_timeout);
            const std::array<asio::const_buffer, 2> bytes{asio::buffer(*head),
                                                          asio::buffer(req.body)};
            auto [wec, written] =
                co_await asio::async_write(conn->socket, bytes, nothrow_awaitable);
            conn->disarm();
            if (wec) {
                const bool timed_out = conn->timed_out;
                close();
                if (may_retry && !cancelled && !timed_out)
                    continue;
                if (timed_out)
                    co_return error(TransportErrc::write_failed,
                                    "sending the request timed out after " +
                                        seconds_text(options.read_timeout));
                co_return error(TransportErrc::write_failed,
                                "sending the request failed: " + wec.message());
            }

            // RFC 9110 §15.2: interim (1xx) responses come before the final one; each is read
            // whole and dropped, so the final answer is never left on the connection for the
            // next request. 101 would switch protocols: no answer to an HTTP/1.1 request.
            std::optional<StreamingResponseParser> interim_parser;
            std::size_t interim = 0;
            error_code hec;
            bool header_timed_out = false;
            for (;; ++interim) {
                // A cancel() that ran while no operation was pending (between the write's
                // completion and this read, say) cancelled nothing: the flag is looked at here.
                if (cancelled) {
                    close();
                    co_return error(TransportErrc::interrupted, "interrupted");
                }
                interim_parser.emplace(sink);
                auto& p = *interim_parser;
                p.header_limit(kHeaderLimit);
                p.body_limit(boost::none);
                if (req.method == "HEAD")
                    p.skip(true);
                conn->arm(options.read_timeout);
                auto [ec, n] =
                    co_await http::async_read_header(conn->socket, buffer, p, nothrow_awaitable);
                conn->disarm();
                hec = ec;
                header_timed_out = conn->timed_out;
                const auto status = p.head.status;
                if (hec || status < 100 || status > 199 || status == 101)
                    break;
                if (interim == kMaxInterimResponses) {
                    close();
                    co_return error(TransportErrc::bad_response,
                                    "the service sent more than " +
                                        std::to_string(kMaxInterimResponses) +
                                        " interim (1xx) responses and no final one");
                }
            }
            auto& parser = *interim_parser;
            if (!hec && parser.head.status == 101) {
                close();
                co_return error(TransportErrc::bad_response,
                                "the service answered 101 Switching Protocols, which is no "
                                "answer to an HTTP/1.1 request");
            }
            if (hec) {
                const bool nothing_came = interim == 0 && buffer.size() == 0 && !parser.got_some();
                close();
                if (may_retry && nothing_came && !cancelled && !header_timed_out &&
                    (hec == http::error::end_of_stream || hec == asio::error::connection_reset ||
                     hec == asio::error::eof))
                    continue;
                if (header_timed_out)
                    co_return error(TransportErrc::read_timeout,
                                    "no response within the read timeout of " +
                                        seconds_text(options.read_timeout));
                if (hec == http::error::end_of_stream || hec == asio::error::connection_reset ||
                    hec == asio::error::eof)
                    co_return error(TransportErrc::read_failed,
                                    "connection closed before a response came");
                if (hec.category() == asio::error::get_system_category() ||
                    hec == asio::error::operation_aborted)
                    co_return error(TransportErrc::read_failed,
                                    "reading the response failed: " + hec.message());
                co_return error(TransportErrc::bad_response,
                                "the response is not valid HTTP: " + hec.message());
            }
            // sesam-emu sends no Accept-Encoding: an encoded body would be taken for JSON text.
            if (auto encoding = find_header(parser.head.headers, "Content-Encoding");
                encoding && !iequals(trim_ows(*encoding), "identity")) {
                close();
                co_return error(TransportErrc::bad_response,
                                "the response has Content-Encoding: " + std::string(*encoding) +
                                    ", which sesam-emu does not decode (it sends no "
                                    "Accept-Encoding)");
            }
            sink.on_head(parser.head);

            while (!parser.is_done()) {
                // cancel() cancels what waits on the socket; a body that streams in fast never
                // waits, so the flag is looked at between reads as well.
                if (cancelled) {
                    close();
                    co_return error(TransportErrc::interrupted, "interrupted", parser.body_bytes);
                }
                conn->arm(options.read_timeout);
                auto [rec, rn] =
                    co_await http::async_read_some(conn->socket, buffer, parser, nothrow_awaitable);
                conn->disarm();
                if (!rec)
                    continue;
                const bool body_timed_out = conn->timed_out;
                close();
                const auto body_bytes = parser.body_bytes;
                if (parser.stopped)
                    co_return TransportError{make_error_code(TransportErrc::aborted),
                                             "stopped reading the response",
                                             body_bytes};
                if (body_timed_out)
                    co_return error(TransportErrc::read_timeout,
                                    "no body byte within the read timeout of " +
                                        seconds_text(options.read_timeout) + " after " +
                                        std::to_string(body_bytes) + " body bytes",
                                    body_bytes);
                if (rec == http::error::partial_message || rec == asio::error::eof ||
                    rec == http::error::end_of_stream || rec == asio::error::connection_reset)
                    co_return error(TransportErrc::body_cut_short,
                                    "connection closed after " + std::to_string(body_bytes) +
                                        " body bytes, before the body was complete",
                                    body_bytes);
                co_return error(TransportErrc::bad_response,
                                "reading the body failed after " + std::to_string(body_bytes) +
                                    " bytes: " + rec.message(),
                                body_bytes);
            }
            if (!parser.keep_alive() || conn->timed_out) // a closed socket is not pooled
                close();
            co_return std::move(parser.head);
        }
    }
};

BeastTransport::BeastTransport(asio::io_context& ioc, TransportOptions options)
    : impl_(std::make_unique<Impl>(ioc, options))
{
}

BeastTransport::~BeastTransport()
{
    impl_->close();
}

SendResult BeastTransport::send(const HttpRequest& request, ResponseSink& sink)
{
    std::optional<SendResult> result;
    std::exception_ptr failure;
    asio::co_spawn(
        impl_->ioc, impl_->exchange(request, sink), [&](std::exception_ptr e, SendResult r) {
            if (e)
                failure = e;
            else
                result.emplace(std::move(r));
        });
    while (!result && !failure) {
        if (impl_->ioc.stopped())
            impl_->ioc.restart();
        impl_->ioc.run_one();
    }
    if (failure)
        std::rethrow_exception(failure);
    return std::move(*result);
}

asio::awaitable<SendResult> BeastTransport::async_send(const HttpRequest& request,
                                                       ResponseSink& sink)
{
    return impl_->exchange(request, sink);
}

void BeastTransport::close()
{
    impl_->close();
}

void BeastTransport::cancel()
{
    impl_->cancelled = true;
    // The socket is closed, not only cancelled (cancelling a connect would move it on to the
    // host's next address); the exchange, suspended on it, drops the connection when its
    // operation completes with operation_aborted.
    if (impl_->conn) {
        error_code ignored;
        impl_->conn->socket.close(ignored);
    }
}

std::size_t BeastTransport::connections_opened() const noexcept
{
    return impl_->connections;
}

} // namespace sesam::emulator
