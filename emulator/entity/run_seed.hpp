#pragma once

#include <cstdint>

namespace sesam::emulator {

/// `--seed N`: what a run invents, made reproducible, so that two recordings of the same run are
/// byte-identical apart from their timings. Until seed_run() is called, both below are the real
/// thing: a random device and the system clock.
void seed_run(std::uint64_t seed);

/// 64 random bits for identifiers (`sequence_id`): from a generator seeded with N after
/// seed_run(N), else from the random device. Thread-safe.
std::uint64_t run_random();

/// The clock of the datasets' `_ts` (microseconds since the epoch): after seed_run(), a clock
/// that starts at 2026-01-01T00:00:00Z and moves one millisecond per reading, else the system
/// clock. Thread-safe.
std::int64_t run_clock_micros();

} // namespace sesam::emulator
