// A port of CPython 3.11's Lib/difflib.py (SequenceMatcher and unified_diff), restricted to
// what unified_diff(a, b, fromfile, tofile) uses: isjunk=None, autojunk=True, lineterm="\n", no
// dates. The structure and the order of every loop follow the Python code, because that order
// decides which of several equally long matches wins, and so which hunks are printed.
#include "harness/node/unified_diff.hpp"

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

namespace sesam::harness::node {
namespace {

using Lines = std::vector<std::string_view>;

/// io.StringIO(text).readlines(): StringIO's default newline='\n' ends a line after each '\n'
/// only ('\r' and the other Unicode line breaks stay inside the line); the last line may lack it.
Lines read_lines(std::string_view text)
{
    Lines lines;
    std::size_t start = 0;
    while (start < text.size()) {
        const auto end = text.find('\n', start);
        if (end == std::string_view::npos) {
            lines.push_back(text.substr(start));
            break;
        }
        lines.push_back(text.substr(start, end + 1 - start));
        start = end + 1;
    }
    return lines;
}

/// difflib.Match: a[a, a + size) == b[b, b + size).
struct Match {
    std::size_t a = 0;
    std::size_t b = 0;
    std::size_t size = 0;

    friend bool operator<(const Match& x, const Match& y)
    {
        return std::tie(x.a, x.b, x.size) < std::tie(y.a, y.b, y.size);
    }
};

enum class Tag { replace, remove, insert, equal };

/// One of get_opcodes()'s 5-tuples: (tag, i1, i2, j1, j2).
struct Opcode {
    Tag tag;
    std::size_t i1, i2, j1, j2;
};

using Group = std::vector<Opcode>;

/// difflib.SequenceMatcher(None, a, b) (autojunk=True) over lines.
class SequenceMatcher {
public:
    /// SequenceMatcher.__init__ → set_seqs → set_seq2 → __chain_b.
    SequenceMatcher(const Lines& a, const Lines& b) : a_(a), b_(b)
    {
        chain_b();
        j2len_.assign(b_.size() + 1, 0);
        new_j2len_.assign(b_.size() + 1, 0);
    }

    /// SequenceMatcher.get_grouped_opcodes(n).
    std::vector<Group> get_grouped_opcodes(std::size_t n)
    {
        auto codes = get_opcodes();
        if (codes.empty())
            codes.push_back({Tag::equal, 0, 1, 0, 1});
        // Keep at most n lines of context before the first change and after the last one.
        if (codes.front().tag == Tag::equal) {
            auto& c = codes.front();
            c.i1 = std::max(c.i1, minus(c.i2, n));
            c.j1 = std::max(c.j1, minus(c.j2, n));
        }
        if (codes.back().tag == Tag::equal) {
            auto& c = codes.back();
            c.i2 = std::min(c.i2, c.i1 + n);
            c.j2 = std::min(c.j2, c.j1 + n);
        }
        const std::size_t nn = n + n;
        std::vector<Group> groups;
        Group group;
        for (auto c : codes) {
            // An equal run longer than 2n closes the group after n lines and opens the next
            // one n lines before its end.
            if (c.tag == Tag::equal && c.i2 - c.i1 > nn) {
                group.push_back(
                    {c.tag, c.i1, std::min(c.i2, c.i1 + n), c.j1, std::min(c.j2, c.j1 + n)});
                groups.push_back(std::move(group));
                group.clear();
                c.i1 = std::max(c.i1, minus(c.i2, n));
                c.j1 = std::max(c.j1, minus(c.j2, n));
            }
            group.push_back(c);
        }
        if (!group.empty() && !(group.size() == 1 && group.front().tag == Tag::equal))
            groups.push_back(std::move(group));
        return groups;
    }

private:
    /// max(0, x - y) without wrapping: Python's ints go negative where size_t would not.
    static std::size_t minus(std::size_t x, std::size_t y) { return x > y ? x - y : 0; }

