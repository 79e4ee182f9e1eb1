#pragma once

#include <boost/system/error_code.hpp>

#include <cstdint>
#include <string>
#include <type_traits>

namespace sesam::emulator {

/// Why an HTTP exchange did not produce a complete response. Modelled on Beast's http::error.
enum class TransportErrc {
    invalid_url = 1, ///< the URL could not be parsed or is not http://
    resolve_failed,  ///< the host name did not resolve
    connect_failed,  ///< nothing accepted the connection
    connect_timeout, ///< connecting took longer than the connect timeout
    write_failed,    ///< the request could not be sent
    read_timeout,    ///< no byte arrived within the read timeout
    read_failed,     ///< the connection failed while reading the response
    bad_response,    ///< the bytes received are not an HTTP response
    body_cut_short,  ///< the connection ended before the body was complete
    interrupted,     ///< cancelled by SIGINT/SIGTERM
    aborted,         ///< the response consumer asked to stop, or a request was cut as asked
};

/// The error category of TransportErrc ("sesam.transport").
const boost::system::error_category& transport_category() noexcept;

inline boost::system::error_code make_error_code(TransportErrc e) noexcept
{
    return {static_cast<int>(e), transport_category()};
}

/// A transport failure: the code, plus a one-line detail naming what failed
/// (e.g. "connect to 127.0.0.1:5000: Connection refused").
struct TransportError {
    boost::system::error_code code;
    std::string detail;
    std::uint64_t body_bytes = 0; ///< body bytes received before the failure
};

} // namespace sesam::emulator

template <>
struct boost::system::is_error_code_enum<sesam::emulator::TransportErrc> : std::true_type {
};
