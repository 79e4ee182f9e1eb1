#include "examples/reference-service/reference_service.hpp"

#include "examples/reference-service/http_server.hpp"
#include "examples/reference-service/json_limit.hpp"
#include "examples/reference-service/receiver.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>
#include <nlohmann/json.hpp>

#include <charconv>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>

namespace sesam::reference {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

constexpr const char* kServer = "sesam-emu-reference";

using Response = HttpServer::Response;

Response json_response(unsigned version, http::status status, std::string body)
{
    return reference::json_response(version, status, std::move(body), kServer);
}

/// JSON text of a value that may hold bytes from the request (a decoded URL can be invalid
/// UTF-8): those are replaced rather than throwing.
std::string text(const nlohmann::json& value)
{
    return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Response error_response(unsigned version, http::status status, const std::string& message)
{
    return reference::error_response(version, status, message, kServer);
}

/// An error response when the request has a Content-Type other than JSON. Sesam sends exactly
/// `application/json` (docs/protocol.md#push-request, #http-transform); parameters such as charset
/// are accepted, and so is a missing header, because clients differ
/// (docs/protocol.md#real-services).
std::optional<Response> reject_content_type(const HttpServer::Request& req)
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

/// Why a body could not be used as JSON.
std::string not_json(bool too_deep)
{
    return too_deep ? "the body is nested deeper than " + std::to_string(kMaxJsonDepth) + " levels"
                    : "the body is not JSON";
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

/// What the service holds; HttpServer's handler shares it with every open connection.
struct ReferenceService::Impl {
    explicit Impl(Dataset data) : dataset(std::move(data)) {}

    Dataset dataset; ///< read only: handlers on any thread share it
    // Handlers may run on several threads (serve runs the io_context on each core): the
    // receivers, the one thing they change, are used under this lock.
    std::mutex receiver_lock;
    /// POST /receiver is receivers[""]; POST /receivers/NAME/entities is receivers[NAME]. Each
    /// keeps its own full sync (docs/protocol.md#push-receiver-rules: one active sequence per
    /// receiver), so several pipes, each pushing to its own name, can sync at once, as pipes of a
    /// node do.
    std::map<std::string, Receiver> receivers;

    /// docs/protocol.md#pull: GET /entities with exclusive `since` and `limit`.
    HttpServer::Answer get_entities(const HttpServer::Request& req,
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
        // The page is a view of the dataset's text, serialized once: it is written as it is.
        return HttpServer::Answer(json_response(req.version(), http::status::ok, {}),
                                  {"[", dataset.text_after(since, limit), "]"});
    }

    /// What receiver `name` holds (an empty list for one that got nothing yet).
    Response receiver_entities(const HttpServer::Request& req, const std::string& name)
    {
        std::lock_guard lock(receiver_lock);
        const auto it = receivers.find(name);
        return json_response(req.version(),
                             http::status::ok,
                             it == receivers.end() ? "[]" : it->second.entities().dump());
    }

    /// docs/protocol.md#push: POST /receiver, the json push protocol; the rules live in Receiver.
    Response post_receiver(const HttpServer::Request& req,
                           boost::urls::url_view target,
                           const std::string& name)
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
        bool too_deep = false;
        const auto body = parse_json(req.body(), too_deep);
        if (body.is_discarded())
            return error_response(req.version(), http::status::bad_request, not_json(too_deep));
        const auto answer = [&] {
            std::lock_guard lock(receiver_lock);
            return receivers[name].post(push, body);
        }();
        if (answer.status != 200)
            return error_response(
                req.version(), static_cast<http::status>(answer.status), answer.message);
        return json_response(req.version(),
                             http::status::ok,
                             text(nlohmann::json{{"ok", true}, {"message", answer.message}}));
    }

    /// docs/protocol.md#http-transform: POST /transform answers a JSON array that replaces the
    /// batch.
    Response post_transform(const HttpServer::Request& req) const
    {
        if (auto rejected = reject_content_type(req))
            return *rejected;
        bool too_deep = false;
        const auto body = parse_json(req.body(), too_deep);
        if (too_deep)
            return error_response(req.version(), http::status::bad_request, not_json(too_deep));
        auto out = body.is_discarded() ? std::nullopt : reference_transform(body);
        if (!out)
            return error_response(req.version(),
                                  http::status::bad_request,
                                  "the body must be a JSON array of entities (objects)");
        return json_response(req.version(), http::status::ok, out->dump());
    }

    HttpServer::Answer handle(const HttpServer::Request& req)
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
                                                  {"sinks", "POST /receivers/NAME/entities"},
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
            return post_receiver(req, *target, "");
        }
        if (path == "/receiver/entities") {
            if (req.method() != http::verb::get)
                return error_response(req.version(),
                                      http::status::method_not_allowed,
                                      "use GET on /receiver/entities");
            return receiver_entities(req, "");
        }
        // POST /receivers/NAME/entities: a receiver of its own per NAME, as a node's
        // http_endpoint pipes have (/api/receivers/PIPE/entities); GET lists what it holds.
        constexpr std::string_view prefix = "/receivers/";
        constexpr std::string_view suffix = "/entities";
        if (path.size() > prefix.size() + suffix.size() && path.starts_with(prefix) &&
            path.ends_with(suffix)) {
            const auto name =
                path.substr(prefix.size(), path.size() - prefix.size() - suffix.size());
            if (name.find('/') == std::string::npos) {
                if (req.method() == http::verb::post)
                    return post_receiver(req, *target, name);
                if (req.method() == http::verb::get)
                    return receiver_entities(req, name);
                return error_response(
                    req.version(), http::status::method_not_allowed, "use POST or GET on " + path);
            }
        }
        if (path == "/transform") {
            if (req.method() != http::verb::post)
                return error_response(
                    req.version(), http::status::method_not_allowed, "use POST on /transform");
            return post_transform(req);
        }
        return error_response(req.version(), http::status::not_found, "no route for " + path);
    }
};

namespace {

HttpServer::Options server_options(const ReferenceService::Options& options)
{
    HttpServer::Options out;
    out.host = options.host;
    out.port = options.port;
    out.server = kServer;
    if (options.log)
        out.on_response = [log = options.log](const HttpServer::Request& req, const Response& res) {
            log(std::string(req.method_string()) + " " + std::string(req.target()) + " -> " +
                std::to_string(res.result_int()));
        };
    return out;
}

} // namespace

ReferenceService::ReferenceService(asio::io_context& ioc, Options options, Dataset dataset)
    : impl_(std::make_shared<Impl>(std::move(dataset))),
      server_(ioc, server_options(options), [impl = impl_](const HttpServer::Request& req) {
          return impl->handle(req);
      })
{
}

ReferenceService::~ReferenceService() = default;

std::string ReferenceService::start()
{
    return server_.start();
}

void ReferenceService::stop()
{
    server_.stop();
}

} // namespace sesam::reference
