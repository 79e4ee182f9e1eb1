#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

struct sqlite3;

namespace sesam::reference {

/// The json push parameters of one request (docs/protocol.md#push-request), as the receiver reads
/// them.
struct PushRequest {
    std::optional<std::string> sequence_id;
    std::optional<std::string> request_id;
    std::optional<std::string> previous_request_id;
    bool is_full = false; ///< absent means false (docs/protocol.md#push-request)
    bool is_first = false;
    bool is_last = false;
};

/// The receiver's answer: an HTTP status and a one-line message.
struct ReceiverAnswer {
    int status = 200;
    std::string message;
};

/// A json push receiver that follows the receiver's rules of docs/protocol.md#push-receiver-rules,
/// as a model for authors:
/// - incremental requests (is_full false) are applied as they come;
/// - one full sequence is active at a time; is_first starts a new one (replacing the active one);
/// - 409 Conflict when previous_request_id is not the last request_id seen in that sequence, when
///   is_full changes within a sequence, or when is_first comes on a request known not to be the
///   first (its sequence_id was seen before); also when a full request without is_first names a
///   sequence that is not the active one, or comes after its is_last;
/// - the empty batch is a no-op success (it still counts in the request_id chain); re-delivered
///   batches are idempotent (entities are kept by `_id`, the last write wins); a re-send of the
///   last request of the active or just-completed full sequence (same sequence_id and
///   request_id) is accepted as a no-op, so a re-sent is_last does not delete again;
/// - `_deleted: true` entities are removed; at is_last of a full sync, every entity not seen in
///   the sequence is removed (deletion detection, docs/protocol.md#push-full-sync).
/// The entities live in a private SQLite database on disk (a temporary file, gone with the
/// receiver), not in memory: a receiver stands for the system a sink writes to, and a model
/// service keeps its memory bounded however much is pushed (sink.memory.bounded; a node gives
/// the container 128 MB, docs/protocol.md#microservice-system). SQLite keeps at most a 2 MiB page
/// cache. No locking: the HTTP route in ReferenceService holds a lock around it. A rejected request
/// (400, 409) changes nothing. Throws std::runtime_error when the database cannot be used (a full
/// disk).
class Receiver {
public:
    Receiver();
    ~Receiver();
    Receiver(Receiver&&) noexcept;
    Receiver& operator=(Receiver&&) noexcept;

    /// Applies one POST whose body was parsed into `entities`. Returns 200, or 400 (a body that is
    /// not an array of objects with string `_id`, a full request without sequence_id or
    /// request_id) or 409, with a message saying why.
    ReceiverAnswer post(const PushRequest& request, const nlohmann::json& entities);

    /// The entities held, as a JSON array sorted by `_id`.
    nlohmann::json entities() const;

private:
    struct FullSequence {
        std::string sequence_id;
        std::string last_request_id;
        std::int64_t generation = 0; ///< entities seen in it are marked with this
        bool complete = false;
    };
    struct Db;
    /// Stores or removes each entity (one transaction); marks each `_id` as seen in
    /// `generation` when given.
    void apply(const nlohmann::json& entities, std::optional<std::int64_t> generation);

    std::unique_ptr<Db> db_; ///< `_id` → entity JSON text, and the generation it was seen in
    std::int64_t generations_ = 0;
    std::optional<FullSequence> sequence_;
    /// Every sequence_id accepted so far and its is_full: catches is_full changing and a late
    /// is_first.
    std::map<std::string, bool> is_full_by_sequence_;
};

/// The reference service's http transform (docs/protocol.md#http-transform), small and
/// deterministic: it returns the batch in the same order, each entity unchanged apart from two
/// added fields: `"transformed": true` and `"field_count"`, the number of root fields not starting
/// with `_`. Returns nullopt when `batch` is not an array of objects.
std::optional<nlohmann::json> reference_transform(const nlohmann::json& batch);

} // namespace sesam::reference
