#include "actors/dashboard.hpp"

#include "actors/dashboard_routes.hpp"
#include "manta/errors.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <cstdlib>

namespace manta::actors {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto read_deadline = std::chrono::seconds(10);

/// One client connection: read a request, answer it, repeat while the
/// client keeps the connection alive.
class session : public std::enable_shared_from_this<session> {
public:
  session(tcp::socket&& socket, const dashboard::handler& answer)
    : stream_(std::move(socket)), answer_(answer) {}

  void start() {
    asio::dispatch(stream_.get_executor(),
                   beast::bind_front_handler(&session::read, shared_from_this()));
  }

private:
  void read() {
    req_ = {};
    stream_.expires_after(read_deadline);
    http::async_read(stream_, buffer_, req_,
                     beast::bind_front_handler(&session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, size_t) {
    if (ec) { // closed, timed out or garbage: drop the connection
      stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
      return;
    }
    http_reply reply;
    if (req_.method() != http::verb::get) {
      reply = {405, "text/plain", "the dashboard is read-only: GET only\n"};
    } else {
      reply = answer_(std::string_view{req_.target().data(), req_.target().size()});
    }
    res_ = {};
    res_.result(static_cast<http::status>(reply.status));
    res_.version(req_.version());
    res_.set(http::field::server, "manta");
    res_.set(http::field::content_type, reply.content_type);
    res_.set(http::field::cache_control, "no-store");
    res_.keep_alive(req_.keep_alive());
    res_.body() = std::move(reply.body);
    res_.prepare_payload();
    http::async_write(stream_, res_,
                      beast::bind_front_handler(&session::on_write, shared_from_this()));
  }

  void on_write(beast::error_code ec, size_t) {
    if (ec)
      return;
    if (!res_.keep_alive()) {
      stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
      return;
    }
    read();
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> req_;
  http::response<http::string_body> res_;
  const dashboard::handler& answer_; // the dashboard's, which outlives its sessions
};

} // namespace

struct dashboard::impl {
  asio::io_context io{1};
  tcp::acceptor acceptor{io};
  dashboard::handler answer;

  void accept() {
    acceptor.async_accept(asio::make_strand(io), [this](beast::error_code ec, tcp::socket s) {
      if (ec == asio::error::operation_aborted)
        return;
      if (!ec)
        std::make_shared<session>(std::move(s), answer)->start();
      accept();
    });
  }
};

dashboard::dashboard(uint16_t port, std::string asset_dir)
  : dashboard(port, [dir = std::move(asset_dir)](std::string_view target) {
      return route(target, dir);
    }) {}

dashboard::dashboard(uint16_t port, handler answer) : impl_(std::make_unique<impl>()) {
  impl_->answer = std::move(answer);
  beast::error_code ec;
  tcp::endpoint ep{asio::ip::make_address("127.0.0.1"), port};
  impl_->acceptor.open(ep.protocol(), ec);
  if (!ec)
    impl_->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec)
    impl_->acceptor.bind(ep, ec);
  if (!ec)
    impl_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    throw error("manta: the dashboard cannot listen on 127.0.0.1:" + std::to_string(port)
                + ": " + ec.message() + " (choose another --dashboard-port, or 0 for any)");
  port_ = impl_->acceptor.local_endpoint().port();
  impl_->accept();
  thread_ = std::thread{[this] { impl_->io.run(); }};
}

dashboard::~dashboard() {
  impl_->io.stop();
  if (thread_.joinable())
    thread_.join();
}

std::string dashboard::default_asset_dir() {
  if (auto env = std::getenv("MANTA_DASHBOARD_DIR"); env != nullptr && *env != '\0')
    return env;
  return MANTA_SOURCE_ROOT "/tools/dashboard";
}

} // namespace manta::actors
