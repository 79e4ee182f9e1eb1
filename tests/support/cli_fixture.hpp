#pragma once

#include "tests/support/scripted_server.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <unistd.h>

namespace sesam::testing {

/// The sesam-emu executable under test.
inline const std::string kBinary = SESAM_EMU_BINARY;

/// Arguments for `run`, `test` and `check` that turn the memory limit of started services off in
/// a sanitized build, whose shadow memory is not the service's: the reference service then takes
/// about 200 MiB, over a docker.memory of 128.
#if defined(__SANITIZE_ADDRESS__)
inline const std::string kMemoryCheckArgs = " --memory-limit 0";
#else
inline const std::string kMemoryCheckArgs;
#endif

/// A test that runs the sesam-emu executable, with a fresh temporary folder of its own.
class CliFixture : public ::testing::Test {
protected:
    void SetUp() override
    {
        dir = std::filesystem::temp_directory_path() /
              ("sesam-cli-" +
               std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "-" +
               std::to_string(::getpid()));
        std::filesystem::remove_all(dir);
        std::filesystem::create_directories(dir);
    }
    void TearDown() override { std::filesystem::remove_all(dir); }

    /// Runs `sesam-emu ARGS` (a shell command line) and captures its output and exit code.
    CommandResult emu(const std::string& args) { return run_command(kBinary + " " + args); }
    std::string path(const std::string& name) const { return (dir / name).string(); }
    static std::string slurp(const std::string& file)
    {
        std::ifstream in(file);
        std::ostringstream s;
        s << in.rdbuf();
        return s.str();
    }

    std::filesystem::path dir;
};

} // namespace sesam::testing
