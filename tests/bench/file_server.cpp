// Serves one pre-generated file as the body of every GET, as fast as the kernel can (sendfile), so
// that a benchmark measures the client. Binds 127.0.0.1; prints "listening on http://…/" first.
// Usage: bench_file_server FILE [PORT]
#include <arpa/inet.h>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char** argv)
{
    if (argc < 2) {
        std::fprintf(stderr, "usage: bench_file_server FILE [PORT]\n");
        return 2;
    }
    std::signal(SIGPIPE, SIG_IGN);
    const int file = ::open(argv[1], O_RDONLY);
    struct stat st {};
    if (file < 0 || ::fstat(file, &st) != 0) {
        std::fprintf(stderr, "bench_file_server: cannot read %s\n", argv[1]);
        return 2;
    }
    const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(argc > 2 ? std::atoi(argv[2]) : 0));
    if (::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listener, 16) != 0) {
        std::perror("bench_file_server: listen");
        return 2;
    }
    socklen_t len = sizeof addr;
    ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
    std::printf("listening on http://127.0.0.1:%u/\n", ntohs(addr.sin_port));
    std::fflush(stdout);

    const std::string head =
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
        std::to_string(st.st_size) + "\r\nConnection: close\r\n\r\n";
    for (;;) {
        const int conn = ::accept(listener, nullptr, nullptr);
        if (conn < 0)
            continue;
        ::setsockopt(conn, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        char request[8192];
        std::string got;
        while (got.find("\r\n\r\n") == std::string::npos) {
            const auto n = ::recv(conn, request, sizeof request, 0);
            if (n <= 0)
                break;
            got.append(request, static_cast<std::size_t>(n));
        }
        if (::send(conn, head.data(), head.size(), MSG_NOSIGNAL) ==
            static_cast<ssize_t>(head.size())) {
            off_t offset = 0;
            while (offset < st.st_size)
                if (::sendfile(
                        conn, file, &offset, static_cast<std::size_t>(st.st_size - offset)) <= 0)
                    break;
        }
        ::shutdown(conn, SHUT_WR);
        while (::recv(conn, request, sizeof request, 0) > 0) {
        }
        ::close(conn);
    }
}
