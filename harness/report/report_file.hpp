#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace sesam::harness {

/// A report that could not be written: an I/O failure of sesam-emu (exit 4), not a bug.
class ReportWriteError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// Throws std::invalid_argument (a bad `--report`, exit 2) when `path` can never take a report:
/// a directory, or a new file in a folder that is missing or not writable. `what` names the
/// report kind in the message (`JUnit report`).
void check_report_path(const std::string& path, std::string_view what);

/// Writes `text` to `path`. A new or regular file is replaced atomically (a temporary file beside
/// it, renamed over it: a crash leaves the old report or none); a symbolic link to one keeps the
/// link and replaces its target. Anything else (a FIFO, a device, /dev/stdout) is written through
/// and never replaced. Throws ReportWriteError naming `what` and the path.
void write_report_file(const std::string& path, std::string_view text, std::string_view what);

} // namespace sesam::harness
