#include "harness/runner/service_under_test.hpp"

#include <boost/url/parse.hpp>

#include <algorithm>
#include <arpa/inet.h>
#include <array>
#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <dirent.h>
#include <fcntl.h>
#include <fstream>
#include <functional>
#include <mutex>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sstream>
#include <string_view>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace sesam::harness {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr std::size_t kMaxLines = 200;
constexpr std::size_t kMaxLineBytes = 4096;
constexpr milliseconds kPollInterval{50};
constexpr milliseconds kProbeTimeout{1000};
constexpr milliseconds kDockerTimeout{30'000};
// `docker run` may pull the image first, which ready_timeout should not have to cover.
constexpr milliseconds kDockerRunTimeout{600'000};

class Fd {
public:
    Fd() = default;
    explicit Fd(int fd) : fd_(fd) {}
    Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
    Fd& operator=(Fd&& other) noexcept
    {
        reset(std::exchange(other.fd_, -1));
        return *this;
    }
    ~Fd() { reset(); }
    int get() const { return fd_; }
    void reset(int fd = -1)
    {
        if (fd_ >= 0)
            ::close(fd_);
        fd_ = fd;
    }

private:
    int fd_ = -1;
};

std::pair<Fd, Fd> make_pipe()
{
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0)
        throw ServiceStartError(std::string("pipe: ") + std::strerror(errno));
    return {Fd(fds[0]), Fd(fds[1])};
}

bool interrupted_now(const std::atomic<bool>* interrupted)
{
    // The flag is set from a signal handler; volatile keeps the load inside the loop.
    return interrupted != nullptr && interrupted->load();
}

std::string format_duration(milliseconds d)
{
    return d.count() % 1000 == 0 ? std::to_string(d.count() / 1000) + " s"
                                 : std::to_string(d.count()) + " ms";
}

std::string describe_status(int status)
{
    if (WIFEXITED(status))
        return "exited with status " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status)) {
        const int sig = WTERMSIG(status);
        const char* name = ::sigabbrev_np(sig);
        return "killed by signal " + std::to_string(sig) +
               (name != nullptr ? std::string(" (SIG") + name + ")" : std::string());
    }
    return "ended with wait status " + std::to_string(status);
}

std::string trim(std::string_view s)
{
    const auto first = s.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos)
        return {};
    return std::string(s.substr(first, s.find_last_not_of(" \t\r\n") - first + 1));
}

std::string find_on_path(const std::string& name)
{
    const char* path = std::getenv("PATH");
    std::string_view rest = path != nullptr ? path : "";
    while (true) {
        const auto colon = rest.find(':');
        std::string dir(rest.substr(0, colon));
        std::string candidate = (dir.empty() ? std::string(".") : dir) + "/" + name;
        struct stat st {};
        if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
            ::access(candidate.c_str(), X_OK) == 0)
            return candidate;
        if (colon == std::string_view::npos)
            return {};
        rest.remove_prefix(colon + 1);
    }
}

