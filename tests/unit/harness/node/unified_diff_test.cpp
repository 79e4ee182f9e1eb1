// python_unified_diff: hand-checked cases, then random pairs compared with the real
// difflib.unified_diff run by /usr/bin/python3 (docs/protocol.md#config-verify, step 6).
#include "harness/node/unified_diff.hpp"
#include "tests/support/scripted_server.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <string_view>
#include <unistd.h>
#include <utility>
#include <vector>

namespace sesam::harness::node {
namespace {

namespace fs = std::filesystem;

std::string repeat(std::string_view line, std::size_t times)
{
    std::string out;
    for (std::size_t i = 0; i < times; ++i)
        out += line;
    return out;
}

TEST(UnifiedDiff, EqualTextsGiveNothing)
{
    EXPECT_EQ(python_unified_diff("a\nb\n", "a\nb\n", "x", "y"), "");
    EXPECT_EQ(python_unified_diff("a\nb", "a\nb", "x", "y"), "");
    EXPECT_EQ(python_unified_diff("", "", "x", "y"), "");
}

TEST(UnifiedDiff, Insertion)
{
    EXPECT_EQ(python_unified_diff("a\nb\nc\n", "a\nb\nX\nc\n", "x", "y"),
              "--- x\n+++ y\n@@ -1,3 +1,4 @@\n a\n b\n+X\n c\n");
}

TEST(UnifiedDiff, Deletion)
{
    EXPECT_EQ(python_unified_diff("a\nb\nc\nd\n", "a\nc\nd\n", "x", "y"),
              "--- x\n+++ y\n@@ -1,4 +1,3 @@\n a\n-b\n c\n d\n");
}

TEST(UnifiedDiff, Change)
{
    EXPECT_EQ(python_unified_diff("one\ntwo\nthree\n", "one\n2\nthree\n", "x", "y"),
              "--- x\n+++ y\n@@ -1,3 +1,3 @@\n one\n-two\n+2\n three\n");
}

TEST(UnifiedDiff, OneLineRangesHaveNoLength)
{
    EXPECT_EQ(python_unified_diff("a\n", "b\n", "x", "y"), "--- x\n+++ y\n@@ -1 +1 @@\n-a\n+b\n");
}

TEST(UnifiedDiff, ChangesFarApartMakeTwoHunks)
{
    std::string a;
    std::string b;
    for (int i = 1; i <= 20; ++i) {
        a += std::to_string(i) + "\n";
        b += i == 2 ? "two\n" : i == 18 ? "eighteen\n" : std::to_string(i) + "\n";
    }
    EXPECT_EQ(python_unified_diff(a, b, "x", "y"),
              "--- x\n+++ y\n"
              "@@ -1,5 +1,5 @@\n 1\n-2\n+two\n 3\n 4\n 5\n"
              "@@ -15,6 +15,6 @@\n 15\n 16\n 17\n-18\n+eighteen\n 19\n 20\n");
}

TEST(UnifiedDiff, LastLineWithoutNewlineIsGluedToWhatFollows)
{
    EXPECT_EQ(python_unified_diff("a\nb", "a\nc", "x", "y"),
              "--- x\n+++ y\n@@ -1,2 +1,2 @@\n a\n-b+c");
    EXPECT_EQ(python_unified_diff("a\nb", "a\nb\n", "x", "y"),
              "--- x\n+++ y\n@@ -1,2 +1,2 @@\n a\n-b+b\n");
}

TEST(UnifiedDiff, EmptySideStartsAtLineZero)
{
    EXPECT_EQ(python_unified_diff("", "x\ny\n", "x", "y"),
              "--- x\n+++ y\n@@ -0,0 +1,2 @@\n+x\n+y\n");
    EXPECT_EQ(python_unified_diff("x\ny\n", "", "x", "y"),
              "--- x\n+++ y\n@@ -1,2 +0,0 @@\n-x\n-y\n");
}

TEST(UnifiedDiff, OnlyNewlineEndsALine)
{
    EXPECT_EQ(python_unified_diff("a\r\nb\n", "a\nb\n", "x", "y"),
              "--- x\n+++ y\n@@ -1,2 +1,2 @@\n-a\r\n+a\n b\n");
}

TEST(UnifiedDiff, EarliestOfEquallyLongMatchesWins)
{
    // Both "a" and "b" match one line; the match starting first in a wins.
    EXPECT_EQ(python_unified_diff("a\nb\n", "b\na\n", "x", "y"),
              "--- x\n+++ y\n@@ -1,2 +1,2 @@\n+b\n a\n-b\n");
}

TEST(UnifiedDiff, ContextIsUnifiedDiffsN)
{
    EXPECT_EQ(python_unified_diff("1\n2\n3\n4\n5\n", "1\n2\nX\n4\n5\n", "x", "y", 0),
              "--- x\n+++ y\n@@ -3 +3 @@\n-3\n+X\n");
}

TEST(UnifiedDiff, PopularLinesOfALongBDoNotStartAMatch)
{
    // b has 200 lines, "x" 198 times (more than 200 // 100 + 1): autojunk leaves it out of
    // b2j, so the longest match is a single "p" line and the 198 "x" lines are replaced.
    const auto a = repeat("x\n", 198) + "p\nq\n";
    const auto b = "p\n" + repeat("x\n", 198) + "q\n";
    EXPECT_EQ(python_unified_diff(a, b, "x", "y"),
              "--- x\n+++ y\n@@ -1,200 +1,200 @@\n" + repeat("-x\n", 198) + " p\n" +
                  repeat("+x\n", 198) + " q\n");
}

// ---- Compared with Python ----

constexpr const char* kPython = "/usr/bin/python3";

// For each pair i: reads i.a and i.b as UTF-8 without newline translation, diffs them as
// sesam-py does (with n from the line i of `contexts`) and writes "<length>\n<diff bytes>".
constexpr const char* kScript = R"(import difflib, io, os, sys
d = sys.argv[1]
out = sys.stdout.buffer
with open(os.path.join(d, "contexts")) as f:
    contexts = f.read().split()
def text(name):
    with open(os.path.join(d, name), "rb") as f:
        return f.read().decode("utf-8")
for i, n in enumerate(contexts):
    a = io.StringIO(text("%d.a" % i)).readlines()
    b = io.StringIO(text("%d.b" % i)).readlines()
    diff = "".join(difflib.unified_diff(a, b, fromfile="%d.a" % i, tofile="ø/%d.b" % i, n=int(n)))
    data = diff.encode("utf-8")
    out.write(b"%d\n" % len(data))
    out.write(data)
)";

struct Pair {
    std::string a;
    std::string b;
    int context = 3;
};

/// Random texts with many repeated lines, and edits of them.
class PairMaker {
public:
    explicit PairMaker(unsigned seed) : rng_(seed) {}