    /// SequenceMatcher.__chain_b: b2j maps each line of b to the ascending indices where it
    /// occurs. With isjunk=None there is no junk; autojunk then drops the "popular" lines of a
    /// b of 200 lines or more (more than len(b) // 100 + 1 occurrences) from b2j, so that they
    /// never start a match (find_longest_match may still extend a match over them).
    void chain_b()
    {
        b2j_.reserve(b_.size());
        for (std::size_t i = 0; i < b_.size(); ++i)
            b2j_[b_[i]].push_back(i);
        const std::size_t n = b_.size();
        if (n >= 200) {
            const std::size_t ntest = n / 100 + 1;
            std::erase_if(b2j_, [&](const auto& entry) { return entry.second.size() > ntest; });
        }
    }

    /// SequenceMatcher.find_longest_match(alo, ahi, blo, bhi): the longest matching block in
    /// a[alo:ahi] and b[blo:bhi]; of the longest, the one starting earliest in a, and of those
    /// the one starting earliest in b (a block found later must be strictly longer to win).
    ///
    /// Python's j2len dicts (j → length of the match ending at a[i-1] and b[j]) are two arrays
    /// indexed by j + 1 (so that j - 1 = -1 has a slot) that stay zero outside the entries
    /// written for the current i, which are reset through the list of touched slots; a zero
    /// reads as "absent", as j2len.get(j - 1, 0) does.
    Match find_longest_match(std::size_t alo, std::size_t ahi, std::size_t blo, std::size_t bhi)
    {
        std::size_t besti = alo;
        std::size_t bestj = blo;
        std::size_t bestsize = 0;
        for (std::size_t i = alo; i < ahi; ++i) {
            const auto found = b2j_.find(a_[i]);
            if (found != b2j_.end()) {
                const auto& indices = found->second;
                // Python skips the indices below blo one by one; they are sorted, so a binary
                // search finds the same first index.
                for (auto it = std::lower_bound(indices.begin(), indices.end(), blo);
                     it != indices.end() && *it < bhi;
                     ++it) {
                    const std::size_t j = *it;
                    const std::size_t k = j2len_[j] + 1; // j2len.get(j - 1, 0) + 1
                    new_j2len_[j + 1] = k;
                    new_touched_.push_back(j + 1);
                    if (k > bestsize) {
                        besti = i + 1 - k;
                        bestj = j + 1 - k;
                        bestsize = k;
                    }
                }
            }
            // j2len = newj2len
            for (const auto slot : touched_)
                j2len_[slot] = 0;
            touched_.clear();
            std::swap(j2len_, new_j2len_);
            std::swap(touched_, new_touched_);
        }
        for (const auto slot : touched_)
            j2len_[slot] = 0;
        touched_.clear();

        // Extend the match over equal lines on both sides: this is how popular lines, which
        // b2j no longer holds, join a match. (Python's two further loops extend over junk
        // lines; with isjunk=None there are none, so they never run.)
        while (besti > alo && bestj > blo && a_[besti - 1] == b_[bestj - 1]) {
            --besti;
            --bestj;
            ++bestsize;
        }
        while (besti + bestsize < ahi && bestj + bestsize < bhi &&
               a_[besti + bestsize] == b_[bestj + bestsize])
            ++bestsize;
        return {besti, bestj, bestsize};
    }

    /// SequenceMatcher.get_matching_blocks: the longest match, then recursively (with an
    /// explicit stack, popped from the back as Python's list is) the pieces left and right of
    /// it; sorted, adjacent blocks merged, ended by the sentinel (len(a), len(b), 0).
    std::vector<Match> get_matching_blocks()
    {
        const std::size_t la = a_.size();
        const std::size_t lb = b_.size();
        struct Range {
            std::size_t alo, ahi, blo, bhi;
        };
        std::vector<Range> queue{{0, la, 0, lb}};
        std::vector<Match> matching_blocks;
        while (!queue.empty()) {
            const auto r = queue.back();
            queue.pop_back();
            const auto x = find_longest_match(r.alo, r.ahi, r.blo, r.bhi);
            if (x.size != 0) {
                matching_blocks.push_back(x);
                if (r.alo < x.a && r.blo < x.b)
                    queue.push_back({r.alo, x.a, r.blo, x.b});
                if (x.a + x.size < r.ahi && x.b + x.size < r.bhi)
                    queue.push_back({x.a + x.size, r.ahi, x.b + x.size, r.bhi});
            }
        }
        std::sort(matching_blocks.begin(), matching_blocks.end());

        std::vector<Match> non_adjacent;
        Match current; // (i1, j1, k1)
        for (const auto& next : matching_blocks) {
            if (current.a + current.size == next.a && current.b + current.size == next.b) {
                current.size += next.size;
            } else {
                if (current.size != 0)
                    non_adjacent.push_back(current);
                current = next;
            }
        }
        if (current.size != 0)
            non_adjacent.push_back(current);
        non_adjacent.push_back({la, lb, 0});
        return non_adjacent;
    }

