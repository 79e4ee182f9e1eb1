#include "examples/reference-service/reference_service.hpp"

#include "examples/reference-service/receiver.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>
#include <nlohmann/json.hpp>

#include <charconv>
#include <optional>
#include <stdexcept>

namespace sesam::reference {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto nothrow_awaitable = asio::as_tuple(asio::use_awaitable);
constexpr auto kIdleTimeout = std::chrono::seconds(75);
constexpr std::uint64_t kBodyLimit = 512ull * 1024 * 1024;

using Response = http::response<http::string_body>;

Response json_response(unsigned version, http::status status, std::string body)
{
    Response res{status, version};
    res.set(http::field::server, "sesam-emu-reference");
    res.set(http::field::content_type, "application/json");
    res.body() = std::move(body);
    res.prepare_payload();
    return res;
}

/// JSON text of a value that may hold bytes from the request (a decoded URL can be invalid
/// UTF-8): those are replaced rather than throwing.
std::string text(const nlohmann::json& value)
{
    return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Response error_response(unsigned version, http::status status, const std::string& message)
{
    return json_response(version, status, text(nlohmann::json{{"error", message}}));
}

/// An error response when the request has a Content-Type other than JSON. Sesam sends exactly
/// `application/json` (spec §4.1, §5.1); parameters such as charset are accepted, and so is a
/// missing header, because clients differ (spec §15).
std::optional<Response> reject_content_type(const http::request<http::string_body>& req)
{
    const auto it = req.find(http::field::content_type);
    if (it == req.end())
        return std::nullopt;
    auto media_type = it->value().substr(0, it->value().find(';'));
    while (!media_type.empty() && (media_type.back() == ' ' || media_type.back() == '\t'))
        media_type.remove_suffix(1);
    if (beast::iequals(media_type, "application/json"))
        return std::nullopt;
    return error_response(req.version(),
                          http::status::unsupported_media_type,
                          "Content-Type must be application/json, got '" +
                              std::string(it->value()) + "'");
}

std::optional<std::int64_t> parse_int(std::string_view text)
{
    std::int64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size())
        return std::nullopt;
    return value;
}

} // namespace

struct ReferenceService::Impl : std::enable_shared_from_this<Impl> {
    Impl(asio::io_context& context, Options opts, Dataset data)
        : ioc(context), options(std::move(opts)), dataset(std::move(data)), acceptor(context)
    {
    }

    asio::io_context& ioc;
    Options options;
    Dataset dataset;
    // Every handler runs on the one thread of `ioc`, so the receiver needs no lock.
    Receiver receiver;
    tcp::acceptor acceptor;

    void log(const std::string& line) const
    {
        if (options.log)
            options.log(line);
    }

    /// spec §3: GET /entities with exclusive `since` and `limit`.
    Response get_entities(const http::request<http::string_body>& req,
                          boost::urls::url_view target) const
    {
        std::int64_t since = -1; // every _updated is >= 0: no since means "from the beginning"
        std::size_t limit = 0;
        for (const auto& param : target.params()) {
            if (param.key == "since") {
                auto value = parse_int(param.value);
                if (!value)
                    return error_response(req.version(),
                                          http::status::bad_request,
                                          "since must be an integer _updated value, got '" +
                                              param.value + "'");
                since = *value;
            } else if (param.key == "limit") {
                auto value = parse_int(param.value);
                if (!value || *value < 1)
                    return error_response(req.version(),
                                          http::status::bad_request,
                                          "limit must be a positive integer, got '" + param.value +
                                              "'");
                limit = static_cast<std::size_t>(*value);
            }
        }
        const auto page = dataset.after(since, limit);
        std::size_t size = 2;
        for (const auto* e : page)
            size += e->json.size() + 1;
        std::string body;
        body.reserve(size);
        body += '[';
        for (std::size_t i = 0; i < page.size(); ++i) {
            if (i)
                body += ',';
            body += page[i]->json;
        }
        body += ']';
        return json_response(req.version(), http::status::ok, std::move(body));
    }

    /// spec §4: POST /receiver, the json push protocol; the rules live in Receiver.
    Response post_receiver(const http::request<http::string_body>& req,
                           boost::urls::url_view target)
    {
        if (auto rejected = reject_content_type(req))
            return *rejected;
        PushRequest push;
        for (const auto& param : target.params()) {
            bool* flag = param.key == "is_full"    ? &push.is_full
                         : param.key == "is_first" ? &push.is_first
                         : param.key == "is_last"  ? &push.is_last
                                                   : nullptr;
            if (flag) {
                if (param.value != "true" && param.value != "false")
                    return error_response(req.version(),
                                          http::status::bad_request,
                                          param.key + " must be true or false, got '" +
                                              param.value + "'");
                *flag = param.value == "true";
            } else if (param.key == "sequence_id") {
                push.sequence_id = param.value;
            } else if (param.key == "request_id") {
                push.request_id = param.value;
            } else if (param.key == "previous_request_id") {
                push.previous_request_id = param.value;
            }
        }
        const auto body = nlohmann::json::parse(req.body(), nullptr, false);
        if (body.is_discarded())
            return error_response(req.version(), http::status::bad_request, "the body is not JSON");
        const auto answer = receiver.post(push, body);
        if (answer.status != 200)
            return error_response(
                req.version(), static_cast<http::status>(answer.status), answer.message);
        return json_response(req.version(),
                             http::status::ok,
                             text(nlohmann::json{{"ok", true}, {"message", answer.message}}));
    }

