#include "harness/checks/check.hpp"

#include "emulator/entity/entity.hpp"
#include "emulator/http/url.hpp"
#include "harness/fixture/redactor.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>

namespace sesam::harness {

namespace em = sesam::emulator;

namespace {

std::string shell_quote(std::string_view s)
{
    std::string out = "'";
    for (char c : s) {
        if (c == '\'')
            out += "'\\''";
        else
            out += c;
    }
    return out + "'";
}

/// Whether some string value in `value` (at any depth) starts with `~`: a transit value.
bool has_transit_value(const nlohmann::json& value)
{
    if (value.is_string())
        return value.get_ref<const std::string&>().starts_with('~');
    if (value.is_structured())
        for (const auto& v : value)
            if (has_transit_value(v))
                return true;
    return false;
}

/// Validates UTF-8 as bytes arrive, across chunk boundaries (RFC 3629: no overlong forms, no
/// surrogates, nothing above U+10FFFF). RFC 8259 §8.1: JSON text exchanged between systems is
/// UTF-8.
class Utf8Check {
public:
    /// False at the first byte that cannot start or continue a character; bad_offset() names
    /// the first byte of that character.
    bool feed(std::string_view bytes)
    {
        for (const char ch : bytes) {
            const auto c = static_cast<unsigned char>(ch);
            if (need_ == 0) {
                start_ = offset_;
                if (c >= 0x80 && !begin(c))
                    return false;
            } else if (c < lo_ || c > hi_) {
                return false;
            } else {
                lo_ = 0x80;
                hi_ = 0xBF;
                --need_;
            }
            ++offset_;
        }
        return true;
    }
    /// False when the bytes end inside a character.
    bool finish() const noexcept { return need_ == 0; }
    std::uint64_t bad_offset() const noexcept { return start_; }

private:
    bool begin(unsigned char c)
    {
        lo_ = 0x80;
        hi_ = 0xBF;
        if (c >= 0xC2 && c <= 0xDF)
            need_ = 1;
        else if (c >= 0xE0 && c <= 0xEF) {
            need_ = 2;
            if (c == 0xE0)
                lo_ = 0xA0; // no overlong forms
            if (c == 0xED)
                hi_ = 0x9F; // no surrogates
        } else if (c >= 0xF0 && c <= 0xF4) {
            need_ = 3;
            if (c == 0xF0)
                lo_ = 0x90;
            if (c == 0xF4)
                hi_ = 0x8F; // nothing above U+10FFFF
        } else {
            return false;
        }
        return true;
    }

    std::uint64_t offset_ = 0;
    std::uint64_t start_ = 0;
    int need_ = 0;
    unsigned char lo_ = 0x80;
    unsigned char hi_ = 0xBF;
};

std::string utf8_error(std::uint64_t offset)
{
    return "invalid UTF-8 at byte " + std::to_string(offset) + " (RFC 8259: JSON text is UTF-8)";
}

/// Records a source response: the strict verdict on the body and a summary of each entity.
/// With `drop_after`, it stops the exchange once that many body bytes have arrived (a dropped
/// connection, Fault::Kind::drop_response); with `digests`, each entity gets its digest.
class RecordingSink final : public em::ResponseSink {
public:
    RecordingSink(ServiceResponse& out,
                  std::uint64_t max_kept,
                  std::optional<std::uint64_t> drop_after = std::nullopt,
                  bool digests = false)
        : start_(std::chrono::steady_clock::now()), out_(out),
          parser_([this](const em::EntityView& e) { add(e); }, options()), max_kept_(max_kept),
          drop_after_(drop_after), digests_(digests)
    {
    }
    ~RecordingSink() override { out_.seconds = elapsed(); }
    RecordingSink(const RecordingSink&) = delete;
    RecordingSink& operator=(const RecordingSink&) = delete;

