#include "harness/runner/service_under_test.hpp"
#include "tests/support/scripted_server.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <dirent.h>
#include <filesystem>
#include <fstream>
#include <functional>
#include <netinet/in.h>
#include <sstream>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

namespace sesam::harness {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
namespace fs = std::filesystem;
using testing::free_port;

const std::string kSesamEmu = SESAM_EMU_BINARY;

long elapsed_ms(Clock::time_point since)
{
    return static_cast<long>(
        std::chrono::duration_cast<milliseconds>(Clock::now() - since).count());
}

bool wait_until(const std::function<bool()>& condition, milliseconds timeout = milliseconds(3000))
{
    const auto deadline = Clock::now() + timeout;
    while (!condition()) {
        if (Clock::now() > deadline)
            return false;
        std::this_thread::sleep_for(milliseconds(10));
    }
    return true;
}

std::string read_text(const fs::path& path)
{
    std::ifstream in(path);
    return {std::istreambuf_iterator<char>(in), {}};
}

void write_text(const fs::path& path, const std::string& text)
{
    std::ofstream(path) << text;
}

/// The state letter of /proc/PID/stat, 0 when there is no such process.
char process_state(pid_t pid)
{
    const std::string stat = read_text("/proc/" + std::to_string(pid) + "/stat");
    const auto paren = stat.rfind(')');
    return paren == std::string::npos || paren + 2 >= stat.size() ? '\0' : stat[paren + 2];
}

/// Running means present and not a zombie (orphans are reaped by init, which may take seconds).
bool running(pid_t pid)
{
    const char state = process_state(pid);
    return state != '\0' && state != 'Z' && state != 'X';
}

bool group_has_running_member(pid_t pgid)
{
    if (::kill(-pgid, 0) != 0 && errno == ESRCH)
        return false;
    bool found = false;
    for (const auto& entry : fs::directory_iterator("/proc")) {
        const std::string name = entry.path().filename();
        if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos)
            continue;
        const std::string stat = read_text(entry.path() / "stat");
        const auto paren = stat.rfind(')');
        if (paren == std::string::npos)
            continue;
        std::istringstream fields(stat.substr(paren + 1));
        char state = 0;
        long ppid = 0;
        long pgrp = 0;
        if (fields >> state >> ppid >> pgrp && pgrp == pgid && state != 'Z')
            found = true;
    }
    return found;
}

pid_t read_pid(const fs::path& file)
{
    EXPECT_TRUE(wait_until([&] { return read_text(file).find('\n') != std::string::npos; }))
        << file;
    return static_cast<pid_t>(std::atol(read_text(file).c_str()));
}

/// A socket listening on 127.0.0.1: readiness without a real service.
class Listener {
public:
    Listener()
    {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof addr;
        if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 || ::listen(fd_, 64) != 0 ||
            ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
            throw std::runtime_error("cannot listen on 127.0.0.1");
        port_ = ntohs(addr.sin_port);
    }
    ~Listener() { ::close(fd_); }
    Listener(const Listener&) = delete;
    Listener& operator=(const Listener&) = delete;
    unsigned short port() const { return port_; }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

private:
    int fd_ = -1;
    unsigned short port_ = 0;
};

class TempDir {
public:
    TempDir()
    {
        std::string pattern = (fs::temp_directory_path() / "sut-test-XXXXXX").string();
        if (::mkdtemp(pattern.data()) == nullptr)
            throw std::runtime_error("mkdtemp failed");
        path_ = pattern;
    }
    ~TempDir() { fs::remove_all(path_); }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    fs::path operator/(const std::string& name) const { return path_ / name; }
    const fs::path& path() const { return path_; }

private:
    fs::path path_;
};

