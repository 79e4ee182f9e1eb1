#include "harness/node/verifier.hpp"

#include "harness/node/config.hpp"
#include "harness/node/unified_diff.hpp"

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <numeric>
#include <set>

namespace sesam::harness::node {

namespace fs = std::filesystem;
using Kind = py::Value::Kind;

namespace {

bool is_true(const py::Value* v)
{
    return v && v->kind == Kind::boolean && v->boolean;
}

py::Value
filter_item(const std::vector<std::string>& parent, const py::Value& item, const TestSpec& spec)
{
    if (item.kind == Kind::object) {
        py::Value result;
        result.kind = Kind::object;
        for (const auto& [key, value] : item.members) {
            auto path = parent;
            path.push_back(key);
            if (spec.blacklisted(path))
                continue;
            if (!key.empty() && key[0] == '_') {
                if (key == "_id" || (key == "_deleted" && is_true(&value)))
                    result.members.push_back(py::Member{key, value});
                continue;
            }
            result.members.push_back(py::Member{key, filter_item(path, value, spec)});
        }
        return result;
    }
    if (item.kind == Kind::array) {
        py::Value result;
        result.kind = Kind::array;
        for (const auto& element : item.items)
            result.items.push_back(filter_item(parent, element, spec)); // no index in the path
        return result;
    }
    return item;
}

/// The exact digits of an integral double.
std::string integer_text(double d)
{
    char buffer[400];
    const int n = std::snprintf(buffer, sizeof buffer, "%.0f", d);
    std::string digits(buffer, static_cast<std::size_t>(n));
    return digits == "-0" ? "0" : digits;
}

std::string dumps_for_compare(const py::Value& v, const py::DumpOptions& base)
{
    auto o = base;
    o.lone_surrogates_as_wtf8 = true; // sesam-py compares str values, never encoded
    return py::dumps(v, o);
}

py::Value list_of(std::vector<py::Value> items)
{
    py::Value v;
    v.kind = Kind::array;
    v.items = std::move(items);
    return v;
}

/// Every element is an object (sesam-py would fail on `_e.get` otherwise).
void require_entities(const py::Value& expected, const TestSpec& spec)
{
    if (!expected.is_array())
        throw ConfigError(spec.file + ": an expected file is a JSON list of entities");
    for (std::size_t i = 0; i < expected.items.size(); ++i)
        if (!expected.items[i].is_object())
            throw ConfigError(spec.file + ": /" + std::to_string(i) +
                              ": an entity is a JSON object");
}

/// The differences by `_id` and field, as `replay against` shows them; empty when either side
/// holds what nlohmann cannot read (NaN, Infinity).
std::vector<BodyDifference> differences(const Comparison& c)
{
    try {
        const auto expected = nlohmann::json::parse(c.expected_json);
        const auto current = nlohmann::json::parse(c.current_json);
        auto d = compare_bodies(expected, current, FieldFilter{}).differences;
        if (d.empty() && !c.same) // equal by value, written differently (1.0 against 1)
            d.push_back({BodyDifference::Kind::changed,
                         "",
                         "",
                         "the same values written differently (see the diff)",
                         ""});
        return d;
    } catch (const nlohmann::json::exception&) {
        return {};
    }
}

std::string count_text(std::size_t n)
{
    return fmt::format("{} {}", n, n == 1 ? "entity" : "entities");
}

bool selected(const VerifyScope& scope, const std::string& pipe)
{
    return scope.pipes.empty() ||
           std::find(scope.pipes.begin(), scope.pipes.end(), pipe) != scope.pipes.end();
}

const PipePlan* find_pipe(const Plan& plan, const std::string& id)
{
    for (const auto& p : plan.pipes)
        if (p.id == id)
            return &p;
    return nullptr;
}

/// Why sesam-emu has no output for the spec's pipe and stage, or "".
/// Why a dataset `pipe` reads (directly or through the pipes before it) lacks what a node would
/// have put in it: a pipe that writes it was left out (not a pump turned off, which a node does
/// not run either), or "".
std::string upstream_left_out(const Plan& plan, const PipePlan& pipe, std::set<std::string>& seen)
{
    if (pipe.stand_in || !seen.insert(pipe.id).second)
        return ""; // a stand-in's output does not depend on its input
    for (const auto& dataset : pipe.reads) {
        for (const auto& writer : plan.pipes) {
            if (writer.output != dataset)
                continue;
            if (writer.left_out && !writer.pump_off)
                return "it reads dataset " + dataset + ", which pipe " + writer.id +
                       " writes but did not run: " + *writer.left_out;
            if (auto why = upstream_left_out(plan, writer, seen); !why.empty())
                return why;
        }
    }
    return "";
}

std::string no_output_reason(const Plan& plan, const PipePlan& pipe, const TestSpec& spec)
{
    if (pipe.left_out && !pipe.pump_off)
        return "pipe " + pipe.id + " did not run: " + *pipe.left_out;
    if (pipe.stand_in && spec.stage && *spec.stage != "sink")
        return "stage " + *spec.stage + " of pipe " + pipe.id +
               " was not run: its sink input stood in from " +
               pipe.stand_in->lexically_relative(plan.root).generic_string();
    std::set<std::string> seen;
    if (auto why = upstream_left_out(plan, pipe, seen); !why.empty())
        return "pipe " + pipe.id + " cannot be verified: " + why;
    return "";
}

bool json_endpoint(const TestSpec& spec)
{
    return spec.endpoint == "json" || spec.endpoint == "excel"; // both read the pipe's entities
}

void write_file(const fs::path& path, const std::string& shown, const std::string& bytes)
{
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.close();
    if (!out)
        throw ConfigError(shown + ": cannot be written");
}

} // namespace

PipeKind pipe_kind(const PipePlan& pipe)
{
    // get_pipe_type() on the effective configuration (docs/protocol.md#config-verify, step 1).
    if (pipe.source.type == "embedded")
        return PipeKind::input;
    if (pipe.sink.type.size() >= 9 &&
        pipe.sink.type.compare(pipe.sink.type.size() - 9, 9, "_endpoint") == 0)
        return PipeKind::endpoint;
    auto truthy = [](const Json& config, const char* key) {
        const auto it = config.find(key);
        if (it == config.end() || it->is_null())
            return false;
        if (it->is_string() || it->is_array() || it->is_object())
            return !it->empty();
        if (it->is_boolean())
            return it->get<bool>();
        if (it->is_number())
            return it->get<double>() != 0;
        return true;
    };
    const bool sink_dataset = truthy(pipe.sink.config, "dataset");
    if ((truthy(pipe.source.config, "dataset") || truthy(pipe.source.config, "datasets")) &&
        sink_dataset)
        return PipeKind::internal;
    return sink_dataset ? PipeKind::internal : PipeKind::output;
}

bool verified(const PipePlan& pipe)
{
    const auto kind = pipe_kind(pipe);
    return kind == PipeKind::output || kind == PipeKind::endpoint;
}

py::Value filter_entity(const py::Value& entity, const TestSpec& spec)
{
    return filter_item({}, entity, spec);
}

void fix_numbers(py::Value& value, bool large_int_bugs)
{
    switch (value.kind) {
    case Kind::object:
        for (auto& m : value.members)
            fix_numbers(m.second, large_int_bugs);
        return;
    case Kind::array:
        for (auto& item : value.items)
            fix_numbers(item, large_int_bugs);
        return;
    case Kind::floating: {
        const auto repr = py::float_repr(value.floating);
        if (repr.size() >= 2 && repr.compare(repr.size() - 2, 2, ".0") == 0) {
            value = py::Value::from_integer(integer_text(value.floating));
            fix_numbers(value, large_int_bugs); // as the recursion on int(value)
        }
        return;
    }
    case Kind::integer:
        // `len(str(v)) > len("9007199254740991")`: "Simulate go client bug".
        if (large_int_bugs && value.text.size() > 16) {
            const double nearest = std::strtod(value.text.c_str(), nullptr);
            if (std::isfinite(nearest)) // float() of a larger int raises in Python
                value.text = integer_text(nearest);
        }
        return;
    default:
        return;
    }
}

void sort_entities(std::vector<py::Value>& entities, const TestSpec& spec, bool ensure_ascii)
{
    py::DumpOptions o;
    o.sort_keys = true;
    o.ensure_ascii = ensure_ascii;
    std::vector<py::Value> keys;
    keys.reserve(entities.size());
    for (const auto& e : entities) {
        std::vector<py::Value> key;
        for (const auto& field : spec.fields_to_sort_by) {
            const py::Value* v = e.get(field);
            if (!v)
                key.emplace_back();
            else if (v->is_object())
                key.push_back(py::Value::from_string(dumps_for_compare(*v, o)));
            else
                key.push_back(*v);
        }
        key.push_back(py::Value::from_string(dumps_for_compare(e, o)));
        keys.push_back(list_of(std::move(key)));
    }
    std::vector<std::size_t> order(entities.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        return py::compare(keys[a], keys[b]) < 0;
    });
    std::vector<py::Value> sorted;
    sorted.reserve(entities.size());
    for (const auto i : order)
        sorted.push_back(std::move(entities[i]));
    entities = std::move(sorted);
}

