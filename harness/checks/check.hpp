#pragma once

#include "emulator/http/transport.hpp"
#include "emulator/json_stream/entity_stream_parser.hpp"
#include "emulator/pull/since_tracker.hpp"
#include "harness/checks/check_result.hpp"

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <typeindex>
#include <utility>
#include <vector>

namespace sesam::harness {

/// What describes the service under test: the same properties pull, push and transform take.
struct ServiceDescription {
    std::string url;
    emulator::HttpHeaders headers;
    // source (docs/protocol.md#pull-continuation)
    bool supports_since = false;
    bool is_chronological = false;
    bool is_since_comparable = true;
    std::optional<std::size_t> page_size;
    // sink and transform (docs/protocol.md#push-request, #http-transform)
    std::size_t batch_size = 100;
};

/// What check keeps in memory, so that a hostile service cannot exhaust it.
struct CheckLimits {
    /// The most kept of one response: the summaries of its entities (about 100 bytes plus the
    /// `_id` and `_updated` each). A larger response stops being read and is a body error naming
    /// the cap and its option (--max-response-mb).
    std::uint64_t max_response_bytes = std::uint64_t{256} << 20;
};

/// The memory of the service under test as the memory checks see it (service.memory.limit,
/// source.body.streamed, sink.memory.bounded). Only a service sesam-emu started has one.
class ServiceMemory {
public:
    struct Window {
        std::uint64_t start_bytes = 0; ///< when the window opened
        std::uint64_t peak_bytes = 0;  ///< the highest since
    };
    virtual ~ServiceMemory() = default;
    /// The highest memory seen since the service started; nullopt when nothing could be read.
    virtual std::optional<std::uint64_t> peak_bytes() = 0;
    /// Starts measuring one phase (a large pull, a full sync).
    virtual void open_window() = 0;
    /// The phase so far; nullopt when nothing could be read.
    virtual std::optional<Window> window() = 0;
    /// Where the figures come from: `process group 1234`, `cgroup /sys/fs/cgroup/…`.
    virtual std::string source() = 0;
};

/// What the memory checks judge against.
struct MemoryCheckOptions {
    ServiceMemory* memory = nullptr; ///< null: the service was not started by sesam-emu
    /// Why there is no memory to see, naming what would give one (a skip reason).
    std::string unseen = "the service was not started by sesam-emu (--exec, --image or --pipe), "
                         "so its memory cannot be seen";
    std::uint64_t limit_bytes = std::uint64_t{128} << 20; ///< 0: service.memory.limit is off
    /// Where the limit comes from, with its figure: `--memory-limit 64 MiB`.
    std::string limit_name = "the default docker.memory 128 MiB";
};

/// One entity of a source response, as the checks need it.
struct EntitySummary {
    std::size_t index = 0;
    emulator::JsonKind id_kind = emulator::JsonKind::missing;
    std::string id; ///< the `_id` (or its raw token when it is not a string)
    std::optional<emulator::SinceValue> updated;
    emulator::JsonKind deleted_kind = emulator::JsonKind::missing;
    /// some string value starts with `~` (docs/protocol.md#transit)
    bool has_transit = false;
    std::optional<std::string> transit_field;   ///< the first field with a bad transit value
    std::optional<std::string> transit_problem; ///< what is wrong with it
    /// In answers to a POST: a hash of the entity's JSON with its keys sorted, so that two
    /// answers can be compared entity by entity (transform.fault.retry); 0 in answers to a GET.
    std::size_t digest = 0;
};

/// A fault a check injects into one request (check --faults): the connection closed part-way,
/// as when the node dies, restarts or loses the network in the middle of an exchange.
struct Fault {
    enum class Kind : std::uint8_t {
        none,
        /// The head announces the whole body; `bytes` of it are sent, then the connection is
        /// closed and no answer is read.
        cut_request,
        /// The connection is closed once `bytes` body bytes of the answer have arrived.
        drop_response,
    };
    Kind kind = Kind::none;
    std::uint64_t bytes = 0;
};

/// One request to the service, recorded: the request, what came back, and the strict verdict
/// on the body as a list of entities (docs/protocol.md#conventions, #pull-response,
/// #http-transform: one complete JSON array of objects; a sink's answer body is not judged by the
/// sink checks).
struct ServiceResponse {
    std::string request; ///< `GET URL` or `POST URL`
    std::string curl;    ///< a command that reproduces it (secrets masked)
    std::optional<std::string> transport_error;
    int status = 0;
    std::string body_start;       ///< the first bytes of the answer, for evidence (200 at most)
    std::uint64_t body_bytes = 0; ///< body bytes received
    double seconds = 0;           ///< from sending the request to the end of the answer
    /// From sending the request to the first byte of the answer (its status line).
    std::optional<double> first_byte_seconds;
    /// What an injected Fault did, in words (`sesam-emu cut the request after …`); empty when
    /// none was injected or the exchange ended before it took effect. Also the transport_error.
    std::string fault;
    std::optional<std::string> body_error; ///< why the body is not one complete JSON array
    /// A deque, not a vector: it grows block by block, so a large response never holds an old
    /// and a new copy of its summaries at once (what --max-response-mb caps is what is kept).
    std::deque<EntitySummary> entities;

    bool ok() const { return !transport_error && status >= 200 && status < 300 && !body_error; }
};

/// What the checks of one run share: the transport, the service, and responses already fetched
/// (a full pull is fetched once, whichever check asks first).
class CheckContext {
public:
    CheckContext(emulator::Transport& transport,
                 ServiceDescription service,
                 CheckLimits limits = {},
                 MemoryCheckOptions memory = {});

