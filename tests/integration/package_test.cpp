// `cpack -G DEB` in the build folder makes a package that installs /usr/bin/sesam-emu and its man
// page and declares its Debian dependencies; unpacked with `dpkg -x` into a fresh folder, it runs.
#include "tests/support/cli_fixture.hpp"

#include <gtest/gtest.h>

#include <filesystem>

namespace sesam::testing {
namespace {

using PackageTest = CliFixture;

TEST_F(PackageTest, TheDebInstallsSesamEmuAndItsManPageAndRuns)
{
    if (run_command("command -v dpkg-deb").exit_code != 0)
        GTEST_SKIP() << "dpkg-deb is not installed (not a Debian system)";
    const std::string build = SESAM_BUILD_DIR;
    const auto pack =
        run_command("cd '" + build + "' && '" SESAM_CPACK "' -G DEB -B '" + path("pkg") + "'");
    ASSERT_EQ(pack.exit_code, 0) << pack.out << pack.err;
    const auto deb = path("pkg/sesam-emu_" SESAM_EMU_VERSION "_amd64.deb");
    ASSERT_TRUE(std::filesystem::exists(deb)) << pack.out;

    const auto fields =
        run_command("dpkg-deb -f '" + deb + "' Package Version Architecture Depends");
    EXPECT_EQ(fields.out,
              "Package: sesam-emu\nVersion: " SESAM_EMU_VERSION "\nArchitecture: amd64\n"
              "Depends: libc6 (>= 2.34), libstdc++6 (>= 12), libgcc-s1, libfmt9, libsqlite3-0, "
              "libsimdjson14, "
              "libboost-url1.81.0\n");

    ASSERT_EQ(run_command("dpkg -x '" + deb + "' '" + path("root") + "'").exit_code, 0);
    const auto binary = path("root/usr/bin/sesam-emu");
    const auto version = run_command("'" + binary + "' --version");
    EXPECT_EQ(version.exit_code, 0) << version.err;
    EXPECT_EQ(version.out, SESAM_EMU_VERSION "\n");
    const auto help = run_command("'" + binary + "' check --help");
    EXPECT_EQ(help.exit_code, 0);
    EXPECT_NE(help.out.find("--memory-limit"), std::string::npos);

    // The man page is the --help texts, one section per command.
    const auto man = run_command("zcat '" + path("root/usr/share/man/man1/sesam-emu.1.gz") + "'");
    ASSERT_EQ(man.exit_code, 0) << man.err;
    EXPECT_EQ(man.out.rfind(".TH SESAM-EMU 1 ", 0), 0u) << man.out.substr(0, 200);
    for (const char* command : {"check",
                                "pull",
                                "push",
                                "transform",
                                "serve",
                                "replay",
                                "plan",
                                "run",
                                "dataset",
                                "test",
                                "load"})
        EXPECT_NE(man.out.find(std::string(".SS ") + command + "\n"), std::string::npos) << command;
    EXPECT_NE(man.out.find("--memory-limit"), std::string::npos);
}

} // namespace
} // namespace sesam::testing
