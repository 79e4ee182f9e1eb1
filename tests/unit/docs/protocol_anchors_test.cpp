// Citations of docs/protocol.md name sections that exist: the anchors cited in the sources, the
// tests and the docs, and the spec of every check (which the reports print). Old-style citations
// of the internal spec by section number must not come back.
#include "harness/checks/check.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace {

namespace fs = std::filesystem;

const fs::path kRoot = SESAM_SOURCE_DIR;

/// The cited document, and the prefix of every citation of it (built here so that this file
/// holds no citation of its own).
const std::string kDoc = "docs/protocol.md";
const std::string kCite = kDoc + "#";

/// Old-style citations: the internal spec and its configuration part by section number. Built
/// from pieces for the same reason.
const std::string kSection = "\xC2\xA7";
const std::vector<std::string> kOldStyle = {"spec " + kSection, "sesam-config.md " + kSection};

/// Folders scanned whole (build folders and hidden ones left out), and single files.
const std::vector<std::string> kFolders = {"emulator", "harness", "examples", "tests", "scripts"};
const std::vector<std::string> kFiles = {
    "README.md", "ARCHITECTURE.md", "CMakeLists.txt", "fixtures/README.md"};

std::string slurp(const fs::path& path)
{
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// The anchors docs/protocol.md defines, `<a id="NAME"></a>` each, in order (duplicates kept).
std::vector<std::string> defined_anchors()
{
    const auto text = slurp(kRoot / kDoc);
    const std::string open = "<a id=\"";
    const std::string close = "\"></a>";
    std::vector<std::string> out;
    for (auto at = text.find(open); at != std::string::npos; at = text.find(open, at + 1)) {
        const auto begin = at + open.size();
        const auto end = text.find(close, begin);
        if (end == std::string::npos)
            break;
        out.push_back(text.substr(begin, end - begin));
    }
    return out;
}

const std::set<std::string>& anchors()
{
    static const auto set = [] {
        const auto list = defined_anchors();
        return std::set<std::string>(list.begin(), list.end());
    }();
    return set;
}

bool anchor_char(char c)
{
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
}

/// One anchor named by a citation, and where in the line the citation starts.
struct Cited {
    std::size_t column;
    std::string anchor; ///< empty: the prefix with no anchor after it
};

/// The anchors cited in one line: each kCite followed by an anchor, and every `, #` anchor that
/// continues the same citation. A bare prefix closed by a quote is a string in
/// code that matches citations (as this file's kCite), not a citation, and is left out.
std::vector<Cited> citations(std::string_view line)
{
    std::vector<Cited> out;
    for (auto at = line.find(kCite); at != std::string_view::npos; at = line.find(kCite, at + 1)) {
        auto pos = at + kCite.size();
        auto read = [&] {
            const auto begin = pos;
            while (pos < line.size() && anchor_char(line[pos]))
                ++pos;
            return std::string(line.substr(begin, pos - begin));
        };
        auto first = read();
        if (first.empty() && pos < line.size() && line[pos] == '"')
            continue;
        out.push_back({at, std::move(first)});
        while (line.substr(pos, 3) == ", #") {
            pos += 3;
            out.push_back({at, read()});
        }
    }
    return out;
}

bool binary(const std::string& text)
{
    return text.find('\0') != std::string::npos;
}

/// The source and doc files that may cite docs/protocol.md, relative to the repository root.
std::vector<fs::path> scanned_files()
{
    std::vector<fs::path> out;
    for (const auto& file : kFiles)
        if (fs::is_regular_file(kRoot / file))
            out.emplace_back(file);
    for (const auto& folder : kFolders) {
        if (!fs::is_directory(kRoot / folder))
            continue;
        for (auto it = fs::recursive_directory_iterator(kRoot / folder);
             it != fs::recursive_directory_iterator();
             ++it) {
            const auto name = it->path().filename().string();
            if (it->is_directory()) {
                if (name.rfind("build", 0) == 0 || name.rfind('.', 0) == 0)
                    it.disable_recursion_pending();
                continue;
            }
            if (it->is_regular_file())
                out.push_back(fs::relative(it->path(), kRoot));
        }
    }
    std::sort(out.begin(), out.end());
    return out;
}

/// Calls `visit(file, line number, line)` for every line of every scanned text file.
template <typename Visit> void each_line(Visit visit)
{
    for (const auto& file : scanned_files()) {
        const auto text = slurp(kRoot / file);
        if (binary(text))
            continue;
        std::istringstream in(text);
        std::string line;
        for (std::size_t n = 1; std::getline(in, line); ++n)
            visit(file, n, line);
    }
}

/// What is wrong with a check's spec, or "" when it is well formed and names existing anchors.
std::string spec_problem(std::string_view spec)
{
    if (spec.empty())
        return "empty";
    if (spec.rfind(kCite, 0) != 0)
        return "does not start with " + kCite;
    const auto cited = citations(spec);
    if (cited.empty() || cited.front().column != 0)
        return "not a citation";
    std::string rest(spec);
    std::string rebuilt = kCite + cited.front().anchor;
    for (std::size_t i = 1; i < cited.size(); ++i)
        rebuilt += ", #" + cited[i].anchor;
    if (rebuilt != rest)
        return "not of the form " + kCite + "a, #b, …";
    for (const auto& c : cited)
        if (c.anchor.empty() || !anchors().count(c.anchor))
            return "no section #" + c.anchor + " in " + kDoc;
    return "";
}

TEST(ProtocolAnchors, DocumentDefinesUniqueAnchors)
{
    const auto list = defined_anchors();
    ASSERT_GT(list.size(), 50u) << "too few anchors read from " << (kRoot / kDoc);
    std::set<std::string> seen;
    for (const auto& a : list) {
        EXPECT_FALSE(a.empty());
        EXPECT_TRUE(std::all_of(a.begin(), a.end(), anchor_char)) << a;
        EXPECT_TRUE(seen.insert(a).second) << "anchor defined twice: " << a;
    }
    for (const auto* a : {"how-to-read", "push-receiver-rules", "config-verify"})
        EXPECT_TRUE(anchors().count(a)) << a;
}

TEST(ProtocolAnchors, CitationParser)
{
    auto anchors_of = [](std::string_view line) {
        std::vector<std::string> out;
        for (const auto& c : citations(line))
            out.push_back(c.anchor);
        return out;
    };
    using V = std::vector<std::string>;
    EXPECT_EQ(anchors_of("// " + kCite + "push-request: the request"), V{"push-request"});
    EXPECT_EQ(anchors_of("(" + kCite + "pull-paging, #real-services)."),
              (V{"pull-paging", "real-services"}));
    EXPECT_EQ(anchors_of("\"" + kCite + "a, #b, #c\"},"), (V{"a", "b", "c"}));
    EXPECT_EQ(anchors_of("[#x](" + kCite + "x) and " + kCite + "y."), (V{"x", "y"}));
    EXPECT_EQ(anchors_of(kCite + "a #b, c"), V{"a"});
    EXPECT_EQ(anchors_of("spec.rfind(\"" + kCite + "\", 0)"), V{});
    EXPECT_EQ(anchors_of(kCite + " push"), V{""});
    EXPECT_EQ(spec_problem(kCite + "push-request, #defaults"), "");
    EXPECT_NE(spec_problem(kCite + "push-request, #no-such-section"), "");
    EXPECT_NE(spec_problem(kCite + "push-request; #defaults"), "");
    EXPECT_NE(spec_problem(kSection + "4.1"), "");
    EXPECT_NE(spec_problem(""), "");
}

TEST(ProtocolAnchors, EveryCitedSectionExists)
{
    std::size_t count = 0;
    std::set<std::string> files;
    each_line([&](const fs::path& file, std::size_t n, const std::string& line) {
        for (const auto& c : citations(line)) {
            ++count;
            files.insert(file.generic_string());
            if (c.anchor.empty())
                ADD_FAILURE() << file.generic_string() << ":" << n << ": " << kCite
                              << " without an anchor: " << line;
            else if (!anchors().count(c.anchor))
                ADD_FAILURE() << file.generic_string() << ":" << n << ": #" << c.anchor
                              << " is not a section of " << kDoc << ": " << line;
        }
    });
    // The scan must have found the citations this test exists for.
    EXPECT_GT(count, 400u);
    for (const auto* f : {"README.md",
                          "harness/checks/sink_checks.cpp",
                          "emulator/push/push_machine.cpp",
                          "harness/node/verifier.hpp",
                          "tests/golden/report.json"})
        EXPECT_TRUE(files.count(f)) << "no citation found in " << f;
}

TEST(ProtocolAnchors, EveryCheckCitesExistingSections)
{
    std::size_t count = 0;
    for (const auto* list : {&sesam::harness::all_checks(),
                             &sesam::harness::fault_checks(),
                             &sesam::harness::memory_checks()})
        for (const auto& check : *list) {
            ++count;
            const auto problem = spec_problem(check.info.spec);
            EXPECT_EQ(problem, "") << check.info.id << ": spec \"" << check.info.spec << "\"";
        }
    EXPECT_GT(count, 30u);
}

TEST(ProtocolAnchors, NoOldStyleCitations)
{
    each_line([&](const fs::path& file, std::size_t n, const std::string& line) {
        for (const auto& old : kOldStyle)
            if (line.find(old) != std::string::npos)
                ADD_FAILURE() << file.generic_string() << ":" << n << ": \"" << old
                              << "\": cite a section of " << kDoc << " instead: " << line;
    });
}

} // namespace
