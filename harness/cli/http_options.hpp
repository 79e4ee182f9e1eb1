#pragma once

#include "emulator/http/transport.hpp"

#include <string>
#include <vector>

namespace CLI {
class App;
} // namespace CLI

namespace sesam::harness {

/// The HTTP options every client subcommand shares: extra headers and timeouts (spec §1).
struct HttpArgs {
    std::vector<std::string> headers;
    double connect_timeout = 60;
    double read_timeout = 1800;

    /// `--header` lines parsed; throws UsageError for one that is not `Name: value`.
    emulator::HttpHeaders parsed_headers() const;
    /// Throws UsageError for a timeout that is not a positive number of seconds.
    emulator::TransportOptions transport_options() const;
};

/// Adds --header, --connect-timeout and --read-timeout to `cmd`.
void add_http_options(CLI::App& cmd, HttpArgs& args);

/// `2175 B`, `12.3 KiB`, `4.1 MiB`: sizes in summary lines.
std::string format_bytes(std::uint64_t bytes);

} // namespace sesam::harness
