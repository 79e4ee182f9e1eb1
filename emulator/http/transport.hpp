#pragma once

#include "emulator/http/http_message.hpp"
#include "emulator/http/transport_error.hpp"

#include <boost/system/result.hpp>

#include <chrono>
#include <cstdint>
#include <limits>
#include <string_view>

namespace sesam::emulator {

/// Receives a response while it arrives, so bodies never need to fit in memory.
class ResponseSink {
public:
    virtual ~ResponseSink() = default;
    /// Called once, when the status line and headers are complete.
    virtual void on_head(const HttpResponseHead& head) = 0;
    /// Called for each run of body bytes, in order. Returning false stops the exchange: the
    /// connection is closed and send() returns TransportErrc::aborted.
    virtual bool on_body(std::string_view bytes) = 0;
};

/// Timeouts of the HTTP client (docs/protocol.md#conventions: connect_timeout 60 s, read_timeout
/// 1800 s).
struct TransportOptions {
    std::chrono::milliseconds connect_timeout{std::chrono::seconds(60)};
    /// The longest wait for the next byte of a response (a socket timeout, as python-requests'
    /// read timeout is), not a limit on the whole exchange.
    std::chrono::milliseconds read_timeout{std::chrono::seconds(1800)};
};

using SendResult = boost::system::result<HttpResponseHead, TransportError>;
using FetchResult = boost::system::result<HttpResponse, TransportError>;

/// The one network seam: clients speak HttpRequest/HttpResponse through this interface; the
/// Beast transport, recorders and replayers implement it.
class Transport {
public:
    virtual ~Transport() = default;

    /// Sends `request` and streams the response into `sink`. Statuses are not judged here: a 500
    /// is a successful exchange. Errors are values, never exceptions.
    virtual SendResult send(const HttpRequest& request, ResponseSink& sink) = 0;

    /// Sends `request` and collects the whole response body in memory, up to `max_body_bytes`:
    /// a larger body stops the exchange with `aborted`, its detail naming the cap.
    FetchResult fetch(const HttpRequest& request,
                      std::uint64_t max_body_bytes = std::numeric_limits<std::uint64_t>::max());
};

/// boost::system::result calls this when value() is used on an error.
[[noreturn]] void throw_exception_from_error(const TransportError& error,
                                             const boost::source_location& location);

} // namespace sesam::emulator
