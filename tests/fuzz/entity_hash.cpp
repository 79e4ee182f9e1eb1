// libFuzzer target: `_hash` of an entity (emulator/store/dataset_store), its text.
// Beyond "no crash and no sanitizer report", every input is checked for:
// - the single pass over simdjson and the reading through nlohmann's DOM (the reference) agree:
//   the same hash, or both refuse the entity (docs/protocol.md#reserved-fields);
// - an EntityBatch takes exactly the entities entity_hash takes.

#include "emulator/store/dataset_store.hpp"
#include "tests/fuzz/fuzz_check.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace {

using namespace sesam::emulator;
using sesam::fuzz::require;

template <typename Read> std::optional<std::string> hash_or_refusal(Read read)
{
    try {
        return read();
    } catch (const std::invalid_argument&) {
        return std::nullopt;
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const auto fast = hash_or_refusal([&] { return entity_hash(text); });
    const auto dom = hash_or_refusal([&] { return entity_hash_by_dom(text); });
    require(fast == dom, "the single pass and the DOM give the same _hash, or both refuse");
    if (fast)
        require(fast->size() == 32, "a hash is 32 hex characters");
    EntityBatch batch;
    const bool taken = hash_or_refusal([&] {
                           batch.add(text);
                           return std::string();
                       }).has_value();
    require(taken == fast.has_value(), "a batch takes what entity_hash takes");
    require(batch.size() == (taken ? 1U : 0U), "a refused entity adds nothing");
    return 0;
}
