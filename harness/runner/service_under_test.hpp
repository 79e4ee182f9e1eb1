#pragma once

#include "harness/runner/usage_sampler.hpp"

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace sesam::harness {

/// How to start the service under test and how to know it is ready.
struct ServiceSpec {
    /// A shell command (`/bin/sh -c`), started in its own process group. Exactly one of
    /// `command` and `image` is set.
    std::optional<std::string> command;
    /// A container image, run with the docker CLI (`docker` on PATH) as `docker run -d --rm -p
    /// 127.0.0.1:<URL port>:<container_port> [-e K=V]… [docker_args]… IMAGE`: published on
    /// 127.0.0.1 only, at the port of the service URL. Its output is followed from the start
    /// (`docker logs --follow`), so it is still there after the container exited and --rm
    /// removed it.
    std::optional<std::string> image;
    std::optional<unsigned short> container_port; ///< default: the port of the URL
    std::vector<std::string> docker_args;         ///< extra `docker run` arguments, in order
    std::vector<std::pair<std::string, std::string>> env; ///< for the command or the container

    /// The URL checks will use; readiness is judged against its host and port.
    std::string url;
    std::chrono::milliseconds ready_timeout{std::chrono::seconds(30)};
    /// Without it, ready means a TCP connection to the URL's host:port succeeds; with it, a GET
    /// of this path answers 2xx (a plain HTTP/1.1 GET: needs an http:// URL).
    std::optional<std::string> ready_path;
    std::chrono::milliseconds stop_grace{std::chrono::seconds(5)}; ///< SIGTERM → SIGKILL
    /// Called with each line the service writes (stdout and stderr), as it comes, on a thread
    /// of the service's own: e.g. to keep a log file. Must not throw.
    std::function<void(const std::string&)> on_output_line;
};

/// The service could not be started or did not become ready (exit code 3). The message says
/// which, and ends with the last lines of the service's output.
class ServiceStartError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// Parses `K=V` lines (blank lines and `#` comments skipped) of an --env-file. An `export `
/// prefix is allowed and one pair of matching surrounding quotes is stripped from a value;
/// nothing else is interpreted. Throws std::invalid_argument naming the file and line.
std::vector<std::pair<std::string, std::string>> read_env_file(const std::string& path);

/// A started service. Destroying it stops it on every way out: the process group gets SIGTERM,
/// then SIGKILL after `stop_grace`; a container is removed (`docker rm -f`). The destructor
/// returns only once the service is gone.
class ServiceUnderTest {
public:
    /// Starts the service and waits until it is ready; whatever was started is stopped again
    /// when it throws. Throws ServiceStartError, or std::invalid_argument for a spec that cannot
    /// work (not exactly one of command and image, a URL without host, a ready path with an
    /// https:// URL). `interrupted` is polled while waiting (a SIGINT/SIGTERM flag); when it
    /// turns true the wait ends with a ServiceStartError saying so. `docker run` (which may
    /// pull the image) does not count against `ready_timeout`.
    static std::unique_ptr<ServiceUnderTest> start(const ServiceSpec& spec,
                                                   const std::atomic<bool>* interrupted = nullptr);

    ~ServiceUnderTest();
    ServiceUnderTest(const ServiceUnderTest&) = delete;
    ServiceUnderTest& operator=(const ServiceUnderTest&) = delete;

    /// Stops the service now (idempotent).
    void stop();

    /// True when the process (or container) has exited, by itself or after stop(); then
    /// `exit_description()` says how (`exited with status 1`, `killed by signal 11 (SIGSEGV)`,
    /// `the container ID exited`), and before that `still running`.
    bool has_exited();
    std::string exit_description() const;

    /// The service's memory and CPU so far, sampled from its start (UsageSampler): its process
    /// group for a command, its cgroup for a container. Still the figures seen once it stopped.
    ServiceUsage usage();

    /// Measures the memory of one phase (UsageSampler::open_window); an unknown window when
    /// nothing can be sampled.
    void open_memory_window();
    MemoryWindow memory_window();

    /// The last `max_lines` lines of what the service wrote on stdout and stderr.
    std::string output_tail(std::size_t max_lines = 40) const;

private:
    struct Impl;
    explicit ServiceUnderTest(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

} // namespace sesam::harness