/// Sets an environment variable for one test and restores it after.
class ScopedEnv {
public:
    ScopedEnv(const char* name, const std::string& value) : name_(name)
    {
        if (const char* old = std::getenv(name))
            old_ = old;
        ::setenv(name, value.c_str(), 1);
    }
    ~ScopedEnv()
    {
        if (old_)
            ::setenv(name_, old_->c_str(), 1);
        else
            ::unsetenv(name_);
    }
    ScopedEnv(const ScopedEnv&) = delete;
    ScopedEnv& operator=(const ScopedEnv&) = delete;

private:
    const char* name_;
    std::optional<std::string> old_;
};

ServiceSpec serve_spec(unsigned short port, const std::string& prefix = "")
{
    ServiceSpec spec;
    spec.command =
        prefix + "exec '" + kSesamEmu + "' serve --port " + std::to_string(port) + " --quiet";
    spec.url = "http://127.0.0.1:" + std::to_string(port);
    spec.ready_timeout = milliseconds(5000);
    return spec;
}

ServiceSpec command_spec(const std::string& command, const std::string& url)
{
    ServiceSpec spec;
    spec.command = command;
    spec.url = url;
    spec.ready_timeout = milliseconds(3000);
    return spec;
}

std::string start_error(const ServiceSpec& spec, const std::atomic<bool>* interrupted = nullptr)
{
    try {
        ServiceUnderTest::start(spec, interrupted);
    } catch (const ServiceStartError& e) {
        return e.what();
    }
    return "(no ServiceStartError)";
}

TEST(ServiceUnderTest, CommandBecomesReadyOnTcpConnect)
{
    const unsigned short port = free_port();
    auto service = ServiceUnderTest::start(serve_spec(port));
    const std::string first_line = "http://127.0.0.1:" + std::to_string(port);
    EXPECT_TRUE(wait_until([&] {
        return service->output_tail().find(first_line) != std::string::npos;
    })) << service->output_tail();
    EXPECT_FALSE(service->has_exited());
    EXPECT_EQ(service->exit_description(), "still running");

    service->stop();
    EXPECT_TRUE(service->has_exited());
    // The reference service stops cleanly on SIGTERM.
    EXPECT_EQ(service->exit_description(), "exited with status 0");
}

TEST(ServiceUnderTest, ReadyPathAnswering2xxIsReadyAndOtherStatusesAreNot)
{
    const unsigned short port = free_port();
    ServiceSpec spec = serve_spec(port);
    spec.ready_path = "/";
    auto service = ServiceUnderTest::start(spec);
    EXPECT_FALSE(service->has_exited());
    service.reset();

    spec.ready_path = "/no-such-route";
    spec.ready_timeout = milliseconds(2000); // a sanitizer build starts slowly
    const std::string error = start_error(spec);
    EXPECT_NE(error.find("the service at 127.0.0.1:" + std::to_string(port) +
                         " was not ready within 2 s (GET /no-such-route answered 404)"),
              std::string::npos)
        << error;
}

TEST(ServiceUnderTest, EnvironmentIsTheParentsPlusTheSpecsEntries)
{
    const ScopedEnv inherited("SUT_TEST_INHERITED", "from-parent");
    const ScopedEnv overridden("SUT_TEST_OVERRIDDEN", "old");
    const unsigned short port = free_port();
    ServiceSpec spec = serve_spec(port,
                                  "echo \"foo=$SUT_TEST_FOO inherited=$SUT_TEST_INHERITED "
                                  "overridden=$SUT_TEST_OVERRIDDEN\"; ");
    spec.env = {{"SUT_TEST_FOO", "bar baz"}, {"SUT_TEST_OVERRIDDEN", "new"}};
    auto service = ServiceUnderTest::start(spec);
    EXPECT_TRUE(wait_until([&] {
        return service->output_tail().find("foo=bar baz inherited=from-parent overridden=new\n") !=
               std::string::npos;
    })) << service->output_tail();
}

