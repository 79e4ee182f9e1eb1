// Reading a node configuration: the loader, variables and secrets, conditionals, the plan,
// namespaces and URL joining (docs/protocol.md#config-systems, #config-pipes, #config-variables).
#include "harness/node/config.hpp"
#include "harness/node/node_runner.hpp"
#include "harness/node/plan.hpp"
#include "harness/node/variables.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <unistd.h>

namespace sesam::harness::node {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class NodeConfigTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        root = fs::temp_directory_path() /
               ("sesam-node-" +
                std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "-" +
                std::to_string(::getpid()));
        fs::remove_all(root);
        fs::create_directories(root);
    }
    void TearDown() override { fs::remove_all(root); }

    void write(const std::string& name, const std::string& text)
    {
        fs::create_directories((root / name).parent_path());
        std::ofstream(root / name, std::ios::binary) << text;
    }

    /// The message of the ConfigError that `f` throws ("" when it does not throw).
    template <typename F> static std::string error_of(F&& f)
    {
        try {
            f();
        } catch (const ConfigError& e) {
            return e.what();
        }
        return "";
    }

    Plan plan_of(VariableSources sources = {}, PlanOptions options = {})
    {
        const auto config = load_config(root);
        const auto variables = load_variables(config.root, sources, false);
        return make_plan(config, variables, options);
    }

    fs::path root;
};

constexpr const char* kSystem =
    R"~({"_id": "crm-ms", "type": "system:microservice", "docker": {"image": "org/crm:1", "port": 5000}})~";

TEST_F(NodeConfigTest, ReadsTheFolderLayoutWithABomAndSubfolders)
{
    write("node-metadata.conf.json", "\xEF\xBB\xBF{\"_id\": \"node\", \"type\": \"metadata\"}");
    write("systems/crm-ms.conf.json", kSystem);
    write(
        "pipes/a/crm.conf.json",
        R"~({"_id": "crm", "type": "pipe", "source": {"type": "json", "system": "crm-ms", "url": "/e"}})~");
    const auto config = load_config(root);
    ASSERT_TRUE(config.metadata.has_value());
    ASSERT_EQ(config.systems.size(), 1U);
    ASSERT_EQ(config.pipes.size(), 1U);
    EXPECT_EQ(config.pipes[0].origin.file, "pipes/a/crm.conf.json");
}

TEST_F(NodeConfigTest, ReadsTheSingleFileFormWithPointersInErrors)
{
    write("sesam.conf.json", std::string("[") + kSystem + R"~(, {"_id": "x", "type": "pipe",
        "source": {"type": "json", "system": "nope", "url": "/e"}}])~");
    EXPECT_THAT(error_of([&] { load_config(root); }),
                HasSubstr(": not a Sesam configuration: no pipes/, systems/ or"));
    const auto config = load_config(root / "sesam.conf.json");
    EXPECT_EQ(config.pipes.at(0).origin.pointer, "/1");
    const auto problem = error_of([&] { make_plan(config, Variables{}, {}); });
    EXPECT_EQ(problem, "sesam.conf.json: /1/source/system: no system \"nope\"");
}

TEST_F(NodeConfigTest, EveryLoaderErrorNamesTheFileAndThePath)
{
    write("pipes/bad.conf.json", "{\n  \"_id\": \"p\",\n  \"type\": pipe\n}");
    EXPECT_THAT(error_of([&] { load_config(root); }),
                HasSubstr("pipes/bad.conf.json:3:11: invalid JSON: syntax error"));

    write("pipes/bad.conf.json", R"~({"_id": "p", "type": "pipe:x"})~");
    EXPECT_EQ(error_of([&] { load_config(root); }),
              "pipes/bad.conf.json: /type: unknown type \"pipe:x\" (a configuration entity is a "
              "pipe, a system:KIND or the metadata)");

    write("pipes/bad.conf.json",
          R"~({"_id": "p", "type": "pipe", "source": {"type": "embedded"}})~");
    write("pipes/bad2.conf.json",
          R"~({"_id": "p", "type": "pipe", "source": {"type": "embedded"}})~");
    EXPECT_EQ(error_of([&] { load_config(root); }),
              "pipes/bad2.conf.json: /_id: duplicate pipe _id \"p\" (also in pipes/bad.conf.json)");

    fs::remove(root / "pipes/bad2.conf.json");
    write("systems/s.conf.json", R"~({"_id": "a/b", "type": "system:url"})~");
    EXPECT_THAT(error_of([&] { load_config(root); }),
                HasSubstr("systems/s.conf.json: /_id: \"a/b\": a system _id is 2 to 63"));
    write("systems/s.conf.json", R"~({"type": "system:url"})~");
    EXPECT_EQ(error_of([&] { load_config(root); }),
              "systems/s.conf.json: /_id: missing: every configuration entity needs an _id "
              "string");
}

