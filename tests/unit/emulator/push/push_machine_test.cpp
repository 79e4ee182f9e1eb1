#include "emulator/push/push_machine.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <sstream>

namespace sesam::emulator {
namespace {

using Query = std::vector<std::pair<std::string, std::string>>;
using Stop = PushOutcome::Stop;
constexpr PushResult A = PushResult::acknowledged;
constexpr PushResult F = PushResult::failed;
constexpr PushResult C = PushResult::conflict;

struct Sent {
    PushAction action;
    PushResult result;
};

/// Answers the sends with `script`, then with `rest`, until done.
std::vector<Sent> drive(PushMachine& machine, std::vector<PushResult> script, PushResult rest = A)
{
    std::vector<Sent> sent;
    while (machine.next().kind == PushAction::Kind::send && sent.size() < 100) {
        const PushResult result = sent.size() < script.size() ? script[sent.size()] : rest;
        sent.push_back({machine.next(), result});
        machine.report(result);
    }
    return sent;
}

PushParams params(std::string id, std::optional<std::string> previous, bool full = true)
{
    return {.sequence_id = "seq",
            .request_id = std::move(id),
            .previous_request_id = std::move(previous),
            .is_full = full};
}

std::vector<std::size_t> firsts(const std::vector<Sent>& sent)
{
    std::vector<std::size_t> out;
    for (const Sent& s : sent)
        out.push_back(s.action.first);
    return out;
}

std::vector<std::size_t> counts(const std::vector<Sent>& sent)
{
    std::vector<std::size_t> out;
    for (const Sent& s : sent)
        out.push_back(s.action.count);
    return out;
}

std::vector<std::string> ids(const std::vector<Sent>& sent)
{
    std::vector<std::string> out;
    for (const Sent& s : sent)
        out.push_back(s.action.params.request_id);
    return out;
}

// docs/protocol.md#push-example: 150 entities, batch_size 100 -> 100, 50, then the empty batch with
// is_last
TEST(PushMachine, WorkedFullExample)
{
    PushMachine machine("seq", true, 150, PushSettings{});
    const auto sent = drive(machine, {});
    ASSERT_EQ(sent.size(), 3U);

    PushParams first = params("1", std::nullopt);
    first.is_first = true;
    PushParams last = params("3", "2");
    last.is_last = true;
    EXPECT_EQ(sent[0].action.params, first);
    EXPECT_EQ(sent[1].action.params, params("2", "1"));
    EXPECT_EQ(sent[2].action.params, last);
    EXPECT_EQ(sent[0].action.params.query(),
              (Query{{"sequence_id", "seq"},
                     {"is_full", "true"},
                     {"request_id", "1"},
                     {"is_first", "true"}}));
    EXPECT_EQ(sent[1].action.params.query(),
              (Query{{"sequence_id", "seq"},
                     {"is_full", "true"},
                     {"request_id", "2"},
                     {"previous_request_id", "1"}}));
    EXPECT_EQ(sent[2].action.params.query(),
              (Query{{"sequence_id", "seq"},
                     {"is_full", "true"},
                     {"request_id", "3"},
                     {"previous_request_id", "2"},
                     {"is_last", "true"}}));
    EXPECT_EQ(firsts(sent), (std::vector<std::size_t>{0, 100, 150}));
    EXPECT_EQ(counts(sent), (std::vector<std::size_t>{100, 50, 0}));
    for (const Sent& s : sent)
        EXPECT_FALSE(s.action.retry);

    const PushOutcome& out = machine.outcome();
    EXPECT_TRUE(out.ok());
    EXPECT_TRUE(out.complete);
    EXPECT_EQ(out.acknowledged_prefix, 150U);
    EXPECT_EQ(out.requests, 3U);
    EXPECT_EQ(out.retries, 0U);
}

// docs/protocol.md#push-example: incremental, 3 changes, then the empty batch (on by default:
// docs/protocol.md#push-empty-batch)
TEST(PushMachine, WorkedIncrementalExample)
{
    PushMachine machine("seq", false, 3, PushSettings{});
    const auto sent = drive(machine, {});
    ASSERT_EQ(sent.size(), 2U);
    EXPECT_EQ(sent[0].action.params, params("1", std::nullopt, false));
    EXPECT_EQ(sent[1].action.params, params("2", "1", false));
    EXPECT_EQ(sent[0].action.params.query(),
              (Query{{"sequence_id", "seq"}, {"is_full", "false"}, {"request_id", "1"}}));
    EXPECT_EQ(sent[1].action.params.query(),
              (Query{{"sequence_id", "seq"},
                     {"is_full", "false"},
                     {"request_id", "2"},
                     {"previous_request_id", "1"}}));
    EXPECT_EQ(counts(sent), (std::vector<std::size_t>{3, 0}));
    EXPECT_TRUE(machine.outcome().ok());
    EXPECT_EQ(machine.outcome().acknowledged_prefix, 3U);
}

// docs/protocol.md#push-empty-batch [UNCONFIRMED]: the one empty request carries both flags
TEST(PushMachine, EmptyFullSyncIsOneRequestWithFirstAndLast)
{
    PushMachine machine("seq", true, 0, PushSettings{});
    const auto sent = drive(machine, {});
    ASSERT_EQ(sent.size(), 1U);
    EXPECT_EQ(sent[0].action.params.query(),
              (Query{{"sequence_id", "seq"},
                     {"is_full", "true"},
                     {"request_id", "1"},
                     {"is_first", "true"},
                     {"is_last", "true"}}));
    EXPECT_EQ(sent[0].action.first, 0U);
    EXPECT_EQ(sent[0].action.count, 0U);
    EXPECT_TRUE(machine.outcome().ok());
}

TEST(PushMachine, EmptyIncrementalSyncSendsOnlyTheTrailingBatchIfAny)
{
    PushMachine with("seq", false, 0, PushSettings{});
    const auto sent = drive(with, {});
    ASSERT_EQ(sent.size(), 1U);
    EXPECT_EQ(sent[0].action.params, params("1", std::nullopt, false));
    EXPECT_TRUE(with.outcome().ok());

    PushMachine without("seq", false, 0, PushSettings{.incremental_trailing_empty_batch = false});
    EXPECT_EQ(without.next().kind, PushAction::Kind::done);
    EXPECT_EQ(without.outcome().requests, 0U);
    EXPECT_TRUE(without.outcome().complete);
    EXPECT_TRUE(without.outcome().ok());
}

// docs/protocol.md#push-empty-batch: the trailing batch in incremental syncs is configurable
TEST(PushMachine, IncrementalWithoutTrailingBatchEndsAfterData)
{
    PushMachine machine(
        "seq", false, 5, PushSettings{.batch_size = 2, .incremental_trailing_empty_batch = false});
    const auto sent = drive(machine, {});
    EXPECT_EQ(firsts(sent), (std::vector<std::size_t>{0, 2, 4}));
    EXPECT_EQ(counts(sent), (std::vector<std::size_t>{2, 2, 1}));
    EXPECT_FALSE(sent.back().action.params.is_last);
    EXPECT_TRUE(machine.outcome().ok());
    EXPECT_EQ(machine.outcome().acknowledged_prefix, 5U);
}

// docs/protocol.md#push-receiver-rules batch_retries
TEST(PushMachine, RetriesRepeatTheRequestWithTheSameParams)
{
    PushMachine machine("seq", true, 2, PushSettings{.batch_retries = 2});
    const auto sent = drive(machine, {F, F, A});
    ASSERT_EQ(sent.size(), 4U);
    for (int i : {1, 2}) {
        EXPECT_TRUE(sent[i].action.retry);
        EXPECT_EQ(sent[i].action.params, sent[0].action.params);
        EXPECT_EQ(sent[i].action.count, 2U);
    }
    EXPECT_FALSE(sent[0].action.retry);
    EXPECT_FALSE(sent[3].action.retry);
    EXPECT_EQ(sent[3].action.params.request_id, "2");
    EXPECT_EQ(sent[3].action.params.previous_request_id, "1");
    EXPECT_TRUE(machine.outcome().ok());
    EXPECT_EQ(machine.outcome().requests, 4U);
    EXPECT_EQ(machine.outcome().retries, 2U);
}

// docs/protocol.md#push-receiver-rules fallback_to_single_entities_on_batch_fail,
// docs/protocol.md#defaults: one-element arrays
TEST(PushMachine, FallbackSendsEachEntityOnceWithNewRequestIds)
{
    PushMachine machine(
        "seq",
        true,
        3,
        PushSettings{.batch_size = 3, .batch_retries = 1, .max_consecutive_write_errors = 2});
    const auto sent = drive(machine, {F, F, A, F, A, A});
    ASSERT_EQ(sent.size(), 6U);
    EXPECT_EQ(ids(sent), (std::vector<std::string>{"1", "1", "2", "3", "4", "5"}));
    EXPECT_EQ(firsts(sent), (std::vector<std::size_t>{0, 0, 0, 1, 2, 3}));
    EXPECT_EQ(counts(sent), (std::vector<std::size_t>{3, 3, 1, 1, 1, 0}));
    EXPECT_TRUE(sent[2].action.params.is_first) << "nothing was acknowledged before it";
    EXPECT_FALSE(sent[2].action.params.previous_request_id);
    EXPECT_FALSE(sent[2].action.retry);
    EXPECT_EQ(sent[3].action.params, params("3", "2"));
    EXPECT_EQ(sent[4].action.params, params("4", "2")) << "3 failed: the chain skips it";
    EXPECT_TRUE(sent[5].action.params.is_last);

    const PushOutcome& out = machine.outcome();
    EXPECT_EQ(out.failed, (std::vector<std::size_t>{1}));
    EXPECT_EQ(out.acknowledged_prefix, 1U) << "entity 2 was acknowledged after a gap";
    EXPECT_EQ(out.stop, Stop::none);
    EXPECT_TRUE(out.complete);
    EXPECT_FALSE(out.ok());
    EXPECT_EQ(out.requests, 6U);
    EXPECT_EQ(out.retries, 1U);
}

TEST(PushMachine, WithoutFallbackTheWholeBatchFails)
{
    PushMachine machine("seq",
                        false,
                        4,
                        PushSettings{.batch_size = 2,
                                     .incremental_trailing_empty_batch = false,
                                     .batch_retries = 0,
                                     .fallback_to_single_entities = false,
                                     .max_consecutive_write_errors = 2});
    const auto sent = drive(machine, {F, A});
    EXPECT_EQ(counts(sent), (std::vector<std::size_t>{2, 2}));
    const PushOutcome& out = machine.outcome();
    EXPECT_EQ(out.failed, (std::vector<std::size_t>{0, 1}));
    EXPECT_EQ(out.acknowledged_prefix, 0U);
    EXPECT_EQ(out.stop, Stop::none);
    EXPECT_FALSE(out.complete) << "incremental: something failed for good";
}

TEST(PushMachine, BatchOfOneIsNotSentAgainAlone)
{
    PushMachine machine(
        "seq", true, 3, PushSettings{.batch_size = 2, .max_consecutive_write_errors = 2});
    const auto sent = drive(machine, {A, F, F, F, F, A});
    EXPECT_EQ(ids(sent), (std::vector<std::string>{"1", "2", "2", "2", "2", "3"}));
    EXPECT_EQ(counts(sent), (std::vector<std::size_t>{2, 1, 1, 1, 1, 0}));
    EXPECT_EQ(machine.outcome().failed, (std::vector<std::size_t>{2}));
    EXPECT_EQ(machine.outcome().acknowledged_prefix, 2U);
}

// docs/protocol.md#push-receiver-rules max_consecutive_write_errors
TEST(PushMachine, SkipBelowTheErrorLimit)
{
    PushMachine machine(
        "seq",
        true,
        4,
        PushSettings{.batch_size = 1, .batch_retries = 0, .max_consecutive_write_errors = 3});
    const auto sent = drive(machine, {F, F, A, F, A});
    EXPECT_EQ(firsts(sent), (std::vector<std::size_t>{0, 1, 2, 3, 4}));
    EXPECT_EQ(ids(sent), (std::vector<std::string>{"1", "2", "3", "4", "5"}));
    const PushOutcome& out = machine.outcome();
    EXPECT_EQ(out.failed, (std::vector<std::size_t>{0, 1, 3}));
    EXPECT_EQ(out.acknowledged_prefix, 0U);
    EXPECT_EQ(out.stop, Stop::none);
    EXPECT_TRUE(out.complete);
    EXPECT_FALSE(out.ok());
}

TEST(PushMachine, StopsAtTheErrorLimit)
{
    PushMachine defaults("seq", true, 250, PushSettings{});
    const auto sent = drive(defaults, {A, F, F, F, F, F});
    EXPECT_EQ(firsts(sent), (std::vector<std::size_t>{0, 100, 100, 100, 100, 100}));
    EXPECT_EQ(counts(sent), (std::vector<std::size_t>{100, 100, 100, 100, 100, 1}));
    EXPECT_EQ(defaults.outcome().stop, Stop::write_errors);
    EXPECT_EQ(defaults.outcome().failed, (std::vector<std::size_t>{100}));
    EXPECT_EQ(defaults.outcome().acknowledged_prefix, 100U);
    EXPECT_EQ(defaults.outcome().retries, 3U);
    EXPECT_FALSE(defaults.outcome().complete);

    PushMachine two(
        "seq",
        false,
        5,
        PushSettings{.batch_size = 1, .batch_retries = 0, .max_consecutive_write_errors = 2});
    EXPECT_EQ(drive(two, {A, F, A, F, F, A}).size(), 5U);
    EXPECT_EQ(two.outcome().stop, Stop::write_errors);
    EXPECT_EQ(two.outcome().failed, (std::vector<std::size_t>{1, 3, 4}));
}

// docs/protocol.md#push-empty-batch: without its acknowledged trailing batch the receiver never
// sees is_last
TEST(PushMachine, TrailingBatchFailureStopsTheSync)
{
    PushMachine machine(
        "seq", true, 2, PushSettings{.batch_retries = 1, .max_consecutive_write_errors = 3});
    const auto sent = drive(machine, {A, F, F});
    ASSERT_EQ(sent.size(), 3U);
    EXPECT_TRUE(sent[2].action.retry);
    EXPECT_TRUE(sent[2].action.params.is_last);
    const PushOutcome& out = machine.outcome();
    EXPECT_EQ(out.stop, Stop::write_errors);
    EXPECT_FALSE(out.complete);
    EXPECT_TRUE(out.failed.empty());
    EXPECT_EQ(out.acknowledged_prefix, 2U);
    EXPECT_FALSE(out.ok());
}

// docs/protocol.md#push-receiver-rules: 409 stops the sync at once
TEST(PushMachine, ConflictStopsWithoutRetry)
{
    PushMachine first("seq", true, 10, PushSettings{.batch_size = 4});
    EXPECT_EQ(drive(first, {C}).size(), 1U);
    EXPECT_EQ(first.outcome().stop, Stop::conflict);
    EXPECT_EQ(first.outcome().requests, 1U);
    EXPECT_EQ(first.outcome().retries, 0U);
    EXPECT_EQ(first.outcome().acknowledged_prefix, 0U);
    EXPECT_FALSE(first.outcome().complete);

    PushMachine single("seq", true, 10, PushSettings{.batch_size = 4, .batch_retries = 0});
    EXPECT_EQ(drive(single, {A, F, A, C}).size(), 4U);
    EXPECT_EQ(single.outcome().stop, Stop::conflict);
    EXPECT_EQ(single.outcome().acknowledged_prefix, 5U);
    EXPECT_TRUE(single.outcome().failed.empty());
}

TEST(PushMachine, NextIsIdempotentUntilReport)
{
    PushMachine machine("seq", true, 3, PushSettings{});
    const PushAction first = machine.next();
    EXPECT_EQ(machine.next().params, first.params);
    EXPECT_EQ(machine.sequence().requests(), 1U);
    EXPECT_EQ(machine.outcome().requests, 1U);
    machine.report(A);
    EXPECT_EQ(machine.next().params.request_id, "2");
    EXPECT_EQ(machine.next().params.request_id, "2");
    machine.report(A);
    EXPECT_EQ(machine.next().kind, PushAction::Kind::done);
    EXPECT_EQ(machine.next().kind, PushAction::Kind::done);
    EXPECT_EQ(machine.outcome().requests, 2U);
}

#ifndef NDEBUG
TEST(PushMachineDeathTest, ReportWithoutAPendingSendIsABug)
{
    EXPECT_DEATH(
        {
            PushMachine machine("seq", true, 3, PushSettings{});
            machine.report(A);
        },
        "pending send");
}
#endif

// ---- Exhaustive: every configuration in a small range, every answer sequence ----

struct Config {
    std::size_t count;
    bool full;
    PushSettings settings;
};

bool same(const PushAction& a, const PushAction& b)
{
    return a.kind == b.kind && a.params == b.params && a.first == b.first && a.count == b.count &&
           a.retry == b.retry;
}

/// Answers every send with each of A, F and C in turn, down to the end of every run (the tree is
/// finite, so this is every run, not a sample), and checks the invariants on each run.
class Explorer {
public:
    explicit Explorer(Config config) : config_(config)
    {
        const PushSettings& s = config_.settings;
        const std::size_t batches = (config_.count + s.batch_size - 1) / s.batch_size;
        // every batch with its retries, every entity alone, the trailing batch with its retries
        bound_ = batches * (s.batch_retries + 1) + config_.count + s.batch_retries + 1;
    }