/// Starts `path` with `args` in a new process group, stdin from /dev/null, stdout and stderr on
/// the given descriptors. `env` null means the parent's environment.
pid_t spawn(const std::string& path,
            const std::vector<std::string>& args,
            const std::vector<std::string>* env,
            int out_fd,
            int err_fd)
{
    // Everything the child needs is prepared before fork: only async-signal-safe calls after.
    std::vector<char*> argv;
    argv.reserve(args.size() + 1);
    for (const auto& a : args)
        argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    std::vector<char*> envp;
    if (env != nullptr) {
        for (const auto& e : *env)
            envp.push_back(const_cast<char*>(e.c_str()));
        envp.push_back(nullptr);
    }
    Fd devnull(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (devnull.get() < 0)
        throw ServiceStartError(std::string("/dev/null: ") + std::strerror(errno));
    static constexpr char kExecFailed[] = "sesam-emu: exec failed for ";

    const pid_t pid = ::fork();
    if (pid < 0)
        throw ServiceStartError(std::string("fork: ") + std::strerror(errno));
    if (pid == 0) {
        ::setpgid(0, 0);
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        // Ignored signals survive exec; the service must see the signals we send it.
        for (int sig : {SIGPIPE, SIGINT, SIGTERM, SIGQUIT})
            ::signal(sig, SIG_DFL);
        ::dup2(devnull.get(), 0);
        ::dup2(out_fd, 1);
        ::dup2(err_fd, 2);
        // Descriptors of the harness without O_CLOEXEC (listening sockets) must not leak.
        if (::close_range(3, ~0U, 0) != 0)
            for (int fd = 3; fd < 4096; ++fd)
                ::close(fd);
        ::execve(path.c_str(), argv.data(), env != nullptr ? envp.data() : environ);
        [[maybe_unused]] auto r1 = ::write(2, kExecFailed, sizeof kExecFailed - 1);
        [[maybe_unused]] auto r2 = ::write(2, path.c_str(), path.size());
        [[maybe_unused]] auto r3 = ::write(2, "\n", 1);
        ::_exit(127);
    }
    ::setpgid(pid, pid); // also here, so the group exists before we may signal it
    return pid;
}

/// A running program's outcome, for the short docker CLI calls.
struct Captured {
    int status = -1;
    bool aborted = false; ///< timed out or interrupted, then killed
    std::string out;
    std::string err;
};

Captured run_captured(const std::string& path,
                      const std::vector<std::string>& args,
                      milliseconds timeout,
                      const std::atomic<bool>* interrupted = nullptr)
{
    auto [out_r, out_w] = make_pipe();
    auto [err_r, err_w] = make_pipe();
    const pid_t pid = spawn(path, args, nullptr, out_w.get(), err_w.get());
    out_w.reset();
    err_w.reset();

    Captured result;
    const auto deadline = Clock::now() + timeout;
    std::array<pollfd, 2> fds{{{out_r.get(), POLLIN, 0}, {err_r.get(), POLLIN, 0}}};
    std::array<std::string*, 2> sinks{&result.out, &result.err};
    while (fds[0].fd >= 0 || fds[1].fd >= 0) {
        if (Clock::now() >= deadline || interrupted_now(interrupted)) {
            ::kill(-pid, SIGKILL);
            result.aborted = true;
            break;
        }
        if (::poll(fds.data(), fds.size(), 100) < 0 && errno != EINTR)
            break;
        for (std::size_t i = 0; i < fds.size(); ++i) {
            if (fds[i].fd < 0 || fds[i].revents == 0)
                continue;
            char buf[4096];
            const ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
            if (n > 0 && sinks[i]->size() < (1U << 20))
                sinks[i]->append(buf, static_cast<std::size_t>(n));
            else if (n == 0 || (n < 0 && errno != EINTR))
                fds[i].fd = -1;
        }
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    result.status = status;
    return result;
}

/// The last lines a service wrote, bounded in count and length.
class OutputRing {
public:
    /// Called with each complete line, under the ring's lock (on the reader thread).
    std::function<void(const std::string&)> on_line;

    void append(std::string_view data)
    {
        const std::lock_guard lock(mutex_);
        for (char c : data) {
            if (c == '\n') {
                finish_line();
            } else if (partial_.size() < kMaxLineBytes) {
                partial_ += c;
            } else {
                truncated_ = true;
            }
        }
    }

    void close()
    {
        {
            const std::lock_guard lock(mutex_);
            if (!partial_.empty())
                finish_line();
            eof_ = true;
        }
        eof_cv_.notify_all();
    }

    void wait_closed(milliseconds timeout)
    {
        std::unique_lock lock(mutex_);
        eof_cv_.wait_for(lock, timeout, [&] { return eof_; });
    }

    std::string tail(std::size_t max_lines) const
    {
        const std::lock_guard lock(mutex_);
        std::vector<const std::string*> picked;
        if (!partial_.empty() && max_lines > 0)
            picked.push_back(&partial_);
        for (auto it = lines_.rbegin(); it != lines_.rend() && picked.size() < max_lines; ++it)
            picked.push_back(&*it);
        std::string text;
        for (auto it = picked.rbegin(); it != picked.rend(); ++it)
            text += **it + "\n";
        return text;
    }

private:
    void finish_line()
    {
        if (!partial_.empty() && partial_.back() == '\r')
            partial_.pop_back();
        if (truncated_)
            partial_ += " [line truncated]";
        if (on_line)
            on_line(partial_);
        lines_.push_back(std::exchange(partial_, {}));
        truncated_ = false;
        if (lines_.size() > kMaxLines)
            lines_.pop_front();
    }

    mutable std::mutex mutex_;
    std::condition_variable eof_cv_;
    std::deque<std::string> lines_;
    std::string partial_;
    bool truncated_ = false;
    bool eof_ = false;
};

/// A program started by `spawn`, the leader of its own process group.
class Child {
public:
    pid_t pid = -1;
    std::optional<int> status; ///< wait status, once reaped

    /// Reaps the leader if it has exited; true once it has.
    bool exited()
    {
        if (pid <= 0 || status)
            return status.has_value();
        int st = 0;
        const pid_t r = ::waitpid(pid, &st, WNOHANG);
        if (r == pid)
            status = st;
        else if (r < 0 && errno == ECHILD)
            status = -1; // reaped by someone else; the status is lost
        return status.has_value();
    }

    /// SIGTERM to the group, SIGKILL after `grace`; returns once the leader is reaped and no
    /// member of the group is left running.
    void terminate(milliseconds grace)
    {
        if (pid <= 0 || terminated_)
            return;
        signal_group(SIGTERM);
        const auto deadline = Clock::now() + grace;
        while (!settled() && Clock::now() < deadline)
            std::this_thread::sleep_for(milliseconds(10));
        if (!settled()) {
            signal_group(SIGKILL);
            int st = 0;
            if (!status) {
                while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
                }
                status = st;
            }
            // Killed members that were orphaned by the leader are reaped by init, not us.
            const auto limit = Clock::now() + milliseconds(2000);
            while (group_running() && Clock::now() < limit)
                std::this_thread::sleep_for(milliseconds(10));
        }
        terminated_ = true;
    }

private:
    bool settled() { return exited() && !group_running(); }

    void signal_group(int sig)
    {
        if (!group_gone_ && ::kill(-pid, sig) != 0 && errno == ESRCH)
            group_gone_ = true;
    }

    // A group of zombies still answers kill(-pgid, 0); init may take seconds to reap
    // orphans, so look for members that are not zombies.
    bool group_running()
    {
        if (group_gone_)
            return false;
        if (::kill(-pid, 0) != 0 && errno == ESRCH) {
            group_gone_ = true;
            return false;
        }
        DIR* proc = ::opendir("/proc");
        if (proc == nullptr)
            return true;
        bool running = false;
        while (const dirent* entry = ::readdir(proc)) {
            if (entry->d_name[0] < '0' || entry->d_name[0] > '9')
                continue;
            std::ifstream file(std::string("/proc/") + entry->d_name + "/stat");
            std::string stat((std::istreambuf_iterator<char>(file)), {});
            const auto paren = stat.rfind(')');
            if (paren == std::string::npos)
                continue;
            char state = 0;
            long ppid = 0;
            long pgrp = 0;
            std::istringstream fields(stat.substr(paren + 1));
            if (fields >> state >> ppid >> pgrp && pgrp == pid && state != 'Z' && state != 'X') {
                running = true;
                break;
            }
        }
        ::closedir(proc);
        return running;
    }

    bool group_gone_ = false;
    bool terminated_ = false;
};

/// Where readiness is probed: the URL's host and port, resolved once.
struct Target {
    std::string authority; ///< host:port as written in messages and the Host header
    std::vector<sockaddr_storage> addresses;
    std::vector<socklen_t> lengths;
    unsigned short port = 0;
    bool https = false;
};

Target parse_target(const std::string& url)
{
    const auto parsed = boost::urls::parse_uri(url);
    if (!parsed || !parsed->has_authority() || parsed->encoded_host().empty())
        throw std::invalid_argument("not an absolute URL with a host: " + url);
    Target target;
    target.https = parsed->scheme_id() == boost::urls::scheme::https;
    target.port = parsed->port_number() != 0 ? parsed->port_number()
                                             : static_cast<unsigned short>(target.https ? 443 : 80);
    target.authority = std::string(parsed->encoded_host()) + ":" + std::to_string(target.port);

    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    addrinfo* list = nullptr;
    const std::string host = parsed->host_address();
    const std::string port = std::to_string(target.port);
    if (const int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &list); rc != 0)
        throw ServiceStartError("cannot resolve " + host + ": " + ::gai_strerror(rc));
    for (const addrinfo* ai = list; ai != nullptr; ai = ai->ai_next) {
        sockaddr_storage storage{};
        std::memcpy(&storage, ai->ai_addr, ai->ai_addrlen);
        target.addresses.push_back(storage);
        target.lengths.push_back(ai->ai_addrlen);
    }
    ::freeaddrinfo(list);
    return target;
}

