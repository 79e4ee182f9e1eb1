// sesam-py's verify and update rules (docs/protocol.md#config-verify, #config-update), each with a
// case that fails without the code that implements it; update's bytes against Debian's Python.
#include "harness/node/config.hpp"
#include "harness/node/test_spec.hpp"
#include "harness/node/verifier.hpp"
#include "tests/support/scripted_server.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace sesam::harness::node {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

std::vector<py::Value> entities(const std::string& json_list)
{
    return py::parse(json_list).items;
}

std::string dump_list(const std::vector<py::Value>& list)
{
    py::Value v;
    v.kind = py::Value::Kind::array;
    v.items = list;
    py::DumpOptions o;
    o.sort_keys = true;
    return py::dumps(v, o);
}

std::string filtered(const std::string& entity, const TestSpec& spec = {})
{
    py::DumpOptions o;
    o.sort_keys = true;
    return py::dumps(filter_entity(py::parse(entity), spec), o);
}

Comparison compare(const std::string& expected,
                   const std::string& current,
                   const TestSpec& spec = {},
                   const VerifyOptions& options = {})
{
    return compare_output(spec, py::parse(expected), entities(current), options);
}

TEST(VerifierTest, FilterDropsUnderscoreKeysAtEveryLevelButIdAndTrueDeleted)
{
    EXPECT_EQ(filtered(R"({"_id": "a", "_updated": 3, "_deleted": false, "x": {"_id": "n",
                          "_ts": 1, "y": [{"_hash": "h", "z": 1}]}, "$ids": ["~:a"]})"),
              R"({"$ids": ["~:a"], "_id": "a", "x": {"_id": "n", "y": [{"z": 1}]}})");
    EXPECT_EQ(filtered(R"({"_id": "a", "_deleted": true})"), R"({"_deleted": true, "_id": "a"})");
    // `is True`: a 1 is not true.
    EXPECT_EQ(filtered(R"({"_id": "a", "_deleted": 1})"), R"({"_id": "a"})");
}

TEST(VerifierTest, BlacklistMatchesDottedPathsWithoutListIndexesBeforeTheUnderscoreRule)
{
    TestSpec spec;
    spec.blacklist = {"foos.bar", "_id", "a[].b", "t*"};
    EXPECT_EQ(filtered(R"({"_id": "x", "foos": [{"bar": 1, "baz": 2}], "a": [{"b": 1, "c": 2}],
                          "top": 1, "keep": {"top": 2}})",
                       spec),
              R"({"a": [{"b": 1, "c": 2}], "foos": [{"baz": 2}], "keep": {"top": 2}})");
    // The README's escape and list syntax (`a[].b` is read as `a.*.b`, which needs a key between
    // a and b) do not match in the code; the code is followed.
    spec.blacklist = {"foo\\.bar", "foos[].bar"};
    EXPECT_EQ(filtered(R"({"foo.bar": 1, "foos": {"bar": 2}})", spec),
              R"({"foo.bar": 1, "foos": {"bar": 2}})");
    spec.blacklist = {"foos.*.bar"};
    EXPECT_EQ(filtered(R"({"foos": [{"bar": 2}], "x": {"foos": {"k": {"bar": 1}}}})", spec),
              R"({"foos": [{"bar": 2}], "x": {"foos": {"k": {"bar": 1}}}})");
    EXPECT_EQ(filtered(R"({"foos": {"k": {"bar": 1, "baz": 2}}})", spec),
              R"({"foos": {"k": {"baz": 2}}})");
}

TEST(VerifierTest, FnmatchIsPythonsFnmatchcase)
{
    EXPECT_TRUE(fnmatch("a.b.c", "a*c"));
    EXPECT_TRUE(fnmatch("a.b", "a?b"));
    EXPECT_FALSE(fnmatch("a..b", "a?b"));
    EXPECT_TRUE(fnmatch("\xc3\xa6", "?")); // one character, two bytes
    EXPECT_TRUE(fnmatch("b", "[a-c]"));
    EXPECT_FALSE(fnmatch("d", "[a-c]"));
    EXPECT_TRUE(fnmatch("d", "[!a-c]"));
    EXPECT_TRUE(fnmatch("-", "[a-]"));
    EXPECT_TRUE(fnmatch("]", "[]]"));
    EXPECT_TRUE(fnmatch("[x", "[x"));    // an unclosed bracket is literal
    EXPECT_FALSE(fnmatch("b", "[c-a]")); // a reversed range is dropped
    EXPECT_TRUE(fnmatch("[!]", "[!]"));  // no closing bracket after the first: all literal
    EXPECT_FALSE(fnmatch("A", "a"));     // case-sensitive
    EXPECT_TRUE(fnmatch("", "*"));
    EXPECT_FALSE(fnmatch("ab", "a"));
}