    void explore(PushMachine& machine)
    {
        const PushAction action = machine.next();
        if (!same(machine.next(), action))
            return fail("next() changed without report()");
        if (action.kind == PushAction::Kind::done)
            return check(machine);
        if (sent_.size() >= bound_)
            return fail("the sync did not end within its bound");
        for (PushResult result : {A, F, C}) {
            PushMachine branch = machine;
            branch.report(result);
            sent_.push_back({action, result});
            explore(branch);
            sent_.pop_back();
            if (broken_)
                return;
        }
    }

    std::size_t runs() const { return runs_; }
    bool broken() const { return broken_; }

private:
    void fail(const char* invariant)
    {
        std::ostringstream run;
        const PushSettings& s = config_.settings;
        run << "count=" << config_.count << (config_.full ? " full" : " incremental")
            << " batch_size=" << s.batch_size << " trailing=" << s.incremental_trailing_empty_batch
            << " fallback=" << s.fallback_to_single_entities << " retries=" << s.batch_retries
            << " limit=" << s.max_consecutive_write_errors << " answers=";
        for (const Sent& sent : sent_)
            run << (sent.result == A ? 'A' : sent.result == F ? 'F' : 'C');
        ADD_FAILURE() << invariant << "\n  " << run.str();
        broken_ = true;
    }

