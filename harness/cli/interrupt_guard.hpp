#pragma once

#include "emulator/http/beast_transport.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <functional>
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

/// For a server running on `work`: SIGINT and SIGTERM, caught on a thread of their own, post
/// `stop` to `work`. A handler that still holds `work` after `grace` (a large request being
/// processed) does not keep the process alive: it exits at once with `exit_code`. Call done()
/// when `work.run()` has returned.
class ServerSignalStop {
public:
    ServerSignalStop(boost::asio::io_context& work,
                     std::function<void()> stop,
                     std::chrono::milliseconds grace,
                     int exit_code)
        : signals_(ioc_, SIGINT, SIGTERM), timer_(ioc_)
    {
        signals_.async_wait([this, &work, stop = std::move(stop), grace, exit_code](
                                const boost::system::error_code& ec, int) {
            if (ec)
                return;
            boost::asio::post(work, stop);
            timer_.expires_after(grace);
            timer_.async_wait([this, exit_code](const boost::system::error_code& tec) {
                if (tec || done_)
                    return;
                std::fputs("serve: stopped while a request was still being processed\n", stderr);
                std::fflush(stdout);
                std::_Exit(exit_code);
            });
        });
        thread_ = std::thread([this] { ioc_.run(); });
    }
    ~ServerSignalStop()
    {
        done();
        ioc_.stop();
        thread_.join();
    }
    ServerSignalStop(const ServerSignalStop&) = delete;
    ServerSignalStop& operator=(const ServerSignalStop&) = delete;

    void done() noexcept { done_ = true; }

private:
    boost::asio::io_context ioc_;
    boost::asio::signal_set signals_;
    boost::asio::steady_timer timer_;
    std::atomic<bool> done_{false};
    std::thread thread_;
};

} // namespace sesam::harness