/// Every address of `target` is a loopback one (127.0.0.0/8, ::1).
bool loopback_only(const Target& target)
{
    for (const auto& a : target.addresses) {
        if (a.ss_family == AF_INET) {
            const auto* in = reinterpret_cast<const sockaddr_in*>(&a);
            if ((ntohl(in->sin_addr.s_addr) >> 24) != 127)
                return false;
        } else if (a.ss_family == AF_INET6) {
            const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&a);
            if (!IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
                return false;
        }
    }
    return true;
}

int ms_until(Clock::time_point deadline)
{
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
    return static_cast<int>(std::max<long long>(0, left));
}

/// Waits until `fd` is ready for `events` or the deadline passes.
bool wait_fd(int fd, short events, Clock::time_point deadline)
{
    pollfd p{fd, events, 0};
    while (true) {
        const int r = ::poll(&p, 1, ms_until(deadline));
        if (r > 0)
            return true;
        if (r == 0 || errno != EINTR)
            return false;
    }
}

/// A non-blocking TCP connection to one of the target's addresses, or an error text.
std::pair<Fd, std::string> connect_to(const Target& target, Clock::time_point deadline)
{
    std::string error = "no address";
    for (std::size_t i = 0; i < target.addresses.size(); ++i) {
        const auto* addr = reinterpret_cast<const sockaddr*>(&target.addresses[i]);
        Fd fd(::socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
        if (fd.get() < 0)
            return {Fd(), std::strerror(errno)};
        if (::connect(fd.get(), addr, target.lengths[i]) == 0)
            return {std::move(fd), std::string()};
        if (errno != EINPROGRESS) {
            error = std::strerror(errno);
            continue;
        }
        if (!wait_fd(fd.get(), POLLOUT, deadline)) {
            error = "timed out";
            continue;
        }
        int so_error = 0;
        socklen_t len = sizeof so_error;
        ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &so_error, &len);
        if (so_error == 0)
            return {std::move(fd), std::string()};
        error = std::strerror(so_error);
    }
    return {Fd(), error};
}