Comparison compare_output(const TestSpec& spec,
                          const py::Value& expected,
                          std::vector<py::Value> current,
                          const VerifyOptions& options)
{
    require_entities(expected, spec);
    const bool ascii = options.unicode_encoding;
    auto expected_output = expected.items;
    sort_entities(expected_output, spec, ascii);

    std::vector<py::Value> current_entities;
    if (spec.ignore_deletes) {
        // Tombstones are dropped unless the expected file holds the same `_id` deleted.
        std::vector<py::Value> expected_deletes;
        for (const auto& e : expected.items)
            if (is_true(e.get("_deleted")))
                expected_deletes.push_back(e.get("_id") ? *e.get("_id") : py::Value{});
        for (const auto& raw : current) {
            auto en = filter_entity(raw, spec);
            if (is_true(en.get("_deleted"))) {
                const py::Value* id = en.get("_id");
                const bool expected_deleted =
                    id && std::any_of(expected_deletes.begin(),
                                      expected_deletes.end(),
                                      [&](const py::Value& d) { return py::equal(d, *id); });
                if (!expected_deleted)
                    continue;
            }
            current_entities.push_back(std::move(en));
        }
    } else {
        for (const auto& raw : current)
            current_entities.push_back(filter_entity(raw, spec));
    }
    sort_entities(current_entities, spec, ascii);
    for (auto& e : current_entities)
        fix_numbers(e, options.large_int_bugs);
    sort_entities(current_entities, spec, ascii);

    py::DumpOptions o;
    o.indent = "  ";
    o.sort_keys = true;
    o.ensure_ascii = false;
    Comparison c;
    c.expected_count = expected_output.size();
    c.current_count = current_entities.size();
    c.expected_json = dumps_for_compare(list_of(std::move(expected_output)), o);
    c.current_json = dumps_for_compare(list_of(std::move(current_entities)), o);
    c.same = c.expected_count == c.current_count && c.expected_json == c.current_json;
    return c;
}