TEST(ServiceUnderTest, NeverReadyTimesOutWithTheOutputTailAndLeavesNothingRunning)
{
    TempDir dir;
    const unsigned short port = free_port();
    ServiceSpec spec =
        command_spec("echo $$ > '" + (dir / "pid").string() + "'; echo starting up; exec sleep 30",
                     "http://127.0.0.1:" + std::to_string(port));
    spec.ready_timeout = milliseconds(500);
    const auto started = Clock::now();
    const std::string error = start_error(spec);
    const long took = elapsed_ms(started);
    EXPECT_EQ(error,
              "the service at 127.0.0.1:" + std::to_string(port) +
                  " was not ready within 500 ms (TCP connect: Connection refused); its last "
                  "output:\nstarting up");
    EXPECT_GE(took, 450);
    EXPECT_LT(took, 1500);
    EXPECT_FALSE(running(read_pid(dir / "pid")));
}

TEST(ServiceUnderTest, MissingCommandFailsFastWithStatus127AndTheShellsMessage)
{
    ServiceSpec spec = command_spec("sesam_emu_no_such_command_4711 --flag",
                                    "http://127.0.0.1:" + std::to_string(free_port()));
    spec.ready_timeout = milliseconds(10000);
    const auto started = Clock::now();
    const std::string error = start_error(spec);
    EXPECT_LT(elapsed_ms(started), 2000);
    EXPECT_EQ(error.rfind("the service exited with status 127 before it was ready", 0), 0) << error;
    EXPECT_NE(error.find("sesam_emu_no_such_command_4711: not found"), std::string::npos) << error;
}

TEST(ServiceUnderTest, ExitAfterReadinessIsSeenWithItsStatus)
{
    const Listener listener;
    auto service = ServiceUnderTest::start(command_spec("sleep 0.3; exit 3", listener.url()));
    EXPECT_FALSE(service->has_exited());
    EXPECT_TRUE(wait_until([&] { return service->has_exited(); }));
    EXPECT_EQ(service->exit_description(), "exited with status 3");
}

TEST(ServiceUnderTest, CrashAfterReadinessIsSeenWithItsSignal)
{
    TempDir dir;
    const unsigned short port = free_port();
    auto service =
        ServiceUnderTest::start(serve_spec(port, "echo $$ > '" + (dir / "pid").string() + "'; "));
    // SIGKILL, not SIGSEGV: a sanitizer build catches SIGSEGV and exits with status 1.
    ASSERT_EQ(::kill(read_pid(dir / "pid"), SIGKILL), 0);
    EXPECT_TRUE(wait_until([&] { return service->has_exited(); }));
    EXPECT_EQ(service->exit_description(), "killed by signal 9 (SIGKILL)");
    service->stop();
    EXPECT_EQ(service->exit_description(), "killed by signal 9 (SIGKILL)");
}

TEST(ServiceUnderTest, StopKillsAGroupThatIgnoresSigtermAfterTheGrace)
{
    TempDir dir;
    const Listener listener;
    // The shell and its background child both ignore SIGTERM (an ignored signal is inherited).
    ServiceSpec spec = command_spec("trap '' TERM; echo $$ > '" + (dir / "pgid").string() +
                                        "'; sleep 30 & echo $! > '" + (dir / "child").string() +
                                        "'; while :; do sleep 0.05; done",
                                    listener.url());
    spec.stop_grace = milliseconds(300);
    auto service = ServiceUnderTest::start(spec);
    const pid_t pgid = read_pid(dir / "pgid");
    const pid_t child = read_pid(dir / "child");
    ASSERT_TRUE(running(child));
    EXPECT_EQ(::getpgid(child), pgid);

    const auto started = Clock::now();
    service->stop();
    const long took = elapsed_ms(started);
    EXPECT_GE(took, 280);
    EXPECT_LT(took, 1500);
    EXPECT_EQ(service->exit_description(), "killed by signal 9 (SIGKILL)");
    EXPECT_FALSE(running(pgid));
    EXPECT_FALSE(running(child));
    EXPECT_FALSE(group_has_running_member(pgid));
}

