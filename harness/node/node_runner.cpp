#include "harness/node/node_runner.hpp"

#include "emulator/http/beast_transport.hpp"
#include "emulator/pull/pull_client.hpp"
#include "emulator/push/push_client.hpp"
#include "emulator/store/dataset_store.hpp"
#include "emulator/store/state_store.hpp"
#include "emulator/transform/transform_client.hpp"
#include "harness/fixture/fixture_writer.hpp"
#include "harness/fixture/recording_transport.hpp"
#include "harness/runner/service_under_test.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <fmt/core.h>

#include <arpa/inet.h>
#include <csignal>
#include <fstream>
#include <memory>
#include <netinet/in.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

namespace sesam::harness::node {

namespace em = sesam::emulator;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

/// A loopback port free now (bound to 0, then closed), for a system started from a command.
unsigned short free_loopback_port()
{
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        if (fd >= 0)
            ::close(fd);
        throw SystemFailure("cannot find a free loopback port");
    }
    ::close(fd);
    return ntohs(addr.sin_port);
}

std::string base64(std::string_view in)
{
    static constexpr char table[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    std::size_t i = 0;
    for (; i + 2 < in.size(); i += 3) {
        const auto n = (static_cast<unsigned char>(in[i]) << 16) |
                       (static_cast<unsigned char>(in[i + 1]) << 8) |
                       static_cast<unsigned char>(in[i + 2]);
        out += {table[(n >> 18) & 63], table[(n >> 12) & 63], table[(n >> 6) & 63], table[n & 63]};
    }
    if (i + 1 == in.size()) {
        const auto n = static_cast<unsigned char>(in[i]) << 16;
        out += {table[(n >> 18) & 63], table[(n >> 12) & 63], '=', '='};
    } else if (i + 2 == in.size()) {
        const auto n = (static_cast<unsigned char>(in[i]) << 16) |
                       (static_cast<unsigned char>(in[i + 1]) << 8);
        out += {table[(n >> 18) & 63], table[(n >> 12) & 63], table[(n >> 6) & 63], '='};
    }
    return out;
}

std::chrono::milliseconds seconds(double s)
{
    return std::chrono::milliseconds(static_cast<long long>(s * 1000));
}

/// A namespaced identifier value without its namespace: `~:ns:x` → `~:x`
/// (docs/protocol.md#config-namespaces).
void strip_ni(Json& value)
{
    if (value.is_string()) {
        auto& s = value.get_ref<std::string&>();
        if (s.rfind("~:", 0) == 0)
            if (const auto colon = s.find(':', 2); colon != std::string::npos)
                s = "~:" + s.substr(colon + 1);
    } else if (value.is_array()) {
        for (auto& v : value)
            strip_ni(v);
    }
}

/// A started system and the transport that talks to it.
struct RunningSystem {
    StartedSystem started;
    std::unique_ptr<em::BeastTransport> transport;
};

/// Sends each request through the transport of the system its URL belongs to (by scheme, host
/// and port), so that one recorder sees every exchange of a run.
class RoutingTransport : public em::Transport {
public:
    void add(const std::string& url, em::Transport& transport)
    {
        routes_[authority(url)] = &transport;
    }
    em::SendResult send(const em::HttpRequest& request, em::ResponseSink& sink) override
    {
        const auto it = routes_.find(authority(request.url));
        return (it != routes_.end() ? *it->second : *fallback).send(request, sink);
    }
    em::Transport* fallback = nullptr;

private:
    static std::string authority(const std::string& url)
    {
        const auto start = url.find("://");
        if (start == std::string::npos)
            return url;
        return url.substr(0, url.find_first_of("/?#", start + 3));
    }
    std::map<std::string, em::Transport*> routes_;
};

/// SIGINT/SIGTERM caught on a thread of their own, so that they are seen while systems start
/// too; each cancels every transport's exchange on the work context.
class RunSignals {
public:
    RunSignals(boost::asio::io_context& work, std::function<void()> cancel)
        : signals_(ioc_, SIGINT, SIGTERM)
    {
        signals_.async_wait(
            [this, &work, cancel = std::move(cancel)](const boost::system::error_code& ec, int) {
                if (ec)
                    return;
                flag_ = true;
                boost::asio::post(work, cancel);
            });
        thread_ = std::thread([this] { ioc_.run(); });
    }
    ~RunSignals()
    {
        ioc_.stop();
        thread_.join();
    }
    RunSignals(const RunSignals&) = delete;
    RunSignals& operator=(const RunSignals&) = delete;

    const std::atomic<bool>& flag() const { return flag_; }

private:
    boost::asio::io_context ioc_;
    boost::asio::signal_set signals_;
    std::atomic<bool> flag_{false};
    std::thread thread_;
};

class Runner {
public:
    Runner(const Plan& plan,
           const RunOptions& options,
           const Redactor& redactor,
           const std::function<void(const std::string&)>& print)
        : plan_(plan), options_(options), redactor_(redactor), print_(print)
    {
    }

    void run()
    {
        std::error_code ec;
        if (const auto parent = fs::path(options_.state).parent_path(); !parent.empty())
            fs::create_directories(parent, ec);
        state_.emplace(em::StateStore::open(options_.state));
        datasets_.emplace(*state_);
        if (options_.reset)
            reset();

        RunSignals signals(ioc_, [this] {
            for (auto& [id, s] : systems_)
                if (s.transport)
                    s.transport->cancel();
            if (plain_transport_)
                plain_transport_->cancel();
        });
        interrupted_ = &signals.flag();
        start_systems();
        plain_transport_ = std::make_unique<em::BeastTransport>(ioc_, em::TransportOptions{});
        router_.fallback = plain_transport_.get();
        if (options_.record) {
            try {
                FixtureWriter writer(*options_.record, redactor_.redact(recorded_command_line()));
                recorder_ =
                    std::make_unique<RecordingTransport>(router_, std::move(writer), redactor_);
            } catch (const std::runtime_error& e) {
                throw ConfigError(std::string(e.what()) + " (--record)");
            }
        }

        const auto started = Clock::now();
        int quiet_rounds = 0;
        int round = 1;
        std::size_t pipe_runs = 0;
        for (; round <= options_.max_rounds; ++round) {
            bool changed = false;
            std::vector<std::string> changing;
            for (const auto& pipe : plan_.pipes) {
                if (!pipe.runs())
                    continue;
                check_interrupted();
                if (run_pipe(pipe, round)) {
                    changed = true;
                    changing.push_back(pipe.id);
                }
                ++pipe_runs;
            }
            last_changing_ = changing;
            quiet_rounds = changed ? 0 : quiet_rounds + 1;
            // sesam-py's extra_zero_runs=2 (docs/protocol.md#config-test-run)
            if (quiet_rounds == 2)
                break;
        }
        if (quiet_rounds < 2) {
            std::string names;
            for (const auto& n : last_changing_)
                names += (names.empty() ? "" : ", ") + n;
            throw ConfigError("the pipes did not settle within " +
                              std::to_string(options_.max_rounds) +
                              " rounds (--max-rounds): still changing in the last round: " + names +
                              " (a cycle in the dataset graph that never settles?)");
        }
        print_(fmt::format("run: {} pipe runs in {} rounds, {:.2f} s; state {}",
                           pipe_runs,
                           std::min(round, options_.max_rounds),
                           std::chrono::duration<double>(Clock::now() - started).count(),
                           options_.state));
        check_memory();
    }

private:
    /// Each started system's peak memory against its docker.memory
    /// (docs/protocol.md#config-microservice-system: Sesam gives a container 128 MB unless its
    /// system says otherwise, and stops it beyond).
    void check_memory()
    {
        std::vector<std::string> over;
        for (const auto& system : plan_.systems) {
            const auto it = systems_.find(system.id);
            if (it == systems_.end() || !it->second.started.service)
                continue;
            const auto usage = it->second.started.service->usage();
            if (!usage.known)
                continue;
            const double peak_mb = static_cast<double>(usage.peak_rss_bytes) / (1 << 20);
            const long limit = options_.memory_limit_mb.value_or(system.memory_mb);
            const std::string of = options_.memory_limit_mb
                                       ? fmt::format("--memory-limit {} MiB", limit)
                                       : fmt::format("its docker.memory {} MiB", limit);
            print_(fmt::format("system {}: peak memory {:.1f} MiB of {}, CPU {:.2f} s ({})",
                               system.id,
                               peak_mb,
                               limit > 0 ? of : "no limit (--memory-limit 0)",
                               usage.cpu_seconds,
                               usage.source));
            if (limit > 0 && usage.peak_rss_bytes > static_cast<std::uint64_t>(limit) << 20)
                over.push_back(
                    fmt::format("system {}: peak memory {:.1f} MiB is over {}; a node would stop "
                                "the container (make the service stream, or raise docker.memory)",
                                system.id,
                                peak_mb,
                                of));
        }
        if (!over.empty()) {
            std::string message;
            for (const auto& line : over)
                message += (message.empty() ? "" : "\n") + line;
            throw SystemFailure(message);
        }
    }

    void check_interrupted()
    {
        if (interrupted_ && *interrupted_)
            throw RunInterrupted("the run was stopped; the systems were removed");
    }

    void reset()
    {
        // Forget offsets, datasets and push sequences of every pipe of the plan.
        for (const auto& pipe : plan_.pipes) {
            state_->reset_offset(pipe.id);
            state_->reset_offset(push_key(pipe));
            datasets_->drop(pipe.output);
            for (const char* stage : {"source", "before-transforms", "after-transforms"})
                datasets_->drop(stage_dataset(pipe, stage));
        }
    }

    static std::string push_key(const PipePlan& pipe) { return pipe.id + " (json sink)"; }

    void start_systems()
    {
        for (const auto& system : plan_.systems) {
            if (!system.used)
                continue;
            auto& running = systems_[system.id];
            em::TransportOptions transport_options;
            transport_options.connect_timeout = seconds(system.connect_timeout);
            transport_options.read_timeout = seconds(system.read_timeout);
            running.transport = std::make_unique<em::BeastTransport>(ioc_, transport_options);
            if (!system.is_microservice())
                continue;
            const auto start = Clock::now();
            running.started = start_system(system, options_, redactor_, interrupted_);
            if (running.started.service)
                print_(fmt::format("system {}: started from {} at {}, ready in {:.2f} s; log {}",
                                   system.id,
                                   redactor_.redact(running.started.how),
                                   running.started.root,
                                   std::chrono::duration<double>(Clock::now() - start).count(),
                                   running.started.log_path.string()));
            else
                print_(fmt::format("system {}: using {} (--system-url)",
                                   system.id,
                                   redactor_.redact(running.started.root)));
        }
    }

    em::Transport& transport_for(const StagePlan& stage)
    {
        if (!stage.system.empty())
            if (const auto it = systems_.find(stage.system); it != systems_.end())
                return *it->second.transport;
        if (!plain_transport_)
            plain_transport_ = std::make_unique<em::BeastTransport>(ioc_, em::TransportOptions{});
        return *plain_transport_;
    }

    /// The transport every client uses: the recorder with --record, else the router.
    em::Transport& transport()
    {
        return recorder_ ? static_cast<em::Transport&>(*recorder_) : router_;
    }

    /// The URL a stage calls, its route registered with its system's transport.
    std::string url_of(const PipePlan& pipe, const StagePlan& stage)
    {
        auto url = resolve_url(pipe, stage);
        router_.add(url, transport_for(stage));
        return url;
    }

    std::string resolve_url(const PipePlan& pipe, const StagePlan& stage)
    {
        const auto* system = plan_.system(stage.system);
        if (!system)
            return stage.url; // an absolute url without a system
        const auto it = systems_.find(stage.system);
        const auto root = it != systems_.end() ? it->second.started.root : std::string();
        try {
            return stage_url(*system, root, stage.url);
        } catch (const ConfigError& e) {
            throw ConfigError(pipe.origin.at(stage.pointer + "/url", e.what()));
        }
    }

    em::HttpHeaders headers_of(const StagePlan& stage)
    {
        em::HttpHeaders out;
        if (const auto* system = plan_.system(stage.system)) {
            for (const auto& [name, value] : system->headers)
                out.push_back({name, value});
            if (system->basic_auth)
                out.push_back(
                    {"Authorization",
                     basic_authorization(system->basic_auth->first, system->basic_auth->second)});
        }
        if (const auto it = stage.config.find("headers");
            it != stage.config.end() && it->is_object())
            for (const auto& [name, value] : it->items())
                out.push_back({name, value.is_string() ? value.get<std::string>() : value.dump()});
        return out;
    }

    /// What failed, naming the pipe and the system, with the tail of the system's log.
    [[noreturn]] void
    fail(const PipePlan& pipe, const StagePlan& stage, const std::string& what, bool interrupted)
    {
        if (interrupted)
            throw RunInterrupted("while pipe " + pipe.id + " ran; the systems were removed");
        std::string message = "pipe " + pipe.id + ": " + stage.role + " " + stage.type;
        if (!stage.system.empty())
            message += " (system " + stage.system + ")";
        message += ": " + redactor_.redact(what);
        if (const auto it = systems_.find(stage.system);
            it != systems_.end() && it->second.started.service) {
            auto& service = *it->second.started.service;
            if (service.has_exited())
                message += "; the system " + service.exit_description();
            const auto tail = redactor_.redact(service.output_tail(20));
            message += tail.empty() ? "; its log is empty"
                                    : "\nlast lines of " + it->second.started.log_path.string() +
                                          ":\n" + tail;
        }
        throw SystemFailure(message);
    }

    std::optional<std::string> stored_offset(const std::string& key) const
    {
        return state_->load_offset(key);
    }

    /// Reads a JSON array of entities from `file` (testdata/, expected/), each handed on as text.
    void read_entity_file(const fs::path& file, const std::function<void(std::string_view)>& take)
    {
        const auto shown = file.lexically_relative(plan_.root).generic_string();
        const auto all = read_json_file(file, shown);
        if (!all.is_array())
            throw ConfigError(shown + ": /: a JSON array of entities");
        for (std::size_t i = 0; i < all.size(); ++i) {
            if (!all[i].is_object() || !all[i].contains("_id") || !all[i]["_id"].is_string())
                throw ConfigError(shown + ": /" + std::to_string(i) +
                                  ": an entity is an object with a string _id");
            take(all[i].dump());
        }
    }

    /// One run of `pipe`; true when it changed something (a dataset or what was pushed).
    bool run_pipe(const PipePlan& pipe, int round)
    {
        const auto started = Clock::now();
        const auto& source = pipe.source;
        std::size_t in = 0;
        std::size_t out = 0;
        std::uint64_t requests = 0;
        std::string offset_before = stored_offset(pipe.id).value_or("none");
        std::string offset_after = offset_before;
        const bool full = !stored_offset(pipe.id).has_value() || pipe.stand_in ||
                          source.type == "embedded" || source.type == "http_endpoint";

        // Stages a test spec asks for, kept in memory: one load at a time per store connection.
        std::map<std::string, std::vector<std::string>> kept;
        if (const auto it = options_.keep_stages.find(pipe.id); it != options_.keep_stages.end())
            for (const auto& stage : it->second)
                kept[stage];
        auto keep = [&](const char* stage, std::string_view entity) {
            if (const auto it = kept.find(stage); it != kept.end())
                it->second.emplace_back(entity);
        };

        auto load = datasets_->begin_load(pipe.output, full);
        auto write = [&](std::string_view entity) {
            ++out;
            if (!pipe.stand_in)
                keep("after-transforms", entity);
            try {
                if (pipe.remove_namespaces)
                    load.write(remove_namespaces(entity));
                else
                    load.write(entity);
            } catch (const std::invalid_argument& e) {
                throw SystemFailure("pipe " + pipe.id +
                                    ": an entity cannot be stored: " + e.what());
            }
        };

        // The transforms, chained: each hands its answers to the next, the last to the sink.
        std::vector<std::unique_ptr<em::TransformClient>> transforms;
        std::vector<std::function<void(std::string_view)>> next(pipe.transforms.size() + 1);
        next[pipe.transforms.size()] = write;
        if (!pipe.stand_in)
            for (std::size_t i = pipe.transforms.size(); i-- > 0;) {
                const auto& t = pipe.transforms[i];
                em::TransformOptions o;
                o.url = url_of(pipe, t);
                o.headers = headers_of(t);
                o.batch_size = static_cast<std::size_t>(t.config.value("batch_size", 100));
                auto* downstream = &next[i + 1];
                transforms.insert(transforms.begin(),
                                  std::make_unique<em::TransformClient>(
                                      transport(), o, [downstream](const em::EntityView& e) {
                                          (*downstream)(e.bytes);
                                      }));
                auto* client = transforms.front().get();
                next[i] = [client](std::string_view entity) { client->add(entity); };
            }
        auto feed = [&](std::string_view entity) {
            ++in;
            keep("source", entity);
            if (pipe.add_namespaces && !pipe.stand_in) {
                const auto namespaced =
                    add_namespaces(entity, pipe.identity_namespace, pipe.property_namespace);
                keep("before-transforms", namespaced);
                next[0](namespaced);
            } else {
                keep("before-transforms", entity);
                next[0](entity);
            }
        };

        std::string note;
        if (pipe.stand_in) {
            read_entity_file(*pipe.stand_in, [&](std::string_view e) { ++in, next.back()(e); });
            std::string stages;
            for (const auto& n : pipe.not_run)
                stages += (stages.empty() ? "" : ", ") + n;
            note = stages + ": not run; sink input from " +
                   pipe.stand_in->lexically_relative(plan_.root).generic_string();
        } else if (source.type == "embedded") {
            const auto entities = source.config.value("entities", Json::array());
            for (const auto& e : entities)
                feed(e.dump());
        } else if (source.type == "http_endpoint") {
            const auto file = plan_.root / "testdata" / (pipe.id + ".json");
            std::error_code ec;
            if (fs::is_regular_file(file, ec))
                read_entity_file(file, feed);
            else
                note = "no testdata/" + pipe.id + ".json: the endpoint received nothing";
        } else if (source.type == "dataset") {
            const auto dataset = source.config.value("dataset", std::string());
            std::int64_t after = -1;
            if (const auto stored = stored_offset(pipe.id))
                after = std::stoll(*stored);
            std::int64_t last = after;
            datasets_->latest_since(dataset, after, [&](const em::StoredEntity& e) {
                feed(e.json);
                last = e.updated;
                return true;
            });
            if (last != after) {
                state_->save_offset(pipe.id, std::to_string(last));
                offset_after = std::to_string(last);
            }
        } else if (source.type == "json") {
            em::PullOptions o;
            o.url = url_of(pipe, source);
            o.headers = headers_of(source);
            const auto& c = source.config;
            o.supports_since = c.value("supports_since", false);
            o.is_chronological = c.value("is_chronological", false);
            o.is_since_comparable = c.value("is_since_comparable", true);
            if (c.contains("page_size") && c["page_size"].is_number_unsigned())
                o.page_size = c["page_size"].get<std::size_t>();
            if (c.contains("initial_since_value") && c["initial_since_value"].is_string())
                o.initial_since_value = c["initial_since_value"].get<std::string>();
            if (c.contains("subset"))
                o.subset = c["subset"].dump();
            o.if_source_empty = c.value("if_source_empty", std::string("accept")) == "fail"
                                    ? em::IfSourceEmpty::fail
                                    : em::IfSourceEmpty::accept;
            if (auto bad = em::validate(o))
                throw ConfigError(pipe.origin.at(source.pointer, *bad));
            em::PullClient client(transport(), &*state_, o);
            const auto report =
                client.run(pipe.id, [&](const em::EntityView& e) { feed(e.bytes); });
            requests += report.summary.requests;
            if (!report.ok())
                fail(pipe,
                     source,
                     report.failure->message,
                     report.failure->kind == em::PullFailure::Kind::interrupted);
            if (report.summary.offset_after)
                offset_after = report.summary.offset_after->text;
        }

        for (auto& t : transforms) {
            const auto report = t->finish();
            requests += report.summary.batches;
            if (!report.ok()) {
                const auto index = static_cast<std::size_t>(&t - &transforms.front());
                fail(pipe,
                     pipe.transforms[index],
                     report.failure->message,
                     report.failure->interrupted);
            }
        }
        const auto loaded = load.commit();
        bool changed = loaded.written > 0 || loaded.deleted_by_tracking > 0;
        for (const auto& [stage, entities] : kept) {
            auto stage_load = datasets_->begin_load(stage_dataset(pipe, stage), full);
            for (const auto& entity : entities) {
                try {
                    stage_load.write(entity);
                } catch (const std::invalid_argument& e) {
                    throw SystemFailure("pipe " + pipe.id + ": an entity at stage " + stage +
                                        " cannot be stored: " + e.what());
                }
            }
            stage_load.commit();
        }

        std::string pushed;
        if (pipe.sink.type == "json") {
            em::PushOptions o;
            o.url = url_of(pipe, pipe.sink);
            o.headers = headers_of(pipe.sink);
            o.dataset = pipe.output;
            o.settings.batch_size =
                static_cast<std::size_t>(pipe.sink.config.value("batch_size", 100));
            em::PushClient client(transport(), *state_, *datasets_, o);
            const auto report = client.run(push_key(pipe));
            requests += report.summary.requests;
            if (!report.ok())
                fail(pipe,
                     pipe.sink,
                     report.failure->message,
                     report.failure->kind == em::PushFailure::Kind::interrupted);
            changed = changed || report.summary.entities > 0;
            pushed = fmt::format(", pushed {} ({} sync)",
                                 report.summary.entities,
                                 report.summary.full_sync ? "full" : "incremental");
        } else if (!pipe.sink.runs) {
            note += (note.empty() ? "" : "; ") + std::string("sink ") + pipe.sink.type +
                    ": not run; its input is kept as dataset " + pipe.output;
        }
        print_(redactor_.redact(fmt::format(
            "round {} {}: {} in, {} out, {} written{}, {} requests, offset {} -> {}, {:.2f} s{}",
            round,
            pipe.id,
            in,
            out,
            loaded.written + loaded.deleted_by_tracking,
            pushed,
            requests,
            offset_before,
            offset_after,
            std::chrono::duration<double>(Clock::now() - started).count(),
            note.empty() ? "" : " [" + note + "]")));
        return changed;
    }

    const Plan& plan_;
    const RunOptions& options_;
    const Redactor& redactor_;
    const std::function<void(const std::string&)>& print_;
    boost::asio::io_context ioc_;
    std::optional<em::StateStore> state_;
    std::optional<em::DatasetStore> datasets_;
    std::map<std::string, RunningSystem> systems_;
    std::unique_ptr<em::BeastTransport> plain_transport_;
    RoutingTransport router_;
    std::unique_ptr<RecordingTransport> recorder_;
    const std::atomic<bool>* interrupted_ = nullptr;
    std::vector<std::string> last_changing_;
};

} // namespace

