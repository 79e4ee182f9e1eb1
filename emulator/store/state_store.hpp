#pragma once

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

struct sqlite3;

namespace sesam::emulator {

/// A store file that cannot be opened, created or written. Raised at start for a bad `--state`
/// path (a configuration error) and for I/O failures later (an internal error).
class StoreError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// The embedded store (SQLite): pipe offsets kept between runs
/// (docs/protocol.md#pull-continuation), keyed by pipe name. Offsets are stored as JSON text so
/// that integer and string `_updated` values keep their type.
class StateStore {
public:
    /// Opens or creates the store at `path` (its parent folder is created). ":memory:" gives a
    /// private in-memory store. Throws StoreError naming the path on failure.
    static StateStore open(const std::string& path);

    StateStore(StateStore&&) noexcept;
    StateStore& operator=(StateStore&&) noexcept;
    ~StateStore();

    /// The stored offset of `pipe` as JSON text, or nullopt when the pipe has none.
    std::optional<std::string> load_offset(std::string_view pipe) const;

    /// Stores (replaces) the offset of `pipe`. Durable when this returns.
    void save_offset(std::string_view pipe, std::string_view offset_json);

    /// Forgets the offset of `pipe`: its next run is a full run (docs/protocol.md#pull-continuation
    /// reset).
    void reset_offset(std::string_view pipe);

    const std::string& path() const noexcept { return path_; }

    /// The SQLite connection, for the other tables of the same file (DatasetStore).
    sqlite3* handle() const noexcept { return db_.get(); }

    /// Stops this connection's commits from copying the write-ahead log into the database file
    /// (SQLite's automatic checkpoint, which a commit of a large load would otherwise wait for,
    /// fsync included) until checkpoint_in_background().
    void defer_checkpoints();

    /// Turns the automatic checkpoint back on (after a load that was rolled back).
    void resume_checkpoints() noexcept;

    /// Turns the automatic checkpoint back on and copies the log into the database file on a
    /// thread and connection of its own, while this connection goes on. Durability is unchanged:
    /// a committed transaction is in the log, which a crash of sesam-emu keeps, and every reader
    /// sees it. A failed background checkpoint loses nothing (the log still holds it) and is
    /// retried by later ones; so is one whose thread cannot start. Nothing for ":memory:".
    void checkpoint_in_background() noexcept;

    /// Waits until a background checkpoint asked for has run (the destructor does this).
    void finish_checkpoint();

private:
    StateStore(sqlite3* db, std::string path);
    void exec(const char* sql) const;

    struct Closer {
        void operator()(sqlite3* db) const noexcept;
    };
    class Checkpointer;
    struct CheckpointerDeleter {
        void operator()(Checkpointer* checkpointer) const noexcept;
    };
    std::unique_ptr<sqlite3, Closer> db_;
    std::string path_;
    // Declared after db_: destroyed (joined) before the main connection closes.
    std::unique_ptr<Checkpointer, CheckpointerDeleter> checkpointer_;
};

} // namespace sesam::emulator
