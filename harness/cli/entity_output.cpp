#include "harness/cli/entity_output.hpp"

#include "harness/cli/command.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace sesam::harness {

namespace {

constexpr std::size_t kBlockBytes = 1 << 20;

} // namespace

EntityOutput::EntityOutput(const std::string& path, OutputFormat format)
    : format_(format), path_(path)
{
    if (path == "-") {
        fd_ = STDOUT_FILENO;
    } else {
        fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd_ < 0)
            throw UsageError("cannot write output file " + path + ": " + std::strerror(errno));
        owned_ = true;
    }
    buffer_.reserve(kBlockBytes + 64 * 1024);
    if (format_ == OutputFormat::json)
        buffer_ += '[';
}

EntityOutput::~EntityOutput()
{
    if (owned_ && fd_ >= 0)
        ::close(fd_);
}

void EntityOutput::write(std::string_view entity, bool has_line_breaks)
{
    if (format_ == OutputFormat::json) {
        buffer_ += count_ == 0 ? "\n" : ",\n";
        buffer_ += entity;
    } else {
        const auto at = buffer_.size();
        buffer_ += entity;
        if (has_line_breaks) {
            // Raw line breaks can only be whitespace between tokens (JSON strings escape them).
            for (auto i = at; i < buffer_.size(); ++i)
                if (buffer_[i] == '\n' || buffer_[i] == '\r')
                    buffer_[i] = ' ';
        }
        buffer_ += '\n';
    }
    ++count_;
    if (buffer_.size() >= kBlockBytes)
        write_buffer();
}

std::optional<std::string> EntityOutput::flush()
{
    write_buffer();
    if (failed_)
        return (path_ == "-" ? std::string("stdout") : path_) + ": " + std::strerror(error_);
    return std::nullopt;
}

void EntityOutput::write_buffer()
{
    std::size_t done = 0;
    while (!failed_ && done < buffer_.size()) {
        const auto n = ::write(fd_, buffer_.data() + done, buffer_.size() - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            failed_ = true;
            error_ = errno;
            break;
        }
        done += static_cast<std::size_t>(n);
    }
    buffer_.clear();
}

std::optional<std::string> EntityOutput::failure() const
{
    if (!failed_)
        return std::nullopt;
    return (path_ == "-" ? std::string("stdout") : path_) + ": " + std::strerror(error_);
}

std::optional<std::string> EntityOutput::close()
{
    if (fd_ < 0)
        return std::nullopt;
    if (format_ == OutputFormat::json)
        buffer_ += count_ == 0 ? "]\n" : "\n]\n";
    write_buffer();
    if (owned_ && ::close(fd_) != 0 && !failed_) {
        failed_ = true;
        error_ = errno;
    }
    fd_ = -1;
    if (failed_)
        return (path_ == "-" ? std::string("stdout") : path_) + ": " + std::strerror(error_);
    return std::nullopt;
}

} // namespace sesam::harness
