// `sesam-emu plan` and `run` over real node configurations, with the systems started from
// commands (the reference service on loopback) or through a stub docker CLI.
#include "tests/support/cli_fixture.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace sesam::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

class NodeRunTest : public CliFixture {
protected:
    void SetUp() override
    {
        CliFixture::SetUp();
        fs::copy(fs::path(SESAM_SOURCE_DIR) / "examples/node",
                 dir / "node",
                 fs::copy_options::recursive);
        fs::remove_all(dir / "node/.sesam-emu");
    }

    void write(const std::string& name, const std::string& text)
    {
        fs::create_directories((dir / name).parent_path());
        std::ofstream(dir / name) << text;
    }

    /// `sesam-emu ARGS` run in the folder of the example configuration.
    CommandResult in_node(const std::string& args)
    {
        return run_command("cd " + path("node") + " && " + kBinary + " " + args);
    }

    /// The example's microservice, started from the reference service; it prints its API key
    /// first, as a careless service would.
    /// For `run`: the same, with the memory check off in a sanitized build.
    std::string run_reference() const { return exec_reference() + kMemoryCheckArgs; }

    std::string exec_reference() const
    {
        return "--system-exec 'reference-ms=echo \"my key is $API_KEY\"; exec " + kBinary +
               " serve --port $PORT'";
    }
};

TEST_F(NodeRunTest, PlanShowsSystemsAndPipesWithSecretsMasked)
{
    auto r = in_node("plan . --secrets-file secrets.json");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.out,
                HasSubstr("image sesam-emu/reference-service:latest, port 5000, memory 128 "
                          "MB, cpu_quota 25%"));
    EXPECT_THAT(r.out, HasSubstr("env API_KEY=***"));
    EXPECT_THAT(r.out, HasSubstr("env SETTINGS={\"page_size\":5}"));
    EXPECT_THAT(r.out,
                HasSubstr("transform dtl: not run; sink input from "
                          "expected/people-report.json"));
    EXPECT_THAT(r.out + r.err, Not(HasSubstr("demo-system-local-key")));
    // Graph order: people before people-enriched before people-out.
    EXPECT_LT(r.out.find("  people\n"), r.out.find("  people-enriched\n"));
    EXPECT_LT(r.out.find("  people-enriched\n"), r.out.find("  people-out\n"));

    auto missing = in_node("plan .");
    EXPECT_EQ(missing.exit_code, 2);
    EXPECT_EQ(missing.err,
              "sesam-emu: error: systems/reference-ms.conf.json: "
              "/docker/environment/API_KEY: $SECRET(api-key) is not defined (give it "
              "in --secrets-file or --secret)\n");
}