TEST_F(NodeConfigTest, ANumberPastADoublesRangeIsAConfigError)
{
    // Found by tests/fuzz (node_config): nlohmann reports it as out_of_range, not parse_error.
    write("pipes/p.conf.json", R"~({"_id": "p", "type": "pipe", "batch_size": 1e99999})~");
    EXPECT_THAT(error_of([&] { load_config(root); }),
                HasSubstr("pipes/p.conf.json: invalid JSON: number overflow parsing '1e99999'"));
}

TEST_F(NodeConfigTest, AWhitelistLimitsWhatIsRead)
{
    write("systems/crm-ms.conf.json", kSystem);
    write("pipes/a.conf.json", R"~({"_id": "a", "type": "pipe", "source": {"type": "embedded"}})~");
    write("pipes/b.conf.json", "not even JSON");
    write("whitelist.txt", "systems/crm-ms.conf.json\npipes/a.conf.json\n\n");
    const auto config = load_config(root, root / "whitelist.txt");
    EXPECT_EQ(config.pipes.size(), 1U);
    write("whitelist.txt", "pipes/c.conf.json\n");
    EXPECT_THAT(error_of([&] { load_config(root, root / "whitelist.txt"); }),
                HasSubstr("\"pipes/c.conf.json\" is not a configuration file of"));
}

