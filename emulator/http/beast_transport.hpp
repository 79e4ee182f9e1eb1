#pragma once

#include "emulator/http/transport.hpp"

#include <boost/asio/awaitable.hpp>

#include <memory>

namespace boost::asio {
class io_context;
} // namespace boost::asio

namespace sesam::emulator {

/// HTTP/1.1 client over Boost.Beast (docs/protocol.md#conventions): keep-alive with one pooled
/// connection per host:port, `Connection: close` honoured, chunked and Content-Length bodies
/// streamed to the sink as they arrive, connect and read deadlines from TransportOptions.
///
/// send() is synchronous: it runs `io_context` until its own exchange completes, so other work on
/// the same context (a signal_set that calls cancel()) runs meanwhile. Not thread-safe; use one
/// transport per thread. A pooled connection keeps a timer wait (its deadline watch) on the
/// io_context until it is closed or its last deadline passes (up to the read timeout later):
/// call close() (or destroy the transport) before waiting for `io_context::run()` to return.
class BeastTransport final : public Transport {
public:
    BeastTransport(boost::asio::io_context& ioc, TransportOptions options);
    ~BeastTransport() override;
    BeastTransport(const BeastTransport&) = delete;
    BeastTransport& operator=(const BeastTransport&) = delete;

    SendResult send(const HttpRequest& request, ResponseSink& sink) override;

    /// The same exchange as a coroutine on the transport's io_context, for callers that run
    /// several transports on one context (`load`'s pipes). `request` and `sink` must outlive it.
    boost::asio::awaitable<SendResult> async_send(const HttpRequest& request, ResponseSink& sink);

    /// Closes the pooled connection, if any; the next exchange opens a new one. Not while an
    /// exchange is in progress (use cancel()).
    void close();

    /// Aborts the exchange in progress (it returns TransportErrc::interrupted) and every later
    /// one. Call from a handler running on the same io_context, e.g. a signal_set's.
    void cancel();

    /// Number of TCP connections opened so far (tests check keep-alive with it).
    std::size_t connections_opened() const noexcept;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace sesam::emulator
