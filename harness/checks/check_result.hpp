#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sesam::harness {

/// The protocol role a service plays towards Sesam.
enum class Role : std::uint8_t { source, sink, transform };

/// How much a failed check matters: errors fail a run (exit 1), warnings do not.
enum class Severity : std::uint8_t { error, warning };

enum class Verdict : std::uint8_t { passed, failed, skipped };

const char* to_string(Role role) noexcept;
const char* to_string(Severity severity) noexcept;
const char* to_string(Verdict verdict) noexcept;

/// What shows a failure, and what it takes to see it again.
struct Evidence {
    std::string request;   ///< `GET http://127.0.0.1:5000/entities?since=3`
    std::string entity_id; ///< the `_id` concerned, or ""
    std::string field;     ///< the field concerned, or ""
    std::string expected;
    std::string actual;
    std::string curl; ///< a shell command that reproduces the request
};

/// One labelled line of evidence as the text reports show it: `request`, `_id`, `field`,
/// `expected`, `actual`, `curl`.
struct EvidenceLine {
    std::string_view label;
    std::string_view value; ///< points into the Evidence
};

/// The lines of `e` that text reports show, in order: the empty ones are left out, except that
/// expected and actual come together when either is set.
std::vector<EvidenceLine> evidence_lines(const Evidence& e);

/// The fixed description of a check. Ids are stable: users put them in baselines and CI
/// dashboards.
struct CheckInfo {
    std::string_view id; ///< e.g. `source.since.exclusive`
    Role role = Role::source;
    Severity severity = Severity::error;
    std::string_view title; ///< one line
    /// the section of docs/protocol.md it enforces, e.g. `docs/protocol.md#pull-request`
    std::string_view spec;
};

/// The outcome of one check.
struct CheckResult {
    CheckInfo info;
    Verdict verdict = Verdict::passed;
    /// The severity of this outcome: the check's own, or warning for a lesser finding (a
    /// missing `_id` is a warning of `source.entity.id`).
    Severity severity = Severity::error;
    std::string message; ///< one line: what failed, or why the check was skipped
    std::vector<Evidence> evidence;
    double seconds = 0;
    bool baselined = false; ///< a failure accepted by --baseline: reported, does not fail the run

    /// A failure that makes the run fail (exit 1).
    bool fails_run() const noexcept
    {
        return verdict == Verdict::failed && severity == Severity::error && !baselined;
    }
};

/// What a run is about, for the reports.
struct RunInfo {
    std::string service_url;
    std::vector<Role> roles;
    std::string sesam_emu_version;
    /// The kind of run, naming JUnit testsuites (`SUITE.ROLE`) and shown in JSON reports:
    /// `sesam-emu` for conformance checks, `sesam-emu.replay` for a replayed fixture,
    /// `sesam-emu.test` for a node configuration's tests.
    std::string suite = "sesam-emu";
    /// JUnit: one testsuite per role (`SUITE.ROLE`); off: one testsuite named SUITE, for runs
    /// whose cases belong to no role (`sesam-emu test`: one case per spec), which also leaves
    /// the role out of JSON reports.
    bool suite_per_role = true;
};

/// Figures of a run.
struct RunSummary {
    std::size_t passed = 0;
    std::size_t failed = 0;   ///< failed with severity error, not baselined
    std::size_t warnings = 0; ///< failed with severity warning
    std::size_t baselined = 0;
    std::size_t skipped = 0;
    double seconds = 0;
    /// The last lines the service under test wrote, when sesam-emu started it and a check
    /// failed; empty otherwise.
    std::string service_output_tail;
    /// When sesam-emu started the service and could see it: its peak memory and CPU time
    /// through the run, and where the figures come from (`process group 1234`).
    std::optional<std::uint64_t> service_peak_rss_bytes;
    double service_cpu_seconds = 0;
    std::string service_usage_source;
};

} // namespace sesam::harness