TEST_F(NodeConfigTest, VariablesKeepTheirTypeWholeAndBecomeTextComposed)
{
    write("test-env.json", R"~({"port": 8080, "host": "h", "cfg": {"a": [1]}})~");
    write("more.json", R"~({"host": "later-wins"})~");
    write(
        "systems/crm-ms.conf.json",
        R"~({"_id": "crm-ms", "type": "system:microservice", "docker": {"image": "img", "port": "$ENV(port)", "environment": {"URL": "http://$ENV(host):$ENV(port)/x", "CFG": "$ENV(cfg)", "NESTED": {"k": "$ENV(port)"}, "KEY": "$SECRET(key)", "OVER": "$ENV(over)"}}})~");
    VariableSources sources;
    sources.variable_files = {root / "more.json"};
    sources.vars = {{"over", "from --var"}};
    sources.secrets = {{"key", "s3cret"}};
    const auto plan = plan_of(sources);
    const auto& s = plan.systems.at(0);
    EXPECT_EQ(s.port, 8080U); // a number, as the variable is
    EXPECT_EQ(s.environment.at(0),
              (std::pair<std::string, std::string>{"URL", "http://later-wins:8080/x"}));
    EXPECT_EQ(s.environment.at(1).second, R"~({"a":[1]})~");
    EXPECT_EQ(s.environment.at(2).second, R"~({"k":8080})~"); // other values as JSON text
    EXPECT_EQ(s.environment.at(3).second, "s3cret");
    EXPECT_EQ(s.environment.at(4).second, "from --var");
    EXPECT_EQ(plan.secret_values, std::vector<std::string>{"s3cret"});
    // The plan as printed masks the secret.
    const auto text = format_plan(plan);
    EXPECT_THAT(text, HasSubstr("env KEY=***"));
    EXPECT_EQ(text.find("s3cret"), std::string::npos) << text;
}

TEST_F(NodeConfigTest, SystemLocalSecretsWinAndSecretsOutsideSystemsAreRefused)
{
    write("secrets.json", R"~({"key": "global", "systems": {"crm-ms": {"key": "local"}}})~");
    write(
        "systems/crm-ms.conf.json",
        R"~({"_id": "crm-ms", "type": "system:microservice", "docker": {"image": "img", "port": 1, "environment": {"K": "$SECRET(key)"}}})~");
    write(
        "systems/other.conf.json",
        R"~({"_id": "other", "type": "system:microservice", "docker": {"image": "img", "port": 1, "environment": {"K": "$SECRET(key)"}}})~");
    VariableSources sources;
    sources.secrets_files = {root / "secrets.json"};
    const auto plan = plan_of(sources);
    EXPECT_EQ(plan.system("crm-ms")->environment.at(0).second, "local");
    EXPECT_EQ(plan.system("other")->environment.at(0).second, "global");

    write(
        "pipes/p.conf.json",
        R"~({"_id": "p", "type": "pipe", "source": {"type": "embedded", "entities": [{"_id": "$SECRET(key)"}]}, "transform": [{"type": "dtl", "rules": {"default": [["add", "x", "$SECRET(dtl-key)"]]}}]})~");
    write("expected/p.json", "[]"); // the dtl stands in
    EXPECT_EQ(error_of([&] { plan_of(sources); }),
              "pipes/p.conf.json: /source/entities/0/_id: $SECRET(key) is allowed only in systems "
              "(docs/protocol.md#config-variables-where: secrets apply to system configuration "
              "entities)");
}

TEST_F(NodeConfigTest, EveryUndefinedNameIsListedOnceEach)
{
    write(
        "systems/crm-ms.conf.json",
        R"~({"_id": "crm-ms", "type": "system:microservice", "docker": {"image": "$ENV(image)", "port": 1, "environment": {"K": "$SECRET(k)"}}})~");
    write(
        "pipes/p.conf.json",
        R"~({"_id": "p", "type": "pipe", "source": {"type": "json", "system": "crm-ms", "url": "/$ENV(path)"}})~");
    EXPECT_EQ(error_of([&] { plan_of(); }),
              "systems/crm-ms.conf.json: /docker/image: $ENV(image) is not defined (give it in "
              "the profile's -env.json, --variables or --var)\n"
              "systems/crm-ms.conf.json: /docker/environment/K: $SECRET(k) is not defined (give "
              "it in --secrets-file or --secret)\n"
              "pipes/p.conf.json: /source/url: $ENV(path) is not defined (give it in the "
              "profile's -env.json, --variables or --var)");
    VariableSources allow;
    allow.allow_undefined = true;
    const auto config = load_config(root);
    auto variables = load_variables(root, allow, false);
    EXPECT_EQ(error_of([&] { make_plan(config, variables, {}); }), "");
    EXPECT_EQ(make_plan(config, variables, {}).systems.at(0).image, "$ENV(image)");
}

TEST_F(NodeConfigTest, ConditionalPropertiesAndConditionalSourcesFollowTheCondition)
{
    write("test-env.json", R"~({"node-env": "test"})~");
    write(
        "systems/crm-ms.conf.json",
        R"~({"_id": "crm-ms", "type": "system:microservice", "docker": {"image": "prod-image", "port": 1, "$conditional_properties": {"condition": "$ENV(node-env)", "alternatives": {"prod": {}, "test": {"image": "test-image", "memory": 256}}}}})~");
    write(
        "pipes/p.conf.json",
        R"~({"_id": "p", "type": "pipe", "source": {"type": "conditional", "condition": "$ENV(node-env)", "alternatives": {"prod": {"type": "json", "system": "crm-ms", "url": "/e"}, "test": {"type": "embedded", "entities": [{"_id": "1"}]}}}})~");
    const auto plan = plan_of();
    EXPECT_EQ(plan.systems.at(0).image, "test-image");
    EXPECT_EQ(plan.systems.at(0).memory_mb, 256);
    EXPECT_EQ(plan.pipes.at(0).source.type, "embedded");
    EXPECT_EQ(plan.pipes.at(0).source.pointer, "/source/alternatives/test");
    EXPECT_FALSE(plan.systems.at(0).used); // the prod alternative is never started

    write("test-env.json", R"~({"node-env": "staging"})~");
    EXPECT_EQ(error_of([&] { plan_of(); }),
              "systems/crm-ms.conf.json: /docker/$conditional_properties/condition: \"staging\" "
              "has no alternative (there are: prod, test)\n"
              "pipes/p.conf.json: /source/condition: \"staging\" has no alternative (there are: "
              "prod, test; every value of the condition needs one)");
}

TEST_F(NodeConfigTest, UnsupportedStagesStandInFromFilesOrAreListedBeforeAnythingStarts)
{
    write(
        "pipes/a.conf.json",
        R"~({"_id": "a", "type": "pipe", "source": {"type": "sql", "table": "t"}, "transform": {"type": "dtl", "rules": {}}})~");
    write(
        "pipes/b.conf.json",
        R"~({"_id": "b", "type": "pipe", "source": {"type": "embedded"}, "transform": [{"type": "dtl", "rules": {}}]})~");
    EXPECT_EQ(error_of([&] { plan_of(); }),
              "pipes/a.conf.json: a: source sql, transform dtl: not run by sesam-emu, and neither "
              "expected/a.json nor testdata/a.json holds its sink input (--skip-unsupported "
              "leaves such pipes out)\n"
              "pipes/b.conf.json: b: transform dtl: not run by sesam-emu, and neither "
              "expected/b.json nor testdata/b.json holds its sink input (--skip-unsupported "
              "leaves such pipes out)");
    write("expected/a.json", "[]");
    PlanOptions skip;
    skip.skip_unsupported = true;
    const auto plan = plan_of({}, skip);
    EXPECT_EQ(plan.pipes.at(0).stand_in, root / "expected/a.json");
    EXPECT_TRUE(plan.pipes.at(0).runs());
    EXPECT_FALSE(plan.pipes.at(1).runs());
    EXPECT_THAT(format_plan(plan),
                HasSubstr("source sql, transform dtl: not run; sink input from expected/a.json"));
}

TEST_F(NodeConfigTest, PipesRunInTheOrderOfTheDatasetGraph)
{
    write("pipes/1-out.conf.json",
          R"~({"_id": "out", "type": "pipe", "source": {"type": "dataset", "dataset": "mid"}})~");
    write("pipes/2-mid.conf.json",
          R"~({"_id": "mid", "type": "pipe", "source": {"type": "dataset", "dataset": "in"}})~");
    write("pipes/3-in.conf.json",
          R"~({"_id": "in", "type": "pipe", "source": {"type": "embedded", "entities": []}})~");
    const auto plan = plan_of();
    ASSERT_EQ(plan.pipes.size(), 3U);
    EXPECT_EQ(plan.pipes[0].id, "in");
    EXPECT_EQ(plan.pipes[1].id, "mid");
    EXPECT_EQ(plan.pipes[2].id, "out");

    write(
        "pipes/4-lost.conf.json",
        R"~({"_id": "lost", "type": "pipe", "source": {"type": "dataset", "dataset": "nowhere"}})~");
    EXPECT_EQ(error_of([&] { plan_of(); }),
              "pipes/4-lost.conf.json: /source/dataset: no pipe writes the dataset \"nowhere\"");
}

TEST_F(NodeConfigTest, NamespacesFollowTheMetadataAndTheSourceAndSinkTypes)
{
    write("node-metadata.conf.json",
          R"~({"_id": "node", "type": "metadata", "namespaced_identifiers": true})~");
    write("systems/crm-ms.conf.json", kSystem);
    write("pipes/in.conf.json",
          R"~({"_id": "in", "type": "pipe", "source": {"type": "embedded", "entities": []}})~");
    write(
        "pipes/out.conf.json",
        R"~({"_id": "out", "type": "pipe", "source": {"type": "dataset", "dataset": "in"}, "sink": {"type": "json", "system": "crm-ms", "url": "r"}})~");
    const auto plan = plan_of();
    EXPECT_TRUE(plan.pipes.at(0).add_namespaces);
    EXPECT_FALSE(plan.pipes.at(0).remove_namespaces); // a dataset sink keeps them
    EXPECT_FALSE(plan.pipes.at(1).add_namespaces);    // a dataset source adds none
    EXPECT_TRUE(plan.pipes.at(1).remove_namespaces);

    EXPECT_EQ(add_namespaces(
                  R"~({"_id":"1","name":"Ola","_deleted":false,"$ids":["~:x:1"]})~", "crm", "crm"),
              R"~({"_id":"crm:1","crm:name":"Ola","_deleted":false,"$ids":["~:x:1"]})~");
    EXPECT_EQ(
        remove_namespaces(
            R"~({"_id":"crm:1","crm:name":"Ola","crm:ni":"~:kommune:1103","crm:l":["~:a:b"]})~"),
        R"~({"_id":"1","name":"Ola","ni":"~:1103","l":["~:b"]})~");
}

TEST_F(NodeConfigTest, StageUrlsJoinWithOrWithoutALeadingSlashAndAbsoluteUrlsWin)
{
    SystemPlan ms;
    ms.type = "system:microservice";
    EXPECT_EQ(stage_url(ms, "http://127.0.0.1:5/", "/entities"), "http://127.0.0.1:5/entities");
    EXPECT_EQ(stage_url(ms, "http://127.0.0.1:5", "entities"), "http://127.0.0.1:5/entities");
    EXPECT_EQ(stage_url(ms, "http://127.0.0.1:5/", "http://other:1/x"), "http://other:1/x");
    SystemPlan pattern;
    pattern.type = "system:url";
    pattern.url_pattern = "http://h/api/%s?x=1";
    EXPECT_EQ(stage_url(pattern, "", "e"), "http://h/api/e?x=1");
    SystemPlan base;
    base.type = "system:url";
    base.base_url = "http://localhost:4567/";
    EXPECT_EQ(stage_url(base, "", "recordlinkage/x"), "http://localhost:4567/recordlinkage/x");
}

} // namespace
} // namespace sesam::harness::node