/// One readiness probe. Returns an empty string when ready, else what happened.
std::string probe(const Target& target, const std::optional<std::string>& path, milliseconds limit)
{
    const auto deadline = Clock::now() + limit;
    auto [fd, error] = connect_to(target, deadline);
    if (!path)
        return fd.get() >= 0 ? std::string() : "TCP connect: " + error;
    const std::string what = "GET " + *path;
    if (fd.get() < 0)
        return what + ": " + error;

    const std::string request =
        "GET " + *path + " HTTP/1.1\r\nHost: " + target.authority + "\r\nConnection: close\r\n\r\n";
    std::size_t sent = 0;
    while (sent < request.size()) {
        const ssize_t n =
            ::send(fd.get(), request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
        if (n > 0) {
            sent += static_cast<std::size_t>(n);
        } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            if (!wait_fd(fd.get(), POLLOUT, deadline))
                return what + ": timed out sending";
        } else {
            return what + ": " + std::strerror(errno);
        }
    }
    std::string answer;
    while (answer.find("\r\n") == std::string::npos && answer.size() < 1024) {
        if (!wait_fd(fd.get(), POLLIN, deadline))
            return what + ": no answer in time";
        char buf[512];
        const ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
        if (n == 0)
            break;
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR)
                continue;
            return what + ": " + std::strerror(errno);
        }
        answer.append(buf, static_cast<std::size_t>(n));
    }
    // "HTTP/1.1 200 OK"
    int status = 0;
    const auto space = answer.find(' ');
    if (answer.rfind("HTTP/", 0) != 0 || space == std::string::npos ||
        std::from_chars(answer.data() + space + 1, answer.data() + answer.size(), status).ec !=
            std::errc())
        return what + ": no HTTP status line";
    return status >= 200 && status < 300 ? std::string()
                                         : what + " answered " + std::to_string(status);
}

