#include "emulator/pull/pull_client.hpp"

#include "emulator/http/url.hpp"
#include "emulator/json_stream/parse_pipeline.hpp"
#include "emulator/store/state_store.hpp"

#include <nlohmann/json.hpp>

#include <chrono>

namespace sesam::emulator {

namespace {

constexpr std::size_t kErrorBodyBytes = kErrorBodyShown;

void dump_python_style(const nlohmann::ordered_json& value, std::string& out)
{
    // Python json.dumps defaults: ", " and ": " separators, non-ASCII escaped.
    if (value.is_array()) {
        out += '[';
        for (std::size_t i = 0; i < value.size(); ++i) {
            if (i)
                out += ", ";
            dump_python_style(value[i], out);
        }
        out += ']';
    } else if (value.is_object()) {
        out += '{';
        bool first = true;
        for (const auto& [key, item] : value.items()) {
            if (!first)
                out += ", ";
            first = false;
            out += nlohmann::ordered_json(key).dump(-1, ' ', true);
            out += ": ";
            dump_python_style(item, out);
        }
        out += '}';
    } else {
        out += value.dump(-1, ' ', true);
    }
}

std::string id_for_message(const EntityView& entity)
{
    if (entity.id_kind == JsonKind::string)
        return "entity \"" + entity.id + "\"";
    return "entity";
}

/// Consumes one response: judges the status, feeds the body to the stream parser and hands each
/// entity on. Stops the exchange at the first problem.
class PageSink final : public ResponseSink {
public:
    PageSink(const EntityStreamParser::Options& options,
             std::function<std::optional<std::string>(const EntityView&)> on_entity)
        : parser_(
              [this, on_entity = std::move(on_entity)](const EntityView& e) {
                  if (problem_)
                      return;
                  ++entities_;
                  last_updated_kind_ = e.updated_kind;
                  last_updated_text_.assign(e.updated); // reuses capacity: no allocation
                  problem_ = on_entity(e);
              },
              options),
          pipeline_(parser_, [this] { return problem_.has_value(); })
    {
    }

    void on_head(const HttpResponseHead& head) override
    {
        status_ = head.status, reason_ = head.reason;
    }

    bool on_body(std::string_view bytes) override
    {
        if (!is_success(status_)) {
            // docs/protocol.md#pull-response: non-2xx is a read error; keep the start of the body
            // for the message
            error_body_.append(bytes.substr(0, kErrorBodyBytes - error_body_.size()));
            return error_body_.size() < kErrorBodyBytes;
        }
        return pipeline_.push(bytes);
    }

    /// After the exchange: waits for the parsing thread; errors and figures are final after it.
    void drain() { stream_error_ = pipeline_.drain(); }

    /// After a complete exchange and drain(): the end-of-body verdict.
    void finish()
    {
        if (is_success(status_) && !stream_error_ && !problem_)
            stream_error_ = parser_.finish();
    }