TEST_F(NodeRunTest, RunsEveryStageTypeThenIncrementallyAndKeepsSecretsOut)
{
    auto first = in_node("run . --secrets-file secrets.json " + run_reference() + " --record " +
                         path("run.jsonl"));
    ASSERT_EQ(first.exit_code, 0) << first.err;
    EXPECT_THAT(first.err, HasSubstr("round 1 cities: 3 in, 3 out, 3 written"));
    EXPECT_THAT(first.err,
                HasSubstr("round 1 people: 14 in, 14 out, 14 written, 4 requests, "
                          "offset none -> 13")); // pages of 5 from test-env.json
    EXPECT_THAT(first.err,
                HasSubstr("round 1 people-enriched: 12 in, 12 out, 12 written, 2 "
                          "requests")); // batches of 10 to the transform
    EXPECT_THAT(first.err,
                HasSubstr("round 1 people-out: 12 in, 12 out, 12 written, pushed 12 "
                          "(full sync)"));
    EXPECT_THAT(first.err,
                HasSubstr("people-report: 5 in, 5 out, 5 written, pushed 5 (full "
                          "sync), 2 requests, offset none -> none, "));
    EXPECT_THAT(first.err,
                HasSubstr("[transform dtl: not run; sink input from "
                          "expected/people-report.json]"));
    EXPECT_THAT(first.err, HasSubstr("round 1 orders: 2 in, 2 out, 2 written")); // testdata/
    EXPECT_THAT(first.err, HasSubstr("round 1 orders-endpoint: 2 in, 2 out, 2 written"));
    EXPECT_THAT(first.err, HasSubstr("run: 21 pipe runs in 3 rounds"));
    EXPECT_THAT(first.err, HasSubstr("system reference-ms: peak memory "));
    if (kMemoryCheckArgs.empty()) { // a sanitized build turns the check off (cli_fixture.hpp)
        EXPECT_THAT(first.err, HasSubstr(" MiB of its docker.memory 128 MiB, CPU "));
    }

    auto second = in_node("run . --secrets-file secrets.json " + run_reference());
    ASSERT_EQ(second.exit_code, 0) << second.err;
    EXPECT_THAT(second.err,
                HasSubstr("round 1 people: 0 in, 0 out, 0 written, 1 requests, "
                          "offset 13 -> 13"));
    EXPECT_THAT(second.err,
                HasSubstr("round 1 people-out: 0 in, 0 out, 0 written, pushed 0 "
                          "(incremental sync)"));
    EXPECT_THAT(second.err, HasSubstr("in 2 rounds"));

    // The secret reached the service (it printed it) but none of what sesam-emu wrote.
    const auto log = slurp(path("node/.sesam-emu/logs/reference-ms.log"));
    EXPECT_THAT(log, HasSubstr("my key is ***"));
    for (const auto& text : {first.out,
                             first.err,
                             second.out,
                             second.err,
                             log,
                             slurp(path("node/.sesam-emu/state.db"))})
        EXPECT_EQ(text.find("demo-system-local-key"), std::string::npos);

    auto reset =
        in_node("run . --reset --pipe people --secrets-file secrets.json " + run_reference());
    ASSERT_EQ(reset.exit_code, 0) << reset.err;
    EXPECT_THAT(reset.err, HasSubstr("round 1 people: 14 in, 14 out, 14 written"));
    EXPECT_THAT(reset.err, Not(HasSubstr("people-out")));
}

TEST_F(NodeRunTest, CheckPipeTakesTheRoleUrlAndPropertiesFromThePipe)
{
    const std::vector<std::pair<std::string, std::string>> pipes{
        {"people", "checking http://127.0.0.1:"},
        {"people-enriched", "/transform as transform"},
        {"people-out", "/receiver as sink"}};
    for (const auto& [pipe, expected] : pipes) {
        auto r = in_node("check . --pipe " + pipe + " --secrets-file secrets.json " +
                         run_reference() + " --report json:" + path(pipe + ".json"));
        EXPECT_EQ(r.exit_code, 0) << pipe << "\n" << r.out << r.err;
        EXPECT_THAT(r.out, HasSubstr(expected)) << pipe;
        EXPECT_THAT(r.out, HasSubstr(" 0 failed")) << pipe;
        // The system's docker.memory is the limit (docs/protocol.md#microservice-system); the
        // memory checks come last.
        if (kMemoryCheckArgs.empty()) {
            EXPECT_THAT(r.out,
                        HasSubstr("PASS  service.memory.limit  The service's peak memory through "
                                  "the run stays within its limit (--memory-limit, or its "
                                  "system's docker.memory) — peak "))
                << pipe;
            EXPECT_THAT(r.out, HasSubstr("of the docker.memory 128 MiB of system reference-ms"))
                << pipe;
        }
        EXPECT_EQ((r.out + r.err + slurp(path(pipe + ".json"))).find("demo-system-local-key"),
                  std::string::npos)
            << pipe;
    }
    // The source pipe pages with limit=5 (page_size from test-env.json): its paging checks ran.
    auto paged = in_node("check . --pipe people --secrets-file secrets.json " + exec_reference() +
                         " --only 'source.paging*'");
    EXPECT_EQ(paged.exit_code, 0) << paged.out << paged.err;
    EXPECT_THAT(paged.out, Not(HasSubstr(" 0 passed")));

    auto none = in_node("check . --pipe cities --secrets-file secrets.json");
    EXPECT_EQ(none.exit_code, 2);
    EXPECT_EQ(none.err,
              "sesam-emu: error: --pipe cities: it has no json source, http transform "
              "or json sink, so no microservice role to check\n");
}

