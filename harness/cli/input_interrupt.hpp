#pragma once

#include <csignal>
#include <signal.h>

namespace sesam::harness {

/// While alive (before any other thread exists, as while a command reads its input), SIGINT and
/// SIGTERM set a flag instead of killing the process, and interrupt a blocking read or open (a
/// FIFO nobody writes to): read_entities then throws Interrupted. The handlers before it are put
/// back when it ends.
class InputInterruptGuard {
public:
    InputInterruptGuard()
    {
        requested() = 0;
        struct sigaction action {};
        action.sa_handler = [](int) { requested() = 1; };
        sigemptyset(&action.sa_mask);
        action.sa_flags = 0; // no SA_RESTART: a blocking read returns EINTR
        ::sigaction(SIGINT, &action, &old_int_);
        ::sigaction(SIGTERM, &action, &old_term_);
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
    struct sigaction old_int_ {};
    struct sigaction old_term_ {};
};

} // namespace sesam::harness
