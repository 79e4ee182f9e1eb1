// py::parse, py::dumps and py::float_repr against Debian's Python (/usr/bin/python3), whose json
// module sesam-py uses to read and write expected files (docs/protocol.md#config-update).
#include "harness/node/python_json.hpp"
#include "tests/support/scripted_server.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace sesam::harness::node::py {
namespace {

namespace fs = std::filesystem;
constexpr const char* kPython = "/usr/bin/python3";

/// Runs `script` with Debian's Python over `inputs` (one per line of a file) and returns what it
/// printed for each: the script writes one record per input as `LENGTH\n` and the UTF-8 bytes.
std::vector<std::string> python_each(const std::string& script,
                                     const std::vector<std::string>& inputs)
{
    const auto folder = fs::temp_directory_path() / ("sesam-pyjson-" + std::to_string(::getpid()));
    fs::create_directories(folder);
    {
        std::ofstream(folder / "script.py") << script;
        std::ofstream in(folder / "inputs", std::ios::binary);
        for (const auto& i : inputs)
            in << i << '\n';
    }
    const auto r =
        sesam::testing::run_command(std::string(kPython) + " " + (folder / "script.py").string() +
                                    " " + (folder / "inputs").string());
    const std::string& all = r.out;
    fs::remove_all(folder);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::vector<std::string> out;
    for (std::size_t pos = 0; pos < all.size();) {
        const auto nl = all.find('\n', pos);
        const auto n = std::stoul(all.substr(pos, nl - pos));
        out.push_back(all.substr(nl + 1, n));
        pos = nl + 1 + n;
    }
    return out;
}

const char* kRecordHelper = R"(
import sys, json
def emit(text):
    b = text.encode('utf-8', 'surrogatepass')
    sys.stdout.buffer.write(str(len(b)).encode() + b'\n' + b)
)";

class PythonJsonTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        if (!fs::exists(kPython))
            GTEST_SKIP() << kPython << " is missing (scripts/test-all installs python3)";
    }
};

const std::vector<std::string> kTricky = {
    R"({"b": 1, "a": [1.0, -0.0, 1e16, 1e15, 0.0001, 0.00001, 1.5e300, 5e-324, -0, 1E2, 2.5e-3]})",
    R"({"big": 123456789012345678901234567890, "neg": -98765432109876543210, "zero": 0})",
    R"("\u00e6\u00f8\u00e5 \ud83d\ude00 \u0007 \u007f \u001f <>& \b\f\n\r\t \"\\/")",
    R"({"nested": {"empty": {}, "list": [], "deep": [[[]], {}], "one": [{}]}})",
    R"([NaN, Infinity, -Infinity, 1e400, -1e400, 1e-400])",
    R"({"dup": 1, "x": 0, "dup": 2})",
    "\"raw \u00fcn\u00ef c\u00f8d\u00e9 \u2713 \U0001F600 \uFB00\"",
    R"([true, false, null, "~t2020-01-01T00:00:00Z", "~f1.0", "~:ns:x", "~u1-2", "~bAAE=", "~rhttp://x"])",
    "{\"\xc3\xa9\": 1, \"e\": 2, \"z\": 3, \"A\": 4, \"\xf0\x9f\x98\x80\": 5, \"\xef\xac\x80\": 6, "
    "\"_id\": 7}",
    R"([1.7976931348623157e308, 0.1, 0.30000000000000004, 100.0, 1e22, 1e21, 123e-20, 9007199254740993])",
    R"([12345678901234567, -1234567890123456, 1234567890123456.0, 0.5, 2.675, 1e-7])",
    R"(  {"spaced" :  [ 1 , 2 ]  }  )",
    R"({})",
    R"([])",
    R"("")",
    R"(42)",
};

TEST_F(PythonJsonTest, DumpsWritesWhatJsonDumpsWritesForEveryOptionSesamPyUses)
{
    const std::string script = std::string(kRecordHelper) + R"(
for line in open(sys.argv[1], encoding='utf-8'):
    v = json.loads(line)
    for indent in (None, "  ", 2):
        for sort_keys in (False, True):
            for ensure_ascii in (True, False):
                emit(json.dumps(v, indent=indent, sort_keys=sort_keys, ensure_ascii=ensure_ascii))
)";
    const auto expected = python_each(script, kTricky);
    ASSERT_EQ(expected.size(), kTricky.size() * 12);
    std::size_t k = 0;
    for (const auto& text : kTricky) {
        const Value v = parse(text);
        for (const auto& indent : {std::optional<std::string>(),
                                   std::optional<std::string>("  "),
                                   std::optional<std::string>("  ")}) {
            for (const bool sort_keys : {false, true}) {
                for (const bool ensure_ascii : {true, false}) {
                    DumpOptions o;
                    o.indent = indent;
                    o.sort_keys = sort_keys;
                    o.ensure_ascii = ensure_ascii;
                    EXPECT_EQ(dumps(v, o), expected[k])
                        << text << " indent=" << indent.value_or("None")
                        << " sort_keys=" << sort_keys << " ensure_ascii=" << ensure_ascii;
                    ++k;
                }
            }
        }
    }
}