std::vector<std::string> merged_environment(const ServiceSpec& spec)
{
    std::vector<std::string> env;
    for (char** e = environ; *e != nullptr; ++e) {
        const std::string_view entry(*e);
        const auto key = entry.substr(0, entry.find('='));
        if (std::none_of(
                spec.env.begin(), spec.env.end(), [&](const auto& kv) { return kv.first == key; }))
            env.emplace_back(entry);
    }
    for (const auto& [key, value] : spec.env)
        env.push_back(key + "=" + value);
    return env;
}

} // namespace

std::vector<std::pair<std::string, std::string>> read_env_file(const std::string& path)
{
    std::ifstream in(path);
    if (!in)
        throw std::invalid_argument(path + ": cannot read: " + std::strerror(errno));
    std::vector<std::pair<std::string, std::string>> entries;
    std::string line;
    for (int number = 1; std::getline(in, line); ++number) {
        if (!line.empty() && line.back() == '\r')
            line.pop_back();
        std::string_view rest(line);
        rest.remove_prefix(std::min(rest.find_first_not_of(" \t"), rest.size()));
        if (rest.empty() || rest.front() == '#')
            continue;
        if (rest.rfind("export ", 0) == 0)
            rest.remove_prefix(7);
        const auto eq = rest.find('=');
        const std::string key = eq == std::string_view::npos ? "" : trim(rest.substr(0, eq));
        if (key.empty() || key.find_first_of(" \t") != std::string::npos)
            throw std::invalid_argument(path + ":" + std::to_string(number) +
                                        ": expected KEY=VALUE");
        std::string value(rest.substr(eq + 1));
        if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
            value.back() == value.front())
            value = value.substr(1, value.size() - 2);
        entries.emplace_back(key, std::move(value));
    }
    return entries;
}

struct ServiceUnderTest::Impl {
    ServiceSpec spec;
    Child child; ///< `sh -c COMMAND`, or `docker logs --follow ID` for an image
    OutputRing output;
    Fd output_read;
    Fd wake_read;
    Fd wake_write;
    std::thread reader;
    std::string docker;    ///< path of the docker CLI, image mode only
    std::string container; ///< container id, once `docker run` succeeded
    bool container_gone = false;
    bool container_removed = false;
    bool stopped = false;
    std::unique_ptr<UsageSampler> sampler; ///< from the start on
    ServiceUsage last_usage;               ///< what the sampler saw, once it is gone

    /// Starts `path args` with stdout and stderr going to the output ring.
    void start_child(const std::string& path,
                     const std::vector<std::string>& args,
                     const std::vector<std::string>* env)
    {
        auto [out_r, out_w] = make_pipe();
        auto [wake_r, wake_w] = make_pipe();
        child.pid = spawn(path, args, env, out_w.get(), out_w.get());
        ::fcntl(out_r.get(), F_SETFL, O_NONBLOCK);
        output_read = std::move(out_r);
        wake_read = std::move(wake_r);
        wake_write = std::move(wake_w);
        reader = std::thread([this] { read_output(); });
    }

