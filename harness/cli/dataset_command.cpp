// `sesam-emu dataset list|show`: what `run` and `push --input` wrote into the store.
#include "emulator/store/dataset_store.hpp"
#include "emulator/store/state_store.hpp"
#include "harness/cli/command.hpp"
#include "harness/cli/exit_codes.hpp"

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>

namespace sesam::harness {

namespace em = sesam::emulator;

namespace {

struct DatasetArgs {
    std::string state = ".sesam-emu/state.db";
    std::string name;
    std::string format = "json";
    bool all_versions = false;
};

/// Opens an existing store: `dataset` never creates one (a typo in --state would show nothing).
em::StateStore open_store(const std::string& path)
{
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec))
        throw UsageError("--state " + path + ": no such store (run or push writes one)");
    try {
        return em::StateStore::open(path);
    } catch (const em::StoreError& e) {
        throw UsageError(std::string(e.what()) + " (--state)");
    }
}

int list(const DatasetArgs& args)
{
    auto state = open_store(args.state);
    em::DatasetStore datasets(state);
    const auto names = datasets.names();
    if (names.empty())
        fmt::print(stderr, "dataset: no datasets in {}\n", args.state);
    for (const auto& name : names) {
        const auto last = datasets.max_updated(name);
        fmt::print("{}\t{} entities\t_updated up to {}\n",
                   name,
                   datasets.count_since(name, -1),
                   last ? std::to_string(*last) : std::string("none"));
    }
    return exit_ok;
}

int show(const DatasetArgs& args)
{
    auto state = open_store(args.state);
    em::DatasetStore datasets(state);
    const auto names = datasets.names();
    if (std::find(names.begin(), names.end(), args.name) == names.end())
        throw UsageError("no dataset \"" + args.name + "\" in " + args.state +
                         " (sesam-emu dataset list shows them)");
    const bool lines = args.format == "jsonl";
    bool first = true;
    auto print = [&](const em::StoredEntity& e) {
        if (lines)
            fmt::print("{}\n", e.json);
        else
            fmt::print("{}{}", first ? "[\n" : ",\n", e.json);
        first = false;
        return std::ferror(stdout) == 0;
    };
    datasets.latest_since(args.name, -1, [&](const em::StoredEntity& latest) {
        if (!args.all_versions)
            return print(latest);
        bool ok = true;
        datasets.versions(args.name, latest.id, [&](const em::StoredEntity& v) {
            ok = print(v);
            return ok;
        });
        return ok;
    });
    if (!lines)
        fmt::print("{}", first ? "[]\n" : "\n]\n");
    std::fflush(stdout);
    if (std::ferror(stdout))
        throw std::runtime_error("cannot write the output: stdout");
    return exit_ok;
}

} // namespace

Command add_dataset_command(CLI::App& app)
{
    auto args = std::make_shared<DatasetArgs>();
    auto* cmd = app.add_subcommand(
        "dataset",
        "Show the datasets a run (or push --input) wrote into the store, with _updated, "
        "_ts, _hash, _previous and _deleted as a node keeps them.");
    cmd->require_subcommand(1, 1);
    auto* list_cmd = cmd->add_subcommand("list", "List the datasets: entities and last _updated");
    auto* show_cmd = cmd->add_subcommand("show", "Print a dataset's entities (latest versions)");
    for (auto* sub : {list_cmd, show_cmd})
        sub->add_option("--state", args->state, "The store file")->default_str(args->state);
    show_cmd->add_option("NAME", args->name, "The dataset")->required();
    show_cmd->add_option("--format", args->format, "A JSON array or JSON lines")
        ->check(CLI::IsMember({"json", "jsonl"}))
        ->default_str("json");
    show_cmd->add_flag("--all-versions",
                       args->all_versions,
                       "Every version of each entity, oldest first, not only the latest");
    return {cmd, [args, list_cmd] { return list_cmd->parsed() ? list(*args) : show(*args); }};
}

} // namespace sesam::harness