    void on_head(const em::HttpResponseHead& head) override
    {
        out_.status = head.status;
        out_.first_byte_seconds = elapsed();
    }
    bool on_body(std::string_view bytes) override
    {
        if (drop_after_ && out_.body_bytes + bytes.size() >= *drop_after_) {
            bytes = bytes.substr(0, *drop_after_ - out_.body_bytes);
            dropped_ = true;
        }
        out_.body_bytes += bytes.size();
        if (out_.body_start.size() < em::kErrorBodyShown)
            out_.body_start.append(bytes.substr(0, em::kErrorBodyShown - out_.body_start.size()));
        if (dropped_)
            return false; // what came is not judged: the check cut it short
        if (out_.status < 200 || out_.status > 299)
            return true;
        if (!utf8_.feed(bytes)) {
            out_.body_error = utf8_error(utf8_.bad_offset());
            return false;
        }
        if (auto error = parser_.feed(bytes)) {
            out_.body_error = error->message + " (byte " + std::to_string(error->offset) + ")";
            return false;
        }
        if (kept_ > max_kept_) {
            out_.body_error = "the response is larger than check keeps of one (--max-response-mb " +
                              std::to_string(max_kept_ >> 20) + "): stopped after " +
                              std::to_string(out_.entities.size()) + " entities, byte " +
                              std::to_string(parser_.bytes_seen()) +
                              "; a source this large needs a larger cap";
            return false;
        }
        return true;
    }
    /// The exchange was stopped by `drop_after`.
    bool dropped() const noexcept { return dropped_; }

    void finish()
    {
        if (out_.status < 200 || out_.status > 299 || out_.body_error)
            return;
        if (!utf8_.finish())
            out_.body_error = utf8_error(utf8_.bad_offset());
        else if (auto error = parser_.finish())
            out_.body_error = error->message + " (byte " + std::to_string(error->offset) + ")";
        // docs/protocol.md#conventions: tolerated by pull, not by the protocol
        else if (parser_.single_object())
            out_.body_error = "the body is a single JSON object, not an array of entities";
        else if (parser_.skipped_values() > 0)
            out_.body_error = "the array holds " + std::to_string(parser_.skipped_values()) +
                              " values that are not entity objects";
    }

private:
    static em::EntityStreamParser::Options options()
    {
        em::EntityStreamParser::Options o;
        o.check_transit = false; // judged per entity below, so that one bad value is evidence
        return o;
    }

    void add(const em::EntityView& e)
    {
        EntitySummary s;
        s.index = e.index;
        s.id_kind = e.id_kind;
        s.id = e.id;
        s.updated = em::SinceValue::from_entity(e);
        s.deleted_kind = e.deleted_kind;
        if (digests_) // nlohmann::json keeps keys sorted: the same entity, the same text
            s.digest =
                std::hash<std::string>{}(nlohmann::json::parse(e.bytes, nullptr, false).dump());
        if (e.bytes.find('~') != std::string_view::npos) {
            auto entity = nlohmann::json::parse(e.bytes, nullptr, false);
            s.has_transit = has_transit_value(entity);
            if (auto problem = em::validate_entity(entity, em::IdRule::optional_id);
                problem && !problem->field.empty() && problem->field != "_id") {
                s.transit_field = problem->field;
                s.transit_problem = problem->message;
            }
        }
        strings_ += s.id.capacity() + (s.updated ? s.updated->text.capacity() : 0) +
                    (s.transit_problem ? s.transit_problem->capacity() + 64 : 0);
        out_.entities.push_back(std::move(s));
        // Each summary and its share of the deque's blocks and block map (a pointer, and the
        // allocator's header per block of at least one summary).
        kept_ = strings_ + out_.entities.size() * (sizeof(EntitySummary) + 2 * sizeof(void*));
    }

    double elapsed() const
    {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    }

