#pragma once

#include <string>
#include <string_view>

namespace sesam::harness::node {

/// The unified diff of `a` and `b` exactly as Python's difflib.unified_diff over
/// StringIO(x).readlines() joined with "" prints it (docs/protocol.md#config-verify, step 6):
/// "" when the texts are equal.
///
/// Lines end after each '\n' only (a last line without one is printed without one, glued to
/// what follows, as Python's join does) and are compared as bytes. The matching is CPython
/// 3.11's SequenceMatcher with autojunk (when `b` has 200 lines or more, lines occurring more
/// than len(b)/100 + 1 times in it are not used to start a match), with the same tie-breaking,
/// so that the hunks are the ones sesam-py shows. `context` is unified_diff's `n`.
std::string python_unified_diff(std::string_view a,
                                std::string_view b,
                                std::string_view from_file,
                                std::string_view to_file,
                                int context = 3);

} // namespace sesam::harness::node