TEST_F(NodeRunTest, AFailingSystemIsExit3NamingThePipeWithItsLogTail)
{
    write(
        "bad/systems/svc.conf.json",
        R"~({"_id": "svc", "type": "system:microservice", "docker": {"image": "img", "port": 5000}})~");
    write(
        "bad/pipes/p.conf.json",
        R"~({"_id": "p", "type": "pipe", "source": {"type": "json", "system": "svc", "url": "missing"}})~");
    auto r = emu("run " + path("bad") + " --state " + path("s.db") +
                 " --system-exec 'svc=echo starting up; exec " + kBinary + " serve --port $PORT'");
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_THAT(r.err,
                HasSubstr("sesam-emu run: error: pipe p: source json (system svc): GET "
                          "http://127.0.0.1:"));
    EXPECT_THAT(r.err, HasSubstr("/missing: status 404"));
    EXPECT_THAT(r.err, HasSubstr("last lines of .sesam-emu/logs/svc.log:\nstarting up\n"));

    auto dead = run_command("cd " + dir.string() + " && " + kBinary + " run bad --state s.db" +
                            " --ready-timeout 5 --system-exec 'svc=echo cannot start >&2; exit 7'");
    EXPECT_EQ(dead.exit_code, 3) << dead.err;
    EXPECT_THAT(dead.err, HasSubstr("sesam-emu run: error: system svc: "));
    EXPECT_THAT(dead.err, HasSubstr("cannot start"));
}

TEST_F(NodeRunTest, AUrlSystemJoinsBaseUrlAndSendsBasicAuthAndHeaders)
{
    ScriptedServer server([](const RawRequest&, RawConnection& c) {
        c.write(ScriptedServer::response(200, R"~([{"_id": "a", "_updated": 1}])~"));
    });
    write("url/systems/api.conf.json",
          R"~({"_id": "api", "type": "system:url", "base_url": ")~" + server.base_url() +
              R"~(/v1/", "authentication": "basic", "username": "u", "password": "$SECRET(pw)",
              "headers": {"X-System": "sys"}})~");
    write("url/pipes/p.conf.json",
          R"~({"_id": "p", "type": "pipe", "source": {"type": "json", "system": "api",
              "url": "entities?x=1", "headers": {"X-Tenant": "acme"}}})~");
    auto r = run_command("cd " + dir.string() + " && " + kBinary +
                         " run url --state s.db --secret pw=s3cret");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.err, HasSubstr("round 1 p: 1 in, 1 out, 1 written, 1 requests"));
    const auto head = server.requests().at(0).head;
    EXPECT_THAT(head, HasSubstr("GET /v1/entities?x=1 HTTP/1.1\r\n"));
    EXPECT_THAT(head, HasSubstr("Authorization: Basic dTpzM2NyZXQ=\r\n"));
    EXPECT_THAT(head, HasSubstr("X-System: sys\r\n"));
    EXPECT_THAT(head, HasSubstr("X-Tenant: acme\r\n"));
    EXPECT_EQ(r.err.find("s3cret"), std::string::npos) << r.err;
}