    std::chrono::steady_clock::time_point start_; ///< made just before the request is sent
    ServiceResponse& out_;
    em::EntityStreamParser parser_;
    Utf8Check utf8_;
    std::uint64_t max_kept_;
    std::optional<std::uint64_t> drop_after_;
    bool digests_;
    bool dropped_ = false;
    std::uint64_t strings_ = 0; ///< what the summaries' strings take
    std::uint64_t kept_ = 0;    ///< and with the vector that holds them
};

} // namespace

CheckContext::CheckContext(em::Transport& transport,
                           ServiceDescription service,
                           CheckLimits limits,
                           MemoryCheckOptions memory)
    : transport_(transport), service_(std::move(service)), limits_(limits),
      memory_(std::move(memory))
{
}

std::string curl_command(const em::HttpRequest& request)
{
    std::string out = "curl -sS";
    if (request.method != "GET")
        out += " -X " + request.method;
    for (const auto& h : request.headers)
        out += " -H " +
               shell_quote(h.name + ": " + (looks_like_secret_header(h.name) ? "***" : h.value));
    if (request.body.size() > kCurlBodyShown)
        return out + " --data-binary @body.json " + shell_quote(request.url) +
               "  # body.json: the " + std::to_string(request.body.size()) + "-byte body, not kept";
    if (!request.body.empty())
        out += " --data-binary " + shell_quote(request.body);
    return out + " " + shell_quote(request.url);
}

const ServiceResponse&
CheckContext::get(const std::vector<std::pair<std::string, std::string>>& params)
{
    if (auto it = cache_.find(params); it != cache_.end())
        return it->second;
    return fetch(cache_[params], params);
}

const ServiceResponse&
CheckContext::get_again(const std::vector<std::pair<std::string, std::string>>& params, Fault fault)
{
    again_.push_back(std::make_unique<ServiceResponse>());
    return fetch(*again_.back(), params, fault);
}

ServiceResponse& CheckContext::fetch(ServiceResponse& out,
                                     const std::vector<std::pair<std::string, std::string>>& params,
                                     Fault fault)
{
    auto url = em::add_query_params(service_.url, params);
    em::HttpRequest request;
    request.url =
        std::holds_alternative<std::string>(url) ? std::get<std::string>(url) : service_.url;
    request.headers = service_.headers;
    return exchange(out, std::move(request), fault, false);
}

const ServiceResponse&
CheckContext::post(const std::vector<std::pair<std::string, std::string>>& params,
                   std::string body,
                   const std::string& content_type,
                   Fault fault)
{
    again_.push_back(std::make_unique<ServiceResponse>());
    auto url = em::add_query_params(service_.url, params);
    em::HttpRequest request;
    request.method = "POST";
    request.url =
        std::holds_alternative<std::string>(url) ? std::get<std::string>(url) : service_.url;
    request.headers = service_.headers;
    if (!em::find_header(request.headers, "Content-Type"))
        em::set_header(request.headers, "Content-Type", content_type);
    request.body = std::move(body);
    return exchange(*again_.back(), std::move(request), fault, true);
}

ServiceResponse&
CheckContext::exchange(ServiceResponse& out, em::HttpRequest request, Fault fault, bool digests)
{
    order_.push_back(&out);
    out.request = em::describe(request);
    out.curl = curl_command(request);
    std::optional<std::uint64_t> drop_after;
    if (fault.kind == Fault::Kind::cut_request)
        request.cut_after_body_bytes = fault.bytes;
    if (fault.kind == Fault::Kind::drop_response) {
        drop_after = std::max<std::uint64_t>(fault.bytes, 1);
        out.curl += " | head -c " + std::to_string(*drop_after); // curl then drops it too
    }
    RecordingSink sink(out, limits_.max_response_bytes, drop_after, digests);
    auto sent = transport_.send(request, sink);
    if (!sent && sent.error().code == em::TransportErrc::aborted &&
        (sink.dropped() || request.cut_after_body_bytes)) {
        const auto cut = std::min<std::uint64_t>(fault.bytes, request.body.size());
        out.fault = sink.dropped()
                        ? "sesam-emu dropped the connection after " +
                              std::to_string(out.body_bytes) + " body bytes of the answer"
                        : "sesam-emu cut the request after " + std::to_string(cut) + " of " +
                              std::to_string(request.body.size()) +
                              " body bytes and closed the connection";
        out.transport_error = out.fault;
        return out;
    }
    if (!sent && !out.body_error) {
        if (out.status >= 200 && out.status < 300 &&
            sent.error().code == em::TransportErrc::body_cut_short)
            // docs/protocol.md#real-services
            out.body_error = "the body was cut short: " + sent.error().detail;
        else
            out.transport_error = sent.error().detail;
        return out;
    }
    sink.finish();
    return out;
}

const std::vector<Check>& fault_checks()
{
    static const std::vector<Check> checks = [] {
        std::vector<Check> all = source_fault_checks();
        for (auto& c : sink_fault_checks())
            all.push_back(std::move(c));
        for (auto& c : transform_fault_checks())
            all.push_back(std::move(c));
        return all;
    }();
    return checks;
}

const std::vector<Check>& all_checks()
{
    static const std::vector<Check> checks = [] {
        std::vector<Check> all = source_checks();
        for (auto& c : sink_checks())
            all.push_back(std::move(c));
        for (auto& c : transform_checks())
            all.push_back(std::move(c));
        return all;
    }();
    return checks;
}

Evidence evidence(const ServiceResponse& response,
                  std::string id,
                  std::string field,
                  std::string expected,
                  std::string actual)
{
    return {response.request,
            std::move(id),
            std::move(field),
            std::move(expected),
            std::move(actual),
            response.curl};
}

void Findings::add(Evidence e)
{
    if (kept_.size() < kMaxEvidence)
        kept_.push_back(std::move(e));
    else
        ++more_;
}

CheckResult Findings::fail(const CheckInfo& info, std::string message) &&
{
    if (more_ > 0)
        message += " (evidence shows " + std::to_string(kMaxEvidence) + ", " +
                   std::to_string(more_) + " more not shown)";
    return failed(info, std::move(message), std::move(kept_));
}

CheckResult Findings::verdict(const CheckInfo& info, std::string_view what) &&
{
    if (empty())
        return passed(info);
    const auto n = count();
    return std::move(*this).fail(info, std::to_string(n) + " " + std::string(what));
}

const char* kind_name(em::JsonKind kind) noexcept
{
    switch (kind) {
    case em::JsonKind::missing:
        return "missing";
    case em::JsonKind::null:
        return "null";
    case em::JsonKind::boolean:
        return "a boolean";
    case em::JsonKind::number:
        return "a number";
    case em::JsonKind::string:
        return "a string";
    case em::JsonKind::object:
        return "an object";
    case em::JsonKind::array:
        return "an array";
    }
    return "unknown";
}

CheckResult passed(const CheckInfo& info)
{
    CheckResult r;
    r.info = info;
    r.severity = info.severity;
    return r;
}

CheckResult skipped(const CheckInfo& info, std::string reason)
{
    CheckResult r = passed(info);
    r.verdict = Verdict::skipped;
    r.message = std::move(reason);
    return r;
}

CheckResult failed(const CheckInfo& info, std::string message, std::vector<Evidence> evidence)
{
    CheckResult r = passed(info);
    r.verdict = Verdict::failed;
    r.message = std::move(message);
    r.evidence = std::move(evidence);
    return r;
}

} // namespace sesam::harness