    std::size_t below(std::size_t n)
    {
        return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_);
    }
    bool chance(int percent) { return below(100) < static_cast<std::size_t>(percent); }

    /// Lines drawn from the first `alphabet` of a fixed set (with '\r', UTF-8 and blank lines).
    std::vector<std::string> random_lines(std::size_t count, std::size_t alphabet)
    {
        static const std::vector<std::string> kLines = {
            "a\n",   "b\n",           "c\n", "\n",  "}\n", "  },\n", "d\r\n",
            "æøå\n", "  \"x\": 1,\n", "e\n", "f\n", "g\n", "h\n",    "i\n",
            "j\n",   "k\n",           "l\n", "m\n", "n\n", "o\n",    "p\n",
        };
        alphabet = std::min(alphabet, kLines.size());
        std::vector<std::string> lines;
        for (std::size_t i = 0; i < count; ++i) {
            // One line in alphabet + 1 is (nearly always) unique, so that there are anchors too.
            const auto pick = below(alphabet + 1);
            lines.push_back(pick < alphabet ? kLines[pick]
                                            : "u" + std::to_string(below(1000)) + "\n");
        }
        return lines;
    }

    /// `lines` with a few insertions, deletions and replacements, or many.
    std::vector<std::string> edit(std::vector<std::string> lines, std::size_t alphabet)
    {
        const std::size_t edits = chance(20) ? below(lines.size() + 2) : below(6);
        for (std::size_t e = 0; e < edits; ++e) {
            const auto at = below(lines.size() + 1);
            const auto kind = below(3);
            auto fresh = random_lines(1 + below(3), alphabet);
            if (kind == 0 || lines.empty() || at == lines.size()) {
                lines.insert(
                    lines.begin() + static_cast<std::ptrdiff_t>(at), fresh.begin(), fresh.end());
            } else if (kind == 1) {
                const auto n = std::min(lines.size() - at, 1 + below(3));
                lines.erase(lines.begin() + static_cast<std::ptrdiff_t>(at),
                            lines.begin() + static_cast<std::ptrdiff_t>(at + n));
            } else {
                lines[at] = fresh.front();
            }
        }
        return lines;
    }

    /// The lines joined, the last one sometimes without its '\n'.
    std::string join(const std::vector<std::string>& lines)
    {
        std::string text;
        for (const auto& line : lines)
            text += line;
        if (!text.empty() && text.back() == '\n' && chance(30))
            text.pop_back();
        return text;
    }

    /// A list of entities as json.dumps(entities, indent=2) writes it (no final newline).
    std::string
    json_text(const std::vector<std::vector<std::pair<std::string, std::string>>>& entities)
    {
        if (entities.empty())
            return "[]";
        std::string text = "[\n";
        for (std::size_t e = 0; e < entities.size(); ++e) {
            text += "  {\n";
            const auto& fields = entities[e];
            for (std::size_t f = 0; f < fields.size(); ++f)
                text += "    \"" + fields[f].first + "\": " + fields[f].second +
                        (f + 1 < fields.size() ? ",\n" : "\n");
            text += e + 1 < entities.size() ? "  },\n" : "  }\n";
        }
        return text + "]";
    }

