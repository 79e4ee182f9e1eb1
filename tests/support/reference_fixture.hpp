#pragma once

#include "examples/reference-service/reference_service.hpp"

#include <boost/asio/io_context.hpp>

#include <memory>
#include <string>
#include <thread>

namespace sesam::testing {

/// The reference service running in-process on 127.0.0.1, port 0, on its own thread.
class RunningReferenceService {
public:
    explicit RunningReferenceService(reference::Dataset dataset)
        : service_(ioc_, options(), std::move(dataset))
    {
        base_url_ = service_.start();
        thread_ = std::thread([this] { ioc_.run(); });
    }
    ~RunningReferenceService()
    {
        ioc_.stop();
        thread_.join();
    }

    /// `http://127.0.0.1:PORT/`
    const std::string& base_url() const { return base_url_; }

private:
    static reference::ReferenceService::Options options()
    {
        reference::ReferenceService::Options o;
        o.host = "127.0.0.1";
        o.port = 0;
        return o;
    }

    boost::asio::io_context ioc_;
    reference::ReferenceService service_;
    std::string base_url_;
    std::thread thread_;
};

} // namespace sesam::testing
