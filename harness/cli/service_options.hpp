#pragma once

#include "harness/runner/service_under_test.hpp"

#include <optional>
#include <string>
#include <vector>

namespace CLI {
class App;
} // namespace CLI

namespace sesam::harness {

/// The options that start the service under test before a run and remove it after (`check`,
/// `replay against`): a command or a container image, its environment, and readiness.
struct ServiceArgs {
    std::string exec;
    std::vector<std::string> env;
    std::string env_file;
    std::string image;
    unsigned short port = 0;
    std::vector<std::string> docker_args;
    double ready_timeout = 30;
    std::string ready_path;

    /// How to start the service at `url`, or none when neither --exec nor --image was given.
    /// Throws UsageError for a bad combination or value, naming the flag.
    std::optional<ServiceSpec> spec(const std::string& url) const;
};

/// Adds --exec, --env, --env-file, --image, --port, --docker-arg, --ready-timeout and
/// --ready-path to `cmd`.
void add_service_options(CLI::App& cmd, ServiceArgs& args);

} // namespace sesam::harness
