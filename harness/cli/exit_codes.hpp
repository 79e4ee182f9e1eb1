#pragma once

namespace sesam::harness {

/// sesam-emu's exit codes: one table, here and in the README.
enum ExitCode : int {
    exit_ok = 0,               ///< success
    exit_findings = 1,         ///< at least one conformance failure of severity error
    exit_usage = 2,            ///< bad flag, bad configuration, unusable file
    exit_service_failed = 3,   ///< the service failed: unreachable, non-2xx, bad body, timeout
    exit_internal = 4,         ///< a bug or an I/O failure of sesam-emu itself
    exit_nothing_selected = 5, ///< no check selected to run
    exit_interrupted = 130,    ///< SIGINT or SIGTERM
};

} // namespace sesam::harness