std::string expected_file_text(const TestSpec& spec,
                               std::vector<py::Value> current,
                               const VerifyOptions& options)
{
    std::vector<py::Value> output;
    output.reserve(current.size());
    for (const auto& raw : current) {
        auto e = filter_entity(raw, spec);
        fix_numbers(e, options.large_int_bugs);
        // `en.get("_deleted", False) is False`: after the filter only a true one is left.
        if (spec.ignore_deletes && e.get("_deleted"))
            continue;
        output.push_back(std::move(e));
    }
    sort_entities(output, spec, options.unicode_encoding);
    py::DumpOptions o;
    o.indent = "  ";
    o.sort_keys = true;
    o.ensure_ascii = options.unicode_encoding;
    auto text = py::dumps(list_of(std::move(output)), o) + "\n";
    if (!options.html_escape)
        return text;
    std::string escaped;
    escaped.reserve(text.size());
    for (const char ch : text) {
        if (ch == '<')
            escaped += "\\u003c";
        else if (ch == '>')
            escaped += "\\u003e";
        else if (ch == '&')
            escaped += "\\u0026";
        else
            escaped += ch;
    }
    return escaped;
}

void check_expected_files(const fs::path& root, const std::vector<TestSpec>& specs)
{
    for (const auto& spec : specs) {
        std::error_code ec;
        if (spec.ignore || !json_endpoint(spec) || !fs::is_regular_file(root / spec.file, ec))
            continue;
        require_entities(read_python_json_file(root / spec.file, spec.file), spec);
    }
}

