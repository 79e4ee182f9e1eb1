// A receiver that reads and discards every request body and answers 200 at once, so that a push
// benchmark measures the client. Keep-alive; binds 127.0.0.1; prints "listening on http://…/".
// Usage: bench_discard_server [PORT]
#include <arpa/inet.h>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

namespace {

/// Serves one connection until the peer closes it.
void serve(int conn)
{
    static constexpr char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    std::string buffer;
    char chunk[1 << 16];
    for (;;) {
        std::size_t head_end;
        while ((head_end = buffer.find("\r\n\r\n")) == std::string::npos) {
            const auto n = ::recv(conn, chunk, sizeof chunk, 0);
            if (n <= 0)
                return;
            buffer.append(chunk, static_cast<std::size_t>(n));
        }
        std::size_t length = 0;
        for (std::size_t pos = 0; pos < head_end;) {
            const auto eol = buffer.find("\r\n", pos);
            if (::strncasecmp(buffer.c_str() + pos, "content-length:", 15) == 0)
                length = std::strtoull(buffer.c_str() + pos + 15, nullptr, 10);
            pos = eol + 2;
        }
        std::size_t have = buffer.size() - head_end - 4;
        while (have < length) {
            const auto n = ::recv(conn, chunk, sizeof chunk, 0);
            if (n <= 0)
                return;
            have += static_cast<std::size_t>(n);
        }
        // Bytes past this body belong to the next request.
        buffer.erase(0, head_end + 4 + length);
        if (::send(conn, ok, sizeof ok - 1, MSG_NOSIGNAL) < 0)
            return;
    }
}

} // namespace

int main(int argc, char** argv)
{
    std::signal(SIGPIPE, SIG_IGN);
    const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(argc > 1 ? std::atoi(argv[1]) : 0));
    if (::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listener, 16) != 0) {
        std::perror("bench_discard_server: listen");
        return 2;
    }
    socklen_t len = sizeof addr;
    ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
    std::printf("listening on http://127.0.0.1:%u/\n", ntohs(addr.sin_port));
    std::fflush(stdout);
    for (;;) {
        const int conn = ::accept(listener, nullptr, nullptr);
        if (conn < 0)
            continue;
        ::setsockopt(conn, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        serve(conn);
        ::close(conn);
    }
}
