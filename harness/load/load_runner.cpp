#include "harness/load/load_runner.hpp"

#include "emulator/http/beast_transport.hpp"
#include "emulator/http/url.hpp"
#include "emulator/json_stream/entity_stream_parser.hpp"
#include "emulator/pull/since_tracker.hpp"
#include "emulator/push/push_sequence.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <fmt/core.h>

#include <algorithm>
#include <exception>
#include <mutex>
#include <random>
#include <sys/resource.h>
#include <thread>

namespace sesam::harness {

namespace asio = boost::asio;
namespace em = sesam::emulator;
using Clock = std::chrono::steady_clock;

namespace {

std::uint64_t micros_since(Clock::time_point start)
{
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start).count());
}

double cpu_seconds_now()
{
    rusage usage{};
    ::getrusage(RUSAGE_SELF, &usage);
    auto seconds = [](const timeval& t) {
        return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
    };
    return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

/// Counts what comes back; with `parse`, the entities of a JSON array as well. Lives in the
/// exchange's coroutine frame, which never moves: the parser's callback may point back at it.
class LoadSink final : public em::ResponseSink {
public:
    LoadSink(Clock::time_point started, bool parse) : started_(started)
    {
        if (parse) {
            em::EntityStreamParser::Options o;
            o.check_transit = false; // measured here, not judged: `check` judges
            parser_.emplace(
                [this](const em::EntityView& e) {
                    ++entities;
                    if (auto u = em::SinceValue::from_entity(e))
                        last_updated = std::move(*u);
                },
                o);
        }
    }
    LoadSink(const LoadSink&) = delete;
    LoadSink& operator=(const LoadSink&) = delete;

    void on_head(const em::HttpResponseHead& head) override
    {
        status = head.status;
        first_byte_micros = micros_since(started_);
    }
    bool on_body(std::string_view bytes) override
    {
        body_bytes += bytes.size();
        if (parser_ && status >= 200 && status <= 299 && !bad_body)
            if (parser_->feed(bytes))
                bad_body = true;
        return true;
    }
    void finish()
    {
        if (parser_ && status >= 200 && status <= 299 && !bad_body && parser_->finish())
            bad_body = true;
    }

    int status = 0;
    std::uint64_t first_byte_micros = 0;
    std::uint64_t body_bytes = 0;
    std::uint64_t entities = 0;
    bool bad_body = false;
    std::optional<em::SinceValue> last_updated;

private:
    Clock::time_point started_;
    std::optional<em::EntityStreamParser> parser_;
};

/// What one exchange gave: the status (0 when the exchange failed) and what the body held.
struct Outcome {
    int status = 0;
    std::uint64_t entities = 0; ///< in the response's body, when it was parsed
    bool bad_body = false;
    std::optional<em::SinceValue> last_updated;

    bool ok() const { return status >= 200 && status <= 299; }
};

/// One pipe: its own connection and figures, run as a coroutine on an io_context that it may
/// share with other pipes (one per thread: see run_load).
class Worker {
public:
    Worker(const LoadOptions& options,
           const std::vector<std::string>& batches,
           std::size_t entities_in_batches,
           unsigned index,
           const std::atomic<bool>* stop,
           const std::atomic<bool>& failed,
           asio::io_context& ioc)
        : o_(options), url_(pipe_url(options.url, index)), batches_(batches),
          entities_in_batches_(entities_in_batches), ioc_(ioc), transport_(ioc, options.transport),
          stop_(stop), failed_(failed), random_(seed_of(options, index))
    {
    }

    asio::awaitable<void> run(Clock::time_point deadline)
    {
        // However the pipe ends, its connection closes: the deadline watch of a pooled
        // connection would keep the io_context running.
        struct CloseAtEnd {
            em::BeastTransport& transport;
            ~CloseAtEnd() { transport.close(); }
        } close_at_end{transport_};
        do {
            switch (o_.role) {
            case Role::sink:
                co_await sink_round();
                break;
            case Role::transform:
                co_await transform_round();
                break;
            case Role::source:
                co_await source_round();
                break;
            }
            ++figures.rounds;
        } while (o_.duration && Clock::now() < deadline && !stopped());
    }

    /// Cancels the exchange in progress, from any thread (SIGINT/SIGTERM).
    void cancel()
    {
        asio::post(ioc_, [this] { transport_.cancel(); });
    }

    LoadFigures figures;

private:
    static std::uint64_t seed_of(const LoadOptions& o, unsigned index)
    {
        return o.seed ? *o.seed * 1000003u + index : std::random_device{}();
    }

    /// SIGINT/SIGTERM, or another pipe failed (an exception, rethrown by run_load).
    bool stopped() const { return (stop_ && stop_->load()) || failed_.load(); }

    std::string sequence_id()
    {
        if (!o_.seed)
            return em::new_sequence_id();
        // A UUIDv4 from the seeded generator: reproducible runs (--seed).
        const std::uint64_t a = random_();
        const std::uint64_t b = random_();
        return fmt::format("{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
                           a >> 32,
                           (a >> 16) & 0xFFFF,
                           a & 0xFFF,
                           0x8000 | ((b >> 48) & 0x3FFF),
                           b & 0xFFFFFFFFFFFF);
    }

    /// Sends one request and counts the exchange.
    asio::awaitable<Outcome> exchange(const std::string& method,
                                      std::string url,
                                      const std::string& body,
                                      std::size_t entities_sent,
                                      bool parse)
    {
        em::HttpRequest request;
        request.method = method;
        request.url = std::move(url);
        request.headers = o_.headers;
        if (method == "POST")
            request.headers.push_back({"Content-Type", "application/json"});
        request.body = body;
        const auto started = Clock::now();
        LoadSink sink(started, parse);
        const auto result = co_await transport_.async_send(request, sink);
        sink.finish();
        const auto total = micros_since(started);
        ++figures.requests;
        figures.bytes_sent += body.size();
        figures.bytes_received += sink.body_bytes;
        figures.latency.record(total);
        if (sink.status != 0)
            figures.first_byte.record(sink.first_byte_micros);
        Outcome out{sink.status, sink.entities, sink.bad_body, std::move(sink.last_updated)};
        if (!result) {
            if (!stopped()) // an exchange cut short by SIGINT/SIGTERM is not the service's error
                ++figures.errors[std::string(result.error().code.message())];
            out.status = 0;
        } else if (!out.ok()) {
            ++figures.errors["status " + std::to_string(out.status)];
        } else if (out.bad_body) {
            ++figures.errors["body is not a JSON array of entities"];
        } else {
            figures.entities += entities_sent;
        }
        co_return out;
    }

    std::string with_query(const std::vector<std::pair<std::string, std::string>>& params)
    {
        auto url = em::add_query_params(url_, params);
        const auto* text = std::get_if<std::string>(&url);
        return text ? *text : url_; // the URL was checked before the run
    }

    asio::awaitable<void> sync(bool full, std::size_t batches)
    {
        em::PushSequence sequence(sequence_id(), full);
        for (std::size_t i = 0; i < batches && !stopped(); ++i) {
            const auto& params = sequence.begin_request(false);
            const auto out = co_await exchange(
                "POST", with_query(params.query()), batches_[i], batch_entities(i), false);
            if (out.ok())
                sequence.acknowledge();
        }
        // docs/protocol.md#push-request: the trailing empty batch carries is_last
        if (full && !stopped()) {
            const auto& params = sequence.begin_request(true);
            co_await exchange("POST", with_query(params.query()), kEmptyBatch, 0, false);
        }
    }

    std::size_t batch_entities(std::size_t i) const
    {
        const auto full = std::min(o_.batch_size, entities_in_batches_);
        const auto last = entities_in_batches_ - full * (batches_.size() - 1);
        return i + 1 < batches_.size() ? full : last;
    }

    asio::awaitable<void> sink_round()
    {
        co_await sync(true, batches_.size());
        co_await sync(false, std::max<std::size_t>(1, batches_.size() / 10)); // a tenth
    }

    asio::awaitable<void> transform_round()
    {
        for (std::size_t i = 0; i < batches_.size() && !stopped(); ++i) {
            const auto out = co_await exchange("POST", url_, batches_[i], 0, true);
            if (out.ok() && !out.bad_body)
                figures.entities += batch_entities(i); // sent and answered
        }
    }

    /// One GET of the source, from `since` when given, its entities counted.
    asio::awaitable<Outcome> pull(const std::optional<em::SinceValue>& since)
    {
        std::vector<std::pair<std::string, std::string>> params;
        if (since)
            params.emplace_back("since", since->text);
        if (o_.page_size > 0)
            params.emplace_back("limit", std::to_string(o_.page_size));
        auto out = co_await exchange("GET", with_query(params), kNoBody, 0, true);
        figures.entities += out.entities;
        co_return out;
    }

    asio::awaitable<void> source_round()
    {
        std::optional<em::SinceValue> since;
        for (std::size_t page = 0; !stopped(); ++page) {
            const auto out = co_await pull(since);
            if (out.last_updated)
                since = out.last_updated;
            // Paging ends with an empty page (docs/protocol.md#pull-continuation); a failed page
            // ends the pull too.
            if (o_.page_size == 0 || out.entities == 0 || !out.ok() || !out.last_updated ||
                page > 1'000'000)
                break;
        }
        if (o_.supports_since && o_.page_size == 0 && since && !stopped())
            co_await pull(since); // continued from the last _updated: normally nothing new
    }

    inline static const std::string kEmptyBatch = "[]";
    inline static const std::string kNoBody;

    const LoadOptions& o_;
    std::string url_; ///< the URL with `{pipe}` replaced
    const std::vector<std::string>& batches_;
    std::size_t entities_in_batches_;
    asio::io_context& ioc_;
    em::BeastTransport transport_;
    const std::atomic<bool>* stop_;
    const std::atomic<bool>& failed_;
    std::mt19937_64 random_;
};

} // namespace

