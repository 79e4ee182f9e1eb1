#include "emulator/entity/run_seed.hpp"

#include <chrono>
#include <mutex>
#include <optional>
#include <random>

namespace sesam::emulator {

namespace {

struct Seeded {
    std::mt19937_64 random;
    std::int64_t clock = 1'767'225'600'000'000; // 2026-01-01T00:00:00Z in microseconds
};

std::mutex mutex;
std::optional<Seeded> seeded;

} // namespace

void seed_run(std::uint64_t seed)
{
    std::lock_guard lock(mutex);
    seeded.emplace();
    seeded->random.seed(seed);
}

std::uint64_t run_random()
{
    {
        std::lock_guard lock(mutex);
        if (seeded)
            return seeded->random();
    }
    thread_local std::mt19937_64 engine = [] {
        std::random_device device;
        std::seed_seq seed{device(), device(), device(), device()};
        return std::mt19937_64(seed);
    }();
    return engine();
}

std::int64_t run_clock_micros()
{
    {
        std::lock_guard lock(mutex);
        if (seeded)
            return seeded->clock += 1000;
    }
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

} // namespace sesam::emulator
