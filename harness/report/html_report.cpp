#include "harness/report/html_report.hpp"

#include "harness/report/buffered_file_reporter.hpp"
#include "harness/report/report_file.hpp"
#include "harness/report/reporter.hpp"
#include "harness/report/utf8.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sesam::harness {
namespace {

/// The page's only script: copy buttons and the filter. It reads what it copies from the
/// document (textContent), so no text from the service is ever part of a script. The
/// Content-Security-Policy names it by its hash (kScriptHash): change one, change the other
/// (html_report_test.cpp says which hash the script has).
constexpr std::string_view kScript = R"JS(
(function () {
  'use strict';
  document.documentElement.setAttribute('data-script', 'on');
  function copyBySelection(text) {
    var area = document.createElement('textarea');
    area.value = text;
    area.setAttribute('readonly', '');
    area.className = 'offscreen';
    document.body.appendChild(area);
    area.select();
    var copied = false;
    try { copied = document.execCommand('copy'); } catch (e) { copied = false; }
    document.body.removeChild(area);
    return copied;
  }
  function told(button, copied) {
    button.textContent = copied ? 'Copied' : 'Press Ctrl+C';
    if (!copied) {
      var range = document.createRange();
      range.selectNodeContents(document.getElementById(button.getAttribute('data-copy')));
      var selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
    }
    window.setTimeout(function () { button.textContent = 'Copy'; }, 2000);
  }
  document.addEventListener('click', function (event) {
    var button = event.target.closest('button.copy');
    if (button) {
      var source = document.getElementById(button.getAttribute('data-copy'));
      if (!source) return;
      var text = source.textContent;
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(text).then(function () { told(button, true); },
          function () { told(button, copyBySelection(text)); });
      } else {
        told(button, copyBySelection(text));
      }
      return;
    }
    var filter = event.target.closest('button[data-filter]');
    if (filter) {
      document.body.setAttribute('data-filter', filter.getAttribute('data-filter'));
      var all = document.querySelectorAll('button[data-filter]');
      for (var i = 0; i < all.length; ++i)
        all[i].setAttribute('aria-pressed', String(all[i] === filter));
    }
  });
  var filters = document.getElementById('filters');
  if (filters) filters.hidden = false;
})();
)JS";

/// base64 of the SHA-256 of kScript, for the Content-Security-Policy.
constexpr std::string_view kScriptHash = "sha256-yi0DSVqVjGXRsK2MzY++rom87QhqktQgL3ZR5KzYOSA=";

