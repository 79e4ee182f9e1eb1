#pragma once

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace sesam::testing {

/// A request as the scripted server read it off the wire.
struct RawRequest {
    std::string method;
    std::string target;
    std::string head; ///< request line and headers, as received
    std::string body;
};

/// One accepted connection, for a script to answer on with raw bytes.
class RawConnection {
public:
    explicit RawConnection(int fd) : fd_(fd) {}
    /// Writes all of `bytes` (ignores a peer that went away).
    void write(std::string_view bytes);
    /// Closes the connection now (the peer sees EOF).
    void close();
    bool closed() const { return fd_ < 0; }

private:
    int fd_;
};

/// A loopback HTTP server whose every answer is written by hand: for misbehaving services that a
/// correct server library would not produce (cut-short bodies, garbage after a 200, stalls).
/// Binds 127.0.0.1 on a free port; serves connections one at a time on its own thread.
class ScriptedServer {
public:
    /// `script` answers one request; it may write anything, sleep, or close the connection.
    using Script = std::function<void(const RawRequest&, RawConnection&)>;

    explicit ScriptedServer(Script script);
    ~ScriptedServer();
    ScriptedServer(const ScriptedServer&) = delete;
    ScriptedServer& operator=(const ScriptedServer&) = delete;

    /// `http://127.0.0.1:PORT` (no trailing slash).
    std::string base_url() const;
    unsigned short port() const { return port_; }

    /// The requests received so far.
    std::vector<RawRequest> requests() const;
    std::size_t connections() const { return connections_; }

    /// A complete response with Content-Length.
    static std::string response(int status,
                                std::string_view body,
                                std::string_view extra_headers = "",
                                std::string_view content_type = "application/json");

private:
    void loop();
    void serve(int fd);

    Script script_;
    int listen_fd_ = -1;
    unsigned short port_ = 0;
    std::atomic<bool> stop_{false};
    std::atomic<std::size_t> connections_{0};
    mutable std::mutex mutex_;
    std::vector<RawRequest> requests_;
    std::thread thread_;
};

/// Runs a command through /bin/sh, capturing stdout and stderr; returns the exit status.
struct CommandResult {
    int exit_code = -1;
    std::string out;
    std::string err;
};
CommandResult run_command(const std::string& command);

/// A child process started with /bin/sh -c, whose stdout's first line can be read; killed with
/// SIGTERM (then SIGKILL) when destroyed.
class ChildProcess {
public:
    explicit ChildProcess(const std::string& command);
    ~ChildProcess();
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;

    /// The first line the child wrote on stdout (waits up to `timeout_ms`); "" on timeout.
    std::string first_line(int timeout_ms = 10000);
    /// Sends SIGTERM and waits (2 s, 8 s in a sanitizer build; then SIGKILL); returns the exit
    /// status (128+signal if killed by a signal).
    int terminate();
    /// Waits for the child to end by itself (at most `timeout_ms`, then SIGKILL); returns its exit
    /// status as terminate() does.
    int wait(int timeout_ms = 30000);
    /// Waits until the child catches `signal` (its handler is installed: SigCgt in
    /// /proc/PID/status), at most `timeout_ms`; false on timeout. A readiness sign that does not
    /// depend on how fast the child starts (sanitizer builds start slowly).
    bool wait_until_catches(int signal, int timeout_ms = 10000) const;
    /// The child's peak resident memory (getrusage of the ended child), in KiB.
    long peak_rss_kb() const { return peak_rss_kb_; }

private:
    /// Waits up to `timeout_ms` (or, with `block`, until it ends) for the child; its exit status,
    /// or -1 when it has not ended.
    int reap(int timeout_ms, bool block);

    long peak_rss_kb_ = 0;
    int pid_ = -1;
    int out_fd_ = -1;
};

/// A loopback port nothing listens on now (bound, then closed), for a service a test starts
/// itself on a known port.
unsigned short free_port();

} // namespace sesam::testing