std::string basic_authorization(const std::string& username, const std::string& password)
{
    return "Basic " + base64(username + ":" + password);
}

StartedSystem::StartedSystem() = default;
StartedSystem::StartedSystem(StartedSystem&&) noexcept = default;
StartedSystem& StartedSystem::operator=(StartedSystem&&) noexcept = default;
StartedSystem::~StartedSystem() = default;

StartedSystem start_system(const SystemPlan& system,
                           const RunOptions& options,
                           const Redactor& redactor,
                           const std::atomic<bool>* interrupted)
{
    StartedSystem out;
    if (const auto url = options.system_url.find(system.id); url != options.system_url.end()) {
        out.root = url->second;
        out.how = "--system-url";
        return out;
    }
    ServiceSpec spec;
    spec.env = system.environment;
    spec.ready_timeout = options.ready_timeout;
    const auto port = free_loopback_port();
    spec.url = "http://127.0.0.1:" + std::to_string(port) + "/";
    if (const auto exec = options.system_exec.find(system.id); exec != options.system_exec.end()) {
        spec.command = exec->second;
        spec.env.emplace_back("PORT", std::to_string(port));
        out.how = "command " + exec->second;
    } else {
        spec.image = system.image;
        spec.container_port = static_cast<unsigned short>(system.port);
        // Sesam's limits (docs/protocol.md#config-microservice-system): memory in MB, cpu_quota in
        // percent of one core.
        spec.docker_args.push_back("--memory=" + std::to_string(system.memory_mb) + "m");
        spec.docker_args.push_back(
            fmt::format("--cpus={:.2f}", static_cast<double>(system.cpu_quota) / 100.0));
        for (const auto& [host, ip] : system.hosts)
            spec.docker_args.push_back("--add-host=" + host + ":" + ip);
        out.how = "image " + system.image;
    }
    std::error_code ec;
    fs::create_directories(options.log_dir, ec);
    out.log_path = options.log_dir / (system.id + ".log");
    out.log = std::make_unique<std::ofstream>(out.log_path, std::ios::trunc);
    if (!*out.log)
        throw SystemFailure("system " + system.id + ": cannot write its log " +
                            out.log_path.string());
    auto* log = out.log.get();
    spec.on_output_line = [log, redactor](const std::string& line) {
        *log << redactor.redact(line) << '\n';
        log->flush();
    };
    out.root = spec.url;
    try {
        out.service = ServiceUnderTest::start(spec, interrupted);
    } catch (const ServiceStartError& e) {
        if (interrupted && *interrupted)
            throw RunInterrupted("while system " + system.id + " started; it was removed");
        throw SystemFailure("system " + system.id + ": " + redactor.redact(e.what()));
    } catch (const std::invalid_argument& e) {
        throw SystemFailure("system " + system.id + ": " + redactor.redact(e.what()));
    }
    return out;
}

