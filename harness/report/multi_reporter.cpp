#include "harness/report/reporter.hpp"

#include <exception>
#include <stdexcept>
#include <utility>

namespace sesam::harness {
namespace {

class MultiReporter final : public Reporter {
public:
    explicit MultiReporter(std::vector<std::unique_ptr<Reporter>> reporters)
        : reporters_(std::move(reporters))
    {
    }

    void begin(const RunInfo& run) override
    {
        for (auto& reporter : reporters_)
            reporter->begin(run);
    }

    void check_started(const CheckInfo& check) override
    {
        for (auto& reporter : reporters_)
            reporter->check_started(check);
    }

    void check_finished(const CheckResult& result) override
    {
        for (auto& reporter : reporters_)
            reporter->check_finished(result);
    }

    void end(const RunSummary& summary) override
    {
        // A report file that cannot be written must not cost the user the other reports (the
        // console summary above all), so every end() runs before the first error is rethrown.
        std::exception_ptr first_error;
        for (auto& reporter : reporters_) {
            try {
                reporter->end(summary);
            } catch (...) {
                if (!first_error)
                    first_error = std::current_exception();
            }
        }
        if (first_error)
            std::rethrow_exception(first_error);
    }

private:
    std::vector<std::unique_ptr<Reporter>> reporters_;
};

} // namespace

std::unique_ptr<Reporter> make_multi_reporter(std::vector<std::unique_ptr<Reporter>> reporters)
{
    return std::make_unique<MultiReporter>(std::move(reporters));
}

std::unique_ptr<Reporter> make_file_reporter(const std::string& spec)
{
    const auto colon = spec.find(':');
    const auto kind = spec.substr(0, colon);
    const auto path = colon == std::string::npos ? std::string() : spec.substr(colon + 1);
    if (path.empty() || (kind != "junit" && kind != "json" && kind != "html"))
        throw std::invalid_argument("--report '" + spec +
                                    "' is not junit:PATH, json:PATH or html:PATH");
    if (kind == "html")
        return make_html_reporter(path);
    return kind == "junit" ? make_junit_reporter(path) : make_json_reporter(path);
}

} // namespace sesam::harness
