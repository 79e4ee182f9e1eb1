#include "emulator/store/state_store.hpp"

#include <sqlite3.h>

#include <condition_variable>
#include <csignal>
#include <filesystem>
#include <mutex>
#include <pthread.h>
#include <system_error>
#include <thread>

namespace sesam::emulator {

namespace {

/// SQLite's default: a commit that leaves the log longer than this checkpoints it.
constexpr int kAutoCheckpointPages = 1000;

/// A prepared statement that finalizes itself.
class Statement {
public:
    Statement(sqlite3* db, const char* sql, const std::string& path) : db_(db)
    {
        if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK)
            throw StoreError("state store " + path + ": " + sqlite3_errmsg(db));
    }
    ~Statement() { sqlite3_finalize(stmt_); }
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;

    void bind(int index, std::string_view text)
    {
        sqlite3_bind_text(
            stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
    }
    int step() { return sqlite3_step(stmt_); }
    sqlite3_stmt* get() const { return stmt_; }

private:
    sqlite3* db_;
    sqlite3_stmt* stmt_ = nullptr;
};

} // namespace

void StateStore::Closer::operator()(sqlite3* db) const noexcept
{
    sqlite3_close_v2(db);
}

/// A thread with its own connection that runs a passive checkpoint each time it is asked to.
/// A checkpoint never blocks the writer or the readers of the main connection (WAL).
class StateStore::Checkpointer {
public:
    explicit Checkpointer(std::string path) : path_(std::move(path))
    {
        // The thread takes no signal: SIGINT and SIGTERM stay with the threads that wait for
        // them (load_entities routes them to its reading thread).
        sigset_t all;
        sigset_t old;
        sigfillset(&all);
        ::pthread_sigmask(SIG_SETMASK, &all, &old);
        try {
            thread_ = std::thread([this] { run(); });
        } catch (...) {
            ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
            throw;
        }
        ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
    }
    ~Checkpointer()
    {
        {
            const std::lock_guard lock(mutex_);
            stop_ = true;
        }
        wake_.notify_all();
        thread_.join();
    }
    Checkpointer(const Checkpointer&) = delete;
    Checkpointer& operator=(const Checkpointer&) = delete;

    void request()
    {
        {
            const std::lock_guard lock(mutex_);
            ++requested_;
        }
        wake_.notify_all();
    }

    void wait()
    {
        std::unique_lock lock(mutex_);
        done_.wait(lock, [&] { return finished_ == requested_; });
    }

private:
    void run()
    {
        sqlite3* db = nullptr;
        std::unique_lock lock(mutex_);
        for (;;) {
            wake_.wait(lock, [&] { return stop_ || finished_ != requested_; });
            if (finished_ == requested_) // stopping with nothing asked for
                break;
            const auto target = requested_;
            lock.unlock();
            if (db == nullptr) {
                // A connection checkpoints only once it has read the database (and so opened
                // the log): the schema read does that.
                const bool ready =
                    sqlite3_open_v2(
                        path_.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr) ==
                        SQLITE_OK &&
                    sqlite3_exec(db, "PRAGMA synchronous=NORMAL", nullptr, nullptr, nullptr) ==
                        SQLITE_OK &&
                    sqlite3_exec(
                        db, "SELECT count(*) FROM sqlite_master", nullptr, nullptr, nullptr) ==
                        SQLITE_OK;
                if (!ready) { // the next checkpoint (or the main connection's) tries again
                    sqlite3_close_v2(db);
                    db = nullptr;
                }
            }
            if (db != nullptr)
                sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
            lock.lock();
            finished_ = target;
            done_.notify_all();
        }
        lock.unlock();
        sqlite3_close_v2(db);
    }