TEST_F(NodeRunTest, SigtermWhileASystemStartsRemovesItAndExits130)
{
    write(
        "slow/systems/svc.conf.json",
        R"~({"_id": "svc", "type": "system:microservice", "docker": {"image": "i", "port": 1}})~");
    write(
        "slow/pipes/p.conf.json",
        R"~({"_id": "p", "type": "pipe", "source": {"type": "json", "system": "svc", "url": "e"}})~");
    ChildProcess run("env -C " + dir.string() + " " + kBinary +
                     " run slow --state s.db --ready-timeout 60 --system-exec 'svc=echo $$ > " +
                     path("svc.pid") + "; exec sleep 60' 2> " + path("err.txt"));
    ASSERT_TRUE(run.wait_until_catches(SIGTERM));
    for (int i = 0; i < 500 && slurp(path("svc.pid")).empty(); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT_EQ(run.terminate(), 130) << slurp(path("err.txt"));
    EXPECT_THAT(slurp(path("err.txt")),
                HasSubstr("sesam-emu: interrupted: while system svc started; it was removed"));
    const auto pid = std::stoi(slurp(path("svc.pid")));
    EXPECT_NE(::kill(pid, 0), 0) << "the system's process is still there";
}

TEST_F(NodeRunTest, AnImageIsRunWithTheSystemsPortsEnvironmentAndLimits)
{
    // A docker CLI that records its arguments and, for `run`, starts the reference service on
    // the published port, as the image would.
    const auto calls = path("calls");
    const auto pid = path("pid");
    write("bin/docker",
          "#!/bin/sh\n"
          "s=''; for a in \"$@\"; do s=\"$s$a\n\"; done; printf \"%s--\\n\" \"$s\" >> " +
              calls +
              "\n"
              "case \"$1\" in\n"
              "run) port=$(printf '%s\\n' \"$@\" | sed -n "
              "'s/^127\\.0\\.0\\.1:\\([0-9]*\\):5000$/\\1/p')\n"
              "  " +
              kBinary +
              " serve --port \"$port\" --quiet >/dev/null 2>&1 &\n"
              "  echo $! > " +
              pid +
              "; echo c0ffee ;;\n"
              "logs) echo 'container says hi' ;;\n"
              "inspect) echo true ;;\n"
              "rm) kill $(cat " +
              pid +
              "); echo \"$3\" ;;\n"
              "esac\n");
    fs::permissions(dir / "bin/docker", fs::perms::owner_all);
    write(
        "node/systems/reference-ms.conf.json",
        R"~({"_id": "reference-ms", "type": "system:microservice", "docker": {"image": "example/ref:1", "port": 5000, "memory": 256, "cpu_quota": 50, "hosts": {"db.example.io": "10.1.2.3"}, "environment": {"KEY": "$SECRET(api-key)", "N": 3}}})~");
    auto r = run_command("cd " + path("node") + " && PATH=" + path("bin") + ":$PATH " + kBinary +
                         " run . --pipe people --secrets-file secrets.json");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.err, HasSubstr("round 1 people: 14 in"));
    const auto args = slurp(calls);
    EXPECT_THAT(args, HasSubstr("run\n-d\n--rm\n-p\n127.0.0.1:"));
    EXPECT_THAT(args,
                HasSubstr(":5000\n-e\nKEY=demo-system-local-key\n-e\nN=3\n--memory=256m\n"
                          "--cpus=0.50\n--add-host=db.example.io:10.1.2.3\nexample/ref:1\n"));
    EXPECT_THAT(args, HasSubstr("rm\n-f\nc0ffee\n"));
    EXPECT_THAT(slurp(path("node/.sesam-emu/logs/reference-ms.log")),
                HasSubstr("container says hi"));
    EXPECT_EQ(r.err.find("demo-system-local-key"), std::string::npos) << r.err;
}

TEST_F(NodeRunTest, ASystemOverItsDockerMemoryFailsTheRun)
{
    // The reference service needs more than 2 MiB: as if a greedy service passed its 128.
    auto system = slurp(path("node/systems/reference-ms.conf.json"));
    system.replace(system.find("\"memory\": 128"), 13, "\"memory\": 2");
    write("node/systems/reference-ms.conf.json", system);
    const auto plain = exec_reference(); // the memory check on, whatever the build
    const auto r = in_node("run . --secrets-file secrets.json " + plain);
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_THAT(r.err, HasSubstr("run: 21 pipe runs in 3 rounds")); // the run itself went well
    EXPECT_THAT(r.err,
                ::testing::MatchesRegex(
                    "(.|\n)*sesam-emu run: error: system reference-ms: peak memory [0-9.]+ MiB "
                    "is over its docker.memory 2 MiB; a node would stop the container(.|\n)*"));
    const auto off = in_node("run . --secrets-file secrets.json --reset --memory-limit 0 " + plain);
    EXPECT_EQ(off.exit_code, 0) << off.err;
    EXPECT_THAT(off.err, HasSubstr(" MiB of no limit (--memory-limit 0)"));
}

} // namespace
} // namespace sesam::testing