TEST(VerifierTest, UnexpectedTombstonesAreDroppedUnlessTheExpectedFileHasThem)
{
    const std::string current = R"([{"_id": "a", "x": 1}, {"_id": "b", "_deleted": true, "x": 2},
                                    {"_id": "c", "_deleted": true}])";
    EXPECT_TRUE(compare(R"([{"_id": "a", "x": 1}])", current).same); // b and c dropped
    // c is kept when the expected file holds it deleted, and must then match.
    EXPECT_TRUE(compare(R"([{"_id": "a", "x": 1}, {"_id": "c", "_deleted": true}])", current).same);
    EXPECT_FALSE(
        compare(R"([{"_id": "a", "x": 1}, {"_id": "b", "_deleted": true}])", current).same);
    EXPECT_FALSE(compare(R"([{"_id": "a", "x": 1}, {"_id": "c"}])", current).same);
    TestSpec keep;
    keep.ignore_deletes = false;
    const auto c = compare(R"([{"_id": "a", "x": 1}])", current, keep);
    EXPECT_FALSE(c.same);
    EXPECT_EQ(c.current_count, 3u);
}

TEST(VerifierTest, CurrentFloatsEndingInPointZeroBecomeIntsButExpectedOnesDoNot)
{
    EXPECT_TRUE(compare(R"([{"_id": "a", "n": 1}])", R"([{"_id": "a", "n": 1.0}])").same);
    EXPECT_FALSE(compare(R"([{"_id": "a", "n": 1.0}])", R"([{"_id": "a", "n": 1}])").same);
    EXPECT_TRUE(compare(R"([{"_id": "a", "n": 1e16}])", R"([{"_id": "a", "n": 1e16}])").same);
    EXPECT_FALSE(compare(R"([{"_id": "a", "n": 10000000000000000}])",
                         R"([{"_id": "a", "n": 1e16}])")
                     .same); // str(1e16) is "1e+16": it stays a float
}

TEST(VerifierTest, LongIntegersAreRoundedAsTheGoClientDidUnlessTurnedOff)
{
    const auto current = R"([{"_id": "a", "n": 12345678901234567, "m": -1234567890123457}])";
    EXPECT_TRUE(
        compare(R"([{"_id": "a", "n": 12345678901234568, "m": -1234567890123457}])", current).same);
    VerifyOptions exact;
    exact.large_int_bugs = false;
    EXPECT_FALSE(
        compare(
            R"([{"_id": "a", "n": 12345678901234568, "m": -1234567890123457}])", current, {}, exact)
            .same);
    EXPECT_TRUE(
        compare(
            R"([{"_id": "a", "n": 12345678901234567, "m": -1234567890123457}])", current, {}, exact)
            .same);
    py::Value v = py::parse("[12345678901234567, 1234567890123456789012, 1234567890123456]");
    fix_numbers(v, true);
    EXPECT_EQ(py::dumps(v), "[12345678901234568, 1234567890123456774144, 1234567890123456]");
}

TEST(VerifierTest, TransitValuesAreComparedAsStrings)
{
    EXPECT_FALSE(
        compare(R"([{"_id": "a", "v": "~f1.0"}])", R"([{"_id": "a", "v": "~f1.00"}])").same);
    EXPECT_TRUE(compare(R"([{"_id": "a", "v": "~t2020-01-01T00:00:00Z"}])",
                        R"([{"_id": "a", "v": "~t2020-01-01T00:00:00Z"}])")
                    .same);
}