TEST(ServiceUnderTest, StopIsIdempotentAndTheDestructorStops)
{
    TempDir dir;
    const Listener listener;
    const std::string command = "echo $$ > '" + (dir / "pid").string() + "'; exec sleep 30";
    auto service = ServiceUnderTest::start(command_spec(command, listener.url()));
    const pid_t pid = read_pid(dir / "pid");
    service->stop();
    const auto again = Clock::now();
    service->stop();
    EXPECT_LT(elapsed_ms(again), 50);
    EXPECT_TRUE(service->has_exited());
    EXPECT_EQ(service->exit_description(), "killed by signal 15 (SIGTERM)");
    EXPECT_FALSE(running(pid));

    fs::remove(dir / "pid");
    service = ServiceUnderTest::start(command_spec(command, listener.url()));
    const pid_t second = read_pid(dir / "pid");
    ASSERT_TRUE(running(second));
    service.reset();
    EXPECT_FALSE(running(second));
}

TEST(ServiceUnderTest, InterruptedFlagEndsTheReadinessWait)
{
    ServiceSpec spec =
        command_spec("exec sleep 30", "http://127.0.0.1:" + std::to_string(free_port()));
    spec.ready_timeout = milliseconds(10000);
    std::atomic<bool> interrupted{false};
    std::thread signal_handler([&] {
        std::this_thread::sleep_for(milliseconds(150));
        interrupted = true;
    });
    const auto started = Clock::now();
    const std::string error = start_error(spec, &interrupted);
    signal_handler.join();
    EXPECT_EQ(error, "interrupted while waiting for the service to be ready");
    EXPECT_LT(elapsed_ms(started), 1000);
}

TEST(ServiceUnderTest, ChattyOutputIsBoundedAndNeverBlocksTheService)
{
    const Listener listener;
    // ~2 MB of output, far more than a pipe buffer, then one over-long line.
    auto service = ServiceUnderTest::start(
        command_spec("seq 1 300000; head -c 10000 /dev/zero | tr '\\0' x; echo; echo done; "
                     "exec sleep 30",
                     listener.url()));
    ASSERT_TRUE(wait_until([&] { return service->output_tail(1) == "done\n"; }))
        << service->output_tail(3);
    const std::string tail = service->output_tail(1000);
    EXPECT_EQ(std::count(tail.begin(), tail.end(), '\n'), 200);
    EXPECT_EQ(tail.rfind("299803\n", 0), 0) << tail.substr(0, 100);
    EXPECT_NE(tail.find("\n" + std::string(4096, 'x') + " [line truncated]\ndone\n"),
              std::string::npos);
    EXPECT_EQ(service->output_tail(2).substr(0, 4096), std::string(4096, 'x'));
}

TEST(ServiceUnderTest, UnusableSpecsAreRejected)
{
    ServiceSpec neither;
    neither.url = "http://127.0.0.1:1";
    EXPECT_THROW(ServiceUnderTest::start(neither), std::invalid_argument);
    ServiceSpec both = neither;
    both.command = "true";
    both.image = "x";
    EXPECT_THROW(ServiceUnderTest::start(both), std::invalid_argument);
    EXPECT_THROW(ServiceUnderTest::start(command_spec("true", "not a url")), std::invalid_argument);
    ServiceSpec https = command_spec("true", "https://127.0.0.1:1");
    https.ready_path = "/health";
    EXPECT_THROW(ServiceUnderTest::start(https), std::invalid_argument);
}

/// A `docker` executable that logs its arguments (one per line, `--` after each call).
class DockerStub {
public:
    DockerStub() : path_("PATH", dir_.path().string() + ":" + std::getenv("PATH"))
    {
        const std::string log = (dir_ / "calls").string();
        write_text(
            dir_ / "docker",
            "#!/bin/sh\n"
            // One write per call: the `logs --follow` child runs beside `inspect` and `rm`, and
            // line-by-line appends from two calls would interleave.
            "s=''; for a in \"$@\"; do s=\"$s$a\n\"; done\n"
            "printf \"%s--\\n\" \"$s\" >> '" +
                log +
                "'\n"
                "case \"$1\" in\n"
                "run) case \"$*\" in *bad-image*)\n"
                "  echo \"Unable to find image 'bad-image:latest' locally\" >&2; exit 125;;\n"
                "  esac; echo 4f2a9c0e1b7d ;;\n"
                "logs) echo 'stub out line'; echo 'stub err line' >&2 ;;\n"
                "inspect) if [ -e '" +
                (dir_ / "exited").string() +
                "' ]; then echo false; else echo true; fi ;;\n"
                "rm) echo \"$3\" ;;\n"
                "esac\n");
        fs::permissions(dir_ / "docker", fs::perms::owner_all);
    }