    void read_output()
    {
        std::array<pollfd, 2> fds{{{output_read.get(), POLLIN, 0}, {wake_read.get(), POLLIN, 0}}};
        char buf[16384];
        while (true) {
            if (::poll(fds.data(), fds.size(), -1) < 0) {
                if (errno == EINTR)
                    continue;
                break;
            }
            if (fds[0].revents != 0) {
                const ssize_t n = ::read(output_read.get(), buf, sizeof buf);
                if (n > 0)
                    output.append({buf, static_cast<std::size_t>(n)});
                else if (n == 0 || (errno != EAGAIN && errno != EINTR))
                    break;
                continue;
            }
            if (fds[1].revents != 0) {
                // Stopping: take what is buffered, but never wait for writers that escaped
                // the process group and still hold the pipe.
                for (int i = 0; i < 64; ++i) {
                    const ssize_t n = ::read(output_read.get(), buf, sizeof buf);
                    if (n <= 0)
                        break;
                    output.append({buf, static_cast<std::size_t>(n)});
                }
                break;
            }
        }
        output.close();
    }

    void start_command()
    {
        const auto env = merged_environment(spec);
        start_child("/bin/sh", {"sh", "-c", *spec.command}, &env);
    }

    /// Publishes the container's port on loopback, or on every interface when the URL names
    /// a host that is not loopback (the user asked for it: a Docker-in-Docker service host).
    void
    start_container(unsigned short host_port, bool loopback, const std::atomic<bool>* interrupted)
    {
        docker = find_on_path("docker");
        if (docker.empty())
            throw ServiceStartError("docker not found on PATH");
        std::vector<std::string> args{"docker", "run", "-d", "--rm", "-p"};
        args.push_back(std::string(loopback ? "127.0.0.1:" : "0.0.0.0:") +
                       std::to_string(host_port) + ":" +
                       std::to_string(spec.container_port.value_or(host_port)));
        for (const auto& [key, value] : spec.env) {
            args.emplace_back("-e");
            args.push_back(key + "=" + value);
        }
        args.insert(args.end(), spec.docker_args.begin(), spec.docker_args.end());
        args.push_back(*spec.image);

        const Captured run = run_captured(docker, args, kDockerRunTimeout, interrupted);
        if (run.aborted)
            throw ServiceStartError(interrupted_now(interrupted)
                                        ? "interrupted while starting the container"
                                        : "docker run did not finish within " +
                                              format_duration(kDockerRunTimeout));
        if (run.status != 0)
            throw ServiceStartError("docker run " + describe_status(run.status) + ": " +
                                    trim(run.err));
        const std::string out = trim(run.out);
        container = out.substr(out.find_last_of('\n') + 1);
        if (container.empty())
            throw ServiceStartError("docker run printed no container id: " + trim(run.err));
        // Followed from the start, the logs survive the container, which --rm removes on exit.
        start_child(docker, {"docker", "logs", "--follow", container}, nullptr);
    }

    bool has_exited()
    {
        if (!spec.image)
            return child.exited();
        if (container_gone || container.empty())
            return container_gone;
        // While the log stream is open the container is running; ask docker only after.
        if (!child.exited())
            return false;
        const Captured inspect = run_captured(
            docker, {"docker", "inspect", "-f", "{{.State.Running}}", container}, kDockerTimeout);
        container_gone = inspect.status != 0 || trim(inspect.out) == "false";
        return container_gone;
    }

    std::string exit_description() const
    {
        if (spec.image)
            return container_gone ? "the container " + container + " exited" : "still running";
        if (!child.status)
            return "still running";
        return *child.status < 0 ? std::string("exited (status unknown)")
                                 : describe_status(*child.status);
    }

    std::string with_tail(const std::string& message) const
    {
        std::string tail = output.tail(40);
        if (!tail.empty())
            tail.pop_back(); // the message's own line ends it
        return message + (tail.empty() ? "; it wrote nothing" : "; its last output:\n" + tail);
    }

