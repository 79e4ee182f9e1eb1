#include "harness/cli/entity_input.hpp"

#include "emulator/json_stream/entity_stream_parser.hpp"
#include "harness/cli/command.hpp"
#include "harness/cli/input_interrupt.hpp"

#include <cerrno>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <pthread.h>
#include <stdexcept>
#include <sys/stat.h>
#include <thread>

namespace sesam::harness {

namespace em = sesam::emulator;

namespace {

constexpr std::size_t kReadBytes = 1 << 20;
/// The longest JSON line: the parser's largest entity.
constexpr std::size_t kMaxLineBytes = em::EntityStreamParser::Options{}.max_entity_bytes;

struct FileCloser {
    void operator()(std::FILE* f) const noexcept
    {
        if (f != stdin)
            std::fclose(f);
    }
};

/// The input as messages name it.
std::string input_name(const std::string& path)
{
    return path == "-" ? std::string("stdin") : path;
}

/// A read or open that a signal interrupted: SIGINT and SIGTERM are the only signals the
/// commands handle, so EINTR means the user asked to stop.
[[noreturn]] void interrupted(const std::string& name)
{
    throw Interrupted("while reading the input " + name + "; nothing of it was kept");
}

void check_interrupt(const std::string& name)
{
    if (InputInterruptGuard::requested())
        interrupted(name);
}

std::unique_ptr<std::FILE, FileCloser> open_input(const std::string& path)
{
    check_interrupt(path); // a signal before the open would not interrupt it
    std::FILE* f = path == "-" ? stdin : std::fopen(path.c_str(), "rb");
    if (!f && errno == EINTR)
        interrupted(path);
    if (!f)
        throw UsageError("cannot read input " + path + ": " + std::strerror(errno));
    struct stat st {};
    if (::fstat(::fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        if (f != stdin)
            std::fclose(f);
        throw UsageError("cannot read input " + path + ": it is a directory");
    }
    return std::unique_ptr<std::FILE, FileCloser>(f);
}

/// fread of up to `size` bytes; short only at the end of the input. Throws Interrupted for an
/// interrupted read, UsageError for a failed one.
std::size_t read_block(std::FILE* f, char* data, std::size_t size, const std::string& name)
{
    check_interrupt(name);
    const auto got = std::fread(data, 1, size, f);
    if (got < size && std::ferror(f)) {
        if (errno == EINTR)
            interrupted(name);
        throw UsageError("reading input " + name + " failed: " + std::strerror(errno));
    }
    return got;
}

} // namespace

void read_entities(const std::string& path,
                   const std::function<bool(std::string_view, std::size_t)>& on_entity)
{
    const std::string name = input_name(path);
    auto file = open_input(path);
    std::string buffer(kReadBytes, '\0');
    std::size_t index = 0;
    bool stopped = false;

    // The first byte that is not whitespace tells an array from JSON lines.
    std::size_t got = read_block(file.get(), buffer.data(), buffer.size(), name);
    std::size_t first = 0;
    while (first < got && std::string_view(" \t\r\n").find(buffer[first]) != std::string_view::npos)
        ++first;
    if (first == got && got < buffer.size())
        throw UsageError(name +
                         ": the input is empty (expected a JSON array or JSON lines of entities)");
    // JSON lines when the first line holds one whole object; else one document (an array, or a
    // single object spread over lines).
    bool json_lines = false;
    if (first < got && buffer[first] == '{') {
        const std::string_view rest(buffer.data() + first, got - first);
        const auto first_line = rest.substr(0, rest.find('\n'));
        em::EntityStreamParser probe([](const em::EntityView&) {});
        json_lines = !probe.feed(first_line) && !probe.finish();
    }

    if (!json_lines) {
        em::EntityStreamParser parser(
            [&](const em::EntityView& e) { stopped = stopped || !on_entity(e.bytes, index++); });
        for (;;) {
            if (auto error = parser.feed(std::string_view(buffer.data(), got)))
                throw UsageError(name + ": byte " + std::to_string(error->offset) + ": " +
                                 error->message);
            if (stopped)
                return;
            if (got < buffer.size())
                break;
            got = read_block(file.get(), buffer.data(), buffer.size(), name);
        }
        if (auto error = parser.finish())
            throw UsageError(name + ": byte " + std::to_string(error->offset) + ": " +
                             error->message);
        if (parser.skipped_values() > 0)
            throw UsageError(name + ": " + std::to_string(parser.skipped_values()) +
                             " values in the array are not entity objects");
        return;
    }

    // JSON lines: each non-empty line is one entity.
    std::string line;
    std::size_t line_no = 0;
    auto take_line = [&]() {
        ++line_no;
        if (stopped)
            return;
        if (line.find_first_not_of(" \t\r") == std::string::npos)
            return;
        std::optional<std::string_view> entity;
        em::EntityStreamParser parser([&](const em::EntityView& e) { entity = e.bytes; });
        auto error = parser.feed(line);
        if (!error)
            error = parser.finish();
        if (!error && (!entity || !parser.single_object()))
            error = em::StreamError{0, "expected one JSON object on the line"};
        if (error)
            throw UsageError(name + ": line " + std::to_string(line_no) + ": " + error->message);
        stopped = !on_entity(*entity, index++);
    };
    for (;;) {
        std::string_view rest(buffer.data(), got);
        for (auto end = rest.find('\n'); end != std::string_view::npos; end = rest.find('\n')) {
            line.append(rest.substr(0, end));
            take_line();
            line.clear();
            rest.remove_prefix(end + 1);
        }
        if (stopped) // nothing more is wanted: do not read on to the end
            return;
        line.append(rest);
        // A line is one entity: it may be no longer than the largest entity the parser takes.
        if (line.size() > kMaxLineBytes)
            throw UsageError(name + ": line " + std::to_string(line_no + 1) +
                             " is longer than the largest entity taken (" +
                             std::to_string(kMaxLineBytes >> 20) + " MiB) and has no end");
        if (got < buffer.size())
            break;
        got = read_block(file.get(), buffer.data(), buffer.size(), name);
    }
    take_line();
}

namespace {

/// Batches handed from the reading thread to the writing one. At most kBatchesInFlight exist, so
/// the reader waits when the writer is behind.
class BatchQueue {
public:
    static constexpr std::size_t kBatchesInFlight = 4;

