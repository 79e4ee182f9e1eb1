#include "emulator/push/push_machine.hpp"

#include <algorithm>
#include <cassert>

namespace sesam::emulator {

PushMachine::PushMachine(std::string sequence_id,
                         bool is_full,
                         std::size_t entity_count,
                         PushSettings settings)
    : sequence_(std::move(sequence_id), is_full), count_(entity_count), settings_(settings)
{
    assert(settings_.batch_size >= 1 && settings_.max_consecutive_write_errors >= 1);
    start_batch(0);
}

const PushAction& PushMachine::next()
{
    if (!in_flight_ && phase_ != Phase::done)
        plan_next();
    return action_;
}

void PushMachine::report(PushResult result)
{
    assert(in_flight_ && "report() without a pending send");
    in_flight_ = false;
    if (result == PushResult::conflict)
        // docs/protocol.md#push-receiver-rules: stop at once, no retry
        return finish(PushOutcome::Stop::conflict);
    if (result == PushResult::acknowledged) {
        sequence_.acknowledge();
        attempts_ = 0;
        consecutive_errors_ = 0;
        // docs/protocol.md#push-receiver-rules: the offset advances only over what was
        // acknowledged, and never past a gap
        if (outcome_.failed.empty())
            outcome_.acknowledged_prefix = action_.first + action_.count;
        return advance();
    }
    // docs/protocol.md#push-receiver-rules batch_retries; a fallback single gets one attempt only
    if (phase_ != Phase::singles && attempts_ <= settings_.batch_retries)
        return;
    attempts_ = 0;
    // docs/protocol.md#push-receiver-rules fallback_to_single_entities_on_batch_fail; a batch of
    // one would only repeat itself
    if (phase_ == Phase::data && action_.count > 1 && settings_.fallback_to_single_entities) {
        phase_ = Phase::singles;
        single_ = batch_begin_;
        return;
    }
    write_error(action_.first, action_.count);
}

void PushMachine::plan_next()
{
    const bool single = phase_ == Phase::singles;
    const bool retry = attempts_ > 0;
    action_.kind = PushAction::Kind::send;
    action_.params =
        retry ? sequence_.current() : sequence_.begin_request(phase_ == Phase::trailing);
    action_.first = single ? single_ : batch_begin_;
    action_.count = single ? 1 : batch_end_ - batch_begin_;
    action_.retry = retry;
    ++attempts_;
    ++outcome_.requests;
    outcome_.retries += retry ? 1 : 0;
    in_flight_ = true;
}

void PushMachine::start_batch(std::size_t first)
{
    batch_begin_ = first;
    batch_end_ = first + std::min(settings_.batch_size, count_ - first);
    if (first < count_)
        phase_ = Phase::data;
    else if (sequence_.is_full() || settings_.incremental_trailing_empty_batch)
        // docs/protocol.md#push-empty-batch: [count_, count_), the empty batch
        phase_ = Phase::trailing;
    else
        finish(PushOutcome::Stop::none);
}

void PushMachine::advance()
{
    if (phase_ == Phase::trailing)
        return finish(PushOutcome::Stop::none);
    if (phase_ == Phase::singles && ++single_ < batch_end_)
        return;
    start_batch(batch_end_);
}

void PushMachine::write_error(std::size_t first, std::size_t count)
{
    for (std::size_t i = first; i < first + count; ++i)
        outcome_.failed.push_back(i);
    // docs/protocol.md#push-receiver-rules max_consecutive_write_errors. Without its trailing batch
    // a full sync never reaches is_last (docs/protocol.md#push-empty-batch), and nothing is left to
    // skip to.
    if (++consecutive_errors_ >= settings_.max_consecutive_write_errors ||
        phase_ == Phase::trailing)
        return finish(PushOutcome::Stop::write_errors);
    advance();
}

void PushMachine::finish(PushOutcome::Stop stop)
{
    phase_ = Phase::done;
    action_ = PushAction{};
    outcome_.stop = stop;
    // Full: the request with is_last was acknowledged; incremental: nothing failed or stopped.
    outcome_.complete =
        stop == PushOutcome::Stop::none && (sequence_.is_full() || outcome_.failed.empty());
}

} // namespace sesam::emulator