    /// Each call's arguments.
    std::vector<std::vector<std::string>> calls() const
    {
        std::vector<std::vector<std::string>> result(1);
        std::istringstream in(read_text(dir_ / "calls"));
        for (std::string line; std::getline(in, line);) {
            if (line == "--")
                result.emplace_back();
            else
                result.back().push_back(line);
        }
        result.pop_back();
        return result;
    }

    void container_exits() const { write_text(dir_ / "exited", ""); }

private:
    TempDir dir_;
    ScopedEnv path_;
};

using Args = std::vector<std::string>;

ServiceSpec image_spec(const Listener& listener, const std::string& image)
{
    ServiceSpec spec;
    spec.image = image;
    spec.container_port = 8080;
    spec.env = {{"NAME", "value with spaces"}, {"EMPTY", ""}};
    spec.docker_args = {"--memory", "256m", "--network=bridge"};
    spec.url = listener.url() + "/api";
    spec.ready_timeout = milliseconds(3000);
    return spec;
}

TEST(ServiceUnderTestDocker, RunsTheImageFollowsItsLogsAndRemovesIt)
{
    const DockerStub docker;
    const Listener listener;
    auto service = ServiceUnderTest::start(image_spec(listener, "example/service:1.2"));
    const auto calls = docker.calls();
    ASSERT_GE(calls.size(), 1U);
    EXPECT_EQ(calls[0],
              (Args{"run",
                    "-d",
                    "--rm",
                    "-p",
                    "127.0.0.1:" + std::to_string(listener.port()) + ":8080",
                    "-e",
                    "NAME=value with spaces",
                    "-e",
                    "EMPTY=",
                    "--memory",
                    "256m",
                    "--network=bridge",
                    "example/service:1.2"}));
    EXPECT_TRUE(wait_until([&] {
        return service->output_tail() == "stub out line\nstub err line\n";
    })) << service->output_tail();
    EXPECT_FALSE(service->has_exited());
    EXPECT_EQ(service->exit_description(), "still running");

    service->stop();
    service->stop();
    const auto after = docker.calls();
    // Its logs are followed (a child of its own, so its place among the calls may vary).
    EXPECT_NE(std::find(after.begin(), after.end(), Args{"logs", "--follow", "4f2a9c0e1b7d"}),
              after.end());
    EXPECT_EQ(after.back(), (Args{"rm", "-f", "4f2a9c0e1b7d"}));
    EXPECT_EQ(std::count(after.begin(), after.end(), Args{"rm", "-f", "4f2a9c0e1b7d"}), 1);
    EXPECT_EQ(service->output_tail(), "stub out line\nstub err line\n");
}

TEST(ServiceUnderTestDocker, ContainerPortDefaultsToTheUrlPort)
{
    const DockerStub docker;
    const Listener listener;
    ServiceSpec spec = image_spec(listener, "img");
    spec.container_port.reset();
    spec.env.clear();
    spec.docker_args.clear();
    ServiceUnderTest::start(spec)->stop();
    const std::string port = std::to_string(listener.port());
    EXPECT_EQ(docker.calls().at(0),
              (Args{"run", "-d", "--rm", "-p", "127.0.0.1:" + port + ":" + port, "img"}));
}