    BatchQueue()
    {
        for (std::size_t i = 0; i < kBatchesInFlight; ++i)
            free_.emplace_back();
    }

    /// Reader: an empty batch to fill, or nullopt once the writer has stopped.
    std::optional<em::EntityBatch> take_empty()
    {
        std::unique_lock lock(mutex_);
        changed_.wait(lock, [&] { return !free_.empty() || stopped_; });
        if (stopped_)
            return std::nullopt;
        auto batch = std::move(free_.front());
        free_.pop_front();
        return batch;
    }
    void put_full(em::EntityBatch batch)
    {
        {
            const std::lock_guard lock(mutex_);
            full_.push_back(std::move(batch));
        }
        changed_.notify_all();
    }
    /// Reader: no more batches; `error` when reading failed.
    void finish(std::exception_ptr error)
    {
        {
            const std::lock_guard lock(mutex_);
            finished_ = true;
            error_ = std::move(error);
        }
        changed_.notify_all();
    }

    /// Writer: the next full batch, or nullopt at the end (after which error() tells why).
    std::optional<em::EntityBatch> take_full()
    {
        std::unique_lock lock(mutex_);
        changed_.wait(lock, [&] { return !full_.empty() || finished_; });
        if (full_.empty())
            return std::nullopt;
        auto batch = std::move(full_.front());
        full_.pop_front();
        return batch;
    }
    void give_back(em::EntityBatch batch)
    {
        batch.clear();
        {
            const std::lock_guard lock(mutex_);
            free_.push_back(std::move(batch));
        }
        changed_.notify_all();
    }
    /// Writer: stop the reader (the load failed).
    void stop()
    {
        {
            const std::lock_guard lock(mutex_);
            stopped_ = true;
        }
        changed_.notify_all();
    }
    std::exception_ptr error()
    {
        const std::lock_guard lock(mutex_);
        return error_;
    }

private:
    std::mutex mutex_;
    std::condition_variable changed_;
    std::deque<em::EntityBatch> free_;
    std::deque<em::EntityBatch> full_;
    bool finished_ = false;
    bool stopped_ = false;
    std::exception_ptr error_;
};

/// SIGINT and SIGTERM blocked on this thread while it lives: they go to the reading thread, whose
/// blocked open() or read() they interrupt (a thread starts with its creator's mask).
class SignalsToOtherThreads {
public:
    SignalsToOtherThreads()
    {
        sigemptyset(&set_);
        sigaddset(&set_, SIGINT);
        sigaddset(&set_, SIGTERM);
        ::pthread_sigmask(SIG_BLOCK, &set_, &old_);
    }
    ~SignalsToOtherThreads() { ::pthread_sigmask(SIG_SETMASK, &old_, nullptr); }
    SignalsToOtherThreads(const SignalsToOtherThreads&) = delete;
    SignalsToOtherThreads& operator=(const SignalsToOtherThreads&) = delete;

    /// For the new thread: takes the signals again.
    void unblock_here() const { ::pthread_sigmask(SIG_UNBLOCK, &set_, nullptr); }

private:
    sigset_t set_{};
    sigset_t old_{};
};

/// A batch is handed on at this many entities or bytes.
constexpr std::size_t kBatchEntities = 512;
constexpr std::size_t kBatchBytes = 1 << 20;

} // namespace

void load_entities(const std::string& path, em::DatasetStore::Load& load)
{
    const std::string name = input_name(path);
    BatchQueue queue;
    std::exception_ptr failure;
    {
        const SignalsToOtherThreads signals;
        std::thread reader([&] {
            signals.unblock_here();
            std::exception_ptr error;
            try {
                auto batch = queue.take_empty();
                read_entities(path, [&](std::string_view entity, std::size_t index) {
                    if (!batch)
                        return false; // the writer stopped
                    try {
                        batch->add(entity);
                    } catch (const std::invalid_argument& e) {
                        throw UsageError(name + ": entity " + std::to_string(index) + ": " +
                                         e.what());
                    }
                    if (batch->size() >= kBatchEntities || batch->bytes() >= kBatchBytes) {
                        queue.put_full(std::move(*batch));
                        batch = queue.take_empty();
                    }
                    return true;
                });
                if (batch && batch->size() > 0)
                    queue.put_full(std::move(*batch));
            } catch (...) {
                error = std::current_exception();
            }
            queue.finish(error);
        });
        try {
            while (auto batch = queue.take_full()) {
                load.write(*batch);
                queue.give_back(std::move(*batch));
                check_interrupt(name); // the reading thread took a signal
            }
        } catch (...) {
            failure = std::current_exception();
            queue.stop();
        }
        reader.join();
    } // a signal that came once the reader had ended is taken here, and noticed below
    if (failure)
        std::rethrow_exception(failure);
    if (auto error = queue.error())
        std::rethrow_exception(error);
    check_interrupt(name);
}

} // namespace sesam::harness
