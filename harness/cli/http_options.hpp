#pragma once

#include "emulator/http/transport.hpp"
#include "harness/fixture/recording_transport.hpp"
#include "harness/fixture/redactor.hpp"

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace CLI {
class App;
} // namespace CLI

namespace sesam::harness {

/// The HTTP options every client subcommand shares: extra headers and timeouts
/// (docs/protocol.md#conventions), and recording the run's exchanges into a fixture with its
/// secrets redacted.
struct HttpArgs {
    std::vector<std::string> headers;
    double connect_timeout = 60;
    double read_timeout = 1800;              ///< set by add_http_options
    std::string record;                      ///< --record: the fixture file ("" = no recording)
    std::vector<std::string> redact_headers; ///< --redact-header NAME
    std::vector<std::string> secrets;        ///< --secret NAME=VALUE
    std::vector<std::string> secret_envs;    ///< --secret-env NAME

    /// `--header` lines parsed; throws UsageError for one that is not `Name: value`.
    emulator::HttpHeaders parsed_headers() const;
    /// Throws UsageError for a timeout that is not a positive number of seconds.
    emulator::TransportOptions transport_options() const;
    /// The secrets of --secret, --secret-env and the redacted --header values, and the headers of
    /// --redact-header. Throws UsageError for a --secret without `=` or an unset --secret-env.
    Redactor redactor() const;
    /// With --record, a RecordingTransport around `real` (which must outlive it) writing the
    /// fixture; without it, null. Throws UsageError when the file cannot be created.
    std::unique_ptr<RecordingTransport> recorder(emulator::Transport& real) const;
};

/// `recorder` when there is one, else `real`: the transport to give the clients.
emulator::Transport& client_transport(const std::unique_ptr<RecordingTransport>& recorder,
                                      emulator::Transport& real);

/// Reports a fixture that could not be written (`sesam-emu COMMAND: error: …`) and turns a
/// successful `exit_code` into exit_internal then; otherwise returns `exit_code`.
int finish_recording(const RecordingTransport* recorder, std::string_view command, int exit_code);

/// Sesam's read timeout (docs/protocol.md#conventions): what pull, push and transform wait by
/// default.
inline constexpr double kSesamReadTimeout = 1800;
/// check and replay against wait less: a silent service under test should fail a CI job in a
/// minute, not in half an hour.
inline constexpr double kTestReadTimeout = 60;

/// Adds --header, --connect-timeout, --read-timeout (default `read_timeout` seconds), --record,
/// --redact-header, --secret and --secret-env to `cmd`. `--header` refuses the headers that frame
/// a request (Content-Length, Transfer-Encoding, Host, Connection, …).
void add_http_options(CLI::App& cmd, HttpArgs& args, double read_timeout = kSesamReadTimeout);

/// `2175 B`, `12.3 KiB`, `4.1 MiB`: sizes in summary lines.
std::string format_bytes(std::uint64_t bytes);

} // namespace sesam::harness
