#include "tests/support/scripted_server.hpp"

#include <arpa/inet.h>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sstream>
#include <stdexcept>
#include <string>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace sesam::testing {

void RawConnection::write(std::string_view bytes)
{
    while (fd_ >= 0 && !bytes.empty()) {
        const auto n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (n <= 0) {
            close(); // the peer went away: closed() says so
            return;
        }
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
}

void RawConnection::close()
{
    if (fd_ >= 0) {
        ::shutdown(fd_, SHUT_RDWR);
        ::close(fd_);
        fd_ = -1;
    }
}

ScriptedServer::ScriptedServer(Script script) : script_(std::move(script))
{
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listen_fd_, 16) != 0)
        throw std::runtime_error("scripted server: cannot listen on 127.0.0.1");
    socklen_t len = sizeof addr;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { loop(); });
}

ScriptedServer::~ScriptedServer()
{
    stop_ = true;
    thread_.join();
    ::close(listen_fd_);
}

std::string ScriptedServer::base_url() const
{
    return "http://127.0.0.1:" + std::to_string(port_);
}

std::vector<RawRequest> ScriptedServer::requests() const
{
    std::lock_guard lock(mutex_);
    return requests_;
}

std::string ScriptedServer::response(int status,
                                     std::string_view body,
                                     std::string_view extra_headers,
                                     std::string_view content_type)
{
    std::ostringstream out;
    out << "HTTP/1.1 " << status << (status < 300 ? " OK" : " Error") << "\r\n"
        << "Content-Type: " << content_type << "\r\n"
        << "Content-Length: " << body.size() << "\r\n"
        << extra_headers << "\r\n"
        << body;
    return out.str();
}

void ScriptedServer::loop()
{
    while (!stop_) {
        pollfd p{listen_fd_, POLLIN, 0};
        if (::poll(&p, 1, 20) <= 0)
            continue;
        const int fd = ::accept(listen_fd_, nullptr, nullptr);
        if (fd < 0)
            continue;
        ++connections_;
        int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        serve(fd);
    }
}

void ScriptedServer::serve(int fd)
{
    RawConnection connection(fd);
    std::string buffer;
    char chunk[65536];
    while (!stop_ && !connection.closed()) {
        // Read one request head (and a Content-Length body), polling so that stop_ is seen.
        std::size_t head_end;
        while ((head_end = buffer.find("\r\n\r\n")) == std::string::npos) {
            pollfd p{fd, POLLIN, 0};
            if (stop_)
                break;
            if (::poll(&p, 1, 20) <= 0)
                continue;
            const auto n = ::recv(fd, chunk, sizeof chunk, 0);
            if (n <= 0) {
                connection.close();
                return;
            }
            buffer.append(chunk, static_cast<std::size_t>(n));
        }
        if (head_end == std::string::npos)
            break;
        RawRequest request;
        request.head = buffer.substr(0, head_end + 2);
        std::istringstream line(request.head);
        line >> request.method >> request.target;
        std::size_t length = 0;
        auto lower = request.head;
        for (auto& c : lower)
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (auto pos = lower.find("content-length:"); pos != std::string::npos)
            length = std::stoul(lower.substr(pos + 15));
        buffer.erase(0, head_end + 4);
        while (buffer.size() < length) {
            const auto n = ::recv(fd, chunk, sizeof chunk, 0);
            if (n <= 0)
                break;
            buffer.append(chunk, static_cast<std::size_t>(n));
        }
        request.body = buffer.substr(0, length);
        buffer.erase(0, length);
        {
            std::lock_guard lock(mutex_);
            requests_.push_back(request);
        }
        script_(request, connection);
    }
    connection.close();
}

