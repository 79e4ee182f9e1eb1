#include "harness/report/report_file.hpp"
#include "harness/report/reporter.hpp"

#include <nlohmann/json.hpp>

#include <cerrno>
#include <stdexcept>
#include <system_error>
#include <utility>

namespace sesam::harness {
namespace {

// Ordered, so that every check object reads id first in the file.
using Json = nlohmann::ordered_json;

/// Evidence holds whatever the service sent: invalid UTF-8 becomes U+FFFD instead of making
/// nlohmann throw halfway through a report.
std::string dump(const Json& json)
{
    return json.dump(-1, ' ', false, Json::error_handler_t::replace);
}

Json to_json(const CheckResult& r, bool with_role)
{
    Json evidence = Json::array();
    for (const Evidence& e : r.evidence) {
        evidence.push_back({{"request", e.request},
                            {"entity_id", e.entity_id},
                            {"field", e.field},
                            {"expected", e.expected},
                            {"actual", e.actual},
                            {"curl", e.curl}});
    }
    Json out = {{"id", r.info.id}};
    if (with_role)
        out["role"] = to_string(r.info.role);
    out["severity"] = to_string(r.severity);
    out["title"] = r.info.title;
    out["spec"] = r.info.spec;
    out["verdict"] = to_string(r.verdict);
    out["message"] = r.message;
    out["baselined"] = r.baselined;
    out["seconds"] = r.seconds;
    out["evidence"] = std::move(evidence);
    return out;
}

struct FileCloser {
    void operator()(std::FILE* file) const { std::fclose(file); }
};

class JsonReporter final : public Reporter {
public:
    explicit JsonReporter(std::string path) : path_(std::move(path))
    {
        // Streamed: opened by begin() and written through whatever the path is (a FIFO, a
        // device, a symbolic link), never replaced.
        check_report_path(path_, "JSON report");
    }

    void begin(const RunInfo& run) override
    {
        file_.reset(std::fopen(path_.c_str(), "w"));
        if (!file_)
            throw error(errno);
        Json roles = Json::array();
        for (const Role role : run.roles)
            roles.push_back(to_string(role));
        const Json info = {{"suite", run.suite},
                           {"service_url", run.service_url},
                           {"roles", std::move(roles)},
                           {"sesam_emu_version", run.sesam_emu_version}};
        first_ = true;
        error_ = 0;
        with_role_ = run.suite_per_role;
        write("{\"run\": " + dump(info) + ",\n\"checks\": [");
    }

    void check_started(const CheckInfo& /*check*/) override {}

    void check_finished(const CheckResult& result) override
    {
        // One check per line, flushed: a run that hangs or crashes still shows what it did.
        write((first_ ? "\n" : ",\n") + dump(to_json(result, with_role_)));
        first_ = false;
    }

    void end(const RunSummary& summary) override
    {
        if (!file_)
            return;
        Json figures = {{"passed", summary.passed},
                        {"failed", summary.failed},
                        {"warnings", summary.warnings},
                        {"baselined", summary.baselined},
                        {"skipped", summary.skipped},
                        {"seconds", summary.seconds},
                        {"service_output_tail", summary.service_output_tail}};
        if (summary.service_peak_rss_bytes) {
            figures["service_peak_rss_mb"] =
                static_cast<double>(*summary.service_peak_rss_bytes) / (1024.0 * 1024.0);
            figures["service_cpu_s"] = summary.service_cpu_seconds;
        }
        write("\n],\n\"summary\": " + dump(figures) + "}\n");
        if (std::fclose(file_.release()) != 0 && error_ == 0)
            error_ = errno;
        if (error_ != 0)
            throw error(error_);
    }

private:
    ReportWriteError error(int code) const
    {
        return ReportWriteError("cannot write the JSON report " + path_ + ": " +
                                std::generic_category().message(code));
    }

    void write(const std::string& text)
    {
        if (!file_)
            return;
        if ((std::fwrite(text.data(), 1, text.size(), file_.get()) != text.size() ||
             std::fflush(file_.get()) != 0) &&
            error_ == 0) {
            error_ = errno;
        }
    }

    std::string path_;
    std::unique_ptr<std::FILE, FileCloser> file_;
    bool first_ = true;
    bool with_role_ = true;
    int error_ = 0; ///< the first write error, reported by end()
};

} // namespace

std::unique_ptr<Reporter> make_json_reporter(std::string path)
{
    return std::make_unique<JsonReporter>(std::move(path));
}

} // namespace sesam::harness