    void expect(bool condition, const char* invariant)
    {
        if (!condition && !broken_)
            fail(invariant);
    }

    void check(const PushMachine& machine)
    {
        ++runs_;
        const PushSettings& s = config_.settings;
        const PushOutcome& out = machine.outcome();
        const bool trailing = config_.full || s.incremental_trailing_empty_batch;
        std::uint64_t begun = 0;
        std::uint64_t retries = 0;
        unsigned request_retries = 0;
        unsigned consecutive = 0;
        bool stopped_by_errors = false;
        bool trailing_begun = false;
        std::size_t fallback_end = 0; // entities below it go alone, after their batch failed
        std::optional<std::string> acknowledged;
        std::vector<int> acks(config_.count);
        std::vector<std::size_t> failed;
        const PushAction* begun_last = nullptr;

        for (std::size_t i = 0; i < sent_.size(); ++i) {
            const PushAction& a = sent_[i].action;
            const PushResult result = sent_[i].result;
            const PushAction* before = i > 0 ? &sent_[i - 1].action : nullptr;
            const PushAction* after = i + 1 < sent_.size() ? &sent_[i + 1].action : nullptr;

            expect(a.kind == PushAction::Kind::send, "a send in the run");
            expect(a.params.sequence_id == "seq", "one sequence_id");
            expect(a.params.is_full == config_.full, "is_full is constant");
            expect(a.params.previous_request_id == acknowledged,
                   "previous_request_id is the last acknowledged request_id");
            expect(a.params.is_first == (config_.full && !acknowledged),
                   "is_first in full syncs, exactly until the first acknowledgement");
            expect(a.params.is_last == (config_.full && a.count == 0),
                   "is_last in full syncs, exactly on the trailing batch");
            if (a.retry) {
                ++retries;
                expect(before && sent_[i - 1].result == F && before->params == a.params &&
                           before->first == a.first && before->count == a.count,
                       "a retry repeats the failed request");
                expect(++request_retries <= s.batch_retries, "retries <= batch_retries");
                expect(a.first >= fallback_end, "a fallback single gets one attempt");
            } else {
                request_retries = 0;
                expect(a.params.request_id == std::to_string(++begun),
                       "request ids are 1, 2, 3... in order of begin");
                expect(!trailing_begun, "nothing begins after the trailing batch");
                const bool fallback_start = before && a.first == before->first;
                if (fallback_start) {
                    expect(s.fallback_to_single_entities && before->count > 1 && a.count == 1,
                           "fallback only when on, from a batch, one entity at a time");
                    fallback_end = before->first + before->count;
                } else {
                    expect(a.first == (begun_last ? begun_last->first + begun_last->count : 0),
                           "entities in order, none skipped or sent twice");
                }
                if (a.first < fallback_end)
                    expect(a.count == 1, "fallback sends one entity at a time");
                else if (a.first < config_.count)
                    expect(a.count == std::min(s.batch_size, config_.count - a.first),
                           "full batches but the last");
                else
                    expect(a.first == config_.count && a.count == 0 && trailing,
                           "the trailing batch is empty, and sent when configured");
                trailing_begun = a.count == 0;
                begun_last = &a;
            }
            const bool alone = a.first < fallback_end;

            if (result == A) {
                acknowledged = a.params.request_id;
                consecutive = 0;
                for (std::size_t e = a.first; e < a.first + a.count && e < acks.size(); ++e)
                    ++acks[e];
            } else if (result == C) {
                expect(!after && out.stop == Stop::conflict, "409 ends the sync at once");
            } else {
                const bool retried = after && after->retry;
                const bool fell_back = after && !after->retry && after->first == a.first;
                if (alone)
                    expect(!retried && !fell_back, "a fallback single fails for good at once");
                else if (!retried)
                    expect(request_retries == s.batch_retries, "retries are used up first");
                expect(fell_back || retried || !s.fallback_to_single_entities || a.count <= 1,
                       "a failing batch falls back to single entities");
                if (!retried && !fell_back) {
                    for (std::size_t e = a.first; e < a.first + a.count; ++e)
                        failed.push_back(e);
                    ++consecutive;
                    expect(consecutive <= s.max_consecutive_write_errors,
                           "consecutive write errors never exceed the limit");
                    if (consecutive == s.max_consecutive_write_errors || a.count == 0) {
                        expect(!after && out.stop == Stop::write_errors,
                               "the error limit or a failed trailing batch stops the sync");
                        stopped_by_errors = true;
                    }
                }
            }
        }

        const Stop stop = !sent_.empty() && sent_.back().result == C ? Stop::conflict
                          : stopped_by_errors                        ? Stop::write_errors
                                                                     : Stop::none;
        expect(out.stop == stop, "the stop reason");
        expect(out.failed == failed, "failed lists what failed for good, in order");
        expect(out.requests == sent_.size(), "requests counts every send");
        expect(out.retries == retries, "retries counts every retry");
        expect(machine.sequence().requests() == begun, "one begin per new request");
        expect(machine.sequence().last_acknowledged() == acknowledged, "last acknowledged");

        std::size_t prefix = 0;
        while (prefix < acks.size() && acks[prefix] == 1)
            ++prefix;
        expect(out.acknowledged_prefix == prefix, "acknowledged_prefix is the acknowledged prefix");
        std::size_t dealt = 0; // entities acknowledged or failed, then those never sent
        for (std::size_t e = 0; e < acks.size(); ++e) {
            const bool in_failed = std::find(failed.begin(), failed.end(), e) != failed.end();
            expect(acks[e] <= 1, "no entity is acknowledged twice");
            expect(!(acks[e] == 1 && in_failed), "no entity both acknowledged and failed");
            if (acks[e] == 1 || in_failed)
                expect(dealt++ == e, "entities left out only after the stop point");
        }
        expect(dealt == config_.count || stop != Stop::none, "every entity is dealt with");

        const bool trailing_acknowledged = !sent_.empty() && sent_.back().result == A &&
                                           sent_.back().action.count == 0 &&
                                           sent_.back().action.first == config_.count;
        expect(out.complete ==
                   (config_.full ? trailing_acknowledged : stop == Stop::none && failed.empty()),
               "complete");
        expect(out.ok() == (stop == Stop::none && prefix == config_.count &&
                            (!trailing || trailing_acknowledged)),
               "ok() iff every entity and the trailing batch were acknowledged");
        expect(out.ok() == (out.stop == Stop::none && out.failed.empty() && out.complete),
               "ok() iff no stop, nothing failed, complete");
    }