    emulator::Transport& transport() { return transport_; }
    const ServiceDescription& service() const { return service_; }
    const MemoryCheckOptions& memory() const { return memory_; }

    /// GET of the source URL with these query parameters (docs/protocol.md#conventions: added to
    /// the URL's own), cached by parameters.
    const ServiceResponse& get(const std::vector<std::pair<std::string, std::string>>& params);

    /// The full pull: no since, no limit (docs/protocol.md#pull-full-incremental).
    const ServiceResponse& full_pull() { return get({}); }

    /// POST `body` to the service URL with these query parameters (added to the URL's own) and
    /// the service's headers; `Content-Type: application/json` unless `content_type` says
    /// otherwise or a service header sets it, with `fault` injected when one is given. Never
    /// cached.
    const ServiceResponse& post(const std::vector<std::pair<std::string, std::string>>& params,
                                std::string body,
                                const std::string& content_type = "application/json",
                                Fault fault = {});

    /// The same GET again, not from the cache (to see whether answers repeat), with `fault`
    /// injected when one is given.
    const ServiceResponse& get_again(const std::vector<std::pair<std::string, std::string>>& params,
                                     Fault fault = {});

    /// Every response fetched or posted so far, in order.
    const std::vector<const ServiceResponse*>& responses() const { return order_; }

    /// State that the checks of one role share through a run (the sink checks' probe dataset,
    /// their preparing full sync and control requests), made on first use. `T` is private to
    /// the role's file.
    template <class T> T& shared()
    {
        auto& slot = shared_[std::type_index(typeid(T))];
        if (!slot)
            slot = std::make_shared<T>();
        return *static_cast<T*>(slot.get());
    }

private:
    emulator::Transport& transport_;
    ServiceDescription service_;
    CheckLimits limits_;
    MemoryCheckOptions memory_;
    ServiceResponse& fetch(ServiceResponse& out,
                           const std::vector<std::pair<std::string, std::string>>& params,
                           Fault fault = {});
    ServiceResponse&
    exchange(ServiceResponse& out, emulator::HttpRequest request, Fault fault, bool digests);

    std::map<std::vector<std::pair<std::string, std::string>>, ServiceResponse> cache_;
    std::vector<std::unique_ptr<ServiceResponse>> again_;
    std::vector<const ServiceResponse*> order_;
    std::map<std::type_index, std::shared_ptr<void>> shared_;
};

/// A curl command that sends `request`; the values of Authorization and other secret-looking
/// headers are shown as `***`, and a body over kCurlBodyShown bytes as `@body.json` (a full
/// sync of the memory checks would otherwise keep every batch twice).
std::string curl_command(const emulator::HttpRequest& request);
inline constexpr std::size_t kCurlBodyShown = 64 * 1024;

/// A check: its fixed description and what it does.
struct Check {
    CheckInfo info;
    std::function<CheckResult(CheckContext&)> run;
};

/// Every check, in the order they run: source, sink, transform. The fault checks are not
/// among them.
const std::vector<Check>& all_checks();

/// The fault-injection checks (`check --faults`), in the order they run: source, sink,
/// transform. They are run only when asked for, after the other checks of their role, because
/// the faults they inject may leave the service in a state the other checks do not expect.
const std::vector<Check>& fault_checks();

/// The memory checks, in the order they run: per role, source.body.streamed or
/// sink.memory.bounded where the role has one, then service.memory.limit (one per role, the
/// same id). `check` runs them after every other check of the role, fault checks included:
/// they need a service sesam-emu started (else they are skipped saying so), the first two send
/// large requests of their own, and service.memory.limit judges the whole run.
const std::vector<Check>& memory_checks();

/// The checks of each role (defined in source_checks.cpp, sink_checks.cpp, transform_checks.cpp).
std::vector<Check> source_checks();
std::vector<Check> sink_checks();
std::vector<Check> transform_checks();
/// The fault checks of each role, defined beside the role's other checks.
std::vector<Check> source_fault_checks();
std::vector<Check> sink_fault_checks();
std::vector<Check> transform_fault_checks();
/// The memory checks of a role, defined beside its other checks.
std::vector<Check> source_memory_checks();
std::vector<Check> sink_memory_checks();

/// Helpers for writing checks.
CheckResult passed(const CheckInfo& info);

/// At most this many pieces of evidence per check; the message counts the rest.
inline constexpr std::size_t kMaxEvidence = 10;

/// Evidence about `response`: its request and curl command, the entity and field concerned,
/// and what was expected and found.
Evidence evidence(const ServiceResponse& response,
                  std::string id,
                  std::string field,
                  std::string expected,
                  std::string actual);

/// The evidence a check collects for one kind of failure: the first kMaxEvidence pieces are
/// kept, the rest only counted, and the message says how many were left out.
class Findings {
public:
    void add(Evidence e);
    bool empty() const noexcept { return kept_.empty(); }
    /// How many were found, kept or not.
    std::size_t count() const noexcept { return kept_.size() + more_; }
    /// Failed with `message` (plus how much evidence was left out, when some was) and the
    /// evidence kept.
    CheckResult fail(const CheckInfo& info, std::string message) &&;
    /// Passed when nothing was found; else fail() with the message "N <what>".
    CheckResult verdict(const CheckInfo& info, std::string_view what) &&;

private:
    std::vector<Evidence> kept_;
    std::size_t more_ = 0;
};

/// `12.3 MiB`.
std::string mib(std::uint64_t bytes);

/// `a string`, `a number`, `missing`: a JSON kind as messages name it.
const char* kind_name(emulator::JsonKind kind) noexcept;
CheckResult skipped(const CheckInfo& info, std::string reason);
CheckResult failed(const CheckInfo& info, std::string message, std::vector<Evidence> evidence);

} // namespace sesam::harness