CommandResult run_command(const std::string& command)
{
    char out_name[] = "/tmp/sesam-test-out-XXXXXX";
    char err_name[] = "/tmp/sesam-test-err-XXXXXX";
    ::close(::mkstemp(out_name));
    ::close(::mkstemp(err_name));
    const auto full = command + " >" + out_name + " 2>" + err_name + " </dev/null";
    const int status = std::system(full.c_str());
    auto slurp = [](const char* name) {
        std::ifstream in(name, std::ios::binary);
        std::ostringstream s;
        s << in.rdbuf();
        ::unlink(name);
        return s.str();
    };
    CommandResult result;
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    result.out = slurp(out_name);
    result.err = slurp(err_name);
    return result;
}

ChildProcess::ChildProcess(const std::string& command)
{
    int fds[2];
    if (::pipe(fds) != 0)
        throw std::runtime_error("pipe failed");
    pid_ = ::fork();
    if (pid_ == 0) {
        ::setpgid(0, 0);
        ::dup2(fds[1], STDOUT_FILENO);
        ::close(fds[0]);
        ::close(fds[1]);
        ::execl("/bin/sh", "sh", "-c", ("exec " + command).c_str(), static_cast<char*>(nullptr));
        ::_exit(127);
    }
    ::close(fds[1]);
    out_fd_ = fds[0];
}

ChildProcess::~ChildProcess()
{
    terminate();
}

std::string ChildProcess::first_line(int timeout_ms)
{
    std::string line;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (std::chrono::steady_clock::now() < deadline) {
        pollfd p{out_fd_, POLLIN, 0};
        if (::poll(&p, 1, 50) <= 0)
            continue;
        char c;
        if (::read(out_fd_, &c, 1) != 1)
            break;
        if (c == '\n')
            return line;
        line += c;
    }
    return "";
}

int ChildProcess::reap(int timeout_ms, bool block)
{
    int status = 0;
    struct rusage usage {};
    for (int waited = 0;; waited += 20) {
        if (::wait4(pid_, &status, block ? 0 : WNOHANG, &usage) == pid_)
            break;
        if (waited >= timeout_ms)
            return -1;
        ::usleep(20000);
    }
    peak_rss_kb_ = usage.ru_maxrss;
    pid_ = -1;
    ::close(out_fd_);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int ChildProcess::terminate()
{
    if (pid_ <= 0)
        return -1;
    ::kill(pid_, SIGTERM);
#if defined(__SANITIZE_ADDRESS__)
    constexpr int kGraceMs = 8000; // LeakSanitizer's check at exit takes its time
#else
    constexpr int kGraceMs = 2000;
#endif
    if (const int code = reap(kGraceMs, false); code >= 0)
        return code;
    ::kill(pid_, SIGKILL);
    return reap(0, true);
}

bool ChildProcess::wait_until_catches(int signal, int timeout_ms) const
{
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    const auto bit = std::uint64_t{1} << (signal - 1);
    const auto self = std::filesystem::read_symlink("/proc/self/exe");
    do {
        // Until the command is exec'd, the child is a copy of this process, or the shell.
        std::error_code ec;
        const auto exe =
            std::filesystem::read_symlink("/proc/" + std::to_string(pid_) + "/exe", ec);
        const auto name = exe.filename().string();
        if (ec || exe == self || name == "sh" || name == "dash" || name == "bash") {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
            continue;
        }
        std::ifstream status("/proc/" + std::to_string(pid_) + "/status");
        for (std::string line; std::getline(status, line);)
            if (line.rfind("SigCgt:", 0) == 0 && (std::stoull(line.substr(7), nullptr, 16) & bit))
                return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    } while (std::chrono::steady_clock::now() < deadline);
    return false;
}

int ChildProcess::wait(int timeout_ms)
{
    if (pid_ <= 0)
        return -1;
    if (const int code = reap(timeout_ms, false); code >= 0)
        return code;
    return terminate();
}

unsigned short free_port()
{
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        throw std::runtime_error("socket failed");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
                    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
    ::close(fd);
    if (!ok)
        throw std::runtime_error("cannot bind a loopback port");
    return ntohs(addr.sin_port);
}

} // namespace sesam::testing
