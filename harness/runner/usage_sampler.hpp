#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <sys/types.h>
#include <thread>

namespace sesam::harness {

/// What a service used, as far as sampling saw.
struct ServiceUsage {
    bool known = false;               ///< false: nothing could be read (no /proc, no cgroup)
    std::uint64_t peak_rss_bytes = 0; ///< the highest resident memory seen
    std::uint64_t rss_bytes = 0;      ///< at the last sample
    double cpu_seconds = 0;           ///< user + system CPU time so far
    std::string source;               ///< `process group 1234`, `cgroup /docker/…`
};

/// The memory of a service between UsageSampler::open_window() and now.
struct MemoryWindow {
    bool known = false;
    std::uint64_t start_bytes = 0; ///< resident memory when the window opened
    std::uint64_t peak_bytes = 0;  ///< the highest seen since (at least start_bytes)
};

/// Samples the memory and CPU of a service every `interval` on a thread of its own:
/// - a command: every process of its process group (the service and whatever it started), the
///   resident sets summed at each sample, and each process's own high-water mark (VmHWM), so a
///   peak between two samples of a one-process service is not missed;
/// - a container: the same figures of the processes in its memory cgroup (`cgroup.procs`), and
///   the cgroup's CPU accounting. Not the cgroup's own memory figures: they include the page
///   cache of files the service wrote (a SQLite file, logs), which the kernel reclaims before it
///   stops a container; only when the processes cannot be read, the cgroup's usage without its
///   inactive page cache, as `docker stats` shows it.
class UsageSampler {
public:
    static std::unique_ptr<UsageSampler> process_group(pid_t pgid);
    /// The cgroup of process `pid` (a container's main process).
    static std::unique_ptr<UsageSampler> cgroup_of(pid_t pid);

    ~UsageSampler();
    UsageSampler(const UsageSampler&) = delete;
    UsageSampler& operator=(const UsageSampler&) = delete;

    /// Takes a sample now and returns the figures so far.
    ServiceUsage usage();

    /// Starts measuring the peak of one phase (a large pull, a full sync): resets the processes'
    /// high-water marks (VmHWM, through /proc/PID/clear_refs) where the kernel lets sesam-emu,
    /// so the peak between two samples is not missed, and samples every 10 ms until the next
    /// window. The run's peak is kept.
    void open_window();
    /// The phase's figures so far (a sample is taken now).
    MemoryWindow window();

private:
    struct Target;
    explicit UsageSampler(std::unique_ptr<Target> target);
    void sample();

    std::unique_ptr<Target> target_;
    std::mutex mutex_;
    ServiceUsage usage_;
    MemoryWindow window_;
    bool window_open_ = false;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

} // namespace sesam::harness