    /// SequenceMatcher.get_opcodes: the steps that turn a into b, from the matching blocks.
    std::vector<Opcode> get_opcodes()
    {
        std::size_t i = 0;
        std::size_t j = 0;
        std::vector<Opcode> answer;
        for (const auto& block : get_matching_blocks()) {
            if (i < block.a && j < block.b)
                answer.push_back({Tag::replace, i, block.a, j, block.b});
            else if (i < block.a)
                answer.push_back({Tag::remove, i, block.a, j, block.b});
            else if (j < block.b)
                answer.push_back({Tag::insert, i, block.a, j, block.b});
            i = block.a + block.size;
            j = block.b + block.size;
            if (block.size != 0)
                answer.push_back({Tag::equal, block.a, i, block.b, j});
        }
        return answer;
    }

    const Lines& a_;
    const Lines& b_;
    std::unordered_map<std::string_view, std::vector<std::size_t>> b2j_;
    std::vector<std::size_t> j2len_;
    std::vector<std::size_t> new_j2len_;
    std::vector<std::size_t> touched_;
    std::vector<std::size_t> new_touched_;
};

/// difflib._format_range_unified(start, stop): "start+1,length", "start+1" for one line, and
/// for an empty range the line before it ("0,0" at the top of the file).
std::string format_range_unified(std::size_t start, std::size_t stop)
{
    std::size_t beginning = start + 1;
    const std::size_t length = stop - start;
    if (length == 1)
        return std::to_string(beginning);
    if (length == 0)
        --beginning;
    return std::to_string(beginning) + "," + std::to_string(length);
}

void append_lines(std::string& out, char prefix, const Lines& lines, std::size_t lo, std::size_t hi)
{
    for (std::size_t i = lo; i < hi; ++i) {
        out += prefix;
        out += lines[i];
    }
}

} // namespace

// difflib.unified_diff(a, b, fromfile, tofile, n=context), joined.
std::string python_unified_diff(std::string_view a,
                                std::string_view b,
                                std::string_view from_file,
                                std::string_view to_file,
                                int context)
{
    const auto a_lines = read_lines(a);
    const auto b_lines = read_lines(b);
    SequenceMatcher matcher(a_lines, b_lines);
    const auto groups = matcher.get_grouped_opcodes(static_cast<std::size_t>(std::max(context, 0)));

    std::string out;
    if (groups.empty())
        return out;
    out.append("--- ").append(from_file).append("\n");
    out.append("+++ ").append(to_file).append("\n");
    for (const auto& group : groups) {
        const auto& first = group.front();
        const auto& last = group.back();
        out.append("@@ -")
            .append(format_range_unified(first.i1, last.i2))
            .append(" +")
            .append(format_range_unified(first.j1, last.j2))
            .append(" @@\n");
        for (const auto& op : group) {
            if (op.tag == Tag::equal) {
                append_lines(out, ' ', a_lines, op.i1, op.i2);
                continue;
            }
            if (op.tag == Tag::replace || op.tag == Tag::remove)
                append_lines(out, '-', a_lines, op.i1, op.i2);
            if (op.tag == Tag::replace || op.tag == Tag::insert)
                append_lines(out, '+', b_lines, op.j1, op.j2);
        }
    }
    return out;
}

} // namespace sesam::harness::node