constexpr std::string_view kStyle = R"CSS(
:root { --pass: #1a7f37; --fail: #cf222e; --warn: #9a6700; --skip: #6e7781; --base: #8250df;
        --ink: #1f2328; --muted: #59636e; --line: #d1d9e0; --soft: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: #fff;
       font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", sans-serif; }
main { max-width: 1100px; margin: 0 auto; padding: 24px; }
h1 { font-size: 24px; margin: 0 0 4px; display: flex; gap: 12px; align-items: center;
     flex-wrap: wrap; }
h2 { font-size: 19px; margin: 28px 0 8px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h2 .counts { font-size: 14px; font-weight: normal; color: var(--muted); margin-left: 8px; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "DejaVu Sans Mono",
            monospace; font-size: 13px; }
pre { margin: 0; padding: 2px 6px; white-space: pre-wrap; overflow-wrap: anywhere;
      background: var(--soft); border-radius: 4px; }
.run { margin: 0; color: var(--muted); overflow-wrap: anywhere; }
.verdict { font-size: 14px; font-weight: 700; padding: 2px 12px; border-radius: 999px;
           color: #fff; background: var(--skip); }
.verdict.passed { background: var(--pass); }
.verdict.failed { background: var(--fail); }
.figures { display: flex; flex-wrap: wrap; gap: 12px; margin: 16px 0; padding: 0; }
.figure { min-width: 120px; padding: 10px 16px; list-style: none; border: 1px solid var(--line);
          border-radius: 8px; background: var(--soft); }
.figure b { display: block; font-size: 26px; line-height: 1.2; }
.figure.failed b { color: var(--fail); }
.figure.warnings b { color: var(--warn); }
.figure.passed b { color: var(--pass); }
.figure.baselined b { color: var(--base); }
.note { color: var(--muted); margin: 4px 0; }
.findings a { font-family: ui-monospace, monospace; font-size: 13px; }
.check { margin: 8px 0; padding: 8px 12px; border: 1px solid var(--line);
         border-left: 4px solid var(--skip); border-radius: 6px; }
.check.passed { border-left-color: var(--pass); }
.check.failed { border-left-color: var(--fail); }
.check.warning { border-left-color: var(--warn); }
.check.baselined { border-left-color: var(--base); }
.head { display: flex; gap: 10px; align-items: baseline; flex-wrap: wrap; }
.head .id { font-weight: 600; overflow-wrap: anywhere; }
.head .time { margin-left: auto; font-size: 13px; color: var(--muted); }
.badge { font: 700 12px/1.6 ui-monospace, monospace; padding: 0 6px; border-radius: 4px;
         color: #fff; background: var(--skip); white-space: nowrap; }
.badge.passed { background: var(--pass); }
.badge.failed { background: var(--fail); }
.badge.warning { background: var(--warn); }
.badge.baselined { background: var(--base); }
.message { margin: 6px 0 0; overflow-wrap: anywhere; }
.spec { margin: 2px 0 0; font-size: 13px; color: var(--muted); }
.evidence { margin-top: 8px; padding-top: 6px; border-top: 1px dashed var(--line); }
.evidence h3 { margin: 0 0 4px; font-size: 13px; color: var(--muted); }
.evidence dl { display: grid; grid-template-columns: max-content minmax(0, 1fr); gap: 3px 12px;
               margin: 0; }
.evidence dt { font-size: 13px; color: var(--muted); }
.evidence dd { margin: 0; min-width: 0; }
.curl { display: flex; gap: 8px; align-items: flex-start; }
.curl pre { flex: 1; min-width: 0; }
button { font: inherit; font-size: 13px; padding: 2px 10px; border: 1px solid var(--line);
         border-radius: 6px; background: #fff; color: var(--ink); cursor: pointer; }
button:hover { background: var(--soft); }
button[aria-pressed="true"] { background: var(--ink); color: #fff; }
.offscreen { position: fixed; top: 0; left: -9999px; opacity: 0; }
#filters { margin: 12px 0; display: flex; gap: 8px; }
body[data-filter="problems"] .check.passed,
body[data-filter="problems"] .check.skipped { display: none; }
table { border-collapse: collapse; margin: 8px 0; }
th, td { padding: 4px 14px; border-bottom: 1px solid var(--line); text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { font-weight: 600; color: var(--muted); }
.histogram svg { display: block; width: 100%; max-width: 960px; height: auto; }
.histogram .bar { fill: #0969da; }
.histogram .bar:hover { fill: #033d8b; }
.histogram .axis { stroke: #59636e; stroke-width: 1; }
.histogram .grid { stroke: #d1d9e0; stroke-width: 1; }
.histogram .mark { stroke-width: 1.5; stroke-dasharray: 5 3; }
.histogram text { font: 12px system-ui, sans-serif; }
.histogram text.label { font-weight: 600; }
footer { margin-top: 32px; font-size: 13px; color: var(--muted); }
@media print { button, #filters { display: none; } }
)CSS";

void append_escaped(std::string& out, std::string_view text)
{
    for (std::size_t i = 0; i < text.size();) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c >= 0x80) {
            const auto [code, length] = decode_utf8(text.substr(i));
            if (length == 0 || (code & 0xfffe) == 0xfffe || (code >= 0xfdd0 && code <= 0xfdef))
                out += replacement_character;
            else if (code < 0xa0)
                out += fmt::format("\\u{:04x}", static_cast<unsigned>(code)); // C1 controls
            else
                out += text.substr(i, length);
            i += std::max<std::size_t>(length, 1);
            continue;
        }
        ++i;
        switch (c) {
        case '&':
            out += "&amp;";
            break;
        case '<':
            out += "&lt;";
            break;
        case '>':
            out += "&gt;";
            break;
        case '"':
            out += "&quot;";
            break;
        case '\'':
            out += "&#39;";
            break;
        case '\r':
            out += "&#13;"; // kept (a copied curl command stays the same); a parser drops a raw one
            break;
        case '\n':
        case '\t':
            out += static_cast<char>(c);
            break;
        default:
            if (c < 0x20 || c == 0x7f)
                out += fmt::format("\\u{:04x}", c);
            else
                out += static_cast<char>(c);
        }
    }
}

std::string esc(std::string_view text)
{
    return html_escape(text);
}

/// The document around `body`: everything a page needs, and nothing from elsewhere.
std::string page(std::string_view title, std::string_view body)
{
    std::string out;
    out.reserve(body.size() + kStyle.size() + kScript.size() + 1024);
    out += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
    // Nothing may be fetched, whatever the page holds: no image, font, frame, connection or
    // form target; the one script runs because its hash is named.
    out += fmt::format("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src "
                       "'none'; style-src 'unsafe-inline'; script-src '{}'; img-src data:; "
                       "form-action 'none'; base-uri 'none'\">\n",
                       kScriptHash);
    out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
    out += "<meta name=\"generator\" content=\"sesam-emu\">\n";
    out += "<title>";
    out += title;
    out += "</title>\n<style>";
    out += kStyle;
    out += "</style>\n</head>\n<body>\n<main>\n";
    out += body;
    out += "</main>\n<script>";
    out += kScript;
    out += "</script>\n</body>\n</html>\n";
    return out;
}

std::string plural(std::size_t n, std::string_view one, std::string_view many)
{
    return fmt::format("{} {}", n, n == 1 ? one : many);
}

// ----- checks --------------------------------------------------------------------------------

/// The class and word of an outcome, the words being the console's.
struct Status {
    std::string_view css; ///< passed, failed, warning, baselined, skipped
    std::string word;     ///< PASS, FAIL, WARN, SKIP, FAIL (baseline), WARN (baseline)
};

Status status_of(const CheckResult& r)
{
    switch (r.verdict) {
    case Verdict::passed:
        return {"passed", "PASS"};
    case Verdict::skipped:
        return {"skipped", "SKIP"};
    case Verdict::failed:
        break;
    }
    const std::string word = r.severity == Severity::warning ? "WARN" : "FAIL";
    if (r.baselined)
        return {"baselined", word + " (baseline)"};
    return {r.severity == Severity::warning ? "warning" : "failed", word};
}

std::string_view page_heading(const RunInfo& run)
{
    if (run.suite == "sesam-emu")
        return "Conformance checks";
    if (run.suite == "sesam-emu.replay")
        return "Replay against a service";
    if (run.suite == "sesam-emu.test")
        return "Node configuration tests";
    return {};
}

std::string evidence_html(const CheckResult& r, std::size_t check, std::size_t index)
{
    const Evidence& e = r.evidence[index];
    std::string out = "<div class=\"evidence\">";
    if (r.evidence.size() > 1)
        out += fmt::format("<h3>evidence {} of {}</h3>", index + 1, r.evidence.size());
    out += "<dl>";
    for (const auto& line : evidence_lines(e)) {
        out += fmt::format("<dt>{}</dt><dd>", esc(line.label));
        if (line.label == "curl") {
            const auto id = fmt::format("c{}-curl{}", check, index + 1);
            out += fmt::format("<div class=\"curl\"><pre id=\"{}\">{}</pre><button type=\"button\" "
                               "class=\"copy\" data-copy=\"{}\" title=\"Copy the command\">"
                               "Copy</button></div>",
                               id,
                               esc(line.value),
                               id);
        } else {
            out += fmt::format("<pre>{}</pre>", esc(line.value));
        }
        out += "</dd>";
    }
    return out + "</dl></div>\n";
}

std::string check_html(const CheckResult& r, std::size_t index)
{
    const Status status = status_of(r);
    std::string out =
        fmt::format("<article class=\"check {}\" id=\"c{}\">\n<div class=\"head\"><span "
                    "class=\"badge {}\">{}</span><code class=\"id\">{}</code><span "
                    "class=\"title\">{}</span><span class=\"time\">{:.3f} s</span></div>\n",
                    status.css,
                    index,
                    status.css,
                    esc(status.word),
                    esc(r.info.id),
                    esc(r.info.title),
                    r.seconds);
    if (!r.message.empty()) {
        const bool skipped = r.verdict == Verdict::skipped;
        out += fmt::format(
            "<p class=\"message\">{}{}</p>\n", skipped ? "skipped: " : "", esc(r.message));
    }
    if (r.verdict == Verdict::failed && !r.fails_run()) {
        out += fmt::format("<p class=\"note\">{}</p>\n",
                           r.baselined ? "accepted by the baseline: does not fail the run"
                                       : "a warning: does not fail the run");
    }
    if (!r.info.spec.empty() || r.verdict == Verdict::failed) {
        std::string spec = esc(r.info.spec);
        if (r.verdict == Verdict::failed)
            spec += spec.empty() ? to_string(r.severity)
                                 : std::string(" · severity ") + to_string(r.severity);
        out += fmt::format("<p class=\"spec\">{}</p>\n", spec);
    }
    for (std::size_t i = 0; i < r.evidence.size(); ++i)
        out += evidence_html(r, index, i);
    return out + "</article>\n";
}

std::string counts_text(const std::vector<const CheckResult*>& results)
{
    std::size_t passed = 0, failed = 0, warnings = 0, baselined = 0, skipped = 0;
    for (const CheckResult* r : results) {
        const auto css = status_of(*r).css;
        passed += css == "passed" ? 1 : 0;
        failed += css == "failed" ? 1 : 0;
        warnings += css == "warning" ? 1 : 0;
        baselined += css == "baselined" ? 1 : 0;
        skipped += css == "skipped" ? 1 : 0;
    }
    std::string text = fmt::format("{} passed · {} failed", passed, failed);
    if (warnings)
        text += fmt::format(" · {}", plural(warnings, "warning", "warnings"));
    if (baselined)
        text += fmt::format(" · {} baselined", baselined);
    if (skipped)
        text += fmt::format(" · {} skipped", skipped);
    return text;
}

std::string
checks_page(const RunInfo& run, const std::vector<CheckResult>& results, const RunSummary& summary)
{
    const bool failed = summary.failed > 0;
    std::string heading(page_heading(run));
    if (heading.empty())
        heading = esc(run.suite);
    std::string body = fmt::format("<header>\n<h1>{} <span class=\"verdict {}\" "
                                   "id=\"verdict\">{}</span></h1>\n",
                                   heading,
                                   failed ? "failed" : "passed",
                                   failed ? "FAILED" : "PASSED");
    std::string roles;
    for (const Role role : run.roles)
        roles += (roles.empty() ? "" : ", ") + std::string(to_string(role));
    body += fmt::format("<p class=\"run\">{} <code id=\"service\">{}</code>{} · sesam-emu {} · "
                        "{:.2f} s</p>\n</header>\n",
                        run.suite == "sesam-emu.test" ? "configuration" : "service",
                        esc(run.service_url),
                        roles.empty() ? std::string() : " · as " + roles,
                        esc(run.sesam_emu_version),
                        summary.seconds);

    // The summary: the run's figures, and a link to each finding.
    body += "<section id=\"summary\">\n<ul class=\"figures\">\n";
    const std::pair<std::string_view, std::size_t> figures[] = {{"passed", summary.passed},
                                                                {"failed", summary.failed},
                                                                {"warnings", summary.warnings},
                                                                {"baselined", summary.baselined},
                                                                {"skipped", summary.skipped}};
    for (const auto& [name, n] : figures)
        body += fmt::format(
            "<li class=\"figure {}\" id=\"count-{}\"><b>{}</b>{}</li>\n", name, name, n, name);
    body += "</ul>\n";
    if (summary.service_peak_rss_bytes) {
        body +=
            fmt::format("<p class=\"note\" id=\"usage\">service: peak memory {:.1f} MiB, CPU "
                        "{:.2f} s ({})</p>\n",
                        static_cast<double>(*summary.service_peak_rss_bytes) / (1024.0 * 1024.0),
                        summary.service_cpu_seconds,
                        esc(summary.service_usage_source));
    }
    std::string findings;
    for (std::size_t i = 0; i < results.size(); ++i) {
        if (results[i].verdict != Verdict::failed)
            continue;
        findings += fmt::format("<li><span class=\"badge {}\">{}</span> <a href=\"#c{}\">{}</a> "
                                "{}</li>\n",
                                status_of(results[i]).css,
                                esc(status_of(results[i]).word),
                                i,
                                esc(results[i].info.id),
                                esc(results[i].message));
    }
    if (!findings.empty())
        body += "<ul class=\"findings\">\n" + findings + "</ul>\n";
    else if (results.empty())
        body += "<p class=\"note\">Nothing was run.</p>\n";
    body += "</section>\n";

    body += "<nav id=\"filters\" hidden><button type=\"button\" data-filter=\"all\" "
            "aria-pressed=\"true\">All</button><button type=\"button\" data-filter=\"problems\" "
            "aria-pressed=\"false\">Failures and warnings only</button></nav>\n";

    // The checks, by role in the run's order (a role only results name comes after).
    for (const auto& [role, indices] : result_groups(run, results)) {
        std::vector<const CheckResult*> group;
        std::string checks;
        for (const std::size_t i : indices) {
            group.push_back(&results[i]);
            checks += check_html(results[i], i);
        }
        const std::string name = run.suite_per_role ? to_string(role) : "tests";
        body += fmt::format("<section class=\"role\" id=\"role-{}\">\n<h2>{}<span "
                            "class=\"counts\">{}</span></h2>\n{}</section>\n",
                            name,
                            name,
                            counts_text(group),
                            checks);
    }

    if (!summary.service_output_tail.empty()) {
        body += fmt::format("<section id=\"service-output\">\n<h2>Service output (last "
                            "lines)</h2>\n<pre>{}</pre>\n</section>\n",
                            esc(summary.service_output_tail));
    }
    body += fmt::format("<footer>Written by sesam-emu {}. Spec sections refer to "
                        "docs/protocol.md in the sesam-emu sources.</footer>\n",
                        esc(run.sesam_emu_version));

    const std::string title = fmt::format("sesam-emu: {} ({} failed, {} passed) {}",
                                          failed ? "FAILED" : "PASSED",
                                          summary.failed,
                                          summary.passed,
                                          esc(run.service_url));
    return page(title, body);
}

constexpr std::string_view kWhat = "HTML report";

class HtmlReporter final : public BufferedFileReporter {
public:
    explicit HtmlReporter(std::string path) : BufferedFileReporter(std::move(path), kWhat) {}

private:
    std::string render(const RunInfo& run,
                       const std::vector<CheckResult>& results,
                       const RunSummary& summary) const override
    {
        return checks_page(run, results, summary);
    }
};

// ----- load ----------------------------------------------------------------------------------

/// Milliseconds with the precision a reader needs at that size.
std::string ms_text(double micros)
{
    const double value = micros / 1000.0;
    if (value < 1)
        return fmt::format("{:.3f}", value);
    if (value < 10)
        return fmt::format("{:.2f}", value);
    if (value < 100)
        return fmt::format("{:.1f}", value);
    return fmt::format("{:.0f}", value);
}

/// An axis label for a tick at `micros`.
std::string tick_text(double micros)
{
    if (micros >= 1e6)
        return fmt::format("{:g} s", micros / 1e6);
    return fmt::format("{:g} ms", micros / 1000.0);
}

/// The distribution of `h` as an SVG bar chart: a logarithmic latency axis (the histogram's
/// buckets are equal steps of each power of two, so bars of one drawing have equal widths),
/// requests on a linear axis (a bar of any count is at least one pixel high, so the tail shows),
/// and p50, p95, p99 marked.
std::string histogram_svg(const LatencyHistogram& h, std::string_view id, std::string_view what)
{
    if (h.count() == 0)
        return "<p class=\"note\">No request was measured.</p>\n";
    const auto octaves =
        static_cast<unsigned>(std::bit_width(std::max<std::uint64_t>(h.max(), 1)) -
                              std::bit_width(std::max<std::uint64_t>(h.min(), 1)) + 1);
    unsigned steps = 64; // the histogram's own buckets, unless that makes over 64 bars
    while (steps > 1 && octaves * steps > 64)
        steps /= 2;
    const auto buckets = h.buckets(steps);

    constexpr double width = 900, height = 300, left = 64, right = 24, top = 50, bottom = 46;
    constexpr double plot_w = width - left - right, plot_h = height - top - bottom;
    const auto f = [](double micros) { return std::log2(micros + 1.0); };
    const double lo = f(static_cast<double>(buckets.front().lower));
    const double hi = f(static_cast<double>(buckets.back().upper) + 1.0);
    const auto x = [&](double micros) {
        return left + (std::clamp(f(micros), lo, hi) - lo) / (hi - lo) * plot_w;
    };
    std::uint64_t most = 0;
    for (const auto& b : buckets)
        most = std::max(most, b.count);
    const auto y = [&](double count) {
        return top + plot_h - count / static_cast<double>(most) * plot_h;
    };

    std::string svg = fmt::format(
        "<svg id=\"{}\" viewBox=\"0 0 {} {}\" width=\"{}\" height=\"{}\" role=\"img\" "
        "aria-labelledby=\"{}-title\">\n<title id=\"{}-title\">{} histogram: {} requests from "
        "{} to {} ms, p50 {} ms, p99 {} ms</title>\n",
        id,
        width,
        height,
        width,
        height,
        id,
        id,
        what,
        h.count(),
        ms_text(static_cast<double>(h.min())),
        ms_text(static_cast<double>(h.max())),
        ms_text(static_cast<double>(h.percentile(50))),
        ms_text(static_cast<double>(h.percentile(99))));

    // Requests: a grid line and a label at 0, half and the most.
    for (const double count :
         {0.0, most >= 2 ? static_cast<double>(most / 2) : 0.0, static_cast<double>(most)}) {
        svg += fmt::format("<line class=\"grid\" x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" "
                           "y2=\"{:.1f}\" stroke=\"#d1d9e0\"/><text x=\"{:.1f}\" y=\"{:.1f}\" "
                           "text-anchor=\"end\" fill=\"#59636e\">{:.0f}</text>\n",
                           left,
                           y(count),
                           left + plot_w,
                           y(count),
                           left - 6,
                           y(count) + 4,
                           count);
    }
    svg += fmt::format("<text x=\"14\" y=\"{:.1f}\" transform=\"rotate(-90 14 {:.1f})\" "
                       "text-anchor=\"middle\" fill=\"#59636e\">requests</text>\n",
                       top + plot_h / 2,
                       top + plot_h / 2);

    svg += "<g class=\"bars\">\n";
    for (const auto& b : buckets) {
        const double x0 = x(static_cast<double>(b.lower));
        const double x1 = x(static_cast<double>(b.upper) + 1.0);
        const double gap = x1 - x0 > 4 ? 1 : 0;
        const double bar_h = std::max(1.0, top + plot_h - y(static_cast<double>(b.count)));
        svg += fmt::format(
            "<rect class=\"bar\" x=\"{:.2f}\" y=\"{:.2f}\" width=\"{:.2f}\" height=\"{:.2f}\" "
            "fill=\"#0969da\"><title>{}–{} ms: {} ({:.2f} %)</title></rect>\n",
            x0,
            top + plot_h - bar_h,
            std::max(0.5, x1 - x0 - gap),
            bar_h,
            ms_text(static_cast<double>(b.lower)),
            ms_text(static_cast<double>(b.upper)),
            plural(b.count, "request", "requests"),
            100.0 * static_cast<double>(b.count) / static_cast<double>(h.count()));
    }
    svg += "</g>\n";

    // The latency axis: ticks at 1, 2 and 5 times a power of ten within the range (only the
    // powers of ten when those are too many), or the range's ends.
    std::vector<double> ticks;
    for (int only_powers = 0; only_powers < 2 && (ticks.empty() || ticks.size() > 10);
         ++only_powers) {
        ticks.clear();
        for (double decade = 1; decade <= 1e10; decade *= 10)
            for (const double m : {1.0, 2.0, 5.0})
                if ((m == 1.0 || only_powers == 0) && f(m * decade) >= lo && f(m * decade) <= hi)
                    ticks.push_back(m * decade);
    }
    std::vector<std::pair<double, std::string>> labels;
    if (ticks.size() < 2) {
        labels = {{static_cast<double>(buckets.front().lower),
                   ms_text(static_cast<double>(buckets.front().lower)) + " ms"},
                  {static_cast<double>(buckets.back().upper) + 1.0,
                   ms_text(static_cast<double>(buckets.back().upper) + 1.0) + " ms"}};
    } else {
        for (const double t : ticks)
            labels.emplace_back(t, tick_text(t));
    }
    svg += fmt::format("<line class=\"axis\" x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" "
                       "y2=\"{:.1f}\" stroke=\"#59636e\"/>\n",
                       left,
                       top + plot_h,
                       left + plot_w,
                       top + plot_h);
    for (const auto& [at, label] : labels) {
        svg += fmt::format("<line class=\"axis\" x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" "
                           "y2=\"{:.1f}\" stroke=\"#59636e\"/><text x=\"{:.1f}\" y=\"{:.1f}\" "
                           "text-anchor=\"middle\" fill=\"#59636e\">{}</text>\n",
                           x(at),
                           top + plot_h,
                           x(at),
                           top + plot_h + 5,
                           x(at),
                           top + plot_h + 19,
                           label);
    }
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\" "
                       "fill=\"#59636e\">{}, logarithmic scale</text>\n",
                       left + plot_w / 2,
                       height - 6,
                       what);

    // Percentiles: a dashed line each, labelled at staggered heights above the bars.
    const struct {
        double percent;
        const char* colour;
    } marks[] = {{50, "#1a7f37"}, {95, "#9a6700"}, {99, "#cf222e"}};
    double label_y = 14;
    for (const auto& mark : marks) {
        const auto value = static_cast<double>(h.percentile(mark.percent));
        const double at = x(value);
        const bool right_side = at > left + plot_w - 120;
        svg += fmt::format("<line class=\"mark\" x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" "
                           "y2=\"{:.1f}\" stroke=\"{}\"/><text class=\"label\" x=\"{:.1f}\" "
                           "y=\"{:.1f}\" text-anchor=\"{}\" fill=\"{}\">p{:g} {} ms</text>\n",
                           at,
                           label_y + 3,
                           at,
                           top + plot_h,
                           mark.colour,
                           right_side ? at - 4 : at + 4,
                           label_y,
                           right_side ? "end" : "start",
                           mark.colour,
                           mark.percent,
                           ms_text(value));
        label_y += 13;
    }
    return svg + "</svg>\n";
}

std::string latency_row(std::string_view name, const LatencyHistogram& h)
{
    return fmt::format("<tr><th scope=\"row\">{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
                       "<td>{}</td><td>{}</td></tr>\n",
                       name,
                       ms_text(static_cast<double>(h.percentile(50))),
                       ms_text(static_cast<double>(h.percentile(95))),
                       ms_text(static_cast<double>(h.percentile(99))),
                       ms_text(static_cast<double>(h.max())),
                       ms_text(h.mean()),
                       h.count());
}

} // namespace

std::string html_escape(std::string_view text)
{
    std::string out;
    out.reserve(text.size());
    append_escaped(out, text);
    return out;
}

std::unique_ptr<Reporter> make_html_reporter(std::string path)
{
    return std::make_unique<HtmlReporter>(std::move(path));
}

std::string load_report_html(const LoadPageInfo& info, const LoadFigures& figures)
{
    const bool source = info.role == Role::source;
    std::string body = fmt::format("<header>\n<h1>Load: {}", to_string(info.role));
    if (info.thresholds) {
        body += fmt::format(" <span class=\"verdict {}\" id=\"verdict\">{}</span>",
                            info.missed.empty() ? "passed" : "failed",
                            info.missed.empty() ? "THRESHOLDS MET" : "THRESHOLD MISSED");
    }
    body += fmt::format("</h1>\n<p class=\"run\"><code id=\"service\">{}</code> · {} · sesam-emu "
                        "{}</p>\n</header>\n",
                        esc(info.url),
                        esc(info.description),
                        esc(info.sesam_emu_version));

    body += "<section id=\"summary\">\n<ul class=\"figures\">\n";
    const struct {
        std::string_view id;
        std::string_view name;
        std::string value;
        bool bad;
    } shown[] = {
        {"entities", "entities", fmt::format("{}", figures.entities), false},
        {"rate", "entities/s", fmt::format("{:.0f}", figures.entities_per_second()), false},
        {"throughput", "MB/s", fmt::format("{:.1f}", figures.megabytes_per_second()), false},
        {"requests", "requests", fmt::format("{}", figures.requests), false},
        {"errors", "errors", fmt::format("{}", figures.error_count()), figures.error_count() > 0},
        {"seconds", "seconds", fmt::format("{:.2f}", figures.seconds), false},
        {"p99", "p99 ms", ms_text(static_cast<double>(figures.latency.percentile(99))), false},
    };
    for (const auto& figure : shown)
        body += fmt::format("<li class=\"figure{}\" id=\"figure-{}\"><b>{}</b>{}</li>\n",
                            figure.bad ? " failed" : "",
                            figure.id,
                            figure.value,
                            figure.name);
    body += "</ul>\n";
    for (const auto& missed : info.missed)
        body += fmt::format("<p class=\"message\"><span class=\"badge failed\">MISSED</span> "
                            "{}</p>\n",
                            esc(missed));
    body += "</section>\n";

    body += "<section id=\"latency\">\n<h2>Latency (ms)</h2>\n<table>\n<thead><tr><th></th>"
            "<th>p50</th><th>p95</th><th>p99</th><th>max</th><th>mean</th><th>requests</th></tr>"
            "</thead>\n<tbody>\n";
    body += latency_row("whole response", figures.latency);
    if (source)
        body += latency_row("first byte", figures.first_byte);
    body += "</tbody>\n</table>\n<div class=\"histogram\">\n";
    body += histogram_svg(figures.latency, "latency-histogram", "latency per request");
    body += "</div>\n";
    if (source) {
        body += "<h2>Time to the first byte</h2>\n<div class=\"histogram\">\n";
        body += histogram_svg(figures.first_byte, "first-byte-histogram", "time to first byte");
        body += "</div>\n";
    }
    body += "</section>\n";

    body += "<section id=\"errors\">\n<h2>Errors</h2>\n";
    if (figures.errors.empty()) {
        body += "<p class=\"note\">No errors.</p>\n";
    } else {
        body += "<table>\n<thead><tr><th>kind</th><th>count</th></tr></thead>\n<tbody>\n";
        for (const auto& [kind, count] : figures.errors)
            body += fmt::format("<tr><td><code>{}</code></td><td>{}</td></tr>\n", esc(kind), count);
        body += "</tbody>\n</table>\n";
    }
    body += "</section>\n";

    body += fmt::format("<section id=\"usage\">\n<h2>CPU and memory</h2>\n<table>\n<tbody>\n"
                        "<tr><th scope=\"row\">sesam-emu CPU</th><td>{:.2f} s</td></tr>\n",
                        figures.cpu_seconds);
    if (info.service_cpu_seconds)
        body += fmt::format("<tr><th scope=\"row\">service CPU</th><td>{:.2f} s</td></tr>\n",
                            *info.service_cpu_seconds);
    if (info.service_peak_rss_mb)
        body += fmt::format("<tr><th scope=\"row\">service peak memory</th><td>{:.1f} MB</td>"
                            "</tr>\n",
                            *info.service_peak_rss_mb);
    body += "</tbody>\n</table>\n";
    if (info.service_cpu_seconds || info.service_peak_rss_mb)
        body += fmt::format("<p class=\"note\">service figures from {}</p>\n",
                            esc(info.service_usage_source));
    else
        body += "<p class=\"note\">The service's CPU and memory are shown when sesam-emu starts "
                "it (--exec or --image).</p>\n";
    body += "</section>\n";
    body += fmt::format("<footer>Written by sesam-emu {}. Latencies come from a log-linear "
                        "histogram, within 1/64 of the true value. MB = 10<sup>6</sup> "
                        "bytes.</footer>\n",
                        esc(info.sesam_emu_version));

    const std::string title =
        fmt::format("sesam-emu load: {} {:.0f} entities/s, p99 {} ms {}",
                    to_string(info.role),
                    figures.entities_per_second(),
                    ms_text(static_cast<double>(figures.latency.percentile(99))),
                    esc(info.url));
    return page(title, body);
}

} // namespace sesam::harness