namespace sesam::harness {

std::string mib(std::uint64_t bytes)
{
    char text[32];
    std::snprintf(text, sizeof text, "%.1f MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
    return text;
}

namespace {

/// docs/protocol.md#microservice-system: a node gives a microservice's container docker.memory MB
/// (128 unless the system says otherwise) and stops it when it takes more.
CheckResult memory_limit(CheckContext& ctx, const CheckInfo& info)
{
    const auto& options = ctx.memory();
    if (!options.memory)
        return skipped(info, options.unseen);
    const auto peak = options.memory->peak_bytes();
    if (!peak)
        return skipped(info, "no memory figure could be read (" + options.memory->source() + ")");
    const auto figure = "peak " + mib(*peak) + " (" + options.memory->source() + ")";
    if (options.limit_bytes == 0)
        return skipped(info, options.limit_name + " turns it off; " + figure);
    if (*peak > options.limit_bytes)
        return failed(info,
                      "the service's peak memory " + mib(*peak) + " is over " + options.limit_name +
                          "; a node would stop the container (make the service stream, or raise "
                          "docker.memory)",
                      {Evidence{"the whole run, " + options.memory->source(),
                                "",
                                "",
                                "at most " + mib(options.limit_bytes),
                                mib(*peak),
                                ""}});
    auto result = passed(info);
    result.message = figure + " of " + options.limit_name;
    return result;
}

} // namespace

const std::vector<Check>& memory_checks()
{
    static const std::vector<Check> checks = [] {
        std::vector<Check> out;
        for (const Role role : {Role::source, Role::sink, Role::transform}) {
            if (role == Role::source)
                for (auto& c : source_memory_checks())
                    out.push_back(std::move(c));
            if (role == Role::sink)
                for (auto& c : sink_memory_checks())
                    out.push_back(std::move(c));
            const CheckInfo info{"service.memory.limit",
                                 role,
                                 Severity::error,
                                 "The service's peak memory through the run stays within its "
                                 "limit (--memory-limit, or its system's docker.memory)",
                                 "docs/protocol.md#microservice-system"};
            out.push_back({info, [info](CheckContext& ctx) { return memory_limit(ctx, info); }});
        }
        return out;
    }();
    return checks;
}

} // namespace sesam::harness
