#pragma once

#include "emulator/json_stream/entity_stream_parser.hpp"

#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace sesam::emulator {

/// Runs an EntityStreamParser on a thread of its own, fed through a bounded queue of byte blocks,
/// so that receiving the next bytes (the kernel's copy, HTTP framing) overlaps parsing the last
/// ones. The parser's callbacks run on that thread. Memory stays bounded: at most `max_blocks`
/// blocks wait, each the size of one push.
class ParsePipeline {
public:
    /// `stop_requested` is asked on the parsing thread after each block; when it returns true,
    /// parsing stops (a callback found a problem).
    ParsePipeline(EntityStreamParser& parser,
                  std::function<bool()> stop_requested,
                  std::size_t max_blocks = 8);
    ~ParsePipeline();
    ParsePipeline(const ParsePipeline&) = delete;
    ParsePipeline& operator=(const ParsePipeline&) = delete;

    /// Copies `bytes` for the parsing thread, waiting while the queue is full. Returns false once
    /// parsing has stopped (an error, or stop_requested), so the caller can stop reading.
    bool push(std::string_view bytes);

    /// Waits until every pushed block is parsed and returns the parser's first error. Rethrows
    /// an exception thrown by a callback. The parser may then be used again on this thread.
    std::optional<StreamError> drain();

private:
    void run();

    EntityStreamParser& parser_;
    std::function<bool()> stop_requested_;
    const std::size_t max_blocks_;

    std::mutex mutex_;
    std::condition_variable changed_;
    std::deque<std::string> queue_;
    std::vector<std::string> spare_; ///< parsed blocks, kept for their capacity
    bool busy_ = false;              ///< the parsing thread holds a block
    bool closing_ = false;
    bool stopped_ = false;
    std::optional<StreamError> error_;
    std::exception_ptr failure_;
    std::thread thread_;
};

} // namespace sesam::emulator
