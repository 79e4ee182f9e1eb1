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
            return "aborted by the response consumer";
        }
        return "unknown transport error";
    }
};

class CollectingSink final : public ResponseSink {
public:
    explicit CollectingSink(std::string& body) : body_(body) {}
    void on_head(const HttpResponseHead&) override {}
    bool on_body(std::string_view bytes) override
    {
        body_.append(bytes);
        return true;
    }

private:
    std::string& body_;
};

} // namespace

const boost::system::error_category& transport_category() noexcept
{
    static const TransportCategory category;
    return category;
}

FetchResult Transport::fetch(const HttpRequest& request)
{
    HttpResponse response;
    CollectingSink sink(response.body);
    auto head = send(request, sink);
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
