#pragma once

#include "harness/checks/check_result.hpp"
#include "harness/load/load_runner.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sesam::harness {

/// `text` made safe anywhere in an HTML page (text or a quoted attribute value): `& < > " '`
/// become character references, invalid UTF-8 and noncharacters U+FFFD, control characters
/// (C0 but tab and line feed, DEL, C1) `\uXXXX` as the console shows them, and a carriage return
/// `&#13;`.
std::string html_escape(std::string_view text);

/// What the `load` page shows beside the figures. Everything from outside (the URL, error
/// kinds, the usage source) is shown as given: redact it first.
struct LoadPageInfo {
    Role role = Role::sink;
    std::string url;
    /// How the service was driven: `2 pipes at once, 3000 entities in batches of 100`.
    std::string description;
    /// When sesam-emu started the service and could see it: its CPU time during the run and
    /// its peak memory (MB = 10^6 bytes, as `load` prints it), and where they come from.
    std::optional<double> service_cpu_seconds;
    std::optional<double> service_peak_rss_mb;
    std::string service_usage_source;
    bool thresholds = false;         ///< any of --min-rate, --max-p99, --max-errors was given
    std::vector<std::string> missed; ///< each threshold missed, as `load` prints it
    std::string sesam_emu_version;
};

/// The `load --report html:PATH` page, one self-contained file (no script, font, image or
/// style from anywhere else; a Content-Security-Policy forbids every fetch): the figures
/// (entities/s, MB/s, requests, errors by kind, latency p50/p95/p99/max/mean, the time to the
/// first byte for a source, CPU and memory) and the latency histogram (and the first byte's for a
/// source) as inline SVG, one bar per bucket of LatencyHistogram::buckets() on a logarithmic
/// axis, with p50, p95 and p99 marked. `figures.errors` is shown as given: redact its kinds first.
std::string load_report_html(const LoadPageInfo& info, const LoadFigures& figures);

} // namespace sesam::harness
