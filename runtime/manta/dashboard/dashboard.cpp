#include "manta/dashboard/dashboard.hpp"

#include "manta/dashboard/dashboard_routes.hpp"
#include "manta/errors.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <array>
#include <cstdlib>
#include <list>
#include <optional>

#include <fcntl.h>

namespace manta::actors {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

namespace {

constexpr auto read_deadline = std::chrono::seconds(10);
constexpr auto write_deadline = std::chrono::seconds(10);

class session;

/// What every session shares with the server (which outlives them). Only
/// the server's one thread touches it.
struct server_state {
  dashboard::handler answer;
  dashboard_access access;
  /// Sessions alive, oldest first: at `max_connections` the oldest is
  /// closed for a new one, so idle connections cannot lock clients out.
  std::list<session*> open;
};

/// One client connection: read a request, answer it, repeat while the
/// client keeps the connection alive.
class session : public std::enable_shared_from_this<session> {
public:
  session(tcp::socket&& socket, server_state& server)
    : stream_(std::move(socket)), server_(server) {
    server_.open.push_back(this);
    place_ = std::prev(server_.open.end());
  }
  ~session() {
    if (!evicted_)
      server_.open.erase(place_);
  }

  /// Closes the connection and leaves the list at once: its pending read
  /// or write ends, and with it the session.
  void evict() {
    server_.open.erase(place_);
    evicted_ = true;
    beast::error_code ignored;
    stream_.socket().close(ignored);
  }

  void start() {
    asio::dispatch(stream_.get_executor(),
                   beast::bind_front_handler(&session::read, shared_from_this()));
  }

private:
  void read() {
    // A fresh parser per request, limited before a byte is read: the
    // buffer cannot grow past the headers' limit plus the body's.
    parser_.emplace();
    parser_->header_limit(max_header_bytes);
    parser_->body_limit(max_body_bytes);
    stream_.expires_after(read_deadline);
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, size_t) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout
        || ec == asio::error::operation_aborted || ec == asio::error::connection_reset
        || ec == asio::error::eof) {
      close();
      return;
    }
    if (ec) { // too large or not HTTP: say so, then close
      lingering_ = true;
      write(unreadable_request(ec == http::error::buffer_overflow ? http::error::header_limit : ec),
            11, false);
      return;
    }
    auto& req = parser_->get();
    write(answer_request(req, server_.access, server_.answer), req.version(), req.keep_alive());
  }

  void write(http_reply reply, unsigned version, bool keep_alive) {
    res_ = {};
    res_.result(static_cast<http::status>(reply.status));
    res_.version(version);
    res_.set(http::field::server, "manta");
    res_.set(http::field::content_type, reply.content_type);
    res_.set(http::field::cache_control, "no-store");
    for (auto& [name, value] : reply.headers)
      res_.set(name, value);
    res_.keep_alive(keep_alive);
    res_.body() = std::move(reply.body);
    res_.prepare_payload();
    stream_.expires_after(write_deadline);
    http::async_write(stream_, res_,
                      beast::bind_front_handler(&session::on_write, shared_from_this()));
  }

  void on_write(beast::error_code ec, size_t) {
    if (ec)
      return;
    if (!res_.keep_alive()) {
      close();
      return;
    }
    read();
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    if (lingering_)
      discard(0, {}, 0);
  }

  /// After refusing a request that was still arriving: reads and drops what
  /// the client sends, up to `max_discard` bytes or `read_deadline`, so that
  /// closing with unread bytes (a reset) does not destroy the refusal
  /// before the client has read it.
  void discard(size_t so_far, beast::error_code ec, size_t n) {
    static constexpr size_t max_discard = size_t{1} << 20;
    so_far += n;
    if (ec || so_far > max_discard)
      return;
    if (so_far == 0)
      stream_.expires_after(read_deadline);
    stream_.async_read_some(asio::buffer(drain_),
                            [self = shared_from_this(), so_far](beast::error_code e, size_t k) {
                              self->discard(so_far, e, k);
                            });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_{max_header_bytes + max_body_bytes};
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> res_;
  server_state& server_;
  bool lingering_ = false;
  bool evicted_ = false;
  std::list<session*>::iterator place_;
  std::array<char, 4096> drain_{};
};

} // namespace

struct dashboard::impl {
  server_state server; // first: the sessions io destroys last still count down
  asio::io_context io{1};
  tcp::acceptor acceptor{io};

  void accept() {
    acceptor.async_accept(asio::make_strand(io), [this](beast::error_code ec, tcp::socket s) {
      if (ec == asio::error::operation_aborted)
        return;
      if (!ec) {
        ::fcntl(s.native_handle(), F_SETFD, FD_CLOEXEC); // see the acceptor's
        if (server.open.size() >= max_connections)
          server.open.front()->evict();
        std::make_shared<session>(std::move(s), server)->start();
      }
      accept();
    });
  }
};

dashboard::dashboard(const std::string& host, uint16_t port, std::string token,
                     std::string asset_dir)
  : dashboard(host, port, std::move(token), [dir = std::move(asset_dir)](std::string_view target) {
      return route(target, dir);
    }) {}

dashboard::dashboard(const std::string& host, uint16_t port, std::string token, handler answer)
  : impl_(std::make_unique<impl>()) {
  auto where = (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":"
               + std::to_string(port);
  if (!dashboard_access::is_loopback(host) && token.empty())
    throw error("manta: the dashboard would listen off loopback at " + where
                + " without a token to ask for; give the cluster token (--token or "
                  "MANTA_TOKEN), or keep --dashboard-host=127.0.0.1");
  beast::error_code ec;
  auto ip = asio::ip::make_address(host == "localhost" ? "127.0.0.1" : host, ec);
  if (ec)
    throw error("manta: --dashboard-host expects an IP address of this machine (such as "
                "127.0.0.1, ::1 or 0.0.0.0), got '"
                + host + "'");
  tcp::endpoint ep{ip, port};
  impl_->acceptor.open(ep.protocol(), ec);
  // Asio opens sockets without CLOEXEC: a process the node starts (a
  // worker, `manta` run from a task) would keep the port accepting after
  // the node stopped, and clients would wait instead of being refused.
  if (!ec)
    ::fcntl(impl_->acceptor.native_handle(), F_SETFD, FD_CLOEXEC);
  if (!ec)
    impl_->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec)
    impl_->acceptor.bind(ep, ec);
  if (!ec)
    impl_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    throw error("manta: the dashboard cannot listen on " + where + ": " + ec.message()
                + " (choose another --dashboard-port, or 0 for any, and a --dashboard-host "
                  "of this machine)");
  port_ = impl_->acceptor.local_endpoint().port();
  impl_->server.answer = std::move(answer);
  impl_->server.access = {host, port_, std::move(token)};
  impl_->accept();
  thread_ = std::thread{[this] { impl_->io.run(); }};
}

dashboard::~dashboard() {
  impl_->io.stop();
  if (thread_.joinable())
    thread_.join();
}

std::string dashboard::address() const {
  auto& host = impl_->server.access.host;
  auto shown = host == "0.0.0.0" || host == "localhost" ? std::string{"127.0.0.1"}
               : host == "::"                           ? std::string{"[::1]"}
               : host.find(':') != std::string::npos    ? "[" + host + "]"
                                                        : host;
  return shown + ":" + std::to_string(port_);
}

std::string dashboard::default_asset_dir() {
  if (auto env = std::getenv("MANTA_DASHBOARD_DIR"); env != nullptr && *env != '\0')
    return env;
  return {}; // the page compiled into the library (dashboard_assets.hpp)
}

} // namespace manta::actors
