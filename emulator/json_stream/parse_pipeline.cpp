#include "emulator/json_stream/parse_pipeline.hpp"

namespace sesam::emulator {

ParsePipeline::ParsePipeline(EntityStreamParser& parser,
                             std::function<bool()> stop_requested,
                             std::size_t max_blocks)
    : parser_(parser), stop_requested_(std::move(stop_requested)),
      max_blocks_(max_blocks == 0 ? 1 : max_blocks)
{
}

ParsePipeline::~ParsePipeline()
{
    {
        std::lock_guard lock(mutex_);
        closing_ = true;
        stopped_ = true;
    }
    changed_.notify_all();
    if (thread_.joinable())
        thread_.join();
}

bool ParsePipeline::push(std::string_view bytes)
{
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return stopped_ || queue_.size() < max_blocks_; });
    if (stopped_)
        return false;
    std::string block;
    if (!spare_.empty()) {
        block = std::move(spare_.back());
        spare_.pop_back();
    }
    block.assign(bytes);
    queue_.push_back(std::move(block));
    if (!thread_.joinable())
        thread_ = std::thread([this] { run(); });
    lock.unlock();
    changed_.notify_all();
    return true;
}

std::optional<StreamError> ParsePipeline::drain()
{
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return (queue_.empty() && !busy_) || stopped_; });
    changed_.wait(lock, [&] { return !busy_; });
    queue_.clear();
    if (failure_)
        std::rethrow_exception(failure_);
    return error_;
}

void ParsePipeline::run()
{
    std::unique_lock lock(mutex_);
    for (;;) {
        changed_.wait(lock, [&] { return closing_ || (!queue_.empty() && !stopped_); });
        if (closing_ || stopped_)
            return;
        std::string block = std::move(queue_.front());
        queue_.pop_front();
        busy_ = true;
        lock.unlock();
        changed_.notify_all(); // room in the queue

        std::optional<StreamError> error;
        std::exception_ptr failure;
        bool stop = false;
        try {
            error = parser_.feed(block);
            stop = error.has_value() || stop_requested_();
        } catch (...) {
            failure = std::current_exception();
            stop = true;
        }

        lock.lock();
        busy_ = false;
        if (spare_.size() < max_blocks_)
            spare_.push_back(std::move(block));
        if (stop) {
            stopped_ = true;
            error_ = std::move(error);
            failure_ = failure;
        }
        changed_.notify_all();
    }
}

} // namespace sesam::emulator
