#include "emulator/http/transport.hpp"

#include <boost/throw_exception.hpp>

#include <stdexcept>

namespace sesam::emulator {

namespace {

class TransportCategory final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "sesam.transport"; }

    std::string message(int ev) const override
    {
        switch (static_cast<TransportErrc>(ev)) {
        case TransportErrc::invalid_url:
            return "invalid URL";
        case TransportErrc::resolve_failed:
            return "host name did not resolve";
        case TransportErrc::connect_failed:
            return "connection failed";
        case TransportErrc::connect_timeout:
            return "connect timed out";
        case TransportErrc::write_failed:
            return "sending the request failed";
        case TransportErrc::read_timeout:
            return "read timed out";
        case TransportErrc::read_failed:
            return "reading the response failed";
        case TransportErrc::bad_response:
            return "not a valid HTTP response";
        case TransportErrc::body_cut_short:
            return "response body cut short";
        case TransportErrc::interrupted:
            return "interrupted";
        case TransportErrc::aborted:
            return "aborted by the client";
        }
        return "unknown transport error";
    }
};

class CollectingSink final : public ResponseSink {
public:
    CollectingSink(std::string& body, std::uint64_t max) : body_(body), max_(max) {}
    void on_head(const HttpResponseHead&) override {}
    bool on_body(std::string_view bytes) override
    {
        if (body_.size() + bytes.size() > max_) {
            over_ = true;
            return false;
        }
        body_.append(bytes);
        return true;
    }
    bool over() const { return over_; }

private:
    std::string& body_;
    std::uint64_t max_;
    bool over_ = false;
};

} // namespace

const boost::system::error_category& transport_category() noexcept
{
    static const TransportCategory category;
    return category;
}

FetchResult Transport::fetch(const HttpRequest& request, std::uint64_t max_body_bytes)
{
    HttpResponse response;
    CollectingSink sink(response.body, max_body_bytes);
    auto head = send(request, sink);
    if (sink.over())
        return TransportError{make_error_code(TransportErrc::aborted),
                              "the body is larger than " + std::to_string(max_body_bytes) +
                                  " bytes, the most kept of it; stopped reading",
                              response.body.size()};
    if (!head)
        return head.error();
    response.head = std::move(*head);
    return response;
}

void throw_exception_from_error(const TransportError& error, const boost::source_location& location)
{
    boost::throw_exception(std::runtime_error(error.detail), location);
}

} // namespace sesam::emulator