std::vector<SpecResult> verify_plan(const Plan& plan,
                                    const std::vector<TestSpec>& specs,
                                    const CurrentOutput& current,
                                    const VerifyScope& scope,
                                    const VerifyOptions& options)
{
    std::vector<SpecResult> results;
    std::set<std::string> referenced;
    for (const auto& spec : specs) {
        SpecResult r;
        r.name = spec.name;
        r.pipe = spec.pipe;
        r.file = spec.file;
        referenced.insert(spec.pipe);
        const PipePlan* pipe = find_pipe(plan, spec.pipe);
        auto skip = [&](std::string why) {
            r.verdict = SpecResult::Verdict::skipped;
            r.message = std::move(why);
            results.push_back(std::move(r));
        };
        if (!pipe && scope.whitelist) {
            skip("pipe " + spec.pipe + " is not in the whitelist");
            continue;
        }
        if (!pipe || !verified(*pipe)) {
            r.verdict = SpecResult::Verdict::failed;
            r.file = spec.spec_file;
            r.message = "references a non-existing output pipe '" + spec.pipe + "'" +
                        (pipe ? " (" + pipe->id + " is not an output or endpoint pipe)" : "") +
                        " - please remove " + spec.spec_file;
            results.push_back(std::move(r));
            continue;
        }
        r.stand_in = pipe->stand_in.has_value();
        if (!selected(scope, spec.pipe)) {
            skip("pipe " + spec.pipe + " is not selected (--pipe)");
            continue;
        }
        std::error_code ec;
        const bool file_exists = fs::is_regular_file(plan.root / spec.file, ec);
        if (spec.ignore) {
            skip(std::string("ignored by its spec") +
                 (file_exists ? "; warning: " + spec.file + " still exists" : ""));
            continue;
        }
        if (!file_exists) {
            r.verdict = SpecResult::Verdict::failed;
            r.message = "no such file: " + spec.spec_file + " references it";
            results.push_back(std::move(r));
            continue;
        }
        if (!json_endpoint(spec)) {
            skip("endpoint \"" + spec.endpoint + "\" (" + spec.spec_file +
                 ") is not supported by sesam-emu: only json and excel, which read the pipe's "
                 "entities");
            continue;
        }
        if (auto why = no_output_reason(plan, *pipe, spec); !why.empty()) {
            skip(why);
            continue;
        }
        const std::string stage = spec.stage.value_or("sink");
        auto entities = current(*pipe, stage);
        if (!entities) {
            skip("the run kept no entities of stage " + stage + " for pipe " + pipe->id);
            continue;
        }
        const auto expected = read_python_json_file(plan.root / spec.file, spec.file);
        const auto c = compare_output(spec, expected, std::move(*entities), options);
        if (c.same) {
            r.message = count_text(c.expected_count);
        } else {
            r.verdict = SpecResult::Verdict::failed;
            r.message = c.expected_count != c.current_count
                            ? fmt::format("length mismatch: expected {} got {}",
                                          c.expected_count,
                                          c.current_count)
                            : fmt::format("content mismatch in {}", count_text(c.expected_count));
            r.differences = differences(c);
            r.diff = python_unified_diff(
                c.expected_json, c.current_json, spec.file, "current-output.json");
        }
        if (spec.stage)
            r.message += " (stage " + *spec.stage + ")";
        results.push_back(std::move(r));
    }
    for (const auto& pipe : plan.pipes) {
        if (!verified(pipe) || referenced.count(pipe.id) || !selected(scope, pipe.id))
            continue;
        SpecResult r;
        r.name = pipe.id;
        r.pipe = pipe.id;
        r.file = "expected/" + pipe.id + ".test.json";
        r.verdict = SpecResult::Verdict::failed;
        r.stand_in = pipe.stand_in.has_value();
        r.message = "no test references pipe " + pipe.id + " (add " + r.file +
                    ", or run with --update to write one)";
        results.push_back(std::move(r));
    }
    return results;
}