TEST(VerifierTest, EntitiesAreSortedByTheSortFieldsThenByTheirJson)
{
    TestSpec spec;
    spec.fields_to_sort_by = {"n"};
    auto list = entities(R"([{"_id": "a", "n": 2}, {"_id": "b", "n": 1}, {"_id": "c"},
                             {"_id": "d", "n": 1, "x": 0}, {"_id": "e", "n": 1.5}])");
    sort_entities(list, spec, false);
    EXPECT_EQ(dump_list(list),
              R"([{"_id": "c"}, {"_id": "b", "n": 1}, {"_id": "d", "n": 1, "x": 0}, )"
              R"({"_id": "e", "n": 1.5}, {"_id": "a", "n": 2}])");
    // Order does not decide pass or fail: both sides are sorted the same way.
    EXPECT_TRUE(compare(R"([{"_id": "b"}, {"_id": "a"}])", R"([{"_id": "a"}, {"_id": "b"}])").same);
}

TEST(VerifierTest, LengthAndContentMismatchesAreTold)
{
    const auto c = compare(R"([{"_id": "a", "x": 1}, {"_id": "b"}])", R"([{"_id": "a", "x": 2}])");
    EXPECT_FALSE(c.same);
    EXPECT_EQ(c.expected_count, 2u);
    EXPECT_EQ(c.current_count, 1u);
    EXPECT_EQ(c.current_json, "[\n  {\n    \"_id\": \"a\",\n    \"x\": 2\n  }\n]");
    EXPECT_THROW(compare(R"({"_id": "a"})", "[]"), ConfigError);
    EXPECT_THROW(compare(R"([1])", "[]"), ConfigError);
}

PipePlan pipe_with(const std::string& id,
                   const std::string& source,
                   const std::string& sink,
                   const Json& sink_config = Json::object())
{
    PipePlan p;
    p.id = id;
    p.output = id;
    p.source.type = source;
    if (source == "dataset")
        p.source.config = {{"type", "dataset"}, {"dataset", "in"}};
    p.sink.type = sink;
    p.sink.config = sink_config;
    return p;
}

TEST(VerifierTest, PipeKindsAreSesamPys)
{
    EXPECT_EQ(pipe_kind(pipe_with("a", "embedded", "json")), PipeKind::input);
    EXPECT_EQ(pipe_kind(pipe_with("b", "dataset", "http_endpoint")), PipeKind::endpoint);
    EXPECT_EQ(pipe_kind(pipe_with("c", "dataset", "dataset", {{"dataset", "c"}})),
              PipeKind::internal);
    EXPECT_EQ(pipe_kind(pipe_with("d", "dataset", "json")), PipeKind::output);
    EXPECT_EQ(pipe_kind(pipe_with("e", "json", "dataset", {{"dataset", "e"}})), PipeKind::internal);
    EXPECT_EQ(pipe_kind(pipe_with("f", "dataset", "sql")), PipeKind::output);
}

class VerifyPlanTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        plan.root = fs::temp_directory_path() /
                    ("sesam-verify-" +
                     std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) +
                     "-" + std::to_string(::getpid()));
        fs::remove_all(plan.root);
        fs::create_directories(plan.root / "expected");
        plan.pipes = {pipe_with("out", "dataset", "json"),
                      pipe_with("internal", "dataset", "dataset", {{"dataset", "internal"}}),
                      pipe_with("report", "dataset", "http_endpoint")};
        output["out/sink"] = R"([{"_id": "a", "_updated": 0, "x": 1}])";
        output["out/source"] = R"([{"_id": "a", "raw": true}])";
        output["report/sink"] = "[]";
    }
    void TearDown() override { fs::remove_all(plan.root); }

    void write(const std::string& name, const std::string& text)
    {
        std::ofstream(plan.root / name, std::ios::binary) << text;
    }
    std::string read(const std::string& name) const
    {
        std::ifstream in(plan.root / name, std::ios::binary);
        std::stringstream s;
        s << in.rdbuf();
        return s.str();
    }

    std::vector<SpecResult> verify(const VerifyScope& scope = {})
    {
        return verify_plan(plan, load_test_specs(plan.root), current(), scope, {});
    }

    CurrentOutput current()
    {
        return [this](const PipePlan& p,
                      const std::string& stage) -> std::optional<std::vector<py::Value>> {
            const auto it = output.find(p.id + "/" + stage);
            if (it == output.end())
                return std::nullopt;
            return entities(it->second);
        };
    }

    Plan plan;
    std::map<std::string, std::string> output;
};

