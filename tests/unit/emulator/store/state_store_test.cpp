#include "emulator/store/state_store.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace sesam::emulator {
namespace {

std::filesystem::path temp_dir(const std::string& name)
{
    auto dir = std::filesystem::temp_directory_path() /
               ("sesam-store-" + name + "-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    return dir;
}

TEST(StateStore, OffsetsPersistAcrossOpens)
{
    auto dir = temp_dir("persist");
    const auto path = (dir / "nested" / "state.db").string();
    {
        auto store = StateStore::open(path);
        EXPECT_FALSE(store.load_offset("p"));
        store.save_offset("p", "41");
        store.save_offset("p", "42");
        store.save_offset("q", "\"2024\"");
    }
    auto store = StateStore::open(path);
    EXPECT_EQ(store.load_offset("p"), "42");
    EXPECT_EQ(store.load_offset("q"), "\"2024\"");
    store.reset_offset("p");
    EXPECT_FALSE(store.load_offset("p"));
    EXPECT_EQ(store.load_offset("q"), "\"2024\"");
    std::filesystem::remove_all(dir);
}

TEST(StateStore, NotADatabaseIsAnErrorNamingThePath)
{
    auto dir = temp_dir("garbage");
    std::filesystem::create_directories(dir);
    const auto path = (dir / "state.db").string();
    std::ofstream(path) << "this is not an sqlite file, just some text that is long enough......";
    try {
        StateStore::open(path);
        FAIL() << "expected StoreError";
    } catch (const StoreError& e) {
        EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    }
    std::filesystem::remove_all(dir);
}

TEST(StateStore, UnwritableFolderIsAnError)
{
    EXPECT_THROW(StateStore::open("/proc/sesam-no-such/state.db"), StoreError);
}

} // namespace
} // namespace sesam::emulator
