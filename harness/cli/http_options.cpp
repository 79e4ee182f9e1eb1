#include "harness/cli/http_options.hpp"

#include "harness/cli/command.hpp"

#include <CLI/CLI.hpp>
#include <fmt/core.h>

namespace sesam::harness {

namespace em = sesam::emulator;

namespace {

std::chrono::milliseconds to_ms(double seconds, const char* flag)
{
    if (!(seconds >= 0.001 && seconds <= 1e6))
        throw UsageError(fmt::format("{} must be between 0.001 and 1000000 seconds", flag));
    return std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000));
}

} // namespace

em::HttpHeaders HttpArgs::parsed_headers() const
{
    em::HttpHeaders out;
    for (const auto& line : headers) {
        auto header = em::parse_header_line(line);
        if (!header) {
            // Only the first word: the rest may be a secret.
            const auto name = line.substr(0, line.find_first_of(" :"));
            throw UsageError("--header '" + name + " …' is not of the form 'Name: value'");
        }
        out.push_back(std::move(*header));
    }
    return out;
}

em::TransportOptions HttpArgs::transport_options() const
{
    em::TransportOptions options;
    options.connect_timeout = to_ms(connect_timeout, "--connect-timeout");
    options.read_timeout = to_ms(read_timeout, "--read-timeout");
    return options;
}

void add_http_options(CLI::App& cmd, HttpArgs& args)
{
    cmd.add_option("--header", args.headers, "Extra request header 'Name: value' (repeatable)")
        ->allow_extra_args(false);
    cmd.add_option("--connect-timeout", args.connect_timeout, "Seconds to connect")
        ->default_str("60");
    cmd.add_option(
           "--read-timeout", args.read_timeout, "Seconds to wait for the next byte of a response")
        ->default_str("1800");
}

std::string format_bytes(std::uint64_t bytes)
{
    if (bytes < 10 * 1024)
        return fmt::format("{} B", bytes);
    if (bytes < 10 * 1024 * 1024)
        return fmt::format("{:.1f} KiB", static_cast<double>(bytes) / 1024);
    return fmt::format("{:.1f} MiB", static_cast<double>(bytes) / (1024 * 1024));
}

} // namespace sesam::harness
