#include "harness/runner/usage_sampler.hpp"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <unistd.h>
#include <vector>

namespace sesam::harness {

namespace fs = std::filesystem;

namespace {

constexpr auto kInterval = std::chrono::milliseconds(50);
constexpr auto kWindowInterval = std::chrono::milliseconds(10);

std::string read_text(const fs::path& path)
{
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

std::optional<std::uint64_t> read_number(const fs::path& path)
{
    std::ifstream in(path);
    std::uint64_t n = 0;
    if (in >> n)
        return n;
    return std::nullopt;
}

/// The value in kB of `Key:` in /proc/PID/status, in bytes.
std::uint64_t status_kb(const std::string& status, const std::string& key)
{
    const auto at = status.find("\n" + key + ":");
    if (at == std::string::npos)
        return 0;
    return std::strtoull(status.c_str() + at + key.size() + 2, nullptr, 10) * 1024;
}

struct ProcessFigures {
    std::uint64_t rss = 0;
    std::uint64_t hwm = 0;
    double cpu = 0;
    std::vector<pid_t> pids;
};

/// The processes of group `pgid`, from /proc/PID/stat (fields after the command's `)`).
ProcessFigures process_group_figures(pid_t pgid, bool& found)
{
    ProcessFigures out;
    const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
    std::error_code ec;
    for (auto it = fs::directory_iterator("/proc", ec); !ec && it != fs::directory_iterator();
         it.increment(ec)) {
        const auto name = it->path().filename().string();
        if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos)
            continue;
        const auto stat = read_text(it->path() / "stat");
        const auto close = stat.rfind(')');
        if (close == std::string::npos)
            continue;
        std::istringstream fields(stat.substr(close + 2));
        std::string state;
        long ppid = 0;
        long group = 0;
        fields >> state >> ppid >> group;
        if (group != pgid)
            continue;
        found = true;
        out.pids.push_back(static_cast<pid_t>(std::stol(name)));
        // Fields 14-17 of stat: utime, stime, cutime, cstime (after pid, comm, state, ppid and
        // pgrp: 9 more to skip).
        std::string skip;
        for (int i = 0; i < 8; ++i)
            fields >> skip;
        unsigned long long utime = 0, stime = 0;
        long long cutime = 0, cstime = 0;
        fields >> utime >> stime >> cutime >> cstime;
        out.cpu += static_cast<double>(utime + stime) / ticks +
                   static_cast<double>(std::max(0LL, cutime + cstime)) / ticks;
        const auto status = read_text(it->path() / "status");
        out.rss += status_kb(status, "VmRSS");
        out.hwm = std::max(out.hwm, status_kb(status, "VmHWM"));
    }
    return out;
}

/// The resident memory of the processes listed in a cgroup's `cgroup.procs` (a container's),
/// as for a process group: the kernel's page cache, which the cgroup's own figures include
/// and reclaims before it stops a container, is left out.
ProcessFigures cgroup_process_figures(const fs::path& cgroup, bool& found)
{
    ProcessFigures out;
    std::istringstream procs(read_text(cgroup / "cgroup.procs"));
    pid_t pid = 0;
    while (procs >> pid) {
        const auto status = read_text("/proc/" + std::to_string(pid) + "/status");
        if (status.empty())
            continue;
        found = true;
        out.pids.push_back(pid);
        out.rss += status_kb(status, "VmRSS");
        out.hwm = std::max(out.hwm, status_kb(status, "VmHWM"));
    }
    return out;
}

/// The value of `key` in a cgroup's memory.stat.
std::uint64_t memory_stat(const fs::path& cgroup, const std::string& key)
{
    const auto stat = "\n" + read_text(cgroup / "memory.stat");
    const auto at = stat.find("\n" + key + " ");
    return at == std::string::npos ? 0
                                   : std::strtoull(stat.c_str() + at + key.size() + 2, nullptr, 10);
}

/// The path of `controller`'s cgroup for `pid` under /sys/fs/cgroup (v1), or the unified one.
std::optional<fs::path> cgroup_path(pid_t pid, const std::string& controller, bool& v2)
{
    std::istringstream lines(read_text("/proc/" + std::to_string(pid) + "/cgroup"));
    std::string line;
    std::optional<fs::path> unified;
    while (std::getline(lines, line)) {
        const auto a = line.find(':');
        const auto b = line.find(':', a + 1);
        if (a == std::string::npos || b == std::string::npos)
            continue;
        const auto controllers = line.substr(a + 1, b - a - 1);
        const auto path = line.substr(b + 1);
        if (controllers.empty())
            unified = fs::path("/sys/fs/cgroup") / fs::path(path).relative_path();
        std::istringstream names(controllers);
        std::string c;
        while (std::getline(names, c, ','))
            if (c == controller)
                return fs::path("/sys/fs/cgroup") / controller / fs::path(path).relative_path();
    }
    v2 = unified.has_value();
    return unified;
}

} // namespace

struct UsageSampler::Target {
    pid_t pgid = -1;
    std::optional<fs::path> memory; ///< cgroup folders
    std::optional<fs::path> cpu;
    bool v2 = false;
    std::string source;
    /// The high-water marks were reset when the window opened: they measure the window.
    std::atomic<bool> marks_reset{false};
};

std::unique_ptr<UsageSampler> UsageSampler::process_group(pid_t pgid)
{
    auto t = std::make_unique<Target>();
    t->pgid = pgid;
    t->source = "process group " + std::to_string(pgid);
    return std::unique_ptr<UsageSampler>(new UsageSampler(std::move(t)));
}

std::unique_ptr<UsageSampler> UsageSampler::cgroup_of(pid_t pid)
{
    auto t = std::make_unique<Target>();
    bool v2 = false;
    t->memory = cgroup_path(pid, "memory", v2);
    t->v2 = v2;
    bool ignored = false;
    t->cpu = cgroup_path(pid, "cpuacct", ignored);
    t->source =
        t->memory ? "cgroup " + t->memory->string() : "no cgroup of process " + std::to_string(pid);
    return std::unique_ptr<UsageSampler>(new UsageSampler(std::move(t)));
}

UsageSampler::UsageSampler(std::unique_ptr<Target> target) : target_(std::move(target))
{
    usage_.source = target_->source;
    sample();
    thread_ = std::thread([this] {
        auto slept = std::chrono::milliseconds(0);
        while (!stop_) {
            std::this_thread::sleep_for(kWindowInterval);
            slept += kWindowInterval;
            bool fast = false;
            {
                std::lock_guard lock(mutex_);
                fast = window_open_;
            }
            if (fast || slept >= kInterval) {
                slept = std::chrono::milliseconds(0);
                sample();
            }
        }
    });
}

UsageSampler::~UsageSampler()
{
    stop_ = true;
    thread_.join();
}

void UsageSampler::sample()
{
    ServiceUsage now;
    const auto& t = *target_;
    if (t.pgid > 0) {
        bool found = false;
        const auto f = process_group_figures(t.pgid, found);
        if (!found)
            return; // gone: keep what was seen
        now.known = true;
        now.rss_bytes = f.rss;
        now.peak_rss_bytes = std::max(f.rss, f.hwm);
        now.cpu_seconds = f.cpu;
    } else if (t.memory) {
        const auto& m = *t.memory;
        bool found = false;
        const auto f = cgroup_process_figures(m, found);
        if (found) {
            now.rss_bytes = f.rss;
            now.peak_rss_bytes = std::max(f.rss, f.hwm);
        } else {
            // The processes cannot be read (another PID namespace): the cgroup's usage without
            // its inactive page cache, as `docker stats` shows it.
            const auto current =
                read_number(m / (t.v2 ? "memory.current" : "memory.usage_in_bytes"));
            if (!current)
                return; // the cgroup is gone with the container
            const auto cache = memory_stat(m, t.v2 ? "inactive_file" : "total_inactive_file");
            now.rss_bytes = *current - std::min(*current, cache);
            now.peak_rss_bytes = now.rss_bytes;
        }
        now.known = true;
        if (t.v2) {
            const auto stat = read_text(m / "cpu.stat");
            const auto at = stat.find("usage_usec ");
            if (at != std::string::npos)
                now.cpu_seconds = std::strtod(stat.c_str() + at + 11, nullptr) / 1e6;
        } else if (t.cpu) {
            now.cpu_seconds =
                static_cast<double>(read_number(*t.cpu / "cpuacct.usage").value_or(0)) / 1e9;
        }
    } else {
        return;
    }
    std::lock_guard lock(mutex_);
    if (window_open_) {
        window_.known = true;
        window_.peak_bytes =
            std::max(window_.peak_bytes, t.marks_reset ? now.peak_rss_bytes : now.rss_bytes);
    }
    usage_.known = true;
    usage_.rss_bytes = now.rss_bytes;
    usage_.peak_rss_bytes = std::max(usage_.peak_rss_bytes, now.peak_rss_bytes);
    usage_.cpu_seconds = std::max(usage_.cpu_seconds, now.cpu_seconds);
}

void UsageSampler::open_window()
{
    sample(); // the run's peak so far, before the marks are reset
    auto& t = *target_;
    auto reset = [](const fs::path& path, const char* value) {
        std::ofstream out(path);
        out << value;
        out.flush();
        return out.good();
    };
    bool found = false;
    const auto pids = t.pgid > 0 ? process_group_figures(t.pgid, found).pids
                      : t.memory ? cgroup_process_figures(*t.memory, found).pids
                                 : std::vector<pid_t>{};
    // "5" resets VmHWM to the current resident set (proc(5), clear_refs). Where one cannot be
    // reset, the 10 ms samples of the current figure decide.
    bool all_reset = found;
    for (const auto pid : pids)
        all_reset = reset("/proc/" + std::to_string(pid) + "/clear_refs", "5") && all_reset;
    t.marks_reset = all_reset;
    {
        std::lock_guard lock(mutex_);
        window_open_ = false;
    }
    sample();
    std::lock_guard lock(mutex_);
    window_ = {usage_.known, usage_.rss_bytes, usage_.rss_bytes};
    window_open_ = true;
}

MemoryWindow UsageSampler::window()
{
    sample();
    std::lock_guard lock(mutex_);
    return window_;
}

ServiceUsage UsageSampler::usage()
{
    sample();
    std::lock_guard lock(mutex_);
    return usage_;
}

} // namespace sesam::harness