    using Entity = std::vector<std::pair<std::string, std::string>>;

    Entity random_entity(std::size_t id)
    {
        Entity entity{{"_id", "\"" + std::to_string(id) + "\""}};
        entity.emplace_back("_deleted", chance(10) ? "true" : "false");
        if (chance(70))
            entity.emplace_back("name", "\"name-" + std::to_string(below(5)) + "\"");
        if (chance(50))
            entity.emplace_back("count", std::to_string(below(4)));
        if (chance(30))
            entity.emplace_back("tags", "[]");
        return entity;
    }

    /// Two entity lists as sesam-py compares them: b is a with some entities changed, removed
    /// or added.
    Pair json_pair(std::size_t count)
    {
        std::vector<Entity> a;
        for (std::size_t i = 0; i < count; ++i)
            a.push_back(random_entity(i));
        auto b = a;
        const auto edits = below(5);
        for (std::size_t e = 0; e < edits && !b.empty(); ++e) {
            const auto at = below(b.size());
            switch (below(3)) {
            case 0:
                b[at] = random_entity(at);
                break;
            case 1:
                b.erase(b.begin() + static_cast<std::ptrdiff_t>(at));
                break;
            default:
                b.insert(b.begin() + static_cast<std::ptrdiff_t>(at), random_entity(1000 + e));
            }
        }
        return {json_text(a), json_text(b), 3};
    }

    Pair lines_pair(std::size_t count, std::size_t alphabet)
    {
        auto a = random_lines(count, alphabet);
        auto b = chance(10) ? random_lines(below(count + 1), alphabet) : edit(a, alphabet);
        if (chance(50))
            std::swap(a, b);
        static const int kContexts[] = {3, 3, 3, 0, 1, 5};
        return {join(a), join(b), kContexts[below(std::size(kContexts))]};
    }

private:
    std::mt19937 rng_;
};

std::vector<Pair> random_pairs()
{
    PairMaker maker(20240611);
    std::vector<Pair> pairs;
    for (int i = 0; i < 170; ++i) // short texts, small alphabets: many equal-length ties
        pairs.push_back(maker.lines_pair(maker.below(30), 1 + maker.below(6)));
    for (int i = 0; i < 60; ++i) // len(b) >= 200: the autojunk heuristic applies
        pairs.push_back(maker.lines_pair(200 + maker.below(200), 2 + maker.below(20)));
    for (int i = 0; i < 60; ++i) // entity lists, some long enough for autojunk
        pairs.push_back(maker.json_pair(maker.below(60)));
    pairs.push_back(maker.json_pair(2500)); // about 15,000 lines
    pairs.push_back({"", "", 3});
    pairs.push_back({"a", "", 3});
    pairs.push_back({"", "\n", 3});
    return pairs;
}

TEST(UnifiedDiff, MatchesPythonDifflibOnRandomPairs)
{
    if (!fs::exists(kPython))
        GTEST_SKIP() << kPython << " is not installed";
    const auto pairs = random_pairs();
    const auto dir =
        fs::temp_directory_path() / ("sesam-unified-diff-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    std::ofstream(dir / "diff.py", std::ios::binary) << kScript;
    std::string contexts;
    for (std::size_t i = 0; i < pairs.size(); ++i) {
        std::ofstream(dir / (std::to_string(i) + ".a"), std::ios::binary) << pairs[i].a;
        std::ofstream(dir / (std::to_string(i) + ".b"), std::ios::binary) << pairs[i].b;
        contexts += std::to_string(pairs[i].context) + "\n";
    }
    std::ofstream(dir / "contexts", std::ios::binary) << contexts;

    const auto run = testing::run_command(std::string(kPython) + " " + (dir / "diff.py").string() +
                                          " " + dir.string());
    fs::remove_all(dir);
    ASSERT_EQ(run.exit_code, 0) << run.err;

    std::size_t at = 0;
    int differences = 0;
    for (std::size_t i = 0; i < pairs.size(); ++i) {
        const auto newline = run.out.find('\n', at);
        ASSERT_NE(newline, std::string::npos) << "python's output ends before pair " << i;
        const auto length = std::stoul(run.out.substr(at, newline - at));
        ASSERT_LE(newline + 1 + length, run.out.size());
        const auto expected = run.out.substr(newline + 1, length);
        at = newline + 1 + length;

        const auto name = std::to_string(i);
        const auto actual = python_unified_diff(
            pairs[i].a, pairs[i].b, name + ".a", "ø/" + name + ".b", pairs[i].context);
        if (actual != expected && ++differences <= 3) {
            ADD_FAILURE() << "pair " << i << " (context " << pairs[i].context << ")\n--- a:\n"
                          << pairs[i].a << "\n--- b:\n"
                          << pairs[i].b << "\n--- python:\n"
                          << expected << "\n--- ours:\n"
                          << actual;
        }
    }
    EXPECT_EQ(at, run.out.size());
    EXPECT_EQ(differences, 0) << "of " << pairs.size() << " pairs";
}

} // namespace
} // namespace sesam::harness::node