TEST_F(PythonJsonTest, FloatReprMatchesPythonOnRandomDoubles)
{
    std::mt19937_64 random(20261206);
    std::vector<std::string> inputs;
    std::vector<double> values;
    for (int i = 0; i < 4000; ++i) {
        double d = 0;
        if (i % 2 == 0) { // any bit pattern: every exponent
            const std::uint64_t bits = random();
            std::memcpy(&d, &bits, sizeof d);
        } else { // human-sized values: fixed and exponent notation near the switch
            std::uniform_real_distribution<double> mantissa(-10, 10);
            std::uniform_int_distribution<int> exponent(-8, 18);
            d = mantissa(random) * std::pow(10.0, exponent(random));
            if (i % 6 == 1)
                d = std::round(d);
        }
        if (!std::isfinite(d))
            continue;
        char text[64];
        std::snprintf(text, sizeof text, "%.17g", d);
        inputs.emplace_back(text);
        values.push_back(d);
    }
    const std::string script = std::string(kRecordHelper) + R"(
for line in open(sys.argv[1]):
    emit(repr(float(line)))
)";
    const auto expected = python_each(script, inputs);
    ASSERT_EQ(expected.size(), values.size());
    for (std::size_t i = 0; i < values.size(); ++i)
        ASSERT_EQ(float_repr(values[i]), expected[i]) << inputs[i];
}

TEST_F(PythonJsonTest, ParseReadsNumbersAsPythonDoes)
{
    EXPECT_EQ(parse("-0").kind, Value::Kind::integer);
    EXPECT_EQ(parse("-0").text, "0");
    EXPECT_EQ(parse("12345678901234567890123").text, "12345678901234567890123");
    EXPECT_EQ(parse("1E2").kind, Value::Kind::floating);
    EXPECT_EQ(dumps(parse("1E2")), "100.0");
    EXPECT_EQ(dumps(parse("-0.0")), "-0.0");
    EXPECT_EQ(dumps(parse("1e400")), "Infinity");
    EXPECT_EQ(dumps(parse(R"({"a": 1, "b": 2, "a": 3})")), R"({"a": 3, "b": 2})");
}

TEST_F(PythonJsonTest, ParseRefusesWhatJsonLoadsRefusesWithLineAndColumn)
{
    for (const char* bad : {"",
                            "[1,]",
                            "01",
                            "[1 2]",
                            "{'a': 1}",
                            "\"a\tb\"",
                            "\"\\x\"",
                            "nul",
                            "[1] x",
                            "\"\\u12\"",
                            "1.",
                            ".5",
                            "+1",
                            "\"\xff\"",
                            "\"\xed\xa0\x80\""}) {
        EXPECT_THROW(parse(bad), ParseError) << bad;
    }
    try {
        parse("[\n  1,\n  ]");
        FAIL() << "no error";
    } catch (const ParseError& e) {
        EXPECT_EQ(e.line, 3u);
        EXPECT_EQ(e.column, 3u);
    }
}

TEST_F(PythonJsonTest, LoneSurrogatesAreKeptAndOnlyUtf8OutputRefusesThem)
{
    const Value v = parse(R"("\ud800 and \udc00")");
    EXPECT_EQ(dumps(v), R"("\ud800 and \udc00")");
    DumpOptions utf8;
    utf8.ensure_ascii = false;
    EXPECT_THROW(dumps(v, utf8), EncodeError);
    utf8.lone_surrogates_as_wtf8 = true;
    EXPECT_EQ(dumps(v, utf8), "\"\xed\xa0\x80 and \xed\xb0\x80\"");
}

TEST_F(PythonJsonTest, CompareOrdersAsPythonWhereItIsDefined)
{
    auto cmp = [](const char* a, const char* b) { return compare(parse(a), parse(b)); };
    EXPECT_EQ(cmp("1", "1.0"), 0);
    EXPECT_EQ(cmp("true", "1"), 0);
    EXPECT_GT(cmp("9007199254740993", "9007199254740992.0"), 0);
    EXPECT_LT(cmp("-100000000000000000000", "-1e19"), 0);
    EXPECT_LT(cmp("1", "1.5"), 0);
    EXPECT_LT(cmp("\"B\"", "\"a\""), 0); // code points, not locale
    EXPECT_LT(cmp("\"\xef\xac\x80\"", "\"\xf0\x9f\x98\x80\""), 0);
    EXPECT_LT(cmp("[1, 2]", "[1, 2, 0]"), 0);
    EXPECT_GT(cmp("[1, 3]", "[1, 2, 0]"), 0);
    // Where Python raises TypeError, a fixed order: None, numbers, strings, lists, dicts.
    EXPECT_LT(cmp("null", "0"), 0);
    EXPECT_LT(cmp("5", "\"a\""), 0);
    EXPECT_LT(cmp("\"a\"", "[]"), 0);
    EXPECT_LT(cmp("[]", "{}"), 0);
    EXPECT_TRUE(equal(parse(R"({"a": 1, "b": [1.0]})"), parse(R"({"b": [1], "a": true})")));
    EXPECT_FALSE(equal(parse("NaN"), parse("NaN")));
}

} // namespace
} // namespace sesam::harness::node::py
