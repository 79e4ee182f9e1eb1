#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace sesam::harness {

/// How `-o` output is laid out: one JSON array, or one entity per line.
enum class OutputFormat { json, jsonl };

/// Writes entities, as received, to a file or stdout, buffered. With `json` the output is always a
/// complete array once close() ran, even after a failed run (nothing received is lost). With
/// `jsonl` line breaks between tokens are turned into spaces so that each entity is one line.
class EntityOutput {
public:
    /// `path` "-" is stdout. Throws UsageError naming the path when it cannot be opened.
    EntityOutput(const std::string& path, OutputFormat format);
    ~EntityOutput();
    EntityOutput(const EntityOutput&) = delete;
    EntityOutput& operator=(const EntityOutput&) = delete;

    void write(std::string_view entity, bool has_line_breaks);

    /// Writes out what is buffered. Returns the error (a full disk, a closed pipe) if this or an
    /// earlier write failed.
    std::optional<std::string> flush();

    /// Ends the array and flushes. Returns the error, if any write failed.
    std::optional<std::string> close();

    /// The error of a write that already failed (a closed pipe, a full disk), without writing:
    /// cheap enough to ask after every entity, so that a run stops when its output is gone.
    std::optional<std::string> failure() const;

private:
    void write_buffer();

    int fd_ = -1;
    bool owned_ = false;
    OutputFormat format_;
    std::size_t count_ = 0;
    std::string path_;
    std::string buffer_; ///< written out in blocks of about 1 MiB
    bool failed_ = false;
    int error_ = 0;
};

} // namespace sesam::harness
