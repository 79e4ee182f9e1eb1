// libFuzzer target: the fixture reader (harness/fixture), a fixture file's bytes, and the replay
// index built from it (what `replay serve` does with a fixture).
// Beyond "no crash and no sanitizer report", every input is checked for:
// - read_fixture either returns a fixture or throws FixtureError naming the file; no other
//   exception escapes (libFuzzer reports one as a crash);
// - what it returns is what its header promises: methods and header names are tokens, no line
//   break in a header value or a reason, statuses 200-999, line numbers rising;
// - ReplayIndex::load accepts the same file, and every recorded request, sent again in recorded
//   order, is answered by its own exchange.

#include "harness/fixture/fixture_reader.hpp"

#include "emulator/http/http_message.hpp"
#include "emulator/http/url.hpp"
#include "harness/fixture/replay_index.hpp"
#include "tests/fuzz/fuzz_check.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <sys/mman.h>
#include <unistd.h>

namespace {

using namespace sesam::harness;
using sesam::fuzz::require;

/// The input as a file that read_fixture can open by path, kept in memory (memfd).
class MemoryFile {
public:
    MemoryFile() : fd_(memfd_create("sesam-fuzz-fixture", 0))
    {
        require(fd_ >= 0, "memfd_create works (harness)");
        path_ = "/proc/self/fd/" + std::to_string(fd_);
    }

    const std::string& write(const std::uint8_t* data, std::size_t size)
    {
        require(ftruncate(fd_, 0) == 0, "ftruncate works (harness)");
        for (std::size_t at = 0; at < size;) {
            const auto n = pwrite(fd_, data + at, size - at, static_cast<off_t>(at));
            require(n > 0, "pwrite works (harness)");
            at += static_cast<std::size_t>(n);
        }
        return path_;
    }

private:
    int fd_;
    std::string path_;
};

bool no_line_break(std::string_view s)
{
    return s.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

void check_fixture(const Fixture& fixture)
{
    require(fixture.header.format_version == 1, "format_version 1");
    std::size_t line = 1;
    for (const auto& x : fixture.exchanges) {
        require(x.line > line, "exchange lines rise after the header");
        line = x.line;
        require(sesam::emulator::is_token(x.method), "a method is a token");
        require(!sesam::emulator::check_http_url(x.url), "a url is an absolute http:// URL");
        require(!x.status || (*x.status >= 200 && *x.status <= 999), "a status is 200-999");
        require(no_line_break(x.reason), "no line break in a reason");
        for (const auto* headers : {&x.request_headers, &x.response_headers}) {
            for (const auto& [name, value] : *headers) {
                require(sesam::emulator::is_token(name), "a header name is a token");
                require(no_line_break(value), "no line break in a header value");
            }
        }
    }
}

void check_replay(const std::string& path, const Fixture& fixture)
{
    ReplayIndex index = ReplayIndex::load(path); // throws only what read_fixture threw
    for (const auto& x : fixture.exchanges) {
        if (!x.status) {
            continue;
        }
        const ReplayMatch match = index.match(x.method, sesam::emulator::request_target(x.url));
        require(match.exchange != nullptr && match.exchange->line == x.line,
                "a recorded request, replayed in order, gets its own recorded answer");
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    static MemoryFile file;
    const std::string& path = file.write(data, size);
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    json_depth(text);

    Fixture fixture;
    try {
        fixture = read_fixture(path);
    } catch (const FixtureError& e) {
        require(std::string_view(e.what()).starts_with(path + ":"),
                "a FixtureError names the file");
        return 0;
    }
    check_fixture(fixture);
    check_replay(path, fixture);
    return 0;
}
