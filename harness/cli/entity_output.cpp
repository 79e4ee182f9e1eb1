#include "harness/cli/entity_output.hpp"

#include "harness/cli/command.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace sesam::harness {

EntityOutput::EntityOutput(const std::string& path, OutputFormat format)
    : format_(format), path_(path)
{
    if (path == "-") {
        file_ = stdout;
    } else {
        file_ = std::fopen(path.c_str(), "wb");
        if (!file_)
            throw UsageError("cannot write output file " + path + ": " + std::strerror(errno));
        owned_ = true;
    }
    buffer_.resize(1 << 20);
    std::setvbuf(file_, buffer_.data(), _IOFBF, buffer_.size());
    if (format_ == OutputFormat::json)
        std::fputs("[", file_);
}

EntityOutput::~EntityOutput()
{
    if (owned_ && file_)
        std::fclose(file_);
}

void EntityOutput::write(std::string_view entity, bool has_line_breaks)
{
    if (format_ == OutputFormat::json) {
        std::fputs(count_ == 0 ? "\n" : ",\n", file_);
        std::fwrite(entity.data(), 1, entity.size(), file_);
    } else if (!has_line_breaks) {
        std::fwrite(entity.data(), 1, entity.size(), file_);
        std::fputc('\n', file_);
    } else {
        // Raw line breaks can only be whitespace between tokens (JSON strings escape them).
        line_.assign(entity);
        std::replace(line_.begin(), line_.end(), '\n', ' ');
        std::replace(line_.begin(), line_.end(), '\r', ' ');
        std::fwrite(line_.data(), 1, line_.size(), file_);
        std::fputc('\n', file_);
    }
    ++count_;
}

void EntityOutput::close()
{
    if (!file_)
        return;
    if (format_ == OutputFormat::json)
        std::fputs(count_ == 0 ? "]\n" : "\n]\n", file_);
    const bool failed = std::fflush(file_) != 0 || std::ferror(file_);
    if (owned_)
        std::fclose(file_);
    file_ = nullptr;
    if (failed)
        throw std::runtime_error("writing output " +
                                 (path_ == "-" ? std::string("to stdout") : path_) +
                                 " failed: " + std::strerror(errno));
}

} // namespace sesam::harness
