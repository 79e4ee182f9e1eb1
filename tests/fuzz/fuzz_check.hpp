#pragma once

#include <cstddef>
#include <cstdio>
#include <cstdlib>

namespace sesam::fuzz {

/// Stops the run when a property of the code under test does not hold: libFuzzer saves the input
/// as a crash, like a sanitizer report.
inline void require(bool holds, const char* property)
{
    if (!holds) {
        std::fprintf(stderr, "fuzz property violated: %s\n", property);
        std::abort();
    }
}

/// A deterministic stream of numbers drawn from the input, so that a crash reproduces from its
/// file alone (FNV-1a over the bytes, then xorshift).
class InputRandom {
public:
    InputRandom(const unsigned char* data, std::size_t size)
    {
        for (std::size_t i = 0; i < size; ++i) {
            state_ = (state_ ^ data[i]) * 0x100000001b3ULL;
        }
        state_ |= 1;
    }

    /// A number in [1, limit].
    std::size_t next(std::size_t limit)
    {
        state_ ^= state_ << 13;
        state_ ^= state_ >> 7;
        state_ ^= state_ << 17;
        return static_cast<std::size_t>(state_ % limit) + 1;
    }

private:
    unsigned long long state_ = 0xcbf29ce484222325ULL;
};

} // namespace sesam::fuzz
