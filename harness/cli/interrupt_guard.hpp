#pragma once

#include "emulator/http/beast_transport.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>

#include <atomic>
#include <csignal>
#include <thread>

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

/// Like InterruptGuard, but SIGINT/SIGTERM are caught on a thread of their own, so that they are
/// also seen while no exchange runs (while the service under test starts); `flag()` can be polled.
class SignalWatch {
public:
    SignalWatch(boost::asio::io_context& work, emulator::BeastTransport& transport)
        : signals_(ioc_, SIGINT, SIGTERM)
    {
        signals_.async_wait([this, &work, &transport](const boost::system::error_code& ec, int) {
            if (ec)
                return;
            interrupted_ = true;
            boost::asio::post(work, [&transport] { transport.cancel(); });
        });
        thread_ = std::thread([this] { ioc_.run(); });
    }
    ~SignalWatch()
    {
        ioc_.stop();
        thread_.join();
    }
    const std::atomic<bool>& flag() const { return interrupted_; }

private:
    boost::asio::io_context ioc_;
    boost::asio::signal_set signals_;
    std::atomic<bool> interrupted_{false};
    std::thread thread_;
};

} // namespace sesam::harness