TEST(ServiceUnderTestDocker, AUrlHostThatIsNotLoopbackPublishesOnEveryInterface)
{
    // A Docker-in-Docker CI job reaches the container at the "docker" service's host: a URL
    // naming a host that is not loopback publishes the port on 0.0.0.0 (192.0.2.1 is a
    // documentation address that nothing answers on; readiness fails, the arguments are seen).
    const DockerStub docker;
    const Listener listener;
    ServiceSpec spec = image_spec(listener, "img");
    spec.container_port.reset();
    spec.env.clear();
    spec.docker_args.clear();
    spec.url = "http://192.0.2.1:5999/entities";
    spec.ready_timeout = milliseconds(200);
    EXPECT_FALSE(start_error(spec).empty());
    EXPECT_EQ(docker.calls().at(0), (Args{"run", "-d", "--rm", "-p", "0.0.0.0:5999:5999", "img"}));
}

TEST(ServiceUnderTestDocker, ExitedContainerIsSeenThroughInspect)
{
    const DockerStub docker;
    const Listener listener;
    auto service = ServiceUnderTest::start(image_spec(listener, "img"));
    docker.container_exits();
    EXPECT_TRUE(wait_until([&] { return service->has_exited(); }));
    EXPECT_EQ(service->exit_description(), "the container 4f2a9c0e1b7d exited");
    const auto calls = docker.calls();
    EXPECT_NE(std::find(calls.begin(),
                        calls.end(),
                        Args{"inspect", "-f", "{{.State.Running}}", "4f2a9c0e1b7d"}),
              calls.end());
}

TEST(ServiceUnderTestDocker, FailedRunReportsDockersError)
{
    const DockerStub docker;
    const Listener listener;
    const std::string error = start_error(image_spec(listener, "bad-image"));
    EXPECT_EQ(error,
              "docker run exited with status 125: Unable to find image 'bad-image:latest' "
              "locally");
    EXPECT_EQ(docker.calls().size(), 1U); // nothing to remove
}

TEST(ServiceUnderTestDocker, MissingDockerIsAStartError)
{
    const TempDir empty;
    const ScopedEnv path("PATH", empty.path().string());
    const Listener listener;
    EXPECT_EQ(start_error(image_spec(listener, "img")), "docker not found on PATH");
}

TEST(ReadEnvFile, ParsesAssignmentsCommentsExportAndQuotes)
{
    TempDir dir;
    write_text(dir / "env",
               "# a comment\n"
               "\n"
               "PLAIN=value\n"
               "  export EXPORTED=1\n"
               "WITH_EQUALS=a=b=c\n"
               "DOUBLE=\"quoted value\"\n"
               "SINGLE='it''s'\n"
               "MISMATCHED=\"half'\n"
               "EMPTY=\n"
               "CRLF=x\r\n"
               "   # indented comment\n"
               "SPACES=  kept  \n");
    using Env = std::vector<std::pair<std::string, std::string>>;
    EXPECT_EQ(read_env_file((dir / "env").string()),
              (Env{{"PLAIN", "value"},
                   {"EXPORTED", "1"},
                   {"WITH_EQUALS", "a=b=c"},
                   {"DOUBLE", "quoted value"},
                   {"SINGLE", "it''s"},
                   {"MISMATCHED", "\"half'"},
                   {"EMPTY", ""},
                   {"CRLF", "x"},
                   {"SPACES", "  kept  "}}));
}

TEST(ReadEnvFile, RejectsLinesWithoutKeyAndValueNamingFileAndLine)
{
    TempDir dir;
    const std::string file = (dir / "env").string();
    for (const std::string bad : {"NOEQUALS", "=value", "TWO WORDS=x"}) {
        write_text(file, "# comment\nOK=1\n" + bad + "\n");
        try {
            read_env_file(file);
            ADD_FAILURE() << "accepted: " << bad;
        } catch (const std::invalid_argument& e) {
            EXPECT_EQ(std::string(e.what()), file + ":3: expected KEY=VALUE");
        }
    }
    EXPECT_THROW(read_env_file((dir / "missing").string()), std::invalid_argument);
}

} // namespace
} // namespace sesam::harness
