#include "emulator/push/push_sequence.hpp"

#include "emulator/entity/run_seed.hpp"

#include <cassert>
#include <random>

namespace sesam::emulator {

std::vector<std::pair<std::string, std::string>> PushParams::query() const
{
    // docs/protocol.md#push-request: the parameter order, as in docs/protocol.md#push-example;
    // docs/protocol.md#defaults: false flags are left out
    std::vector<std::pair<std::string, std::string>> query{
        {"sequence_id", sequence_id},
        {"is_full", is_full ? "true" : "false"},
        {"request_id", request_id},
    };
    if (previous_request_id)
        query.emplace_back("previous_request_id", *previous_request_id);
    if (is_first)
        query.emplace_back("is_first", "true");
    if (is_last)
        query.emplace_back("is_last", "true");
    return query;
}

PushSequence::PushSequence(std::string sequence_id, bool is_full)
    : sequence_id_(std::move(sequence_id)), is_full_(is_full)
{
}

const PushParams& PushSequence::begin_request(bool last)
{
    ++counter_;
    current_ = PushParams{
        .sequence_id = sequence_id_,
        // docs/protocol.md#defaults: a decimal counter from 1
        .request_id = std::to_string(counter_),
        // docs/protocol.md#push-receiver-rules: chained to what the receiver saw, so failed
        // attempts never break the chain
        .previous_request_id = acknowledged_,
        .is_full = is_full_,
        // docs/protocol.md#push-request: full syncs only (fix of 2021-08-16)
        .is_first = is_full_ && !acknowledged_,
        .is_last = is_full_ && last, // docs/protocol.md#push-request: full syncs only
    };
    return current_;
}

const PushParams& PushSequence::current() const
{
    assert(counter_ > 0 && "current() before begin_request()");
    return current_;
}

void PushSequence::acknowledge()
{
    assert(counter_ > 0 && "acknowledge() before begin_request()");
    acknowledged_ = current_.request_id;
}

std::string new_sequence_id()
{
    // RFC 9562 §5.4: version 4 in the high nibble of octet 6, variant 0b10 at the top of octet 8
    // (random bits from run_random(): reproducible with --seed)
    const std::uint64_t high = (run_random() & ~0xf000ULL) | 0x4000ULL;
    const std::uint64_t low = (run_random() & ~(0x3ULL << 62)) | (0x2ULL << 62);

    static constexpr char digits[] = "0123456789abcdef";
    std::string id;
    id.reserve(36);
    for (int i = 0; i < 32; ++i) {
        if (i == 8 || i == 12 || i == 16 || i == 20)
            id += '-';
        const std::uint64_t word = i < 16 ? high : low;
        id += digits[(word >> (60 - 4 * (i % 16))) & 0xf];
    }
    return id;
}

} // namespace sesam::emulator