    int status() const { return status_; }
    const std::string& reason() const { return reason_; }
    const std::string& error_body() const { return error_body_; }
    const std::optional<StreamError>& stream_error() const { return stream_error_; }
    const std::optional<std::string>& problem() const { return problem_; }
    std::size_t entities() const { return entities_; }
    /// The `_updated` of the last entity of the response, if it had one.
    std::optional<SinceValue> last_updated() const
    {
        EntityView last;
        last.updated_kind = last_updated_kind_;
        last.updated = last_updated_text_;
        return SinceValue::from_entity(last);
    }
    const EntityStreamParser& parser() const { return parser_; }

private:
    EntityStreamParser parser_;
    ParsePipeline pipeline_; ///< parses while the transport receives the next bytes
    int status_ = 0;
    std::string reason_;
    std::string error_body_;
    std::optional<StreamError> stream_error_;
    std::optional<std::string> problem_;
    std::size_t entities_ = 0;
    JsonKind last_updated_kind_ = JsonKind::missing;
    std::string last_updated_text_;
};

} // namespace

std::optional<std::string> validate(const PullOptions& options)
{
    if (auto bad = check_http_url(options.url))
        return bad->message;
    if (options.page_size) {
        if (*options.page_size == 0)
            return "page_size must be at least 1";
        // docs/protocol.md#pull-continuation: paging is allowed only with all three continuation
        // properties true
        if (!options.supports_since || !options.is_chronological || !options.is_since_comparable)
            return "page_size needs supports_since, is_chronological and is_since_comparable "
                   "all true (docs/protocol.md#pull-continuation)";
    }
    if (options.subset && !subset_query_value(*options.subset))
        return "subset is not valid JSON: " + *options.subset;
    return std::nullopt;
}

std::optional<std::string> subset_query_value(std::string_view json_text)
{
    auto value = nlohmann::ordered_json::parse(json_text, nullptr, false);
    if (value.is_discarded())
        return std::nullopt;
    std::string out;
    dump_python_style(value, out);
    return out;
}

PullClient::PullClient(Transport& transport, StateStore* store, PullOptions options)
    : transport_(transport), store_(store), options_(std::move(options))
{
}

PullReport PullClient::run(const std::string& pipe,
                           const EntityHandler& on_entity,
                           const OutputFlush& flush_output,
                           const OutputFailure& output_failure)
{
    const auto started = std::chrono::steady_clock::now();
    PullReport report;
    auto& summary = report.summary;
    auto fail = [&](PullFailure::Kind kind, std::string message) {
        report.failure = PullFailure{kind, std::move(message)};
    };
    auto finish = [&]() -> PullReport {
        summary.seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        return std::move(report);
    };

    std::optional<SinceValue> stored;
    try {
        if (store_) {
            if (auto text = store_->load_offset(pipe)) {
                stored = SinceValue::from_json(*text);
                if (!stored) {
                    fail(PullFailure::Kind::store,
                         "the stored offset of pipe '" + pipe + "' is not JSON: " + *text);
                    return finish();
                }
            }
        }
    } catch (const StoreError& e) {
        fail(PullFailure::Kind::store, e.what());
        return finish();
    }
    std::optional<SinceValue> initial;
    if (options_.initial_since_value)
        initial = SinceValue::string(*options_.initial_since_value);

    SinceTracker tracker(choose_strategy(options_.supports_since,
                                         options_.is_chronological,
                                         options_.is_since_comparable),
                         stored,
                         initial,
                         options_.checkpoint_interval);
    summary.strategy = tracker.strategy();
    summary.offset_before = stored;
    summary.offset_after = stored;
    auto since = tracker.first_since();
    summary.full_run = !since.has_value();

    std::size_t without_updated = 0;
    std::size_t without_id = 0;
    SinceValue updated;
    bool checkpoint_due = false;
    auto save = [&](const SinceValue& offset) -> bool {
        if (!store_)
            return true;
        // Everything before the offset must be safely written before the offset says so.
        if (flush_output) {
            if (auto problem = flush_output()) {
                fail(PullFailure::Kind::output, "cannot write the output: " + *problem);
                return false;
            }
        }
        try {
            store_->save_offset(pipe, offset.to_json());
            summary.offset_after = offset;
            return true;
        } catch (const StoreError& e) {
            fail(PullFailure::Kind::store, e.what());
            return false;
        }
    };

    auto handle_entity = [&](const EntityView& e) -> std::optional<std::string> {
        // docs/protocol.md#reserved-fields: `_id` is always a string (a missing one is allowed at
        // the source stage)
        if (e.id_kind != JsonKind::missing && e.id_kind != JsonKind::string)
            return "entity at index " + std::to_string(e.index) + " (byte " +
                   std::to_string(e.offset) + "): _id must be a string, got " + e.id;
        on_entity(e);
        if (output_failure) {
            if (auto problem = output_failure()) {
                fail(PullFailure::Kind::output, "cannot write the output: " + *problem);
                return "the output failed";
            }
        }
        ++summary.entities;
        if (e.id_kind == JsonKind::missing)
            ++without_id;
        if (e.deleted)
            ++summary.deleted;
        if (e.updated_kind == JsonKind::missing || e.updated_kind == JsonKind::null) {
            ++without_updated;
            return std::nullopt;
        }
        if (tracker.strategy() == SinceStrategy::none)
            return std::nullopt;
        // One SinceValue reused for every entity: no allocation per entity on the hot path.
        updated.kind = e.updated_kind == JsonKind::number   ? SinceValue::Kind::number
                       : e.updated_kind == JsonKind::string ? SinceValue::Kind::string
                                                            : SinceValue::Kind::other;
        updated.text.assign(e.updated);
        if (auto problem = tracker.observe(updated))
            return id_for_message(e) + " at index " + std::to_string(e.index) + ": " + *problem;
        // docs/protocol.md#pull-continuation checkpoints, stored only once the response they are in
        // has parsed whole (docs/protocol.md#real-services: a cut-short or invalid body must not
        // move the offset)
        checkpoint_due = tracker.take_checkpoint().has_value() || checkpoint_due;
        return std::nullopt;
    };

    for (std::size_t page = 1;; ++page) {
        std::vector<std::pair<std::string, std::string>> params;
        if (since)
            params.emplace_back("since", since->query_value()); // docs/protocol.md#pull-request
        if (options_.page_size)
            // docs/protocol.md#pull-paging
            params.emplace_back("limit", std::to_string(*options_.page_size));
        if (options_.subset)
            // docs/protocol.md#pull-request
            params.emplace_back("subset", *subset_query_value(*options_.subset));
        auto url = add_query_params(options_.url, params);
        if (auto* bad = std::get_if<UrlError>(&url)) {
            fail(PullFailure::Kind::service, bad->message);
            return finish();
        }
        HttpRequest request;
        request.method = "GET";
        request.url = std::get<std::string>(url);
        request.headers = options_.headers;
        const auto name = describe(request);

        PageSink sink(options_.parser, handle_entity);
        auto sent = transport_.send(request, sink);
        sink.drain();
        ++summary.requests;
        summary.bytes += sink.parser().bytes_seen() + sink.error_body().size();
        if (report.failure) // a store failure inside the entity handler
            return finish();
        if (sink.problem()) {
            fail(PullFailure::Kind::service, name + ": " + *sink.problem());
            return finish();
        }
        if (sink.stream_error()) {
            fail(PullFailure::Kind::service,
                 name + ": bad body: " + sink.stream_error()->message + " (byte " +
                     std::to_string(sink.stream_error()->offset) + ")");
            return finish();
        }
        if (sink.status() != 0 && !is_success(sink.status())) {
            const auto message =
                name + ": " + describe_status(sink.status(), sink.reason(), sink.error_body());
            fail(PullFailure::Kind::service, message);
            return finish();
        }
        if (!sent && !(sent.error().code == TransportErrc::aborted)) {
            const auto kind = sent.error().code == TransportErrc::interrupted
                                  ? PullFailure::Kind::interrupted
                                  : PullFailure::Kind::service;
            fail(kind, name + ": " + sent.error().detail);
            return finish();
        }
        sink.finish();
        if (sink.stream_error()) {
            fail(PullFailure::Kind::service,
                 name + ": bad body: " + sink.stream_error()->message + " (byte " +
                     std::to_string(sink.stream_error()->offset) + ")");
            return finish();
        }
        if (checkpoint_due) {
            checkpoint_due = false;
            if (auto offset = tracker.offset_on_success(); offset && !save(*offset))
                return finish();
        }
        if (sink.parser().single_object())
            summary.warnings.push_back(
                name + ": the body is a single object, not an array; taken as "
                       "one entity (docs/protocol.md#conventions parser tolerance)");
        if (sink.parser().skipped_values() > 0)
            summary.warnings.push_back(name + ": " +
                                       std::to_string(sink.parser().skipped_values()) +
                                       " values in the array are not objects and were skipped");

        if (!options_.page_size || sink.entities() == 0)
            break; // docs/protocol.md#pull-paging: paging ends on an empty page
        if (options_.stop_on_short_page && sink.entities() < *options_.page_size)
            break;
        if (!sink.last_updated()) {
            fail(PullFailure::Kind::service,
                 name +
                     ": paging needs _updated on the last entity of each page "
                     "(docs/protocol.md#pull-paging), page " +
                     std::to_string(page) + " ends with an entity without it");
            return finish();
        }
        if (since && *sink.last_updated() == *since) {
            fail(PullFailure::Kind::service,
                 name + ": paging made no progress: page " + std::to_string(page) +
                     " ends at the since value it was asked for (" + since->to_json() +
                     "); does the service ignore since?");
            return finish();
        }
        // docs/protocol.md#pull-paging: next page continues after the last entity
        since = sink.last_updated();
    }

    if (summary.entities == 0 && options_.if_source_empty == IfSourceEmpty::fail) {
        // docs/protocol.md#pull-continuation if_source_empty: "fail" protects downstream deletion
        // tracking
        fail(PullFailure::Kind::service,
             "the source returned no entities and if_source_empty is \"fail\"");
        return finish();
    }
    // docs/protocol.md#reserved-fields: allowed at the source stage (a DTL may add it), but a sink
    // or dataset needs one
    if (without_id > 0)
        summary.warnings.push_back(std::to_string(without_id) +
                                   " entities had no _id; a pipe must add one before a sink");
    if (without_updated > 0 && tracker.strategy() != SinceStrategy::none)
        summary.warnings.push_back(std::to_string(without_updated) +
                                   " entities had no _updated, so they cannot move the offset");
    if (auto offset = tracker.offset_on_success())
        save(*offset);
    else if (flush_output)
        if (auto problem = flush_output())
            fail(PullFailure::Kind::output, "cannot write the output: " + *problem);
    return finish();
}

} // namespace sesam::emulator