    void wait_ready(const Target& target, const std::atomic<bool>* interrupted)
    {
        const auto deadline = Clock::now() + spec.ready_timeout;
        std::string last = spec.ready_path ? "GET " + *spec.ready_path : "TCP connect";
        while (true) {
            if (interrupted_now(interrupted))
                throw ServiceStartError("interrupted while waiting for the service to be ready");
            if (has_exited()) {
                output.wait_closed(milliseconds(500)); // the last words, e.g. "sh: 1: x: not found"
                throw ServiceStartError(
                    with_tail("the service " +
                              (spec.image ? std::string("container exited") : exit_description()) +
                              " before it was ready"));
            }
            const auto now = Clock::now();
            if (now >= deadline)
                throw ServiceStartError(
                    with_tail("the service at " + target.authority + " was not ready within " +
                              format_duration(spec.ready_timeout) + " (" + last + ")"));
            const auto limit = std::min<milliseconds>(
                kProbeTimeout,
                std::max(milliseconds(50),
                         std::chrono::duration_cast<milliseconds>(deadline - now)));
            last = probe(target, spec.ready_path, limit);
            if (last.empty())
                return;
            std::this_thread::sleep_for(std::min<milliseconds>(
                kPollInterval,
                std::max(milliseconds(0),
                         std::chrono::duration_cast<milliseconds>(deadline - Clock::now()))));
        }
    }

    /// Samples the container through the cgroup of its main process.
    void sample_container()
    {
        const Captured inspect = run_captured(
            docker, {"docker", "inspect", "-f", "{{.State.Pid}}", container}, kDockerTimeout);
        const auto pid = std::atoi(trim(inspect.out).c_str());
        if (inspect.status == 0 && pid > 0)
            sampler = UsageSampler::cgroup_of(pid);
    }

    ServiceUsage usage()
    {
        if (sampler)
            last_usage = sampler->usage();
        return last_usage;
    }

    void stop()
    {
        if (stopped)
            return;
        stopped = true;
        usage(); // the last figures, before the processes and the cgroup are gone
        sampler.reset();
        // Also after it exited: a stopped container may still exist until --rm gets to it.
        if (!container.empty() && !container_removed) {
            run_captured(docker, {"docker", "rm", "-f", container}, kDockerTimeout);
            container_removed = container_gone = true;
        }
        // The log follower ends by itself once the container is removed.
        child.terminate(spec.image ? milliseconds(1000) : spec.stop_grace);
        if (reader.joinable()) {
            [[maybe_unused]] const auto n = ::write(wake_write.get(), "x", 1);
            reader.join();
        }
    }
};

std::unique_ptr<ServiceUnderTest> ServiceUnderTest::start(const ServiceSpec& spec,
                                                          const std::atomic<bool>* interrupted)
{
    if (spec.command.has_value() == spec.image.has_value())
        throw std::invalid_argument("exactly one of a command and an image is needed");
    const Target target = parse_target(spec.url);
    if (spec.ready_path && target.https)
        throw std::invalid_argument("a ready path needs an http:// URL: " + spec.url);

    auto impl = std::make_unique<Impl>();
    impl->spec = spec;
    impl->output.on_line = spec.on_output_line;
    // Owned from here on, so every failure below stops what was started.
    std::unique_ptr<ServiceUnderTest> service(new ServiceUnderTest(std::move(impl)));
    if (spec.command) {
        service->impl_->start_command();
        service->impl_->sampler = UsageSampler::process_group(service->impl_->child.pid);
    } else {
        service->impl_->start_container(target.port, loopback_only(target), interrupted);
        service->impl_->sample_container();
    }
    service->impl_->wait_ready(target, interrupted);
    return service;
}

ServiceUnderTest::ServiceUnderTest(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ServiceUnderTest::~ServiceUnderTest()
{
    try {
        stop();
    } catch (...) { // NOLINT(bugprone-empty-catch): a destructor cannot report
    }
}

void ServiceUnderTest::stop()
{
    impl_->stop();
}

bool ServiceUnderTest::has_exited()
{
    return impl_->has_exited();
}

std::string ServiceUnderTest::exit_description() const
{
    return impl_->exit_description();
}

ServiceUsage ServiceUnderTest::usage()
{
    return impl_->usage();
}

void ServiceUnderTest::open_memory_window()
{
    if (impl_->sampler)
        impl_->sampler->open_window();
}

MemoryWindow ServiceUnderTest::memory_window()
{
    return impl_->sampler ? impl_->sampler->window() : MemoryWindow{};
}

std::string ServiceUnderTest::output_tail(std::size_t max_lines) const
{
    return impl_->output.tail(max_lines);
}

} // namespace sesam::harness