    std::string path_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::condition_variable done_;
    std::uint64_t requested_ = 0;
    std::uint64_t finished_ = 0;
    bool stop_ = false;
    std::thread thread_; // started in the constructor's body, once the rest is made
};

void StateStore::CheckpointerDeleter::operator()(Checkpointer* checkpointer) const noexcept
{
    delete checkpointer;
}

void StateStore::defer_checkpoints()
{
    sqlite3_wal_autocheckpoint(db_.get(), 0);
}

void StateStore::resume_checkpoints() noexcept
{
    sqlite3_wal_autocheckpoint(db_.get(), kAutoCheckpointPages);
}

void StateStore::checkpoint_in_background() noexcept
{
    resume_checkpoints();
    if (path_ == ":memory:")
        return;
    try {
        if (!checkpointer_)
            checkpointer_.reset(new Checkpointer(path_));
        checkpointer_->request();
    } catch (...) { // no thread: SQLite's automatic checkpoint of a later commit does it
    }
}

void StateStore::finish_checkpoint()
{
    if (checkpointer_)
        checkpointer_->wait();
}

StateStore StateStore::open(const std::string& path)
{
    if (path != ":memory:") {
        const auto parent = std::filesystem::path(path).parent_path();
        std::error_code ec;
        if (!parent.empty())
            std::filesystem::create_directories(parent, ec);
        if (ec)
            throw StoreError("cannot create the folder of state store " + path + ": " +
                             ec.message());
    }
    // Before SQLite's first use: no count of its allocations, which takes a global mutex on
    // every malloc (a few percent of a dataset load).
    static const int configured = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    (void)configured;
    sqlite3* raw = nullptr;
    const int rc = sqlite3_open_v2(path.c_str(),
                                   &raw,
                                   SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                                   nullptr);
    if (rc != SQLITE_OK) {
        std::string message = raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc);
        sqlite3_close_v2(raw);
        throw StoreError("cannot open state store " + path + ": " + message);
    }
    StateStore store(raw, path);
    sqlite3_busy_timeout(raw, 5000);
    // Checkpoints are frequent (docs/protocol.md#pull-continuation); WAL with synchronous=NORMAL
    // survives a crash of sesam-emu without an fsync per commit. The largest pages load datasets
    // fastest (16 KiB pages were 15% faster than 4 KiB, 64 KiB another 5-10%, at 1M entities);
    // this only applies when the file is created.
    store.exec("PRAGMA page_size=65536");
    store.exec("PRAGMA journal_mode=WAL");
    store.exec("PRAGMA synchronous=NORMAL");
    store.exec("CREATE TABLE IF NOT EXISTS pipe_offsets ("
               " pipe TEXT PRIMARY KEY,"
               " offset_json TEXT NOT NULL,"
               " saved_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')))");
    return store;
}

StateStore::StateStore(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
StateStore::StateStore(StateStore&&) noexcept = default;
StateStore& StateStore::operator=(StateStore&&) noexcept = default;
StateStore::~StateStore() = default;

void StateStore::exec(const char* sql) const
{
    char* message = nullptr;
    if (sqlite3_exec(db_.get(), sql, nullptr, nullptr, &message) != SQLITE_OK) {
        std::string text = message ? message : "unknown error";
        sqlite3_free(message);
        throw StoreError("state store " + path_ + ": " + text);
    }
}

std::optional<std::string> StateStore::load_offset(std::string_view pipe) const
{
    Statement st(db_.get(), "SELECT offset_json FROM pipe_offsets WHERE pipe = ?1", path_);
    st.bind(1, pipe);
    const int rc = st.step();
    if (rc == SQLITE_ROW) {
        const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(st.get(), 0));
        return std::string(text ? text : "");
    }
    if (rc != SQLITE_DONE)
        throw StoreError("state store " + path_ + ": " + sqlite3_errmsg(db_.get()));
    return std::nullopt;
}

void StateStore::save_offset(std::string_view pipe, std::string_view offset_json)
{
    Statement st(db_.get(),
                 "INSERT INTO pipe_offsets (pipe, offset_json) VALUES (?1, ?2)"
                 " ON CONFLICT(pipe) DO UPDATE SET offset_json = excluded.offset_json,"
                 " saved_at = strftime('%Y-%m-%dT%H:%M:%fZ','now')",
                 path_);
    st.bind(1, pipe);
    st.bind(2, offset_json);
    if (st.step() != SQLITE_DONE)
        throw StoreError("cannot save offset in state store " + path_ + ": " +
                         sqlite3_errmsg(db_.get()));
}

void StateStore::reset_offset(std::string_view pipe)
{
    Statement st(db_.get(), "DELETE FROM pipe_offsets WHERE pipe = ?1", path_);
    st.bind(1, pipe);
    if (st.step() != SQLITE_DONE)
        throw StoreError("cannot reset offset in state store " + path_ + ": " +
                         sqlite3_errmsg(db_.get()));
}

} // namespace sesam::emulator
