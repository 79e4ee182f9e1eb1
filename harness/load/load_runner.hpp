#pragma once

#include "emulator/http/http_message.hpp"
#include "emulator/http/transport.hpp"
#include "harness/checks/check_result.hpp"
#include "harness/load/latency_histogram.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace sesam::harness {

/// How `sesam-emu load` drives a service: Sesam's access pattern for one role, at scale.
struct LoadOptions {
    Role role = Role::sink;
    std::string url; ///< `{pipe}` in it is replaced by each pipe's number (pipe_url)
    emulator::HttpHeaders headers;
    emulator::TransportOptions transport;
    /// sink and transform (docs/protocol.md#push, #transforms: Sesam's default 100)
    std::size_t batch_size = 100;
    unsigned concurrency = 1; ///< independent pipes at once, each on its own connection
    /// Repeat rounds until this much time has passed; none: one round per pipe.
    std::optional<std::chrono::duration<double>> duration;
    bool supports_since = false; ///< source: continue from the last `_updated`
    /// source: `limit` and paging with `since` (docs/protocol.md#pull-continuation)
    std::size_t page_size = 0;
    /// Makes sequence ids reproducible (`--seed`); none: random UUIDs as a node makes them.
    std::optional<std::uint64_t> seed;
};

/// What a load run measured, over all its pipes.
struct LoadFigures {
    double seconds = 0;         ///< wall time of the run
    std::uint64_t entities = 0; ///< sent (sink, transform) or received (source)
    std::uint64_t requests = 0;
    std::uint64_t bytes_sent = 0;     ///< request bodies
    std::uint64_t bytes_received = 0; ///< response bodies
    std::uint64_t rounds = 0;         ///< full and incremental syncs, pulls, or passes of batches
    std::map<std::string, std::uint64_t> errors; ///< by kind: `status 503`, `read_timeout`, …
    LatencyHistogram latency;    ///< per request, from the first byte sent to the last received
    LatencyHistogram first_byte; ///< per request, until the response's head had arrived
    double cpu_seconds = 0;      ///< sesam-emu's own CPU time (user + system) during the run

    std::uint64_t error_count() const;
    double entities_per_second() const;
    double megabytes_per_second() const; ///< bytes sent and received, MB = 10^6
};

/// Runs `options.concurrency` pipes against the service, each with its own connection (the
/// pipes share one thread per core, as wrk's connections do), and merges their figures. A pipe's
/// round:
/// - sink: a full sync of `entities` in batches (sequence_id, request_id, previous_request_id,
///   is_full, is_first, the trailing empty batch with is_last: docs/protocol.md#push-request), then
///   an incremental sync of the first tenth of them;
/// - transform: every batch once (docs/protocol.md#transforms), the answer parsed and its
///   entities counted;
/// - source: a full pull (with `limit` and `since` pages when page_size is set), then with
///   supports_since one continued pull from the last `_updated` (docs/protocol.md#pull).
/// Errors are counted by kind and the run goes on; `stop` (a SIGINT/SIGTERM flag) ends it
/// between requests. `entities` are JSON texts (one object each).
LoadFigures run_load(const LoadOptions& options,
                     const std::vector<std::string>& entities,
                     const std::atomic<bool>* stop = nullptr);

/// `url` with every `{pipe}` replaced by the pipe's number, from 1 (`index` + 1): with
/// --concurrency each sink pipe can push to a receiver of its own, as a node's pipes do (a
/// receiver keeps one full sync at a time: docs/protocol.md#push-receiver-rules).
std::string pipe_url(const std::string& url, unsigned index);

/// `count` realistic entities (about 300 bytes: names, an address, transit dates, decimals and
/// namespaced references, one in fifty deleted), the same for the same `seed`.
std::vector<std::string> generated_entities(std::size_t count, std::uint64_t seed);

} // namespace sesam::harness
