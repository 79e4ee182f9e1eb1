#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct sqlite3;

namespace sesam::emulator {

class StateStore;

/// One stored entity version, as a json sink sends it (docs/protocol.md#reserved-fields): the
/// entity's own fields plus `_id`, `_deleted`, `_updated`, `_previous`, `_ts` and `_hash`, as JSON
/// text.
struct StoredEntity {
    std::int64_t updated = 0; ///< the dataset's counter for this version
    std::string id;
    bool deleted = false;
    std::optional<std::int64_t> previous; ///< `_updated` of the version before, if any
    std::string_view json;                ///< the whole entity text, valid during the callback
};

/// What one write did.
enum class WriteOutcome : std::uint8_t { written, unchanged };

/// Figures of one load.
struct LoadSummary {
    std::size_t received = 0;  ///< entities accepted: written + unchanged (bad ones throw)
    std::size_t written = 0;   ///< new versions (content changed or new)
    std::size_t unchanged = 0; ///< same hash as the latest version: nothing written
    std::size_t deleted_by_tracking = 0; ///< `_deleted: true` versions made by deletion tracking
};

/// Entities read, checked and hashed for a load ahead of it: the half of a load that needs no
/// database, so that it can run on another thread than the load's (Load::write(const
/// EntityBatch&)). Reused: clear() keeps its buffers.
class EntityBatch {
public:
    EntityBatch();
    ~EntityBatch();
    EntityBatch(EntityBatch&&) noexcept;
    EntityBatch& operator=(EntityBatch&&) noexcept;

    /// Reads one entity as Load::write(std::string_view) does. Throws std::invalid_argument naming
    /// the problem; nothing is added then.
    void add(std::string_view entity_json);
    std::size_t size() const noexcept;
    /// The bytes it holds (ids and own fields).
    std::size_t bytes() const noexcept;
    void clear() noexcept;

private:
    friend class DatasetStore;
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// The embedded datasets (SQLite, in the same file as the offsets), behaving like Sesam datasets
/// (docs/protocol.md#reserved-fields, #pull-full-incremental): each dataset has an integer
/// `_updated` counter from 0; each write of an entity whose `_hash` differs from its latest
/// version's adds a version with `_previous` (the `_updated` of the version before, or null), `_ts`
/// (microseconds) and `_hash`.
///
/// Entities are written as a dataset sink writes them: all root `_` fields except `_id` and
/// `_deleted` are dropped, `_deleted` becomes a boolean (only `true` deletes), and `_filtered:
/// true` entities are stored but kept out of sinks.
class DatasetStore {
public:
    /// Uses the database of `state` (one store file for offsets and datasets), which must outlive
    /// the store and stay where it is (not moved from), and creates the dataset tables when
    /// missing. Throws StoreError.
    explicit DatasetStore(StateStore& state);

    /// A load into `dataset`, written in one transaction. A full load tracks deletions: when it is
    /// committed, every entity not seen in it whose latest version is not deleted gets a
    /// `_deleted: true` version (docs/protocol.md#pull-full-incremental), a copy of that latest
    /// version.
    ///
    /// One load at a time per StateStore connection: the transaction is the connection's, so
    /// begin_load throws StoreError while another load is open, and offsets saved meanwhile become
    /// part of the load's transaction. A StoreError in write or commit rolls the load back; after
    /// that, and after commit, the load only throws std::logic_error.
    class Load {
    public:
        ~Load(); ///< rolls back unless committed
        Load(Load&&) noexcept;
        Load& operator=(Load&&) = delete;

        /// Writes one entity (its JSON text, one object with a string `_id` and valid transit
        /// values, docs/protocol.md#transit). Throws std::invalid_argument naming the problem for
        /// text that is not such an entity; nothing is written then and the load may go on.
        WriteOutcome write(std::string_view entity_json);

        /// Writes the entities of `batch` in order, as write(std::string_view) writes each.
        void write(const EntityBatch& batch);

        /// Runs deletion tracking (full loads) and commits. Returns the figures.
        LoadSummary commit();

    private:
        friend class DatasetStore;
        struct Impl;
        explicit Load(std::unique_ptr<Impl> impl);
        std::unique_ptr<Impl> impl_;
    };

    /// Starts a load (creating the dataset when it is new). Throws StoreError.
    Load begin_load(std::string_view dataset, bool full);

    /// Calls `visit` for the latest version of every entity whose latest `_updated` is greater
    /// than `after` (-1 for all), in `_updated` order, leaving out `_filtered` entities. This is
    /// what a json sink pipe reads: a full sync with after = -1, an incremental one with the
    /// offset (docs/protocol.md#push-full-sync). `visit` returns false to stop.
    void latest_since(std::string_view dataset,
                      std::int64_t after,
                      const std::function<bool(const StoredEntity&)>& visit) const;

    /// How many entities latest_since(dataset, after, …) visits: what a sync will send.
    std::size_t count_since(std::string_view dataset, std::int64_t after) const;

    /// Every version of `id`, oldest first (for tests and inspection).
    void versions(std::string_view dataset,
                  std::string_view id,
                  const std::function<bool(const StoredEntity&)>& visit) const;

    /// The highest `_updated` in the dataset, or nullopt when it is empty.
    std::optional<std::int64_t> max_updated(std::string_view dataset) const;

    /// Deletes `dataset` with every version (nothing when it does not exist). Throws StoreError.
    void drop(std::string_view dataset);

    /// The names of the datasets, sorted.
    std::vector<std::string> names() const;

    /// Replaces the clock (microseconds since the epoch) used for `_ts`; for tests.
    void set_clock(std::function<std::int64_t()> now_micros);

private:
    StateStore* state_;
    sqlite3* db_;
    std::string path_;
    std::function<std::int64_t()> now_micros_;
};

/// `_hash` of an entity (docs/protocol.md#reserved-fields): 32 lower-case hex characters of a
/// 128-bit hash over the entity's canonical JSON (keys sorted, compact) without root `_` fields
/// other than `_id` and `_deleted` (which is normalised to a boolean). The same content gives the
/// same hash whatever the key order or whitespace. The hash is MurmurHash3 x64 128 (seed 0) of
/// nlohmann::json's compact dump. Throws std::invalid_argument for text that Load::write would
/// refuse.
std::string entity_hash(std::string_view entity_json);

/// entity_hash() read through nlohmann::json's DOM alone: the reference that entity_hash()'s single
/// pass is held to (by the tests and the `entity_hash` fuzz target). Same results, same errors.
std::string entity_hash_by_dom(std::string_view entity_json);

} // namespace sesam::emulator