using V = SpecResult::Verdict;

TEST_F(VerifyPlanTest, EverySpecAndEveryUnreferencedOutputPipeGetsAResult)
{
    write("expected/out.test.json", "{}");
    write("expected/out.json", R"([{"_id": "a", "x": 1}])");
    write("expected/out-source.test.json", R"({"pipe": "out", "stage": "source"})");
    write("expected/out-source.json", R"([{"_id": "a", "raw": true}])");
    write("expected/gone.test.json", "{}");
    write("expected/internal.test.json", "{}");
    write("expected/skipped.test.json", R"({"pipe": "out", "ignore": true})");
    write("expected/skipped.json", "[]");
    write("expected/xml.test.json", R"({"pipe": "out", "endpoint": "xml"})");
    write("expected/xml.xml", "<a/>");
    write("expected/xml.json", "[]");
    const auto results = verify();
    ASSERT_EQ(results.size(), 7u);
    std::map<std::string, const SpecResult*> by;
    for (const auto& r : results)
        by[r.name] = &r;
    EXPECT_EQ(by["out"]->verdict, V::passed);
    EXPECT_EQ(by["out"]->message, "1 entity");
    EXPECT_EQ(by["out-source"]->verdict, V::passed);
    EXPECT_EQ(by["out-source"]->message, "1 entity (stage source)");
    EXPECT_EQ(by["gone"]->verdict, V::failed);
    EXPECT_THAT(by["gone"]->message, HasSubstr("references a non-existing output pipe 'gone'"));
    EXPECT_EQ(by["internal"]->verdict, V::failed);
    EXPECT_EQ(by["skipped"]->verdict, V::skipped);
    EXPECT_THAT(by["skipped"]->message, HasSubstr("expected/skipped.json still exists"));
    EXPECT_EQ(by["xml"]->verdict, V::skipped);
    EXPECT_THAT(by["xml"]->message, HasSubstr("endpoint \"xml\" (expected/xml.test.json)"));
    EXPECT_EQ(by["report"]->verdict, V::failed);
    EXPECT_EQ(by["report"]->message,
              "no test references pipe report (add expected/report.test.json, or run with "
              "--update to write one)");
}

TEST_F(VerifyPlanTest, AFailureCarriesDifferencesByIdAndFieldAndSesamPysDiff)
{
    write("expected/out.test.json", "{}");
    write("expected/out.json", R"([{"_id": "a", "x": 2}])");
    write("expected/report.test.json", "{}");
    write("expected/report.json", "[]");
    const auto results = verify();
    ASSERT_EQ(results.size(), 2u);
    const auto& r = results[0];
    EXPECT_EQ(r.verdict, V::failed);
    EXPECT_EQ(r.message, "content mismatch in 1 entity");
    ASSERT_EQ(r.differences.size(), 1u);
    EXPECT_EQ(describe_difference(r.differences[0]),
              "_id \"a\", field \"x\": expected 2, actual 1");
    EXPECT_EQ(r.diff,
              "--- expected/out.json\n+++ current-output.json\n@@ -1,6 +1,6 @@\n [\n   {\n"
              "     \"_id\": \"a\",\n-    \"x\": 2\n+    \"x\": 1\n   }\n ]");
}

TEST_F(VerifyPlanTest, WhitelistAndPipeSelectionSkipInsteadOfFailing)
{
    write("expected/elsewhere.test.json", "{}");
    write("expected/out.test.json", "{}");
    write("expected/out.json", R"([{"_id": "a", "x": 1}])");
    VerifyScope whitelisted;
    whitelisted.whitelist = true;
    auto results = verify(whitelisted);
    EXPECT_EQ(results[0].verdict, V::skipped);
    EXPECT_THAT(results[0].message, HasSubstr("not in the whitelist"));
    VerifyScope one;
    one.pipes = {"out"};
    results = verify(one);
    ASSERT_EQ(results.size(), 2u); // report, not selected, is not reported missing
    EXPECT_EQ(results[1].verdict, V::passed);
}

