// `sesam-emu check URL --role ROLE`: runs the conformance checks of a role against a service,
// optionally starting the service first and always removing it afterwards.
#include "emulator/entity/run_seed.hpp"
#include "emulator/http/beast_transport.hpp"
#include "emulator/http/url.hpp"
#include "harness/checks/check.hpp"
#include "harness/cli/command.hpp"
#include "harness/cli/exit_codes.hpp"
#include "harness/cli/http_options.hpp"
#include "harness/cli/interrupt_guard.hpp"
#include "harness/cli/node_options.hpp"
#include "harness/cli/service_options.hpp"
#include "harness/node/node_runner.hpp"
#include "harness/report/reporter.hpp"
#include "harness/runner/check_runner.hpp"
#include "harness/runner/service_under_test.hpp"

#include <CLI/CLI.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/url/parse.hpp>
#include <fmt/core.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <filesystem>
#include <memory>
#include <thread>
#include <unistd.h>

namespace sesam::harness {

namespace em = sesam::emulator;

namespace {

struct CheckArgs {
    std::string url;
    std::string role;
    ServiceDescription service;
    std::size_t page_size = 0;
    HttpArgs http;
    std::vector<std::string> reports;
    std::optional<std::uint64_t> seed;
    std::vector<std::string> only;
    std::vector<std::string> skip;
    std::string baseline;
    std::uint64_t max_response_mb = 256;
    bool faults = false;
    ServiceArgs service_under_test;
    // check CONFIG --pipe ID (a pipe of a node configuration)
    std::string pipe;
    NodeArgs node;
    std::vector<std::string> system_exec;
    std::vector<std::string> system_url;
    std::optional<long> memory_limit; ///< --memory-limit MiB
    /// With --pipe: the docker.memory of the pipe's system, and the system's id.
    std::optional<long> system_memory;
    std::string system_id;
};

/// The memory of a service sesam-emu started, for the memory checks.
class StartedServiceMemory final : public ServiceMemory {
public:
    explicit StartedServiceMemory(ServiceUnderTest& service) : service_(service) {}
    std::optional<std::uint64_t> peak_bytes() override
    {
        const auto usage = service_.usage();
        return usage.known ? std::optional(usage.peak_rss_bytes) : std::nullopt;
    }
    void open_window() override { service_.open_memory_window(); }
    std::optional<Window> window() override
    {
        const auto w = service_.memory_window();
        return w.known ? std::optional(Window{w.start_bytes, w.peak_bytes}) : std::nullopt;
    }
    std::string source() override { return service_.usage().source; }

private:
    ServiceUnderTest& service_;
};

/// The limit service.memory.limit holds the service to: --memory-limit, else the pipe's
/// system's docker.memory, else Sesam's default of 128 MB (docs/protocol.md#microservice-system).
void set_memory_limit(const CheckArgs& args, MemoryCheckOptions& options)
{
    long limit = 128;
    std::string name = "the default docker.memory 128 MiB";
    if (args.memory_limit) {
        limit = *args.memory_limit;
        name = limit == 0 ? "--memory-limit 0" : fmt::format("--memory-limit {} MiB", limit);
    } else if (args.system_memory) {
        limit = *args.system_memory;
        name = fmt::format("the docker.memory {} MiB of system {}", limit, args.system_id);
    }
    options.limit_bytes = static_cast<std::uint64_t>(limit) << 20;
    options.limit_name = name;
}

/// The role a pipe gives its microservice (a json source, an http transform, a json sink) and
/// the stage that gives it; `wanted` picks one when the pipe has several.
std::pair<std::string, const node::StagePlan*> pipe_role(const node::PipePlan& pipe,
                                                         const std::string& wanted)
{
    std::vector<std::pair<std::string, const node::StagePlan*>> roles;
    if (pipe.source.type == "json")
        roles.emplace_back("source", &pipe.source);
    for (const auto& t : pipe.transforms)
        if (t.type == "http") {
            roles.emplace_back("transform", &t);
            break;
        }
    if (pipe.sink.type == "json")
        roles.emplace_back("sink", &pipe.sink);
    if (roles.empty())
        throw UsageError("--pipe " + pipe.id +
                         ": it has no json source, http transform or json "
                         "sink, so no microservice role to check");
    if (wanted.empty()) {
        if (roles.size() > 1)
            throw UsageError("--pipe " + pipe.id + ": it gives its services several roles (" +
                             roles[0].first + ", " + roles[1].first + "): pick one with --role");
        return roles[0];
    }
    for (const auto& r : roles)
        if (r.first == wanted)
            return r;
    throw UsageError("--pipe " + pipe.id + ": it has no stage for --role " + wanted);
}

/// Reads CONFIG, starts the system the pipe's stage talks to, and fills in the URL, the role
/// and the stage's properties as check options (docs/protocol.md#config-components).
node::StartedSystem prepare_pipe(CheckArgs& args, const std::atomic<bool>* interrupted)
{
    if (!args.service_under_test.exec.empty() || !args.service_under_test.image.empty())
        throw UsageError("--pipe starts the pipe's system from its configuration: use "
                         "--system-exec or --system-url instead of --exec or --image");
    args.node.config = args.url;
    args.node.pipes = {args.pipe};
    args.node.secrets = args.http.secrets; // --secret NAME=VALUE fills $SECRET(NAME) too
    const auto plan = args.node.plan(false);
    const node::PipePlan* pipe = nullptr;
    for (const auto& p : plan.pipes)
        if (p.id == args.pipe)
            pipe = &p;
    const auto [role, stage] = pipe_role(*pipe, args.role);
    args.role = role;
    const auto* system = plan.system(stage->system);
    if (system && system->is_microservice()) {
        args.system_memory = system->memory_mb;
        args.system_id = system->id;
    }

    node::RunOptions options;
    add_system_overrides(plan, args.system_exec, args.system_url, options);
    options.ready_timeout = std::chrono::milliseconds(
        static_cast<long long>(args.service_under_test.ready_timeout * 1000));
    Redactor redactor = args.http.redactor();
    for (const auto& secret : plan.secret_values)
        redactor.add_secret(secret);
    node::StartedSystem started;
    if (system && system->is_microservice())
        started = node::start_system(*system, options, redactor, interrupted);
    args.url = system ? node::stage_url(*system, started.root, stage->url) : stage->url;
    if (system) {
        for (const auto& [name, value] : system->headers)
            args.http.headers.push_back(name + ": " + value);
        if (system->basic_auth) // Authorization is masked in every output
            args.http.headers.push_back(
                "Authorization: " +
                node::basic_authorization(system->basic_auth->first, system->basic_auth->second));
    }
    const auto& c = stage->config;
    if (const auto it = c.find("headers"); it != c.end() && it->is_object())
        for (const auto& [name, value] : it->items())
            args.http.headers.push_back(
                name + ": " + (value.is_string() ? value.get<std::string>() : value.dump()));
    args.service.supports_since = c.value("supports_since", false);
    args.service.is_chronological = c.value("is_chronological", false);
    args.service.is_since_comparable = c.value("is_since_comparable", true);
    if (c.contains("page_size"))
        args.page_size = c["page_size"].get<std::size_t>();
    args.service.batch_size = c.value("batch_size", std::size_t{100});
    for (const auto& secret : plan.secret_values)
        args.http.secrets.push_back("$SECRET=" + secret); // masked in every report
    fmt::print(stderr,
               "check: pipe {} ({} {}), {} at {}\n",
               args.pipe,
               stage->role,
               stage->type,
               started.service
                   ? "system " + system->id + " started from " + redactor.redact(started.how)
                   : std::string("the service"),
               redactor.redact(args.url));
    return started;
}

std::unique_ptr<Reporter> make_reporters(const std::vector<std::string>& specs)
{
    std::vector<std::unique_ptr<Reporter>> reporters;
    // Long request bodies of the console's curl lines go beside the first report, as files.
    std::optional<std::filesystem::path> bodies;
    if (!specs.empty()) {
        const auto colon = specs.front().find(':');
        if (colon != std::string::npos)
            bodies = std::filesystem::path(specs.front().substr(colon + 1)).parent_path();
        if (bodies && bodies->empty())
            bodies = ".";
    }
    reporters.push_back(make_console_reporter(stdout, ::isatty(STDOUT_FILENO) == 1, bodies));
    for (const auto& spec : specs) {
        try {
            reporters.push_back(make_file_reporter(spec));
        } catch (const std::invalid_argument& e) {
            throw UsageError(e.what());
        } catch (const std::exception& e) {
            throw UsageError(std::string(e.what()) + " (--report)");
        }
    }
    return make_multi_reporter(std::move(reporters));
}

/// A TCP connection to the URL's host and port succeeds.
bool reachable(const std::string& url)
{
    auto u = boost::urls::parse_uri(url);
    if (!u)
        return false;
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::resolver resolver(ioc);
    boost::system::error_code ec;
    auto endpoints =
        resolver.resolve(u->host_address(), u->has_port() ? std::string(u->port()) : "80", ec);
    if (ec)
        return false;
    boost::asio::ip::tcp::socket socket(ioc);
    boost::asio::connect(socket, endpoints, ec);
    return !ec;
}

bool matches_any(const std::vector<std::string>& patterns, std::string_view id)
{
    return std::any_of(
        patterns.begin(), patterns.end(), [&](const auto& p) { return matches(p, id); });
}

/// The fault checks of `role` that --only/--skip select (`check --faults`).
std::vector<const Check*> select_fault_checks(Role role, const CheckArgs& args)
{
    std::vector<const Check*> out;
    for (const auto& check : fault_checks())
        if (check.info.role == role &&
            (args.only.empty() || matches_any(args.only, check.info.id)) &&
            !matches_any(args.skip, check.info.id))
            out.push_back(&check);
    return out;
}

/// The checks of `role` that --only/--skip select, in catalogue order; with --faults, the
/// role's fault checks come after the others (their faults may unsettle the service); the
/// memory checks come last (service.memory.limit judges the whole run).
std::vector<const Check*> select_role_checks(Role role, const CheckArgs& args)
{
    auto checks = select_checks({role}, args.only, args.skip);
    if (args.faults)
        for (const auto* check : select_fault_checks(role, args))
            checks.push_back(check);
    for (const auto& check : memory_checks())
        if (check.info.role == role &&
            (args.only.empty() || matches_any(args.only, check.info.id)) &&
            !matches_any(args.skip, check.info.id))
            checks.push_back(&check);
    return checks;
}

Role parse_role(const std::string& role)
{
    if (role == "source")
        return Role::source;
    if (role == "sink")
        return Role::sink;
    return Role::transform;
}

int run_check(CheckArgs& args)
{
    if (args.seed)
        em::seed_run(*args.seed); // sequence ids and the probe entities' _ts
    node::StartedSystem pipe_system;
    if (!args.pipe.empty()) {
        // The system starts before the check's own signal watch exists: its own watch.
        boost::asio::io_context early_ioc;
        em::BeastTransport early_transport(early_ioc, {});
        SignalWatch watch(early_ioc, early_transport);
        try {
            pipe_system = prepare_pipe(args, &watch.flag());
        } catch (const node::SystemFailure& e) {
            fmt::print(stderr, "sesam-emu check: error: {}\n", e.what());
            return exit_service_failed;
        } catch (const node::RunInterrupted& e) {
            fmt::print(stderr, "sesam-emu: interrupted: {}\n", e.what());
            return exit_interrupted;
        }
    } else if (args.role.empty()) {
        throw UsageError("--role is required (or --pipe, to take it from a pipe's configuration)");
    }
    if (auto bad = em::check_http_url(args.url))
        throw UsageError(bad->message);
    args.service.url = args.url;
    args.service.headers = args.http.parsed_headers();
    if (args.page_size > 0) {
        // docs/protocol.md#pull-continuation: paging is allowed only with the chronological
        // strategy on comparable values
        if (!args.service.supports_since || !args.service.is_chronological ||
            !args.service.is_since_comparable)
            throw UsageError("--page-size needs --supports-since, --is-chronological and a "
                             "comparable _updated (docs/protocol.md#pull-continuation)");
        args.service.page_size = args.page_size;
    }
    const auto transport_options = args.http.transport_options();
    const Role role = parse_role(args.role);

    std::vector<std::string> baseline;
    if (!args.baseline.empty()) {
        try {
            baseline = read_baseline(args.baseline);
        } catch (const std::invalid_argument& e) {
            throw UsageError(std::string(e.what()) + " (--baseline)");
        }
    }
    const auto checks = select_role_checks(role, args);
    if (checks.empty()) {
        fmt::print(stderr,
                   "sesam-emu check: no check of role {} matches the --only/--skip patterns{}\n",
                   args.role,
                   !args.faults && !select_fault_checks(role, args).empty()
                       ? " (fault checks run only with --faults)"
                       : "");
        return exit_nothing_selected;
    }
    const auto spec = args.service_under_test.spec(args.url);
    // One masking rule for everything the run prints or writes (spec: no secret in any output).
    auto reporter = make_redacting_reporter(make_reporters(args.reports), args.http.redactor());

    boost::asio::io_context ioc;
    em::BeastTransport transport(ioc, transport_options);
    SignalWatch signals(ioc, transport);
    const auto recorder = args.http.recorder(transport);

    std::unique_ptr<ServiceUnderTest> service;
    if (spec) {
        try {
            service = ServiceUnderTest::start(*spec, &signals.flag());
        } catch (const ServiceStartError& e) {
            fmt::print(stderr, "sesam-emu check: error: {}\n", e.what());
            return signals.flag() ? exit_interrupted : exit_service_failed;
        }
    } else if (!reachable(args.url)) {
        fmt::print(stderr,
                   "sesam-emu check: error: cannot connect to {}\n",
                   args.http.redactor().redact(args.url));
        return exit_service_failed;
    }

    // The service sesam-emu started (--exec, --image, or the pipe's system) has its memory seen.
    ServiceUnderTest* started = service ? service.get() : pipe_system.service.get();
    std::optional<StartedServiceMemory> started_memory;
    MemoryCheckOptions memory;
    set_memory_limit(args, memory);
    if (started) {
        started_memory.emplace(*started);
        memory.memory = &*started_memory;
    } else if (!args.pipe.empty()) {
        memory.unseen = "the pipe's system was not started by sesam-emu (--system-url), so its "
                        "memory cannot be seen";
    }
    CheckContext ctx(client_transport(recorder, transport),
                     args.service,
                     CheckLimits{args.max_response_mb << 20},
                     memory);
    RunInfo run{args.url, {role}, SESAM_EMU_VERSION};
    reporter->begin(run);
    auto summary =
        run_checks(checks, ctx, *reporter, baseline, &signals.flag(), [&]() -> std::string {
            if (pipe_system.service)
                return args.http.redactor().redact(pipe_system.service->output_tail());
            return service ? service->output_tail() : std::string();
        });
    const bool interrupted = signals.flag();
    if (service && service->has_exited() && summary.service_output_tail.empty())
        summary.service_output_tail = service->output_tail();
    if (started) {
        const auto usage = started->usage();
        if (usage.known) {
            summary.service_peak_rss_bytes = usage.peak_rss_bytes;
            summary.service_cpu_seconds = usage.cpu_seconds;
            summary.service_usage_source = usage.source;
        }
    }
    reporter->end(summary);
    if (service)
        service->stop();
    if (interrupted)
        return exit_interrupted;
    return finish_recording(recorder.get(), "check", summary.failed > 0 ? exit_findings : exit_ok);
}

} // namespace

Command add_check_command(CLI::App& app)
{
    auto args = std::make_shared<CheckArgs>();
    auto* cmd = app.add_subcommand(
        "check",
        "Run the conformance checks of a protocol role against a service and report every\n"
        "place where it breaks the Sesam protocol, with evidence. With --exec or --image the\n"
        "service is started first, waited for, and removed on every way out. The sink checks\n"
        "send dataset-shaped test entities and real full syncs (one before any incremental\n"
        "batch): point them at a test instance.");
    cmd->add_option("URL",
                    args->url,
                    "The service's URL for the role, e.g. http://localhost:5000/entities; with "
                    "--pipe, the node configuration (CONFIG) the pipe is in")
        ->required();
    cmd->add_option("--role",
                    args->role,
                    "The role the service plays: source, sink or transform (with --pipe, taken "
                    "from the pipe)")
        ->check(CLI::IsMember({"source", "sink", "transform"}));
    cmd->add_option("--pipe",
                    args->pipe,
                    "Check the microservice of this pipe of CONFIG: its role, URL and properties "
                    "come from the pipe, and its system is started as `run` starts it");
    add_node_options(*cmd, args->node, false, true);
    cmd->add_option("--system-exec",
                    args->system_exec,
                    "With --pipe: ID=COMMAND starts system ID from a command (PORT set)")
        ->allow_extra_args(false);
    cmd->add_option("--system-url",
                    args->system_url,
                    "With --pipe: ID=URL, system ID is already running at URL")
        ->allow_extra_args(false);
    cmd->add_flag("--supports-since", args->service.supports_since, "source: it supports since");
    cmd->add_flag("--is-chronological",
                  args->service.is_chronological,
                  "source: _updated increases in each response");
    cmd->add_option("--is-since-comparable",
                    args->service.is_since_comparable,
                    "source: _updated values can be ordered (true|false); false: opaque tokens,\n"
                    "continuation judged by position in the full pull")
        ->default_str("true");
    cmd->add_option("--page-size", args->page_size, "source: check paging with limit=N")
        ->check(CLI::Range(std::size_t{1}, kMaxCount));
    cmd->add_option(
           "--batch-size", args->service.batch_size, "sink, transform: entities per request")
        ->default_str("100")
        ->check(CLI::Range(std::size_t{1}, kMaxCount));
    cmd->add_option("--max-response-mb",
                    args->max_response_mb,
                    "The most kept of one response (MiB of entity summaries); a larger one is a "
                    "failure of its body check")
        ->default_str("256")
        ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 20));
    cmd->add_flag("--faults",
                  args->faults,
                  "Also run the fault checks: cut connections, batches delivered twice, a full\n"
                  "sync abandoned halfway (ids *.fault.*), after the role's other checks");
    add_http_options(*cmd, args->http, kTestReadTimeout);
    cmd->add_option("--report",
                    args->reports,
                    "Also write a report: junit:PATH, json:PATH or html:PATH (a self-contained "
                    "page with copyable curl commands) (repeatable)")
        ->allow_extra_args(false);
    cmd->add_option(
           "--only", args->only, "Run only checks whose id matches (repeatable; * is a wildcard)")
        ->allow_extra_args(false);
    cmd->add_option("--skip", args->skip, "Do not run checks whose id matches (repeatable)")
        ->allow_extra_args(false);
    cmd->add_option(
        "--baseline", args->baseline, "A file of accepted failures (check ids, one per line)");
    add_service_options(*cmd, args->service_under_test);
    cmd->add_option("--memory-limit",
                    args->memory_limit,
                    "MiB: service.memory.limit fails when the peak memory of a service sesam-emu "
                    "started passes this (default: the pipe's system's docker.memory, else 128, as "
                    "Sesam enforces); 0 turns it off")
        ->check(CLI::Range(0L, 1'000'000L));
    add_seed_option(*cmd, args->seed);
    return {cmd, [args] { return run_check(*args); }};
}

} // namespace sesam::harness
