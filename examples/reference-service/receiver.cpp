#include "examples/reference-service/receiver.hpp"

#include <nlohmann/json.hpp>
#include <sqlite3.h>

#include <stdexcept>

namespace sesam::reference {

namespace {

/// One prepared statement, reset after each use.
class Statement {
public:
    Statement(sqlite3* db, const char* sql) : db_(db)
    {
        if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK)
            fail("prepare");
    }
    ~Statement() { sqlite3_finalize(stmt_); }
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;

    Statement& bind(int i, std::string_view text)
    {
        sqlite3_bind_text(stmt_, i, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
        return *this;
    }
    Statement& bind(int i, std::int64_t value)
    {
        sqlite3_bind_int64(stmt_, i, value);
        return *this;
    }
    /// Runs it to its end.
    void run()
    {
        while (step()) {
        }
    }
    /// The next row; false at the end.
    bool step()
    {
        const int rc = sqlite3_step(stmt_);
        if (rc == SQLITE_ROW)
            return true;
        sqlite3_reset(stmt_);
        if (rc != SQLITE_DONE)
            fail("step");
        return false;
    }
    std::string_view text(int column) const
    {
        return {reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column)),
                static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column))};
    }

private:
    [[noreturn]] void fail(const char* what) const
    {
        throw std::runtime_error(std::string("receiver store: ") + what + ": " +
                                 sqlite3_errmsg(db_));
    }
    sqlite3* db_;
    sqlite3_stmt* stmt_ = nullptr;
};

ReceiverAnswer ok(std::string message)
{
    return {200, std::move(message)};
}

ReceiverAnswer bad_request(std::string message)
{
    return {400, std::move(message)};
}

ReceiverAnswer conflict(std::string message)
{
    return {409, std::move(message)};
}

ReceiverAnswer applied(std::size_t count)
{
    return ok(count == 0 ? "empty batch: nothing to apply"
                         : "applied " + std::to_string(count) + " entities");
}

std::string quote(const std::string& text)
{
    return '"' + text + '"';
}

/// An empty string when `entities` is a JSON array of objects with a string `_id`, else why not.
std::string invalid_batch(const nlohmann::json& entities)
{
    if (!entities.is_array())
        return "the body must be a JSON array of entities";
    for (std::size_t i = 0; i < entities.size(); ++i) {
        const auto& entity = entities[i];
        if (!entity.is_object())
            return "entity " + std::to_string(i) + " is not a JSON object";
        auto id = entity.find("_id");
        if (id == entity.end() || !id->is_string())
            return "entity " + std::to_string(i) + " has no string \"_id\"";
    }
    return {};
}

} // namespace

struct Receiver::Db {
    struct Close {
        void operator()(sqlite3* db) const { sqlite3_close(db); }
    };
    std::unique_ptr<sqlite3, Close> handle; ///< declared first: closed after the statements
    std::optional<Statement> begin, commit, upsert, upsert_seen, remove, forget_unseen, all;

