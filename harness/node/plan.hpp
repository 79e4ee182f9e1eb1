#pragma once

#include "harness/node/config.hpp"
#include "harness/node/variables.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace sesam::harness::node {

/// A system as a run uses it (docs/protocol.md#config-systems), variables expanded.
struct SystemPlan {
    std::string id;
    std::string type; ///< `system:microservice`, `system:url`, …
    Origin origin;
    Json config;       ///< expanded
    bool used = false; ///< a pipe that runs talks to it: only those are started

    // system:microservice (docs/protocol.md#config-microservice-system)
    std::string image;
    unsigned port = 0;
    long memory_mb = 128; ///< docker.memory default
    long cpu_quota = 25;  ///< docker.cpu_quota default: percent of one core
    std::vector<std::pair<std::string, std::string>> environment; ///< values as passed
    std::vector<std::pair<std::string, std::string>> hosts;       ///< name → IP

    // system:url (docs/protocol.md#config-url-system)
    std::optional<std::string> url_pattern;
    std::optional<std::string> base_url;

    double connect_timeout = 60; ///< seconds (docs/protocol.md#config-microservice-system)
    double read_timeout = 1800;
    std::optional<std::pair<std::string, std::string>> basic_auth; ///< username, password
    std::vector<std::pair<std::string, std::string>> headers;

    bool is_microservice() const { return type == "system:microservice"; }
};

/// One stage of a pipe: its source, a transform, or its sink.
struct StagePlan {
    std::string role;    ///< `source`, `transform`, `sink`
    std::string type;    ///< `json`, `dataset`, `embedded`, `http_endpoint`, `http`, `dtl`, …
    std::string pointer; ///< where it is in the pipe's file (after conditionals)
    Json config;
    bool runs = false;  ///< sesam-emu runs this type of stage
    std::string system; ///< json source/sink, http transform
    std::string url;    ///< the component's `url` as written (joined when the system is up)

    /// `source json → crm-ms /entities`, for plans and summaries.
    std::string describe() const;
};

/// One pipe as a run takes it (docs/protocol.md#config-pipes).
struct PipePlan {
    std::string id;
    Origin origin;
    StagePlan source;
    std::vector<StagePlan> transforms;
    StagePlan sink;
    std::vector<std::string> reads; ///< datasets its source reads
    std::string output;             ///< the dataset the pipe writes (its sink-stage entities)
    /// at a json, embedded or http_endpoint source (docs/protocol.md#config-namespaces)
    bool add_namespaces = false;
    bool remove_namespaces = false; ///< at a json or endpoint sink
    std::string identity_namespace; ///< default: the pipe id
    std::string property_namespace; ///< default: the pipe id
    /// Stages before the sink that sesam-emu does not run: the sink's input then comes from
    /// this file (`expected/<pipe>.json` or `testdata/<pipe>.json`).
    std::vector<std::string> not_run;
    std::optional<std::filesystem::path> stand_in;
    std::optional<std::string> left_out; ///< why the pipe does not run (mode off, …)
    bool pump_off = false; ///< `pump.mode` off: a node keeps the pipe but never runs it

    bool runs() const { return !left_out.has_value(); }
};

struct Plan {
    std::filesystem::path root;
    bool namespaced_identifiers = false;
    std::vector<SystemPlan> systems;
    std::vector<PipePlan> pipes;            ///< in the order of the dataset graph
    std::vector<std::string> secret_values; ///< for every redactor of the run
    std::vector<std::string> notes;         ///< said in the plan and the run's summary

    const SystemPlan* system(const std::string& id) const;
};

struct PlanOptions {
    std::vector<std::string> pipes; ///< selected pipe ids (empty: all)
    bool skip_unsupported = false;  ///< leave out pipes with a stage that cannot run or stand in
};

/// Resolves a loaded configuration: variables expanded, conditionals resolved, defaults applied,
/// the dataset graph ordered, what runs and what stands in decided. Throws ConfigError listing
/// every problem (file and JSON path each).
Plan make_plan(const NodeConfig& config, const Variables& variables, const PlanOptions& options);

/// The URL a stage calls: an absolute `url` wins; on a microservice the `url` is joined to
/// `root` (`http://127.0.0.1:PORT/`) with or without its leading `/`; on a URL system through
/// `url_pattern` (`%s` replaced, else appended) or `base_url` (RFC 3986 join)
/// (docs/protocol.md#config-microservice-system, #config-url-system). Returns the URL, or throws
/// ConfigError naming the stage.
std::string stage_url(const SystemPlan& system, const std::string& root, const std::string& url);

/// The plan as `sesam-emu plan` prints it: systems (secret values masked), pipes in run order
/// with each stage, what stands in and what is left out.
std::string format_plan(const Plan& plan);

} // namespace sesam::harness::node
