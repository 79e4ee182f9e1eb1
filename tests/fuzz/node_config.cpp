// libFuzzer target: the node configuration loader (harness/node), as `sesam-emu plan` uses it: a
// configuration in its single-file form (one JSON file holding an array of pipes and systems),
// loaded, then planned with a few variables and secrets, and the plan printed.
// Beyond "no crash and no sanitizer report": load_config and make_plan either succeed or throw
// ConfigError (sesam-emu exits 2 with its message); no other exception escapes (libFuzzer
// reports one as a crash), and a ConfigError says something.

#include "harness/node/config.hpp"
#include "harness/node/plan.hpp"
#include "harness/node/variables.hpp"
#include "tests/fuzz/fuzz_check.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace {

using namespace sesam::harness::node;
using sesam::fuzz::require;

/// A folder of this process's own, removed at exit, holding the configuration file.
class ConfigFolder {
public:
    ConfigFolder()
    {
        std::string name = (std::filesystem::temp_directory_path() / "sesam-fuzz-XXXXXX").string();
        require(::mkdtemp(name.data()) != nullptr, "mkdtemp works (harness)");
        folder_ = name;
        file_ = folder_ / "config.json";
    }
    ~ConfigFolder()
    {
        std::error_code ignored;
        std::filesystem::remove_all(folder_, ignored);
    }
    ConfigFolder(const ConfigFolder&) = delete;
    ConfigFolder& operator=(const ConfigFolder&) = delete;

    const std::filesystem::path& write(const std::uint8_t* data, std::size_t size)
    {
        std::ofstream out(file_, std::ios::binary | std::ios::trunc);
        out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
        require(static_cast<bool>(out), "the configuration file is written (harness)");
        return file_;
    }

private:
    std::filesystem::path folder_;
    std::filesystem::path file_;
};

Variables variables()
{
    Variables v;
    v.env = Json::parse(R"({"node-env": "test", "greeting": "hello", "page-size": 5,
                            "list": [1, "two"], "object": {"k": null}})");
    v.secrets = Json::parse(R"({"api-key": "global-secret"})");
    v.system_secrets["reference-ms"] = Json::parse(R"({"api-key": "local-secret"})");
    return v;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    static ConfigFolder folder;
    static const Variables vars = variables();
    const auto& file = folder.write(data, size);
    try {
        const NodeConfig config = load_config(file);
        const Plan plan = make_plan(config, vars, PlanOptions{});
        format_plan(plan);
    } catch (const ConfigError& e) {
        require(e.what()[0] != '\0', "a ConfigError says what is wrong");
    }
    return 0;
}