UpdateReport update_expected(const Plan& plan,
                             std::vector<TestSpec> specs,
                             const CurrentOutput& current,
                             const VerifyScope& scope,
                             const VerifyOptions& options)
{
    UpdateReport report;
    const auto root = plan.root;
    std::error_code ec;
    std::vector<TestSpec> kept;
    // load_test_specs(update=True)
    for (auto& spec : specs) {
        const PipePlan* pipe = find_pipe(plan, spec.pipe);
        if (!pipe && scope.whitelist) {
            report.lines.push_back("skipped " + spec.spec_file + ": pipe " + spec.pipe +
                                   " is not in the whitelist");
            continue;
        }
        if (!selected(scope, spec.pipe))
            continue;
        if (!pipe || !verified(*pipe)) {
            if (!spec.ignore) {
                fs::remove(root / spec.spec_file, ec);
                report.lines.push_back("removed " + spec.spec_file +
                                       ": it references a non-existing output pipe '" + spec.pipe +
                                       "'");
                continue;
            }
            report.lines.push_back("kept " + spec.spec_file +
                                   ": it references a non-existing "
                                   "output pipe '" +
                                   spec.pipe + "' but is marked as 'ignore'");
        }
        const bool file_exists = fs::is_regular_file(root / spec.file, ec);
        if (!spec.ignore && !file_exists) {
            write_file(root / spec.file, spec.file, "[]\n");
            report.lines.push_back("created " + spec.file + " (empty)");
        }
        if (spec.ignore && file_exists) {
            fs::remove(root / spec.file, ec);
            report.lines.push_back("removed " + spec.file + ": its spec is marked as 'ignore'");
        }
        kept.push_back(std::move(spec));
    }
    std::set<std::string> referenced;
    for (const auto& spec : kept)
        referenced.insert(spec.pipe);
    for (const auto& pipe : plan.pipes) {
        if (!verified(pipe) || referenced.count(pipe.id) || !selected(scope, pipe.id))
            continue;
        const std::string name = pipe.id + ".test.json";
        fs::create_directories(root / "expected", ec);
        write_file(root / "expected" / name, "expected/" + name, "{\n}");
        report.lines.push_back("created expected/" + name + " (no spec referenced pipe " + pipe.id +
                               ")");
        TestSpec spec;
        spec.name = pipe.id;
        spec.spec_file = "expected/" + name;
        spec.pipe = pipe.id;
        spec.file = "expected/" + pipe.id + ".json";
        kept.push_back(std::move(spec));
    }
    // update(): every spec of every output pipe, in the order of the pipes.
    for (const auto& pipe : plan.pipes) {
        if (!verified(pipe))
            continue;
        for (const auto& spec : kept) {
            if (spec.pipe != pipe.id || spec.ignore)
                continue;
            if (!json_endpoint(spec)) {
                report.lines.push_back("skipped " + spec.spec_file + ": endpoint \"" +
                                       spec.endpoint + "\" is not supported by sesam-emu");
                continue;
            }
            if (auto why = no_output_reason(plan, pipe, spec); !why.empty()) {
                report.lines.push_back("skipped " + spec.file + ": " + why);
                continue;
            }
            const std::string stage = spec.stage.value_or("sink");
            auto entities = current(pipe, stage);
            if (!entities) {
                report.lines.push_back("skipped " + spec.file +
                                       ": the run kept no entities of "
                                       "stage " +
                                       stage);
                continue;
            }
            const auto n = entities->size();
            std::string text;
            try {
                text = expected_file_text(spec, std::move(*entities), options);
            } catch (const py::EncodeError& e) {
                throw ConfigError(spec.file + ": cannot be written as UTF-8: " + e.what() +
                                  " (--unicode-encoding writes it as \\uXXXX)");
            }
            write_file(root / spec.file, spec.file, text);
            report.lines.push_back(fmt::format("updated {} from {} of pipe {}{}",
                                               spec.file,
                                               count_text(n),
                                               pipe.id,
                                               pipe.stand_in ? " (stand-in)" : ""));
            ++report.updated;
        }
    }
    return report;
}

} // namespace sesam::harness::node
