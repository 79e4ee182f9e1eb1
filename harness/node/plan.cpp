#include "harness/node/plan.hpp"

#include "emulator/http/url.hpp"
#include "harness/fixture/redactor.hpp"

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <variant>

namespace sesam::harness::node {

namespace fs = std::filesystem;

namespace {

/// Source and sink types a run performs itself (docs/protocol.md#config-components); `*_endpoint`
/// sinks keep the sink-stage entities, as a node publishes them.
bool source_runs(const std::string& type)
{
    return type == "json" || type == "dataset" || type == "embedded" || type == "http_endpoint";
}
bool sink_runs(const std::string& type)
{
    return type == "json" || type == "dataset" ||
           (type.size() > 9 && type.compare(type.size() - 9, 9, "_endpoint") == 0);
}

/// Sources and sinks whose entities namespaces are added to or removed from
/// (docs/protocol.md#config-namespaces).
bool adds_namespaces(const std::string& type)
{
    static const std::set<std::string> types{
        "json", "embedded", "http_endpoint", "csv", "sql", "ldap", "kafka"};
    return types.count(type) > 0;
}
bool removes_namespaces(const std::string& type)
{
    return type == "json" || type == "rest" || type == "sql" ||
           (type.size() > 9 && type.compare(type.size() - 9, 9, "_endpoint") == 0);
}

std::string string_at(const Json& object, const char* key)
{
    const auto it = object.find(key);
    return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

class Planner {
public:
    Planner(const NodeConfig& config, const Variables& variables, const PlanOptions& options)
        : config_(config), options_(options), expander_(variables)
    {
    }

    Plan run()
    {
        plan_.root = config_.root;
        if (config_.metadata) {
            const auto metadata = expand(*config_.metadata);
            if (const auto it = metadata.find("namespaced_identifiers");
                it != metadata.end() && it->is_boolean())
                plan_.namespaced_identifiers = it->get<bool>();
        }
        for (const auto& system : config_.systems)
            plan_.systems.push_back(make_system(system));
        std::vector<PipePlan> pipes;
        for (const auto& pipe : config_.pipes)
            pipes.push_back(make_pipe(pipe));
        check_selection(pipes);
        check_datasets(pipes);
        plan_.pipes = order(std::move(pipes));
        for (auto& pipe : plan_.pipes)
            if (pipe.runs())
                for (auto* stage : stages(pipe))
                    if (stage->runs && !stage->system.empty())
                        if (auto* s = system_of(stage->system))
                            s->used = true;
        if (!problems_.empty())
            throw ConfigError(problems_);
        plan_.secret_values = expander_.secret_values();
        return std::move(plan_);
    }

private:
    static std::vector<StagePlan*> stages(PipePlan& pipe)
    {
        std::vector<StagePlan*> out{&pipe.source};
        for (auto& t : pipe.transforms)
            out.push_back(&t);
        out.push_back(&pipe.sink);
        return out;
    }

    /// The entity expanded, its problems listed where it comes in the files.
    Json expand(const ConfigEntity& entity)
    {
        auto out = expander_.expand(entity);
        for (auto& p : expander_.take_problems())
            problems_.push_back(std::move(p));
        return out;
    }

    SystemPlan* system_of(const std::string& id)
    {
        for (auto& s : plan_.systems)
            if (s.id == id)
                return &s;
        return nullptr;
    }

    void problem(const Origin& origin, const std::string& pointer, const std::string& what)
    {
        problems_.push_back(origin.at(pointer, what));
    }

    /// A number of the config, or `fallback`; a wrong type is a problem.
    double number(const Origin& origin,
                  const Json& object,
                  const char* key,
                  const std::string& at,
                  double fallback)
    {
        const auto it = object.find(key);
        if (it == object.end() || it->is_null())
            return fallback;
        if (!it->is_number()) {
            problem(origin, at + "/" + key, "must be a number");
            return fallback;
        }
        return it->get<double>();
    }

    SystemPlan make_system(const ConfigEntity& entity)
    {
        SystemPlan s;
        s.id = entity.id;
        s.type = entity.type;
        s.origin = entity.origin;
        s.config = expand(entity);
        const auto& c = s.config;
        s.connect_timeout = number(s.origin, c, "connect_timeout", "", 60);
        s.read_timeout = number(s.origin, c, "read_timeout", "", 1800);
        // Without `authentication`, username and password are ignored
        // (docs/protocol.md#config-microservice-system).
        if (string_at(c, "authentication") == "basic")
            s.basic_auth = std::make_pair(string_at(c, "username"), string_at(c, "password"));
        else if (c.contains("authentication") && !c["authentication"].is_null())
            problem(s.origin,
                    "/authentication",
                    "\"" + string_at(c, "authentication") +
                        "\" is not supported by sesam-emu (basic is)");
        if (const auto it = c.find("headers"); it != c.end() && it->is_object())
            for (const auto& [name, value] : it->items())
                s.headers.emplace_back(name,
                                       value.is_string() ? value.get<std::string>() : value.dump());
        if (s.is_microservice()) {
            const auto docker = c.find("docker");
            if (docker == c.end() || !docker->is_object()) {
                problem(s.origin,
                        "/docker",
                        "missing: a microservice system needs docker "
                        "with an image and a port (docs/protocol.md#config-microservice-system)");
                return s;
            }
            s.image = string_at(*docker, "image");
            if (s.image.empty())
                problem(s.origin, "/docker/image", "missing: the image to run");
            const auto port = number(s.origin, *docker, "port", "/docker", 0);
            if (port < 1 || port > 65535 || port != static_cast<double>(static_cast<long>(port)))
                problem(s.origin,
                        "/docker/port",
                        "missing or not a port (1 to 65535): the port the service listens on");
            else
                s.port = static_cast<unsigned>(port);
            s.memory_mb = static_cast<long>(number(s.origin, *docker, "memory", "/docker", 128));
            s.cpu_quota = static_cast<long>(number(s.origin, *docker, "cpu_quota", "/docker", 25));
            // Strings are passed as they are; any other value as its JSON text
            // (docs/protocol.md#config-microservice-system).
            if (const auto env = docker->find("environment"); env != docker->end()) {
                if (!env->is_object())
                    problem(s.origin, "/docker/environment", "must be an object");
                else
                    for (const auto& [name, value] : env->items())
                        s.environment.emplace_back(
                            name, value.is_string() ? value.get<std::string>() : value.dump());
            }
            if (const auto hosts = docker->find("hosts"); hosts != docker->end()) {
                if (!hosts->is_object())
                    problem(s.origin, "/docker/hosts", "must be an object of host names and IPs");
                else
                    for (const auto& [name, value] : hosts->items())
                        s.hosts.emplace_back(
                            name, value.is_string() ? value.get<std::string>() : value.dump());
            }
        } else if (s.type == "system:url") {
            if (c.contains("url_pattern"))
                s.url_pattern = string_at(c, "url_pattern");
            if (c.contains("base_url"))
                s.base_url = string_at(c, "base_url");
        }
        return s;
    }

    StagePlan
    make_stage(const PipePlan& pipe, const std::string& role, Json config, std::string pointer)
    {
        StagePlan st;
        st.role = role;
        st.config = Json::object();
        st.pointer = pointer;
        if (auto bad = resolve_conditional(config, pointer, pipe.origin)) {
            problems_.push_back(*bad);
            st.runs = true; // one problem is enough: not "not run" as well
            return st;
        }
        st.pointer = pointer;
        if (!config.is_object()) {
            problem(pipe.origin, pointer, "a " + role + " is an object with a type");
            return st;
        }
        st.type = string_at(config, "type");
        if (st.type.empty())
            problem(pipe.origin,
                    pointer + "/type",
                    config.contains("type") ? "must be a string naming the " + role + " type"
                                            : "missing: every " + role + " has a type");
        st.system = string_at(config, "system");
        st.url = string_at(config, "url");
        if (st.type.empty())
            st.runs = true; // one problem is enough: not "not run" as well
        else if (role == "source")
            st.runs = source_runs(st.type);
        else if (role == "sink")
            st.runs = sink_runs(st.type);
        else
            st.runs = st.type == "http";
        const bool calls_system = (role != "transform" && st.type == "json") ||
                                  (role == "transform" && st.type == "http");
        if (calls_system) {
            const auto* system = config_.system(st.system);
            if (st.system.empty() && st.url.find("://") == std::string::npos)
                problem(pipe.origin,
                        pointer + "/system",
                        "missing: a " + st.type + " " + role +
                            " needs a system (or an absolute url)");
            else if (!st.system.empty() && !system)
                problem(pipe.origin, pointer + "/system", "no system \"" + st.system + "\"");
        }
        check_types(pipe, config, pointer);
        st.config = std::move(config);
        return st;
    }

    /// The stage properties a run reads, each of the type Sesam documents
    /// (docs/protocol.md#config-components): a wrong one is a problem here, not a surprise in the
    /// middle of a run.
    void check_types(const PipePlan& pipe, const Json& config, const std::string& pointer)
    {
        for (const char* key : {"supports_since",
                                "is_chronological",
                                "is_since_comparable",
                                "add_namespaces",
                                "remove_namespaces"})
            if (const auto it = config.find(key); it != config.end() && !it->is_boolean())
                problem(pipe.origin, pointer + "/" + key, "must be true or false");
        for (const char* key : {"page_size", "batch_size"})
            if (const auto it = config.find(key);
                it != config.end() && (!it->is_number_unsigned() || it->get<std::uint64_t>() < 1 ||
                                       it->get<std::uint64_t>() > 1'000'000'000))
                problem(pipe.origin,
                        pointer + "/" + key,
                        "must be a whole number from 1 to 1000000000");
        for (const char* key : {"url", "system", "dataset", "initial_since_value"})
            if (const auto it = config.find(key); it != config.end() && !it->is_string())
                problem(pipe.origin, pointer + "/" + key, "must be a string");
        if (const auto it = config.find("if_source_empty");
            it != config.end() && *it != "accept" && *it != "fail")
            problem(pipe.origin, pointer + "/if_source_empty", "must be \"accept\" or \"fail\"");
        if (const auto it = config.find("headers"); it != config.end() && !it->is_object())
            problem(pipe.origin,
                    pointer + "/headers",
                    "must be an object of header names and "
                    "values");
        if (const auto it = config.find("entities"); it != config.end() && !it->is_array())
            problem(pipe.origin, pointer + "/entities", "must be an array of entities");
    }

    /// A boolean of the pipe, or `fallback`; a wrong type is a problem.
    bool flag(const PipePlan& pipe,
              const Json& object,
              const char* key,
              const std::string& at,
              bool fallback)
    {
        const auto it = object.find(key);
        if (it == object.end() || it->is_null())
            return fallback;
        if (!it->is_boolean()) {
            problem(pipe.origin, at + "/" + key, "must be true or false");
            return fallback;
        }
        return it->get<bool>();
    }

    PipePlan make_pipe(const ConfigEntity& entity)
    {
        PipePlan p;
        p.id = entity.id;
        p.origin = entity.origin;
        auto c = expand(entity);
        if (!c.contains("source"))
            problem(p.origin, "/source", "missing: every pipe has a source");
        p.source =
            make_stage(p, "source", c.contains("source") ? c["source"] : Json::object(), "/source");
        if (const auto it = c.find("transform"); it != c.end()) {
            if (it->is_array())
                for (std::size_t i = 0; i < it->size(); ++i)
                    p.transforms.push_back(
                        make_stage(p, "transform", (*it)[i], "/transform/" + std::to_string(i)));
            else
                p.transforms.push_back(make_stage(p, "transform", *it, "/transform"));
        }
        // No sink: a dataset sink named after the pipe (docs/protocol.md#config-pipe-shape).
        auto sink = c.contains("sink") ? c["sink"] : Json{{"type", "dataset"}, {"dataset", p.id}};
        p.sink = make_stage(p, "sink", std::move(sink), "/sink");
        if (p.sink.type == "dataset" && !p.sink.config.contains("dataset"))
            p.sink.config["dataset"] = p.id;
        p.output = p.sink.type == "dataset" ? string_at(p.sink.config, "dataset") : p.id;
        if (p.output.empty())
            p.output = p.id;

        // Datasets read (graph edges), also of stages that do not run.
        const auto& sc = p.source.config;
        if (const auto d = string_at(sc, "dataset"); !d.empty())
            p.reads.push_back(d);
        if (const auto it = sc.find("datasets"); it != sc.end() && it->is_array())
            for (const auto& d : *it)
                if (d.is_string()) // "name alias" in merge sources
                    p.reads.push_back(
                        d.get<std::string>().substr(0, d.get<std::string>().find(' ')));

        // Namespaces (docs/protocol.md#config-namespaces): defaults from the node metadata, pipe
        // properties win.
        const auto ns = c.find("namespaces");
        const bool has_ns = ns != c.end() && ns->is_object();
        p.identity_namespace = has_ns ? string_at(*ns, "identity") : std::string();
        p.property_namespace = has_ns ? string_at(*ns, "property") : std::string();
        if (p.identity_namespace.empty())
            p.identity_namespace = p.id;
        if (p.property_namespace.empty())
            p.property_namespace = p.id;
        const bool ni = flag(p, c, "namespaced_identifiers", "", plan_.namespaced_identifiers);
        p.add_namespaces =
            flag(p,
                 p.source.config,
                 "add_namespaces",
                 p.source.pointer,
                 flag(p, c, "add_namespaces", "", ni && adds_namespaces(p.source.type)));
        p.remove_namespaces =
            flag(p,
                 p.sink.config,
                 "remove_namespaces",
                 p.sink.pointer,
                 flag(p, c, "remove_namespaces", "", ni && removes_namespaces(p.sink.type)));

        // Stages before the sink that do not run: the sink input stands in from a file
        // (docs/protocol.md#config-verify: the expected file holds exactly the sink-stage
        // entities).
        if (!p.source.runs)
            p.not_run.push_back("source " + p.source.type);
        for (const auto& t : p.transforms)
            if (!t.runs)
                p.not_run.push_back("transform " + t.type);
        if (!p.not_run.empty()) {
            for (const auto* file : {"expected", "testdata"}) {
                const auto candidate = config_.root / file / (p.id + ".json");
                std::error_code ec;
                if (fs::is_regular_file(candidate, ec)) {
                    p.stand_in = candidate;
                    break;
                }
            }
            if (!p.stand_in) {
                if (options_.skip_unsupported)
                    p.left_out = "has " + join(p.not_run) +
                                 ", which sesam-emu does not run, and no expected/" + p.id +
                                 ".json or testdata/" + p.id +
                                 ".json to stand in "
                                 "(--skip-unsupported)";
                else
                    unsupported_.push_back(p.origin.file + ": " + p.id + ": " + join(p.not_run) +
                                           ": not run by sesam-emu, and neither expected/" + p.id +
                                           ".json nor testdata/" + p.id +
                                           ".json holds its sink input");
            }
        }
        if (const auto pump = c.find("pump");
            pump != c.end() && string_at(*pump, "mode") == "off") {
            // docs/protocol.md#config-pump: such a pipe can never run
            p.left_out = "pump mode is off";
            p.pump_off = true;
        }
        return p;
    }

    static std::string join(const std::vector<std::string>& items)
    {
        std::string out;
        for (const auto& i : items)
            out += (out.empty() ? "" : ", ") + i;
        return out;
    }

    void check_selection(std::vector<PipePlan>& pipes)
    {
        if (!options_.pipes.empty()) {
            for (const auto& id : options_.pipes)
                if (std::none_of(
                        pipes.begin(), pipes.end(), [&](const PipePlan& p) { return p.id == id; }))
                    problems_.push_back("--pipe " + id + ": no such pipe in " +
                                        config_.root.string());
            for (auto& p : pipes)
                if (!p.left_out && std::find(options_.pipes.begin(), options_.pipes.end(), p.id) ==
                                       options_.pipes.end())
                    p.left_out = "not selected (--pipe)";
        }
        // Unsupported stages only matter for pipes that would run.
        for (const auto& line : unsupported_) {
            const auto id_start = line.find(": ") + 2;
            const auto id = line.substr(id_start, line.find(": ", id_start) - id_start);
            const auto it = std::find_if(
                pipes.begin(), pipes.end(), [&](const PipePlan& p) { return p.id == id; });
            if (it != pipes.end() && !it->left_out)
                problems_.push_back(line + " (--skip-unsupported leaves such pipes out)");
        }
    }

    void check_datasets(const std::vector<PipePlan>& pipes)
    {
        std::set<std::string> written;
        for (const auto& p : pipes)
            written.insert(p.output);
        for (const auto& p : pipes) {
            if (p.left_out || p.stand_in || p.source.type != "dataset")
                continue;
            for (const auto& d : p.reads)
                if (!written.count(d))
                    problem(p.origin,
                            p.source.pointer + "/dataset",
                            "no pipe writes the dataset \"" + d + "\"");
        }
    }

    /// Pipes in the order of the dataset graph: a pipe after those writing what it reads; pipes
    /// in a cycle keep their file order (a run repeats rounds until nothing changes).
    static std::vector<PipePlan> order(std::vector<PipePlan> pipes)
    {
        std::map<std::string, std::vector<std::size_t>> writers;
        for (std::size_t i = 0; i < pipes.size(); ++i)
            writers[pipes[i].output].push_back(i);
        std::vector<int> state(pipes.size(), 0); // 0 new, 1 visiting, 2 done
        std::vector<std::size_t> out;
        std::function<void(std::size_t)> visit = [&](std::size_t i) {
            if (state[i] != 0)
                return; // done, or a cycle: broken here
            state[i] = 1;
            if (!pipes[i].stand_in)
                for (const auto& d : pipes[i].reads)
                    for (const auto w : writers[d])
                        visit(w);
            state[i] = 2;
            out.push_back(i);
        };
        for (std::size_t i = 0; i < pipes.size(); ++i)
            visit(i);
        std::vector<PipePlan> sorted;
        for (const auto i : out)
            sorted.push_back(std::move(pipes[i]));
        return sorted;
    }

    const NodeConfig& config_;
    const PlanOptions& options_;
    Expander expander_;
    Plan plan_;
    std::vector<std::string> problems_;
    std::vector<std::string> unsupported_;
};

} // namespace

std::string StagePlan::describe() const
{
    std::string out = role + " " + type;
    if (!system.empty())
        out += " → " + system;
    if (!url.empty())
        out += " " + url;
    if (type == "dataset")
        out += " " + string_at(config, "dataset");
    return out;
}

namespace {

/// A stage as the plan prints it: the URL as the node would call it (a microservice by its
/// system id and docker.port, docs/protocol.md#config-microservice-system), and the properties that
/// shape the calls.
std::string describe_stage(const Plan& plan, const StagePlan& stage)
{
    if (stage.system.empty() && stage.url.empty())
        return stage.describe();
    std::string out = stage.role + " " + stage.type;
    const auto* system = plan.system(stage.system);
    if (system)
        out += " → " + system->id;
    try {
        if (system)
            out +=
                " " + stage_url(*system,
                                "http://" + system->id + ":" + std::to_string(system->port) + "/",
                                stage.url);
        else
            out += " " + stage.url;
    } catch (const ConfigError&) {
        out += " " + stage.url;
    }
    std::string props;
    auto add = [&](const std::string& p) { props += (props.empty() ? "" : ", ") + p; };
    for (const char* key : {"supports_since", "is_chronological"})
        if (stage.config.value(key, false))
            add(key);
    if (stage.config.contains("is_since_comparable") &&
        !stage.config.value("is_since_comparable", true))
        add("is_since_comparable false");
    for (const char* key : {"page_size", "batch_size"})
        if (const auto it = stage.config.find(key); it != stage.config.end())
            add(std::string(key) + " " + it->dump());
    return props.empty() ? out : out + " (" + props + ")";
}

} // namespace

const SystemPlan* Plan::system(const std::string& id) const
{
    for (const auto& s : systems)
        if (s.id == id)
            return &s;
    return nullptr;
}

Plan make_plan(const NodeConfig& config, const Variables& variables, const PlanOptions& options)
{
    return Planner(config, variables, options).run();
}

std::string stage_url(const SystemPlan& system, const std::string& root, const std::string& url)
{
    if (url.find("://") != std::string::npos)
        return url; // an absolute url wins (docs/protocol.md#config-url-system)
    if (system.is_microservice()) {
        // docs/protocol.md#config-microservice-system [INFER]: under the service root, with or
        // without a leading `/`.
        auto relative = url;
        while (!relative.empty() && relative.front() == '/')
            relative.erase(0, 1);
        auto base = root;
        if (base.empty() || base.back() != '/')
            base += '/';
        return base + relative;
    }
    if (system.url_pattern)
        return emulator::apply_url_pattern(*system.url_pattern, url);
    if (system.base_url) {
        auto joined = emulator::join_url(*system.base_url, url);
        if (const auto* error = std::get_if<emulator::UrlError>(&joined))
            throw ConfigError(system.origin.at("/base_url", error->message));
        return std::get<std::string>(joined);
    }
    throw ConfigError(system.origin.at("/type",
                                       "a " + system.type +
                                           " system has no URL sesam-emu can call (a "
                                           "microservice, or a url system with "
                                           "url_pattern or base_url)"));
}

std::string format_plan(const Plan& plan)
{
    // The one masking rule of every output (Redactor: secrets in any encoding).
    Redactor secrets;
    for (const auto& value : plan.secret_values)
        secrets.add_secret(value);
    const auto masked = [&](const std::string& text) { return secrets.redact(text); };
    std::string out = "systems:\n";
    if (plan.systems.empty())
        out += "  (none)\n";
    for (const auto& s : plan.systems) {
        out += "  " + s.id + " (" + s.type + ")" +
               (s.used ? "" : ", not used by a pipe that runs") + "\n";
        if (s.is_microservice()) {
            out += "    image " + masked(s.image) + ", port " + std::to_string(s.port) +
                   ", memory " + std::to_string(s.memory_mb) + " MB, cpu_quota " +
                   std::to_string(s.cpu_quota) + "%\n";
            for (const auto& [name, value] : s.environment)
                out += "    env " + name + "=" + masked(value) + "\n";
            for (const auto& [name, ip] : s.hosts)
                out += "    host " + name + " → " + ip + "\n";
        } else if (s.url_pattern) {
            out += "    url_pattern " + masked(*s.url_pattern) + "\n";
        } else if (s.base_url) {
            out += "    base_url " + masked(*s.base_url) + "\n";
        }
        if (s.basic_auth)
            out += "    basic authentication as " + masked(s.basic_auth->first) + "\n";
    }
    out += "pipes (in run order):\n";
    for (const auto& p : plan.pipes) {
        out += "  " + p.id + (p.runs() ? "" : " — left out: " + *p.left_out) + "\n";
        if (p.stand_in) {
            out += "    " +
                   [&] {
                       std::string s;
                       for (const auto& n : p.not_run)
                           s += (s.empty() ? "" : ", ") + n;
                       return s;
                   }() +
                   ": not run; sink input from " +
                   p.stand_in->lexically_relative(plan.root).generic_string() + "\n";
        } else {
            out += "    " + masked(describe_stage(plan, p.source)) +
                   (p.add_namespaces ? " (adds namespaces)" : "") + "\n";
            for (const auto& t : p.transforms)
                out += "    " + masked(describe_stage(plan, t)) + "\n";
        }
        out += "    " + masked(describe_stage(plan, p.sink)) +
               (p.sink.runs ? "" : " (not run: the sink-stage entities are kept)") +
               (p.remove_namespaces ? " (removes namespaces)" : "") + "\n";
        if (p.sink.type != "dataset")
            out += "    keeps its sink-stage entities as dataset " + p.output + "\n";
    }
    return out;
}

} // namespace sesam::harness::node
