#include "emulator/push/push_client.hpp"

#include "emulator/http/url.hpp"
#include "emulator/store/dataset_store.hpp"
#include "emulator/store/state_store.hpp"

#include <chrono>

namespace sesam::emulator {

namespace {

constexpr std::size_t kErrorBodyBytes = kErrorBodyShown;

/// Keeps the status and the start of the body (for messages); the body is otherwise ignored
/// (docs/protocol.md#push-receiver-rules: any 2xx is success, the body does not matter).
class AnswerSink final : public ResponseSink {
public:
    void on_head(const HttpResponseHead& head) override
    {
        status = head.status;
        reason = head.reason;
    }
    bool on_body(std::string_view bytes) override
    {
        if (body.size() < kErrorBodyBytes)
            body.append(bytes.substr(0, kErrorBodyBytes - body.size()));
        return true;
    }
    int status = 0;
    std::string reason;
    std::string body;
};

/// The entities of the sync, read from the dataset one batch at a time (so memory is bounded by
/// the batch, whatever the dataset's size). The machine only ever asks for the current batch
/// or the next one.
class BatchWindow {
public:
    BatchWindow(const DatasetStore& store,
                std::string dataset,
                std::int64_t after,
                std::size_t size)
        : store_(store), dataset_(std::move(dataset)), read_after_(after), size_(size)
    {
    }

    struct Entry {
        std::int64_t updated;
        bool deleted;
        std::string json;
    };