TEST_F(VerifyPlanTest, StandInsAreMarkedAndTheirEarlierStagesAreNotPretended)
{
    plan.pipes[0].stand_in = plan.root / "expected/out.json";
    write("expected/out.test.json", "{}");
    write("expected/out.json", R"([{"_id": "a", "x": 1}])");
    write("expected/early.test.json", R"({"pipe": "out", "stage": "after-transforms"})");
    write("expected/early.json", "[]");
    const auto results = verify();
    EXPECT_EQ(results[0].name, "early");
    EXPECT_EQ(results[0].verdict, V::skipped);
    EXPECT_THAT(results[0].message, HasSubstr("stood in from expected/out.json"));
    EXPECT_EQ(results[1].verdict, V::passed);
    EXPECT_TRUE(results[1].stand_in);
}

TEST_F(VerifyPlanTest, APipeWhoseInputCameFromALeftOutPipeIsSkippedNotFailed)
{
    // out reads "in", written by a pipe left out for a DTL (--skip-unsupported): its empty
    // output says nothing about it. A pipe whose pump is off is not run by a node either: that
    // one is verified as it is.
    plan.pipes.insert(plan.pipes.begin(), pipe_with("in", "json", "dataset", {{"dataset", "in"}}));
    plan.pipes[0].left_out = "has transform dtl, which sesam-emu does not run";
    plan.pipes[1].reads = {"in"};
    write("expected/out.test.json", "{}");
    write("expected/out.json", R"([{"_id": "a", "x": 1}])");
    write("expected/report.test.json", "{}");
    write("expected/report.json", "[]");
    auto results = verify();
    EXPECT_EQ(results[0].verdict, V::skipped);
    EXPECT_EQ(results[0].message,
              "pipe out cannot be verified: it reads dataset in, which pipe in writes but did not "
              "run: has transform dtl, which sesam-emu does not run");
    plan.pipes[0].pump_off = true;
    results = verify();
    EXPECT_EQ(results[0].verdict, V::passed);
}

TEST_F(VerifyPlanTest, SpecErrorsNameTheFileAndTheKey)
{
    write("expected/a.test.json", R"({"stage": "before-transform"})");
    EXPECT_THAT([&] { load_test_specs(plan.root); },
                ::testing::ThrowsMessage<ConfigError>(HasSubstr(
                    "expected/a.test.json: /stage: \"before-transform\" is not a stage")));
    write("expected/a.test.json", R"({"blacklist": ["ok", 3]})");
    EXPECT_THAT([&] { load_test_specs(plan.root); },
                ::testing::ThrowsMessage<ConfigError>(
                    HasSubstr("expected/a.test.json: /blacklist/1: a property path")));
    write("expected/a.test.json", "[]");
    EXPECT_THAT([&] { load_test_specs(plan.root); },
                ::testing::ThrowsMessage<ConfigError>(HasSubstr("a test spec is a JSON object")));
    write("expected/a.test.json", "{\n  \"pipe\": \n}");
    EXPECT_THAT(
        [&] { load_test_specs(plan.root); },
        ::testing::ThrowsMessage<ConfigError>(HasSubstr("expected/a.test.json:3:1: invalid JSON")));
    write("expected/a.test.json", "\xEF\xBB\xBF{\"fields_to_sort_by\": \"ab\"}");
    const auto specs = load_test_specs(plan.root);
    ASSERT_EQ(specs.size(), 1u);
    EXPECT_EQ(specs[0].fields_to_sort_by, (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(specs[0].file, "expected/a.json");
}

TEST_F(VerifyPlanTest, UpdateWritesSpecsAndFilesAsSesamPyDoes)
{
    write("expected/gone.test.json", "{}");
    write("expected/kept.test.json", R"({"pipe": "gone", "ignore": true})");
    write("expected/report.test.json", R"({"ignore": true})");
    write("expected/report.json", "[]");
    output["out/sink"] = R"([{"_id": "b", "t": "<a & b>", "n": 2.0},
                              {"_id": "a", "_deleted": true}])";
    const auto report = update_expected(plan, load_test_specs(plan.root), current(), {}, {});
    EXPECT_EQ(report.updated, 1u);
    EXPECT_FALSE(fs::exists(plan.root / "expected/gone.test.json"));
    EXPECT_TRUE(fs::exists(plan.root / "expected/kept.test.json"));
    EXPECT_FALSE(fs::exists(plan.root / "expected/report.json"));
    EXPECT_EQ(read("expected/out.test.json"), "{\n}");
    EXPECT_EQ(
        read("expected/out.json"),
        "[\n  {\n    \"_id\": \"b\",\n    \"n\": 2,\n    \"t\": \"\\u003ca \\u0026 b\\u003e\"\n"
        "  }\n]\n");
}

