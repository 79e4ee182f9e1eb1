#include "harness/cli/service_options.hpp"

#include "harness/cli/command.hpp"

#include <CLI/CLI.hpp>

#include <cstdint>
#include <stdexcept>

namespace sesam::harness {

std::optional<ServiceSpec> ServiceArgs::spec(const std::string& url) const
{
    if (exec.empty() && image.empty())
        return std::nullopt;
    ServiceSpec spec;
    spec.url = url;
    if (!exec.empty())
        spec.command = exec;
    if (!image.empty()) {
        if (spec.command)
            throw UsageError("--exec and --image exclude each other");
        if (port == 0)
            throw UsageError("--image needs --port, the port the container listens on");
        spec.image = image;
        spec.container_port = port;
    }
    spec.docker_args = docker_args;
    if (!env_file.empty()) {
        try {
            spec.env = read_env_file(env_file);
        } catch (const std::invalid_argument& e) {
            throw UsageError(std::string(e.what()) + " (--env-file)");
        }
    }
    for (const auto& kv : env) {
        const auto eq = kv.find('=');
        if (eq == std::string::npos || eq == 0)
            throw UsageError("--env '" + kv + "' is not KEY=VALUE");
        spec.env.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
    }
    if (!(ready_timeout > 0))
        throw UsageError("--ready-timeout must be a positive number of seconds");
    spec.ready_timeout = std::chrono::milliseconds(static_cast<std::int64_t>(ready_timeout * 1000));
    if (!ready_path.empty()) {
        if (ready_path.front() != '/')
            throw UsageError("--ready-path must start with '/'");
        spec.ready_path = ready_path;
    }
    return spec;
}

void add_service_options(CLI::App& cmd, ServiceArgs& args)
{
    cmd.add_option("--exec", args.exec, "Start the service with this shell command first");
    cmd.add_option("--env", args.env, "KEY=VALUE for the service (repeatable)")
        ->allow_extra_args(false);
    cmd.add_option("--env-file", args.env_file, "A file of KEY=VALUE lines for the service");
    cmd.add_option("--image",
                   args.image,
                   "Run the service from this container image (docker), its port published on "
                   "127.0.0.1 at the URL's port (on every interface when the URL's host is not "
                   "loopback, e.g. a Docker-in-Docker service)");
    cmd.add_option("--port", args.port, "The port the container listens on (with --image)");
    cmd.add_option("--docker-arg", args.docker_args, "An extra docker run argument (repeatable)")
        ->allow_extra_args(false);
    cmd.add_option(
           "--ready-timeout", args.ready_timeout, "Seconds to wait for the service to be ready")
        ->default_str("30");
    cmd.add_option("--ready-path",
                   args.ready_path,
                   "Ready when GET of this path answers 2xx (default: a TCP connect)");
}

} // namespace sesam::harness
