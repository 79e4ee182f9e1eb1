#pragma once

#include "examples/reference-service/dataset.hpp"
#include "examples/reference-service/http_server.hpp"

#include <functional>
#include <memory>
#include <string>

namespace boost::asio {
class io_context;
} // namespace boost::asio

namespace sesam::reference {

/// A microservice that implements Sesam's protocols correctly, as a model for service authors.
///
/// Routes:
/// - `GET /` describes the service (200), usable as a readiness probe;
/// - `GET /entities?since=N&limit=M`: the pull role (docs/protocol.md#pull): a JSON array of the
///   entities whose integer `_updated` is greater than `since`, in `_updated` order, at most
///   `limit`;
/// - `POST /receiver?sequence_id=…&is_full=…&request_id=…`: the sink role (docs/protocol.md#push),
///   a json push receiver following Receiver's rules: 200, 400 (bad parameters or body), 409 (out
///   of sequence), 415 (a Content-Type other than `application/json`, parameters allowed);
/// - `GET /receiver/entities`: the entities the receiver holds, a JSON array sorted by `_id`;
/// - `POST /transform`: the http transform role (docs/protocol.md#http-transform), see
///   reference_transform; 400 when the body is not a JSON array of objects.
/// Errors answer `{"error": "…"}`; every body is `application/json`.
///
/// Runs on the given io_context, by any number of threads, served by HttpServer.
class ReferenceService {
public:
    struct Options {
        std::string host = "127.0.0.1";
        unsigned short port = 5000; ///< 0 picks a free port
        /// Called with one line per request (method, target, status); empty = silent.
        std::function<void(const std::string&)> log;
    };

    ReferenceService(boost::asio::io_context& ioc, Options options, Dataset dataset);
    ~ReferenceService();
    ReferenceService(const ReferenceService&) = delete;
    ReferenceService& operator=(const ReferenceService&) = delete;

    /// Binds and starts accepting. Returns the base URL, e.g. `http://127.0.0.1:40123/`.
    /// Throws std::runtime_error naming the address when it cannot listen.
    std::string start();

    /// Stops accepting and closes the listening socket.
    void stop();

private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
    HttpServer server_;
};

} // namespace sesam::reference
