#pragma once

#include <cstddef>
#include <functional>
#include <stdexcept>

namespace CLI {
class App;
} // namespace CLI

namespace sesam::harness {

/// A bad flag value or combination found after parsing: main prints it and exits with 2.
class UsageError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// SIGINT or SIGTERM stopped the command where it could not return normally (while it read its
/// input): main prints `interrupted: WHAT` and exits with 130. Nothing half-done is kept.
class Interrupted : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// The largest count a flag takes (--batch-size, --page-size, --checkpoint-interval): larger
/// values, and values past what the type holds, are refused, not clamped.
inline constexpr std::size_t kMaxCount = 1'000'000'000;

/// A subcommand: registered on the app, run if it was the one given. `run` returns the exit
/// code (ExitCode) and may throw UsageError.
struct Command {
    CLI::App* app = nullptr;
    std::function<int()> run;
};

Command add_check_command(CLI::App& app);
Command add_pull_command(CLI::App& app);
Command add_push_command(CLI::App& app);
Command add_transform_command(CLI::App& app);
Command add_serve_command(CLI::App& app);
Command add_replay_command(CLI::App& app);
Command add_plan_command(CLI::App& app);
Command add_run_command(CLI::App& app);
Command add_dataset_command(CLI::App& app);
Command add_report_command(CLI::App& app);
Command add_test_command(CLI::App& app);
Command add_load_command(CLI::App& app);

} // namespace sesam::harness
