// libFuzzer target: transit decoding and encoding (emulator/entity/transit), a string value.
// Beyond "no crash and no sanitizer report", every input is checked for:
// - check_transit and decode_transit agree (the header promises it);
// - a decoded value encodes to a string that decodes to the same value
//   (docs/protocol.md#transit encoding rules);
// - encode_datetime of any (seconds, nanos) drawn from the input: its text decodes back to the
//   same instant exactly when the year is 0001-9999, and fails to decode otherwise.

#include "emulator/entity/transit.hpp"

#include "tests/fuzz/fuzz_check.hpp"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <variant>

namespace {

using namespace sesam::emulator;
using sesam::fuzz::require;

constexpr std::int64_t kFirstSecond = -62135596800; // 0001-01-01T00:00:00Z
constexpr std::int64_t kEndSecond = 253402300800;   // 10000-01-01T00:00:00Z

void check_string(std::string_view s)
{
    const TransitDecoded decoded = decode_transit(s);
    const char* problem = check_transit(s);
    require((problem != nullptr) == std::holds_alternative<TransitError>(decoded),
            "check_transit agrees with decode_transit");
    if (std::holds_alternative<std::monostate>(decoded)) {
        require(!looks_like_transit(s) || !is_known_transit_tag(s[1]),
                "a string with a known tag is a value or an error");
        return;
    }
    require(looks_like_transit(s) && is_known_transit_tag(s[1]), "only known tags decode");
    if (const auto* error = std::get_if<TransitError>(&decoded)) {
        require(!error->message.empty(), "an error says what is wrong");
        return;
    }
    const auto& value = std::get<TransitValue>(decoded);
    require(static_cast<char>(value.tag) == s[1], "the value keeps its tag");
    if (value.tag == TransitTag::datetime) {
        require(value.nanos >= 0 && value.nanos < 1'000'000'000, "nanos within a second");
        require(value.seconds >= kFirstSecond && value.seconds < kEndSecond, "years 0001-9999");
    }
    const std::string encoded = encode_transit(value);
    require(check_transit(encoded) == nullptr, "an encoded value is valid transit");
    const TransitDecoded again = decode_transit(encoded);
    require(std::holds_alternative<TransitValue>(again) && std::get<TransitValue>(again) == value,
            "a value survives encoding and decoding");
}

void check_datetime(std::int64_t seconds, std::int32_t nanos)
{
    const std::string text = "~t" + encode_datetime(seconds, nanos);
    // The instant it stands for, carried by hand (|seconds| is kept far from overflow).
    std::int64_t s = seconds + nanos / 1'000'000'000;
    std::int32_t n = nanos % 1'000'000'000;
    if (n < 0) {
        n += 1'000'000'000;
        --s;
    }
    const TransitDecoded decoded = decode_transit(text);
    if (s >= kFirstSecond && s < kEndSecond) {
        require(std::holds_alternative<TransitValue>(decoded),
                "encode_datetime of a year 0001-9999 decodes");
        const auto& value = std::get<TransitValue>(decoded);
        require(value.seconds == s && value.nanos == n,
                "encode_datetime's text decodes to the same instant");
    } else {
        require(std::holds_alternative<TransitError>(decoded),
                "encode_datetime of a year outside 0001-9999 does not decode");
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view s(reinterpret_cast<const char*>(data), size);
    check_string(s);
    // The same payload under every tag, so that one input reaches each decoder.
    if (s.size() >= 2 && s[0] == '~') {
        for (const char tag : std::string_view(":rtbuf")) {
            std::string tagged(s);
            tagged[1] = tag;
            check_string(tagged);
        }
    }
    if (size >= 12) {
        std::int64_t seconds = 0;
        std::int32_t nanos = 0;
        std::memcpy(&seconds, data, sizeof seconds);
        std::memcpy(&nanos, data + sizeof seconds, sizeof nanos);
        check_datetime(seconds % (std::int64_t{1} << 50), nanos);
        check_datetime(seconds % 400'000'000'000, nanos); // around years 0001 and 9999
    }
    return 0;
}
