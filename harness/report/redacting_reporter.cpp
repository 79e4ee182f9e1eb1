#include "harness/fixture/redactor.hpp"
#include "harness/report/reporter.hpp"

namespace sesam::harness {

namespace {

/// Masks every secret in what it forwards: one rule for every report (console, JUnit, JSON).
class RedactingReporter final : public Reporter {
public:
    RedactingReporter(std::unique_ptr<Reporter> inner, Redactor redactor)
        : inner_(std::move(inner)), redactor_(std::move(redactor))
    {
    }

    void begin(const RunInfo& run) override
    {
        auto shown = run;
        shown.service_url = redactor_.redact(run.service_url);
        inner_->begin(shown);
    }
    void check_started(const CheckInfo& check) override { inner_->check_started(check); }
    void check_finished(const CheckResult& result) override
    {
        auto shown = result;
        shown.message = redactor_.redact(result.message);
        for (auto& e : shown.evidence) {
            for (auto* field :
                 {&e.request, &e.entity_id, &e.field, &e.expected, &e.actual, &e.curl})
                *field = redactor_.redact(*field);
        }
        inner_->check_finished(shown);
    }
    void end(const RunSummary& summary) override
    {
        auto shown = summary;
        shown.service_output_tail = redactor_.redact(summary.service_output_tail);
        inner_->end(shown);
    }

private:
    std::unique_ptr<Reporter> inner_;
    Redactor redactor_;
};

} // namespace

std::unique_ptr<Reporter> make_redacting_reporter(std::unique_ptr<Reporter> inner,
                                                  Redactor redactor)
{
    return std::make_unique<RedactingReporter>(std::move(inner), std::move(redactor));
}

} // namespace sesam::harness