    /// The entity at sync position `index`, loading the batch that holds it when needed.
    const Entry& at(std::size_t index)
    {
        while (index >= begin_ + entries_.size()) {
            begin_ += entries_.size();
            entries_.clear();
            store_.latest_since(dataset_, read_after_, [&](const StoredEntity& e) {
                entries_.push_back({e.updated, e.deleted, std::string(e.json)});
                read_after_ = e.updated;
                return entries_.size() < size_;
            });
            if (entries_.empty())
                break;
        }
        return entries_.at(index - begin_);
    }

private:
    const DatasetStore& store_;
    std::string dataset_;
    std::int64_t read_after_;
    std::size_t size_;
    std::size_t begin_ = 0;
    std::vector<Entry> entries_;
};

} // namespace

PushClient::PushClient(Transport& transport,
                       StateStore& state,
                       DatasetStore& datasets,
                       PushOptions options)
    : transport_(transport), state_(state), datasets_(datasets), options_(std::move(options))
{
}

PushReport PushClient::run(const std::string& pipe)
{
    const auto started = std::chrono::steady_clock::now();
    PushReport report;
    auto& summary = report.summary;
    auto finish = [&]() -> PushReport {
        summary.seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        return std::move(report);
    };
    auto fail = [&](PushFailure::Kind kind, std::string message) {
        report.failure = PushFailure{kind, std::move(message)};
    };

    std::optional<std::int64_t> stored;
    std::int64_t after = -1;
    std::size_t count = 0;
    std::optional<std::int64_t> dataset_max;
    try {
        if (auto text = state_.load_offset(pipe)) {
            try {
                stored = std::stoll(*text);
            } catch (const std::exception&) {
                fail(PushFailure::Kind::store,
                     "the stored offset of pipe '" + pipe + "' is not an integer: " + *text);
                return finish();
            }
        }
        // docs/protocol.md#push-full-sync: the first run, a reset and a requested full run are full
        // syncs
        summary.full_sync = options_.full || !stored;
        summary.offset_before = stored;
        summary.offset_after = stored;
        if (!summary.full_sync)
            after = *stored;
        count = datasets_.count_since(options_.dataset, after);
        dataset_max = datasets_.max_updated(options_.dataset);
    } catch (const StoreError& e) {
        fail(PushFailure::Kind::store, e.what());
        return finish();
    }

    summary.sequence_id = new_sequence_id();
    PushMachine machine(summary.sequence_id, summary.full_sync, count, options_.settings);
    BatchWindow window(datasets_, options_.dataset, after, options_.settings.batch_size);

    HttpRequest request;
    request.method = "POST";
    request.headers = options_.headers;
    if (!find_header(request.headers, "Content-Type"))
        // docs/protocol.md#push-request, #real-services
        set_header(request.headers, "Content-Type", "application/json");

    std::size_t prefix = 0; // entities [0, prefix) acknowledged, in order
    std::optional<std::int64_t> prefix_updated;
    std::string last_error;
    bool interrupted = false;

    for (;;) {
        const PushAction& action = machine.next();
        if (action.kind == PushAction::Kind::done)
            break;
        auto url = add_query_params(options_.url, action.params.query());
        if (auto* bad = std::get_if<UrlError>(&url)) {
            fail(PushFailure::Kind::service, bad->message);
            return finish();
        }
        request.url = std::get<std::string>(url);
        if (!action.retry) {
            // Batches are assembled from the stored entity text, never re-serialised.
            request.body.assign("[");
            for (std::size_t i = 0; i < action.count; ++i) {
                if (i > 0)
                    request.body += ',';
                request.body += window.at(action.first + i).json;
            }
            request.body += ']';
        }
        AnswerSink answer;
        auto sent = transport_.send(request, answer);
        summary.bytes += request.body.size();

        PushResult result = PushResult::failed;
        if (!sent) {
            if (sent.error().code == TransportErrc::interrupted) {
                interrupted = true;
                last_error = describe(request) + ": interrupted";
                break;
            }
            last_error = describe(request) + ": " + sent.error().detail;
        } else if (is_success(answer.status)) {
            result = PushResult::acknowledged; // docs/protocol.md#push-receiver-rules: any 2xx
        } else {
            if (answer.status == 409)
                result = PushResult::conflict; // docs/protocol.md#push-receiver-rules
            last_error = describe(request) + ": " +
                         describe_status(answer.status, answer.reason, answer.body);
        }
        if (result != PushResult::acknowledged && action.count == 0)
            // docs/protocol.md#push-empty-batch, #real-services
            last_error += " (the trailing empty batch)";
        if (result == PushResult::acknowledged && action.count > 0) {
            summary.entities += action.count;
            for (std::size_t i = 0; i < action.count; ++i)
                summary.deleted += window.at(action.first + i).deleted ? 1 : 0;
            if (action.first == prefix) {
                prefix += action.count;
                prefix_updated = window.at(prefix - 1).updated;
            }
        }
        machine.report(result);
    }

    const auto& outcome = machine.outcome();
    summary.requests = outcome.requests;
    summary.retries = outcome.retries;
    summary.failed = outcome.failed.size();

    // docs/protocol.md#push-receiver-rules: the offset advances only over what the receiver
    // acknowledged; a broken full sequence or a 409 makes the next run a new full sync.
    try {
        const bool conflict = outcome.stop == PushOutcome::Stop::conflict;
        if (summary.full_sync) {
            // Only a clean full sync moves the offset: entities that failed for good were
            // deleted by the receiver at is_last, so the next run must send them again.
            if (outcome.ok() && !interrupted) {
                if (dataset_max) {
                    state_.save_offset(pipe, std::to_string(*dataset_max));
                    summary.offset_after = dataset_max;
                }
            } else if (stored) {
                state_.reset_offset(pipe);
                summary.offset_after.reset();
            }
        } else if (conflict) {
            state_.reset_offset(pipe);
            summary.offset_after.reset();
        } else if (prefix_updated && (!stored || *prefix_updated > *stored)) {
            state_.save_offset(pipe, std::to_string(*prefix_updated));
            summary.offset_after = prefix_updated;
        }
    } catch (const StoreError& e) {
        fail(PushFailure::Kind::store, e.what());
        return finish();
    }

    if (interrupted) {
        fail(PushFailure::Kind::interrupted, last_error);
    } else if (outcome.stop == PushOutcome::Stop::conflict) {
        fail(PushFailure::Kind::conflict,
             last_error + " (409: the sync stopped; the next run starts a new full sync)");
    } else if (!outcome.ok()) {
        std::string message = last_error;
        if (summary.failed > 0)
            message += " (" + std::to_string(summary.failed) + " entities failed for good after " +
                       std::to_string(options_.settings.batch_retries) + " retries" +
                       (options_.settings.fallback_to_single_entities
                            ? " and the fallback to single entities)"
                            : ")");
        else
            message += " (after " + std::to_string(options_.settings.batch_retries) + " retries)";
        fail(PushFailure::Kind::service, message);
    }
    return finish();
}

} // namespace sesam::emulator
