// A deliberately greedy microservice for the memory checks' tests: it speaks every role
// correctly, but holds everything in memory, as a naive service does.
//   GET  /entities   builds the whole body of --entities N entities (about 1 KiB each) as one
//                    string before sending it, and keeps every body it built;
//   POST /receiver   answers 200 and keeps every body it was sent;
//   POST /transform  answers the batch unchanged and keeps every body it was sent.
// Usage: greedy_service [--host IP] [--port P] [--entities N]; its first line on stdout is its
// URL.
#include "examples/reference-service/http_server.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/beast/http/verb.hpp>

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

namespace ref = sesam::reference;
namespace http = boost::beast::http;

namespace {

std::string entity(std::size_t n)
{
    const std::string text(900, static_cast<char>('a' + n % 26));
    return "{\"_id\": \"greedy-" + std::to_string(n) + "\", \"_updated\": " + std::to_string(n) +
           ", \"text\": \"" + text + "\"}";
}

} // namespace

int main(int argc, char** argv)
{
    std::string host = "127.0.0.1";
    unsigned short port = 0;
    std::size_t entities = 10;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string flag = argv[i];
        if (flag == "--host")
            host = argv[i + 1];
        else if (flag == "--port")
            port = static_cast<unsigned short>(std::atoi(argv[i + 1]));
        else if (flag == "--entities")
            entities = static_cast<std::size_t>(std::atoll(argv[i + 1]));
        else {
            std::fprintf(stderr, "greedy_service: unknown flag %s\n", flag.c_str());
            return 2;
        }
    }
    std::mutex lock;
    std::vector<std::string> kept; // never freed: the greed
    boost::asio::io_context ioc;
    ref::HttpServer::Options options;
    options.host = host;
    options.port = port;
    ref::HttpServer server(ioc, options, [&](const ref::HttpServer::Request& req) {
        const std::string target(req.target());
        std::string body;
        if (req.method() == http::verb::get && target.starts_with("/entities")) {
            body = "[";
            for (std::size_t n = 1; n <= entities; ++n)
                body += (n > 1 ? ", " : "") + entity(n);
            body += "]";
        } else if (req.method() == http::verb::post && target.starts_with("/receiver")) {
            body = "{}";
        } else if (req.method() == http::verb::post && target.starts_with("/transform")) {
            body = req.body();
        } else {
            return ref::HttpServer::Answer(
                ref::error_response(req.version(), http::status::not_found, "no route", "greedy"));
        }
        {
            std::lock_guard guard(lock);
            kept.push_back(req.method() == http::verb::get ? body : req.body());
        }
        return ref::HttpServer::Answer(
            ref::json_response(req.version(), http::status::ok, std::move(body), "greedy"));
    });
    const auto url = server.start();
    std::printf("listening on %s\n", url.c_str());
    std::fflush(stdout);
    boost::asio::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait([&](auto, int) {
        server.stop();
        ioc.stop();
    });
    ioc.run();
    return 0;
}
