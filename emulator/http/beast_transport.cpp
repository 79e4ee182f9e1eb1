#include "emulator/http/beast_transport.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/url/parse.hpp>

#include <algorithm>
#include <cctype>
#include <optional>
#include <string_view>
#include <vector>

namespace sesam::emulator {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

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

} // namespace

struct BeastTransport::Impl {
    Impl(asio::io_context& context, TransportOptions opts) : ioc(context), options(opts) {}

    asio::io_context& ioc;
    TransportOptions options;
    std::optional<beast::tcp_stream> stream;
    std::string connection_key;
    beast::flat_buffer buffer;
    bool cancelled = false;
    std::size_t connections = 0;

    void close()
    {
        if (stream) {
            error_code ignored;
            stream->socket().shutdown(tcp::socket::shutdown_both, ignored);
            stream->close();
            stream.reset();
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
        stream.emplace(ioc);
        stream->expires_after(options.connect_timeout);
        auto [cec, endpoint] = co_await stream->async_connect(endpoints, nothrow_awaitable);
        if (cec || cancelled) {
            close();
            if (cec == beast::error::timeout)
                co_return error(TransportErrc::connect_timeout,
                                "connect to " + t.key() + " timed out after " +
                                    seconds_text(options.connect_timeout));
            co_return error(TransportErrc::connect_failed,
                            "connect to " + t.key() + ": " + cec.message());
        }
        error_code ignored;
        stream->socket().set_option(tcp::no_delay(true), ignored);
        buffer.reserve(kReadBufferBytes);
        connection_key = t.key();
        ++connections;
        co_return std::nullopt;
    }

    http::request<http::string_body> build(const HttpRequest& req, const Target& t) const
    {
        http::request<http::string_body> r;
        r.version(11);
        r.method_string(req.method);
        r.target(t.target);
        r.set(http::field::host, t.host_header);
        r.set(http::field::user_agent, "sesam-emu/" SESAM_EMU_VERSION);
        r.set(http::field::accept, "*/*");
        for (const auto& h : req.headers)
            r.set(h.name, h.value);
        if (!req.body.empty() || req.method == "POST" || req.method == "PUT" ||
            req.method == "PATCH") {
            r.body() = req.body;
            r.prepare_payload();
        }
        r.keep_alive(true);
        return r;
    }

    /// Fault injection (HttpRequest::cut_after_body_bytes): the head with the whole body's
    /// Content-Length, then only `cut` body bytes, then the connection closed; nothing is read.
    asio::awaitable<SendResult>
    send_cut(const http::request<http::string_body>& request, const Target& t, std::size_t cut)
    {
        // Always a fresh connection: a pooled one the service has closed since would swallow
        // the cut without the service ever seeing it.
        if (auto failed = co_await connect(t))
            co_return *failed;
        const auto& body = request.body();
        cut = std::min(cut, body.size());
        http::serializer<true, http::string_body> serializer(request);
        stream->expires_after(options.read_timeout);
        auto [ec, written] =
            co_await http::async_write_header(*stream, serializer, nothrow_awaitable);
        if (!ec && cut > 0) {
            auto [bec, sent] = co_await asio::async_write(
                *stream, asio::buffer(body.data(), cut), nothrow_awaitable);
            ec = bec;
        }
        close();
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
        const auto request = build(req, *target);
        if (req.cut_after_body_bytes)
            co_return co_await send_cut(request, *target, *req.cut_after_body_bytes);

        for (int attempt = 0;; ++attempt) {
            const bool reused = stream.has_value() && connection_key == target->key();
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
            stream->expires_after(options.read_timeout);
            auto [wec, written] = co_await http::async_write(*stream, request, nothrow_awaitable);
            if (wec) {
                close();
                if (may_retry && !cancelled)
                    continue;
                if (wec == beast::error::timeout)
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
                stream->expires_after(options.read_timeout);
                auto [ec, n] =
                    co_await http::async_read_header(*stream, buffer, p, nothrow_awaitable);
                hec = ec;
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
                if (may_retry && nothing_came && !cancelled &&
                    (hec == http::error::end_of_stream || hec == asio::error::connection_reset ||
                     hec == asio::error::eof))
                    continue;
                if (hec == beast::error::timeout)
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
                stream->expires_after(options.read_timeout);
                auto [rec, rn] =
                    co_await http::async_read_some(*stream, buffer, parser, nothrow_awaitable);
                if (!rec)
                    continue;
                close();
                const auto body_bytes = parser.body_bytes;
                if (parser.stopped)
                    co_return TransportError{make_error_code(TransportErrc::aborted),
                                             "stopped reading the response",
                                             body_bytes};
                if (rec == beast::error::timeout)
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
            if (!parser.keep_alive())
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

void BeastTransport::cancel()
{
    impl_->cancelled = true;
    // Only cancel here: the exchange coroutine may be suspended on the stream, and it closes the
    // connection itself when its operation completes with operation_aborted.
    if (impl_->stream)
        impl_->stream->cancel();
}

std::size_t BeastTransport::connections_opened() const noexcept
{
    return impl_->connections;
}

} // namespace sesam::emulator