    /// spec §5.1: POST /transform answers a JSON array that replaces the batch.
    Response post_transform(const http::request<http::string_body>& req) const
    {
        if (auto rejected = reject_content_type(req))
            return *rejected;
        const auto body = nlohmann::json::parse(req.body(), nullptr, false);
        auto out = body.is_discarded() ? std::nullopt : reference_transform(body);
        if (!out)
            return error_response(req.version(),
                                  http::status::bad_request,
                                  "the body must be a JSON array of entities (objects)");
        return json_response(req.version(), http::status::ok, out->dump());
    }

    Response handle(const http::request<http::string_body>& req)
    {
        auto target = boost::urls::parse_origin_form(req.target());
        if (!target)
            return error_response(req.version(), http::status::bad_request, "bad request target");
        const auto path = std::string(target->path());
        if (path == "/") {
            if (req.method() != http::verb::get && req.method() != http::verb::head)
                return error_response(
                    req.version(), http::status::method_not_allowed, "use GET on /");
            return json_response(req.version(),
                                 http::status::ok,
                                 nlohmann::json{{"service", "sesam-emu reference service"},
                                                {"roles",
                                                 {{"source", "GET /entities"},
                                                  {"sink", "POST /receiver"},
                                                  {"sink_entities", "GET /receiver/entities"},
                                                  {"transform", "POST /transform"}}},
                                                {"entities", dataset.entities().size()}}
                                     .dump());
        }
        if (path == "/entities") {
            if (req.method() != http::verb::get)
                return error_response(
                    req.version(), http::status::method_not_allowed, "use GET on /entities");
            return get_entities(req, *target);
        }
        if (path == "/receiver") {
            if (req.method() != http::verb::post)
                return error_response(
                    req.version(), http::status::method_not_allowed, "use POST on /receiver");
            return post_receiver(req, *target);
        }
        if (path == "/receiver/entities") {
            if (req.method() != http::verb::get)
                return error_response(req.version(),
                                      http::status::method_not_allowed,
                                      "use GET on /receiver/entities");
            return json_response(req.version(), http::status::ok, receiver.entities().dump());
        }
        if (path == "/transform") {
            if (req.method() != http::verb::post)
                return error_response(
                    req.version(), http::status::method_not_allowed, "use POST on /transform");
            return post_transform(req);
        }
        return error_response(req.version(), http::status::not_found, "no route for " + path);
    }

    asio::awaitable<void> session(beast::tcp_stream stream)
    {
        beast::error_code ignored;
        // STYLE.md: no Nagle delay; each response goes out in one write.
        stream.socket().set_option(tcp::no_delay(true), ignored);
        beast::flat_buffer buffer;
        buffer.reserve(64 * 1024);
        for (;;) {
            http::request_parser<http::string_body> parser;
            parser.body_limit(kBodyLimit);
            stream.expires_after(kIdleTimeout);
            auto [hec, hn] =
                co_await http::async_read_header(stream, buffer, parser, nothrow_awaitable);
            if (hec)
                break;
            // Beast does not answer `Expect: 100-continue` itself (STYLE.md); clients wait.
            if (parser.get()[http::field::expect] == "100-continue") {
                http::response<http::empty_body> cont{http::status::continue_, 11};
                auto [cec, cn] = co_await http::async_write(stream, cont, nothrow_awaitable);
                if (cec)
                    break;
            }
            auto [rec, rn] = co_await http::async_read(stream, buffer, parser, nothrow_awaitable);
            if (rec) {
                if (rec == http::error::body_limit) {
                    auto res =
                        error_response(11, http::status::payload_too_large, "body too large");
                    co_await http::async_write(stream, res, nothrow_awaitable);
                }
                break;
            }
            const auto& req = parser.get();
            Response res;
            try {
                res = handle(req);
            } catch (const std::exception& e) {
                // A bug must still get an answer and a log line, never a silent drop.
                res = error_response(req.version(), http::status::internal_server_error, e.what());
            }
            res.keep_alive(req.keep_alive());
            log(std::string(req.method_string()) + " " + std::string(req.target()) + " -> " +
                std::to_string(res.result_int()));
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
            if (ec)
                continue;
            asio::co_spawn(ioc, session(beast::tcp_stream(std::move(socket))), asio::detached);
        }
    }
};

ReferenceService::ReferenceService(asio::io_context& ioc, Options options, Dataset dataset)
    : impl_(std::make_shared<Impl>(ioc, std::move(options), std::move(dataset)))
{
}

ReferenceService::~ReferenceService()
{
    stop();
}

std::string ReferenceService::start()
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

void ReferenceService::stop()
{
    beast::error_code ignored;
    impl_->acceptor.close(ignored);
}

} // namespace sesam::reference
