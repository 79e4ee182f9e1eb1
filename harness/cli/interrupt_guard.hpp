#pragma once

#include "emulator/http/beast_transport.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <csignal>

namespace sesam::harness {

/// While alive, SIGINT and SIGTERM cancel the transport's exchange (which then returns
/// `interrupted`) instead of killing the process, so a command can store what is done, close
/// its output and exit with 130.
class InterruptGuard {
public:
    InterruptGuard(boost::asio::io_context& ioc, emulator::BeastTransport& transport)
        : signals_(ioc, SIGINT, SIGTERM)
    {
        signals_.async_wait([this, &transport](const boost::system::error_code& ec, int) {
            if (!ec) {
                interrupted_ = true;
                transport.cancel();
            }
        });
    }

    bool interrupted() const noexcept { return interrupted_; }

private:
    boost::asio::signal_set signals_;
    bool interrupted_ = false;
};

} // namespace sesam::harness