/// The bytes expected_file_text() writes, against Python's json.dumps with sesam-py's
/// arguments, on values chosen to trip a writer up.
TEST(VerifierPythonTest, UpdateBytesAreWhatPythonWrites)
{
    if (!fs::exists("/usr/bin/python3"))
        GTEST_SKIP() << "/usr/bin/python3 is missing (scripts/test-all installs python3)";
    const std::string current = R"([
        {"_id": "u", "text": "\u00e6\u00f8\u00e5 \ud83d\ude00 caf\u00e9 \u0001 \u007f", "e": ""},
        {"_id": "esc", "html": "<b>&amp;</b>", "q": "\"\\/\t\n", "_updated": 3},
        {"_id": "floats", "a": 1e16, "b": 1e-7, "c": 0.1, "d": 123456.789, "e": 1.5e300,
         "f": -0.0, "g": 2.0, "h": 5e-324, "i": 1e15},
        {"_id": "ints", "big": 123456789012345678, "small": -5, "zero": 0},
        {"_id": "empty", "o": {}, "l": [], "n": [[], [{}]], "x": null, "t": true},
        {"_id": "nested", "z": {"b": [1, {"_ts": 5, "k": "v"}], "a": "first"}},
        {"_id": "\u00e9", "k": 1}, {"_id": "Z", "k": 2}, {"_id": "a", "k": 3}
    ])";
    const fs::path folder =
        fs::temp_directory_path() / ("sesam-update-bytes-" + std::to_string(::getpid()));
    fs::create_directories(folder);
    std::ofstream(folder / "current.json") << current;
    // The oracle: sesam-py's update steps, written here from docs/protocol.md#config-update.
    std::ofstream(folder / "oracle.py") << R"(import json, sys
from decimal import Decimal
ascii_mode, html = sys.argv[2] == "1", sys.argv[3] == "1"
def strip(v):
    if isinstance(v, dict):
        return {k: strip(x) for k, x in v.items() if not k.startswith("_") or k == "_id"}
    if isinstance(v, list):
        return [strip(x) for x in v]
    return v
def fix(v):
    if isinstance(v, dict):
        return {k: fix(x) for k, x in v.items()}
    if isinstance(v, list):
        return [fix(x) for x in v]
    if isinstance(v, float) and str(v).endswith(".0"):
        return fix(int(v))
    if isinstance(v, int) and not isinstance(v, bool) and len(str(v)) > 16:
        return int(Decimal(str(float(v))))
    return v
entities = [fix(strip(e)) for e in json.load(open(sys.argv[1], encoding="utf-8-sig"))]
key = lambda e: [e.get("_id"), json.dumps(e, ensure_ascii=ascii_mode, sort_keys=True)]
out = (json.dumps(sorted(entities, key=key), indent="  ", sort_keys=True,
                  ensure_ascii=ascii_mode) + "\n").encode("utf-8")
if html:
    out = out.replace(b"<", b"\\u003c").replace(b">", b"\\u003e").replace(b"&", b"\\u0026")
sys.stdout.buffer.write(out)
)";
    for (const bool ascii : {false, true}) {
        for (const bool html : {true, false}) {
            const auto r =
                sesam::testing::run_command("/usr/bin/python3 " + (folder / "oracle.py").string() +
                                            " " + (folder / "current.json").string() + " " +
                                            (ascii ? "1" : "0") + " " + (html ? "1" : "0"));
            ASSERT_EQ(r.exit_code, 0) << r.err;
            VerifyOptions options;
            options.unicode_encoding = ascii;
            options.html_escape = html;
            EXPECT_EQ(expected_file_text({}, entities(current), options), r.out)
                << "ensure_ascii=" << ascii << " html_escape=" << html;
        }
    }
    fs::remove_all(folder);
}

} // namespace
} // namespace sesam::harness::node
