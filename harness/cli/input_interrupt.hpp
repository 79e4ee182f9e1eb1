#pragma once

#include <csignal>
#include <signal.h>
#include <utility>

namespace sesam::harness {

/// While alive (before any other thread exists, as while a command reads its input), SIGINT and
/// SIGTERM set a flag instead of killing the process, and interrupt a blocking read or open (a
/// FIFO nobody writes to): read_entities then throws Interrupted. A handler installed before it
/// (the transport's InterruptGuard) is still called, and put back when it ends.
class InputInterruptGuard {
public:
    InputInterruptGuard()
    {
        requested() = 0;
        struct sigaction action {};
        action.sa_handler = [](int signal) {
            requested() = 1;
            const auto& old = signal == SIGINT ? previous().first : previous().second;
            if (!(old.sa_flags & SA_SIGINFO) && old.sa_handler != SIG_DFL &&
                old.sa_handler != SIG_IGN && old.sa_handler != nullptr)
                old.sa_handler(signal);
        };
        sigemptyset(&action.sa_mask);
        action.sa_flags = 0; // no SA_RESTART: a blocking read returns EINTR
        ::sigaction(SIGINT, nullptr, &old_int_);
        ::sigaction(SIGTERM, nullptr, &old_term_);
        previous() = {old_int_, old_term_};
        ::sigaction(SIGINT, &action, nullptr);
        ::sigaction(SIGTERM, &action, nullptr);
    }
    ~InputInterruptGuard()
    {
        ::sigaction(SIGINT, &old_int_, nullptr);
        ::sigaction(SIGTERM, &old_term_, nullptr);
    }
    InputInterruptGuard(const InputInterruptGuard&) = delete;
    InputInterruptGuard& operator=(const InputInterruptGuard&) = delete;

    /// Set by the handler; read by read_entities between reads.
    static volatile std::sig_atomic_t& requested()
    {
        static volatile std::sig_atomic_t flag = 0;
        return flag;
    }

private:
    /// The handlers of SIGINT and SIGTERM before the guard, for its handler to call.
    static std::pair<struct sigaction, struct sigaction>& previous()
    {
        static std::pair<struct sigaction, struct sigaction> handlers{};
        return handlers;
    }

    struct sigaction old_int_ {};
    struct sigaction old_term_ {};
};

} // namespace sesam::harness