void run_plan(const Plan& plan,
              const RunOptions& options,
              const Redactor& redactor,
              const std::function<void(const std::string&)>& print)
{
    Runner(plan, options, redactor, print).run();
}

std::string
add_namespaces(std::string_view json, const std::string& identity, const std::string& property)
{
    const auto entity = Json::parse(json);
    auto out = Json::object();
    for (const auto& [key, value] : entity.items()) {
        if (key == "_id" && value.is_string())
            out[key] = identity + ":" + value.get<std::string>();
        else if (!key.empty() && (key[0] == '_' || key[0] == '$'))
            out[key] = value;
        else
            out[property + ":" + key] = value;
    }
    return out.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string stage_dataset(const PipePlan& pipe, const std::string& stage)
{
    return stage == "sink" ? pipe.output : pipe.id + "@" + stage;
}

std::string remove_namespaces(std::string_view json)
{
    const auto entity = Json::parse(json);
    auto out = Json::object();
    for (const auto& [key, value] : entity.items()) {
        auto v = value;
        if (key == "_id" && v.is_string()) {
            auto& id = v.get_ref<std::string&>();
            if (const auto colon = id.find(':'); colon != std::string::npos)
                id.erase(0, colon + 1);
            out[key] = std::move(v);
            continue;
        }
        strip_ni(v);
        const auto colon = key.find(':');
        const bool reserved = !key.empty() && (key[0] == '_' || key[0] == '$');
        out[reserved || colon == std::string::npos ? key : key.substr(colon + 1)] = std::move(v);
    }
    return out.dump(-1, ' ', false, Json::error_handler_t::replace);
}

} // namespace sesam::harness::node