    Db()
    {
        sqlite3* db = nullptr;
        // "": a private temporary database on disk, removed when it is closed.
        const int rc =
            sqlite3_open_v2("", &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
        handle.reset(db);
        if (rc != SQLITE_OK)
            throw std::runtime_error(std::string("receiver store: open: ") +
                                     (db ? sqlite3_errmsg(db) : "out of memory"));
        exec("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-2048;"
             "PRAGMA temp_store=FILE;"
             "CREATE TABLE held (id TEXT PRIMARY KEY, json TEXT NOT NULL,"
             " seen INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID");
        begin.emplace(db, "BEGIN");
        commit.emplace(db, "COMMIT");
        // Re-delivery is idempotent: the last write wins; an incremental write keeps the mark.
        upsert.emplace(db,
                       "INSERT INTO held (id, json) VALUES (?1, ?2) "
                       "ON CONFLICT (id) DO UPDATE SET json = excluded.json");
        upsert_seen.emplace(db,
                            "INSERT INTO held (id, json, seen) VALUES (?1, ?2, ?3) "
                            "ON CONFLICT (id) DO UPDATE SET json = excluded.json, seen = ?3");
        remove.emplace(db, "DELETE FROM held WHERE id = ?1");
        forget_unseen.emplace(db, "DELETE FROM held WHERE seen != ?1");
        all.emplace(db, "SELECT json FROM held ORDER BY id"); // BINARY: std::string's order
    }
    Db(const Db&) = delete;
    Db& operator=(const Db&) = delete;

    void exec(const char* sql)
    {
        char* message = nullptr;
        if (sqlite3_exec(handle.get(), sql, nullptr, nullptr, &message) != SQLITE_OK) {
            std::string what = message ? message : "unknown error";
            sqlite3_free(message);
            throw std::runtime_error("receiver store: " + what);
        }
    }
};

Receiver::Receiver() : db_(std::make_unique<Db>()) {}
Receiver::~Receiver() = default;
Receiver::Receiver(Receiver&&) noexcept = default;
Receiver& Receiver::operator=(Receiver&&) noexcept = default;

ReceiverAnswer Receiver::post(const PushRequest& request, const nlohmann::json& entities)
{
    // Everything is checked before anything changes: a rejected request leaves no trace.
    if (auto why = invalid_batch(entities); !why.empty())
        return bad_request(why);
    if (request.is_full && (!request.sequence_id || !request.request_id))
        return bad_request("a full sync request (is_full=true) needs sequence_id and request_id");

    // docs/protocol.md#push-receiver-rules: is_full may not change within a sequence.
    if (request.sequence_id) {
        auto known = is_full_by_sequence_.find(*request.sequence_id);
        if (known != is_full_by_sequence_.end() && known->second != request.is_full)
            return conflict("is_full=" + std::string(request.is_full ? "true" : "false") +
                            " but sequence " + quote(*request.sequence_id) +
                            " started with is_full=" + (known->second ? "true" : "false"));
    }

    if (!request.is_full) {
        // docs/protocol.md#push-receiver-rules: incremental parameters may be ignored and the full
        // sequence is not touched. (Sinks before 2021-08-16 also sent is_first here,
        // docs/protocol.md#push-request: it is ignored too.)
        if (request.sequence_id)
            is_full_by_sequence_.emplace(*request.sequence_id, false);
        apply(entities, std::nullopt);
        return applied(entities.size());
    }

    const auto& sequence_id = *request.sequence_id;
    const auto& request_id = *request.request_id;
    const bool active = sequence_ && sequence_->sequence_id == sequence_id;

    // docs/protocol.md#push-receiver-rules: batches are re-sent after failures; the last one
    // acknowledged is a no-op, so a re-sent is_last does not run deletion detection twice.
    if (active && sequence_->last_request_id == request_id)
        return ok("request " + quote(request_id) + " of sequence " + quote(sequence_id) +
                  " was already applied");

    if (request.is_first) {
        // docs/protocol.md#push-receiver-rules: is_first on a sequence already seen is known not to
        // be the first.
        if (is_full_by_sequence_.count(sequence_id))
            return conflict("is_first on request " + quote(request_id) + " but sequence " +
                            quote(sequence_id) + " has already started");
        // docs/protocol.md#push-receiver-rules: one full sequence at a time; a new one replaces the
        // active one.
        sequence_ = FullSequence{sequence_id, request_id, ++generations_, false};
        is_full_by_sequence_.emplace(sequence_id, true);
    } else {
        if (!active)
            return conflict("sequence " + quote(sequence_id) +
                            " is not the active full sequence and request " + quote(request_id) +
                            " is not is_first");
        if (sequence_->complete)
            return conflict("sequence " + quote(sequence_id) +
                            " already ended with is_last on request " +
                            quote(sequence_->last_request_id));
        // docs/protocol.md#push-receiver-rules: each request names the one before it.
        if (request.previous_request_id != sequence_->last_request_id)
            return conflict((request.previous_request_id
                                 ? "previous_request_id " + quote(*request.previous_request_id)
                                 : std::string("a missing previous_request_id")) +
                            " does not follow the last request_id " +
                            quote(sequence_->last_request_id) + " of sequence " +
                            quote(sequence_id));
        sequence_->last_request_id = request_id;
    }

    apply(entities, sequence_->generation);
    if (!request.is_last)
        return applied(entities.size());

    // docs/protocol.md#push-full-sync: at is_last, every entity not seen since is_first counts as
    // deleted.
    auto& db = *db_;
    db.forget_unseen->bind(1, sequence_->generation).run();
    const auto deleted = sqlite3_changes(db.handle.get());
    sequence_->complete = true;
    return ok("full sync " + quote(sequence_id) + " complete: " + std::to_string(deleted) +
              " entities not seen were deleted");
}

void Receiver::apply(const nlohmann::json& entities, std::optional<std::int64_t> generation)
{
    if (entities.empty())
        return;
    auto& db = *db_;
    db.begin->run();
    try {
        for (const auto& entity : entities) {
            const auto& id = entity["_id"].get_ref<const std::string&>();
            // docs/protocol.md#push-full-sync: deletions arrive as entities with `_deleted: true`
            // (only the literal true); a deleted entity is gone, so whether it was seen no longer
            // matters.
            auto deleted = entity.find("_deleted");
            if (deleted != entity.end() && deleted->is_boolean() && deleted->get<bool>())
                db.remove->bind(1, id).run();
            else if (generation)
                db.upsert_seen->bind(1, id).bind(2, entity.dump()).bind(3, *generation).run();
            else
                db.upsert->bind(1, id).bind(2, entity.dump()).run();
        }
        db.commit->run();
    } catch (...) {
        sqlite3_exec(db.handle.get(), "ROLLBACK", nullptr, nullptr, nullptr);
        throw;
    }
}

nlohmann::json Receiver::entities() const
{
    auto out = nlohmann::json::array();
    auto& all = *db_->all;
    while (all.step())
        out.push_back(nlohmann::json::parse(all.text(0)));
    return out;
}

std::optional<nlohmann::json> reference_transform(const nlohmann::json& batch)
{
    if (!batch.is_array())
        return std::nullopt;
    auto out = nlohmann::json::array();
    for (const auto& entity : batch) {
        if (!entity.is_object())
            return std::nullopt;
        int field_count = 0;
        for (const auto& field : entity.items())
            field_count += field.key().starts_with('_') ? 0 : 1;
        auto transformed = entity;
        transformed["transformed"] = true;
        transformed["field_count"] = field_count;
        out.push_back(std::move(transformed));
    }
    return out;
}

} // namespace sesam::reference