std::string pipe_url(const std::string& url, unsigned index)
{
    std::string out = url;
    const std::string number = std::to_string(index + 1);
    for (auto at = out.find("{pipe}"); at != std::string::npos; at = out.find("{pipe}", at))
        out.replace(at, 6, number);
    return out;
}

std::uint64_t LoadFigures::error_count() const
{
    std::uint64_t n = 0;
    for (const auto& [kind, count] : errors)
        n += count;
    return n;
}

double LoadFigures::entities_per_second() const
{
    return seconds > 0 ? static_cast<double>(entities) / seconds : 0.0;
}

double LoadFigures::megabytes_per_second() const
{
    return seconds > 0 ? static_cast<double>(bytes_sent + bytes_received) / 1e6 / seconds : 0.0;
}

LoadFigures run_load(const LoadOptions& options,
                     const std::vector<std::string>& entities,
                     const std::atomic<bool>* stop)
{
    // Batches are serialised once and shared: what is measured is the service, not the JSON.
    std::vector<std::string> batches;
    const std::size_t batch = std::max<std::size_t>(1, options.batch_size);
    for (std::size_t i = 0; i < entities.size(); i += batch) {
        std::string body = "[";
        for (std::size_t k = i; k < std::min(entities.size(), i + batch); ++k) {
            if (k > i)
                body += ',';
            body += entities[k];
        }
        batches.push_back(body + "]");
    }
    if (batches.empty())
        batches.emplace_back("[]");

    // Pipes are coroutines; as many threads as there are cores (or pipes, if fewer) each run an
    // io_context with its share of them, as wrk spreads its connections over its threads: more
    // threads than cores would measure the scheduler rather than the service.
    const unsigned pipes = std::max(1u, options.concurrency);
    const unsigned threads = std::min(pipes, std::max(1u, std::thread::hardware_concurrency()));
    std::vector<std::unique_ptr<asio::io_context>> contexts; // outlive the workers
    for (unsigned t = 0; t < threads; ++t)
        contexts.push_back(std::make_unique<asio::io_context>(1));
    std::atomic<bool> failed{false}; // a pipe threw: the others stop between requests
    std::vector<std::unique_ptr<Worker>> workers;
    for (unsigned i = 0; i < pipes; ++i)
        workers.push_back(std::make_unique<Worker>(
            options, batches, entities.size(), i, stop, failed, *contexts[i % threads]));
    const double cpu_before = cpu_seconds_now();
    const auto started = Clock::now();
    const auto deadline =
        started + std::chrono::duration_cast<Clock::duration>(
                      options.duration.value_or(std::chrono::duration<double>(0)));
    std::atomic<std::size_t> running{workers.size()};
    std::mutex failure_mutex;
    std::exception_ptr failure;
    for (unsigned i = 0; i < pipes; ++i)
        asio::co_spawn(*contexts[i % threads],
                       workers[i]->run(deadline),
                       [&running, &failure_mutex, &failure, &failed](std::exception_ptr e) {
                           if (e) {
                               const std::lock_guard lock(failure_mutex);
                               if (!failure)
                                   failure = e;
                               failed = true;
                           }
                           --running;
                       });
    std::vector<std::thread> pool;
    for (auto& context : contexts)
        pool.emplace_back([&context] { context->run(); });
    // SIGINT/SIGTERM: every pipe's exchange in progress is cancelled, so the run ends at once.
    for (bool cancelled = false; running > 0;) {
        if (!cancelled && stop && *stop) {
            for (auto& w : workers)
                w->cancel();
            cancelled = true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    for (auto& t : pool)
        t.join();
    if (failure)
        std::rethrow_exception(failure);

    LoadFigures total;
    total.seconds = std::chrono::duration<double>(Clock::now() - started).count();
    total.cpu_seconds = cpu_seconds_now() - cpu_before;
    for (const auto& w : workers) {
        const auto& f = w->figures;
        total.entities += f.entities;
        total.requests += f.requests;
        total.bytes_sent += f.bytes_sent;
        total.bytes_received += f.bytes_received;
        total.rounds += f.rounds;
        for (const auto& [kind, count] : f.errors)
            total.errors[kind] += count;
        total.latency.merge(f.latency);
        total.first_byte.merge(f.first_byte);
    }
    return total;
}

std::vector<std::string> generated_entities(std::size_t count, std::uint64_t seed)
{
    static const char* cities[] = {"Oslo", "Bergen", "Trondheim", "Stavanger", "Troms\u00f8"};
    static const char* names[] = {"Kari", "Ola", "Ingrid", "Per", "Liv", "Nils", "Sofie", "Jonas"};
    std::mt19937_64 random(seed);
    std::vector<std::string> out;
    out.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
        const auto r = random();
        if (r % 50 == 0) {
            out.push_back(fmt::format(R"({{"_id":"person-{}","_deleted":true}})", i));
            continue;
        }
        const char* name = names[r % 8];
        const char* city = cities[(r >> 8) % 5];
        out.push_back(fmt::format(
            R"({{"_id":"person-{}","name":"{} Nordmann {}","email":"{}.{}@example.org",)"
            R"("born":"~t19{:02}-{:02}-{:02}T{:02}:{:02}:00Z","salary":"~f{}.{:02}",)"
            R"("employer":"~:hr-org:{}","active":{},"score":0.{:03},"tags":["customer","{}"],)"
            R"("address":{{"street":"Storgata {}","city":"{}","zip":"{:04}"}},)"
            R"("note":"line one\nline \"two\""}})",
            i,
            name,
            r % 1000,
            name,
            i,
            40 + r % 60,
            1 + (r >> 4) % 12,
            1 + (r >> 9) % 28,
            (r >> 3) % 24,
            (r >> 5) % 60,
            200000 + r % 800000,
            r % 100,
            r % 97,
            (r & 1) ? "true" : "false",
            r % 1000,
            city,
            1 + r % 200,
            city,
            r % 10000));
    }
    return out;
}

} // namespace sesam::harness
