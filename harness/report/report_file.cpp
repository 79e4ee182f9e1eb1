#include "harness/report/report_file.hpp"

#include <fmt/core.h>

#include <cerrno>
#include <cstdio>
#include <fcntl.h>
#include <filesystem>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>

namespace sesam::harness {

namespace {

ReportWriteError write_error(std::string_view what, const std::string& path, int error)
{
    return ReportWriteError(fmt::format(
        "cannot write the {} {}: {}", what, path, std::generic_category().message(error)));
}

/// Writes all of `text` to `fd`; 0 or the errno of the first failure.
int write_all(int fd, std::string_view text)
{
    while (!text.empty()) {
        const auto n = ::write(fd, text.data(), text.size());
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return errno;
        }
        text.remove_prefix(static_cast<std::size_t>(n));
    }
    return 0;
}

/// Opens and writes `path` as it is (no rename): FIFOs, devices, /dev/stdout.
void write_through(const std::string& path, std::string_view text, std::string_view what)
{
    const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        throw write_error(what, path, errno);
    int error = write_all(fd, text);
    if (::close(fd) != 0 && error == 0)
        error = errno;
    if (error != 0)
        throw write_error(what, path, error);
}

void write_atomically(const std::string& path, std::string_view text, std::string_view what)
{
    const std::string temp = fmt::format("{}.tmp{}", path, ::getpid());
    const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        throw write_error(what, path, errno);
    int error = write_all(fd, text);
    if (error == 0 && ::fsync(fd) != 0)
        error = errno;
    if (::close(fd) != 0 && error == 0)
        error = errno;
    if (error == 0 && std::rename(temp.c_str(), path.c_str()) != 0)
        error = errno;
    if (error == 0)
        return;
    std::remove(temp.c_str());
    throw write_error(what, path, error);
}

} // namespace

void check_report_path(const std::string& path, std::string_view what)
{
    namespace fs = std::filesystem;
    std::error_code ec;
    const auto status = fs::status(path, ec);
    if (fs::is_directory(status))
        throw std::invalid_argument(fmt::format("the {} {} is a directory", what, path));
    if (fs::exists(status))
        return; // written, or written through, at the end
    auto folder = fs::path(path).parent_path();
    if (folder.empty())
        folder = ".";
    if (::access(folder.c_str(), W_OK) != 0)
        throw std::invalid_argument(fmt::format(
            "cannot write the {} {}: {}", what, path, std::generic_category().message(errno)));
}

void write_report_file(const std::string& path, std::string_view text, std::string_view what)
{
    std::string target = path;
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
        std::error_code ec;
        auto resolved = std::filesystem::weakly_canonical(path, ec);
        if (!ec)
            target = resolved.string();
    }
    if (::stat(target.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
        if (S_ISDIR(st.st_mode))
            throw write_error(what, path, EISDIR);
        write_through(target, text, what);
        return;
    }
    write_atomically(target, text, what);
}

} // namespace sesam::harness