    Config config_;
    std::size_t bound_ = 0;
    std::vector<Sent> sent_;
    std::size_t runs_ = 0;
    bool broken_ = false;
};

TEST(PushMachineExhaustive, EveryAnswerSequenceKeepsTheInvariants)
{
    std::size_t runs = 0;
    for (std::size_t count = 0; count <= 5; ++count)
        for (std::size_t batch_size = 1; batch_size <= 3; ++batch_size)
            for (bool full : {true, false})
                for (bool trailing : {true, false})
                    for (bool fallback : {true, false})
                        for (unsigned retries = 0; retries <= 2; ++retries)
                            for (unsigned limit = 1; limit <= 3; ++limit) {
                                const Config config{count,
                                                    full,
                                                    {.batch_size = batch_size,
                                                     .incremental_trailing_empty_batch = trailing,
                                                     .batch_retries = retries,
                                                     .fallback_to_single_entities = fallback,
                                                     .max_consecutive_write_errors = limit}};
                                Explorer explorer(config);
                                PushMachine machine("seq", full, count, config.settings);
                                explorer.explore(machine);
                                ASSERT_FALSE(explorer.broken());
                                runs += explorer.runs();
                            }
    RecordProperty("runs", std::to_string(runs));
    EXPECT_GT(runs, 200000U);
}

} // namespace
} // namespace sesam::emulator
