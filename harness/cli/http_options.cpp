#include "harness/cli/http_options.hpp"

#include "harness/cli/command.hpp"
#include "harness/cli/exit_codes.hpp"

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <stdexcept>

namespace sesam::harness {

namespace em = sesam::emulator;

namespace {

std::chrono::milliseconds to_ms(double seconds, const char* flag)
{
    if (!(seconds >= 0.001 && seconds <= 1e6))
        throw UsageError(fmt::format("{} must be between 0.001 and 1000000 seconds", flag));
    return std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000));
}

/// Headers that frame the request or the connection: a --header with one of them would stall or
/// corrupt the exchange.
bool is_framing_header(std::string_view name)
{
    static constexpr std::string_view kFraming[] = {"content-length",
                                                    "transfer-encoding",
                                                    "host",
                                                    "connection",
                                                    "keep-alive",
                                                    "upgrade",
                                                    "te",
                                                    "trailer"};
    std::string lower(name);
    for (auto& c : lower)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return std::find(std::begin(kFraming), std::end(kFraming), lower) != std::end(kFraming);
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
        if (is_framing_header(header->name))
            throw UsageError("--header " + header->name +
                             ": sesam-emu sets this header itself (it frames the request)");
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

Redactor HttpArgs::redactor() const
{
    Redactor redactor;
    for (const auto& name : redact_headers)
        redactor.add_header(name);
    for (const auto& secret : secrets) {
        const auto eq = secret.find('=');
        if (eq == std::string::npos || eq + 1 == secret.size())
            // Only what precedes a '=': the rest may be the secret.
            throw UsageError("--secret '" + secret.substr(0, eq) +
                             "…' is not of the form NAME=VALUE with a value");
        redactor.add_secret(std::string_view(secret).substr(eq + 1));
    }
    for (const auto& name : secret_envs) {
        const char* value = std::getenv(name.c_str());
        if (value == nullptr || *value == '\0')
            throw UsageError("--secret-env " + name + ": the environment variable is not set");
        redactor.add_secret(value);
    }
    redactor.add_header_values(parsed_headers());
    return redactor;
}

std::unique_ptr<RecordingTransport> HttpArgs::recorder(em::Transport& real) const
{
    if (record.empty())
        return nullptr;
    auto redactor = this->redactor();
    try {
        FixtureWriter writer(record, redactor.redact(recorded_command_line()));
        return std::make_unique<RecordingTransport>(real, std::move(writer), std::move(redactor));
    } catch (const std::runtime_error& e) {
        throw UsageError(std::string(e.what()) + " (--record)");
    }
}

em::Transport& client_transport(const std::unique_ptr<RecordingTransport>& recorder,
                                em::Transport& real)
{
    if (recorder)
        return *recorder;
    return real;
}

int finish_recording(const RecordingTransport* recorder, std::string_view command, int exit_code)
{
    if (recorder == nullptr || !recorder->error())
        return exit_code;
    fmt::print(stderr, "sesam-emu {}: error: {}\n", command, *recorder->error());
    return exit_code == exit_ok ? exit_internal : exit_code;
}

void add_http_options(CLI::App& cmd, HttpArgs& args, double read_timeout)
{
    args.read_timeout = read_timeout;
    cmd.add_option("--header", args.headers, "Extra request header 'Name: value' (repeatable)")
        ->allow_extra_args(false);
    cmd.add_option("--connect-timeout", args.connect_timeout, "Seconds to connect")
        ->default_str("60");
    cmd.add_option(
           "--read-timeout", args.read_timeout, "Seconds to wait for the next byte of a response")
        ->default_str(fmt::format("{}", read_timeout));
    cmd.add_option("--record",
                   args.record,
                   "Write every HTTP exchange of the run to this fixture file (JSON lines)");
    cmd.add_option("--redact-header",
                   args.redact_headers,
                   "Replace this header's value by *** in the fixture (repeatable; Authorization "
                   "always is)")
        ->allow_extra_args(false);
    cmd.add_option("--secret",
                   args.secrets,
                   "NAME=VALUE: replace VALUE by *** wherever it appears in the fixture "
                   "(repeatable)")
        ->allow_extra_args(false);
    cmd.add_option("--secret-env",
                   args.secret_envs,
                   "Like --secret, with the value of this environment variable (repeatable)")
        ->allow_extra_args(false);
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
