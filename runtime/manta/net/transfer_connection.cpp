#include "manta/net/transfer_server_state.hpp"

#include "manta/cluster/cluster_token.hpp"
#include "manta/net/data_path_tls.hpp"
#include "manta/net/task_lane.hpp"
#include "manta/net/tls_session.hpp"
#include "manta/net/transfer_protocol.hpp"

#include <boost/asio/defer.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <array>
#include <cstring>
#include <functional>

namespace manta::detail {

using namespace transfer_protocol;

namespace {

/// One connection: a chain of asynchronous steps on its strand (TLS
/// handshake, header, token, lookup, answer, header...), with a deadline
/// checked by a ticking timer. Handlers hold it by a shared pointer; the
/// server's list holds it while it is open.
class connection final : public connection_base, public std::enable_shared_from_this<connection> {
public:
  connection(transfer_server::impl& srv, tcp::socket socket)
    : srv_(srv), socket_(std::move(socket)), timer_(socket_.get_executor()),
      poll_(socket_.get_executor()) {
    if (srv_.tls) {
      error_code ignored;
      socket_.non_blocking(true, ignored);
      tls_ = std::make_shared<tls_session>(*srv_.tls, tls_session::role::server,
                                           socket_.native_handle());
    }
  }

  ~connection() override {
    if (lane_) {
      lane_->close();
      task_lane::detach(lane_key_);
    }
  }

  void start() override {
    asio::dispatch(socket_.get_executor(), [self = shared_from_this()] { self->begin(); });
  }

  void close_soon() override {
    asio::post(socket_.get_executor(), [self = shared_from_this()] { self->close(nullptr); });
  }

private:
  using error_code = boost::system::error_code;
  using step = std::function<void(error_code)>;

  void begin() {
    if (closed_)
      return;
    error_code ec;
    auto ep = socket_.remote_endpoint(ec);
    peer_ = ec ? std::string{"a peer"} : ep.address().to_string() + ":" + std::to_string(ep.port());
    deadline_ = steady::now() + srv_.limits.stall_timeout;
    watch();
    if (tls_)
      handshake();
    else
      read_header();
  }

  /// Checks the deadline every tick; closes a connection that passed it.
  void watch() {
    timer_.expires_after(srv_.tick);
    timer_.async_wait([self = shared_from_this()](error_code) {
      if (self->closed_)
        return;
      if (steady::now() >= self->deadline_)
        return self->close("timeout");
      self->watch();
    });
  }

  // -- bytes in and out, plain or TLS ----------------------------------------------

  /// Completion condition: each piece written moves the deadline (a slow
  /// reader is fine, one that stopped reading is closed).
  auto progress() {
    return [this](const error_code& ec, size_t) -> size_t {
      if (ec)
        return 0;
      deadline_ = steady::now() + srv_.limits.stall_timeout;
      return size_t{1} << 20;
    };
  }

  /// Waits until the socket is readable or writable, as the TLS session
  /// asks, then `then`.
  void wait(tls_session::result r, step then) {
    socket_.async_wait(
      r == tls_session::want_read ? tcp::socket::wait_read : tcp::socket::wait_write,
      [self = shared_from_this(), then = std::move(then)](error_code ec) { then(ec); });
  }

  void handshake() {
    auto r = tls_->handshake();
    if (r == tls_session::done)
      return read_header();
    if (r == tls_session::failed) {
      ++srv_.refused;
      srv_.log_refusal(peer_, "a connection whose TLS handshake failed (" + tls_->error()
                                + "): a peer without TLS, or without a certificate the "
                                  "cluster's CA signed");
      return close("handshake");
    }
    wait(r, [self = shared_from_this()](error_code ec) {
      if (ec)
        return self->close(nullptr);
      self->handshake();
    });
  }

  /// Reads exactly `n` bytes (decrypted, with TLS) into `p`.
  void read_exact(char* p, size_t n, step then) {
    if (!tls_) {
      asio::async_read(
        socket_, asio::buffer(p, n),
        [self = shared_from_this(), then = std::move(then)](error_code ec, size_t) { then(ec); });
      return;
    }
    while (n > 0) {
      size_t got = 0;
      auto r = tls_->read(p, n, got);
      if (r == tls_session::failed)
        return then(asio::error::connection_aborted);
      if (r != tls_session::done) {
        wait(r, [self = shared_from_this(), p, n, then = std::move(then)](error_code ec) {
          if (ec)
            return then(ec);
          self->read_exact(p, n, then);
        });
        return;
      }
      p += got;
      n -= got;
    }
    then({});
  }

  // -- requests -------------------------------------------------------------------

  void read_header() {
    auto now = steady::now();
    deadline_ = now + (authenticated ? srv_.limits.idle_timeout : srv_.limits.stall_timeout);
    if (authenticated)
      idle_since = now.time_since_epoch().count();
    read_exact(reinterpret_cast<char*>(&req_), sizeof(req_),
               [self = shared_from_this()](error_code ec) {
                 if (ec)
                   return self->close(nullptr); // gone, or closed for a timeout
                 self->on_header();
               });
  }

  void on_header() {
    idle_since = 0;
    if (req_.magic == task_lane::magic && !lane_ && task_lane::enabled())
      return lane_hello();
    // Every field is checked before anything is read or allocated for it.
    if (auto why = check(req_)) {
      ++srv_.refused;
      srv_.log_refusal(peer_, std::string{"a malformed request ("} + why + ")");
      return answer_with(refused_status, why, true);
    }
    deadline_ = steady::now() + srv_.limits.stall_timeout;
    read_exact(token_.data(), req_.token_len, [self = shared_from_this()](error_code ec) {
      if (ec)
        return self->close(nullptr);
      self->on_token();
    });
  }

  void on_token() {
    if (!tokens_equal(std::string_view{token_.data(), req_.token_len}, srv_.token)) {
      ++srv_.refused;
      srv_.log_refusal(peer_, "a request without the cluster token");
      return answer_with(refused_status, "wrong cluster token", true);
    }
    authenticated = true;
    lookup(false);
  }

  /// Looks the object up on the helper threads (it may encode a value or
  /// read a spill file), then goes on here. `polling`: a recheck while
  /// waiting for the chunks of a copy.
  void lookup(bool polling) {
    deadline_ = steady::time_point::max(); // our own work, not the peer's
    asio::post(srv_.helper, [self = shared_from_this(), polling] {
      auto held = self->srv_.lookup(self->req_.id);
      asio::post(self->socket_.get_executor(), [self, held = std::move(held), polling]() mutable {
        if (!self->closed_)
          self->on_lookup(std::move(held), polling);
      });
    });
  }

  void on_lookup(std::optional<held_bytes> held, bool polling) {
    if (!held)
      return answer_with(not_here, polling ? "the copy on this node is not complete"
                                           : "the object is not on this node");
    held_ = std::move(*held); // complete now, or the copy's progress again
    from_ = std::min<uint64_t>(req_.offset, held_.size);
    n_ = std::min<uint64_t>(req_.length, held_.size - from_);
    if (!polling)
      wait_until_ = steady::now() + partial_copy_wait;
    wait_for_chunks();
  }

  /// A copy still being read serves only the chunks that arrived: polled
  /// every millisecond (rechecked with a lookup every 20, which notices a
  /// read that failed), so no thread blocks on it.
  void wait_for_chunks() {
    if (!held_.progress || held_.progress->wait(from_, n_, std::chrono::milliseconds{0}))
      return write_answer(ok, "", false);
    if (steady::now() >= wait_until_)
      return answer_with(not_here, "the copy on this node is not complete");
    deadline_ = steady::time_point::max();
    poll_.expires_after(std::chrono::milliseconds{1});
    poll_.async_wait([self = shared_from_this()](error_code) {
      if (self->closed_)
        return;
      if (++self->polls_ % 20 == 0)
        return self->lookup(true);
      self->wait_for_chunks();
    });
  }

  // -- the task lane (task_lane.hpp) ----------------------------------------------

  /// A driver's lane: the token, then frames until it closes. The
  /// connection waits for frames without a deadline (a lane is idle
  /// between tasks) and is never taken for an idle one at the cap. With
  /// TLS the hello came in records after the handshake (a plain one fails
  /// the handshake): the frames are opened here, and the answers sealed by
  /// the writer, which alone writes on the connection from now on.
  void lane_hello() {
    std::memcpy(&lane_frame_, &req_, sizeof(lane_frame_));
    if (lane_frame_.kind != task_lane::hello || lane_frame_.length == 0
        || lane_frame_.length > max_token) {
      ++srv_.refused;
      srv_.log_refusal(peer_, "a task lane that did not begin with its hello");
      return close("lane");
    }
    read_exact(token_.data(), lane_frame_.length, [self = shared_from_this()](error_code ec) {
      if (ec)
        return self->close(nullptr);
      if (!tokens_equal(std::string_view{self->token_.data(), self->lane_frame_.length},
                        self->srv_.token)) {
        ++self->srv_.refused;
        self->srv_.log_refusal(self->peer_, "a task lane without the cluster token");
        return self->close("lane");
      }
      self->lane_key_ = self->lane_frame_.id;
      self->lane_ = std::make_shared<task_lane::writer>(self->socket_.native_handle(), self->tls_);
      task_lane::attach(self->lane_key_, self->lane_);
      self->read_lane_frame();
    });
  }

  void read_lane_frame() {
    deadline_ = steady::time_point::max();
    read_exact(reinterpret_cast<char*>(&lane_frame_), sizeof(lane_frame_),
               [self = shared_from_this()](error_code ec) {
                 if (ec)
                   return self->lane_ended();
                 auto& f = self->lane_frame_;
                 if (f.magic != task_lane::magic
                     || (f.kind != task_lane::spec && f.kind != task_lane::cancel
                         && f.kind != task_lane::ping)
                     || f.length > task_lane::max_frame)
                   return self->close("lane");
                 if (f.kind == task_lane::ping) { // the driver's liveness check
                   if (f.length != 0 || !self->lane_->send_pong(f.id))
                     return self->close(nullptr);
                   return self->read_lane_frame();
                 }
                 self->lane_payload_.resize(f.length);
                 self->deadline_ = steady::now() + self->srv_.limits.stall_timeout;
                 self->read_exact(self->lane_payload_.data(), f.length, [self](error_code ec) {
                   if (ec)
                     return self->lane_ended();
                   self->on_lane_frame();
                 });
               });
  }

  /// Hands the frame read to the node manager's handler, then reads the
  /// next one. A lone task the handler leaves to this thread (a spec, while
  /// a loop thread is spare) runs on it once that read is under way, off
  /// the strand: `defer` queues it on this thread, which runs it as soon as
  /// this handler returns (no wake-up, the point of it), and the strand is
  /// free meanwhile, so the lane's next frames are read, and the other
  /// connections served, by the loop thread left spare (`take_spare`: one
  /// always is; later specs then go to the pool) while the task runs, for
  /// as long as it runs. Were it run on the strand, a long task would stall
  /// its lane's next frames (a cancel of it too); were it handed to another
  /// thread, that thread's wake-up is what this saves.
  void on_lane_frame() {
    bool spare = lane_frame_.kind == task_lane::spec && srv_.take_spare();
    task_lane::later run;
    if (!task_lane::deliver(lane_key_, lane_frame_, std::move(lane_payload_),
                            spare ? &run : nullptr)) {
      if (spare)
        srv_.give_spare();
      return close("lane");
    }
    lane_payload_ = {};
    read_lane_frame();
    if (!run) {
      if (spare)
        srv_.give_spare();
      return;
    }
    // Dropped unrun only as the loop stops: the task then goes to the pool
    // (task_lane_host.cpp, `granted_task`).
    asio::defer(srv_.io, [srv = &srv_, run = std::move(run)] {
      run();
      srv->give_spare();
    });
  }

  /// The lane's connection ended or failed; a TLS record that did not open
  /// (it did not authenticate, or is no record) is said.
  void lane_ended() {
    if (tls_ && !closed_ && !tls_->connection_ended() && !tls_->read_error().empty()) {
      ++srv_.refused;
      srv_.log_refusal(peer_, "a task lane record (" + tls_->read_error() + "): lane closed");
    }
    close(nullptr);
  }

  // -- answers --------------------------------------------------------------------

  void answer_with(status st, const char* message, bool then_close = false) {
    held_ = {};
    n_ = 0;
    write_answer(st, message, then_close);
  }

  void write_answer(status st, const char* message, bool then_close) {
    msg_ = message;
    ans_ = answer{st, static_cast<uint32_t>(msg_.size()), n_};
    deadline_ = steady::now() + srv_.limits.stall_timeout;
    if (tls_) {
      staged_.assign(reinterpret_cast<const char*>(&ans_), sizeof(ans_));
      staged_ += msg_;
      staged_sent_ = 0;
      sent_ = 0;
      return write_tls(then_close);
    }
    std::array<asio::const_buffer, 3> bufs{asio::buffer(&ans_, sizeof(ans_)), asio::buffer(msg_),
                                           asio::const_buffer{}};
    if (n_ > 0)
      bufs[2] = asio::buffer(held_.data + from_, n_);
    asio::async_write(socket_, bufs, progress(),
                      [self = shared_from_this(), then_close](error_code ec, size_t) {
                        if (ec)
                          return self->close(nullptr);
                        self->answered(then_close);
                      });
  }

  /// With TLS: the answer's header and message, then its data, each call
  /// of the session encrypting up to 1 MiB from the object into its send
  /// buffer and sending it as the buffer fills; after 1 MiB the connection
  /// lets the others have the loop.
  void write_tls(bool then_close) {
    uint64_t budget = uint64_t{1} << 20;
    while (staged_sent_ < staged_.size() || sent_ < n_) {
      bool head = staged_sent_ < staged_.size();
      const char* p = head ? staged_.data() + staged_sent_ : held_.data + from_ + sent_;
      size_t left = head ? staged_.size() - staged_sent_ : n_ - sent_;
      left = static_cast<size_t>(std::min<uint64_t>(left, budget));
      size_t written = 0;
      auto r = tls_->write(p, left, written);
      if (r == tls_session::failed)
        return close(nullptr);
      if (r != tls_session::done) {
        wait(r, [self = shared_from_this(), then_close](error_code ec) {
          if (ec)
            return self->close(nullptr);
          self->write_tls(then_close);
        });
        return;
      }
      deadline_ = steady::now() + srv_.limits.stall_timeout;
      (head ? staged_sent_ : sent_) += written;
      if (written >= budget) {
        asio::post(socket_.get_executor(), [self = shared_from_this(), then_close] {
          if (!self->closed_)
            self->write_tls(then_close);
        });
        return;
      }
      budget -= written;
    }
    flush_tls(then_close);
  }

  /// Sends the last records the TLS session buffered, then the next request.
  void flush_tls(bool then_close) {
    auto r = tls_->flush();
    if (r == tls_session::failed)
      return close(nullptr);
    if (r == tls_session::done)
      return answered(then_close);
    wait(r, [self = shared_from_this(), then_close](error_code ec) {
      if (ec)
        return self->close(nullptr);
      self->deadline_ = steady::now() + self->srv_.limits.stall_timeout;
      self->flush_tls(then_close);
    });
  }

  void answered(bool then_close) {
    add_bytes_served(n_);
    held_ = {};
    // A TLS key near its record limit takes no more requests: the reader
    // finds the kept connection closed and opens a new one.
    if (then_close || (tls_ && tls_->worn()))
      return close(nullptr);
    polls_ = 0;
    read_header();
  }

  /// Closes the socket now (its descriptor is free at once) and leaves the
  /// server's list; pending handlers end with an error.
  void close(const char* dropped_for) {
    if (closed_)
      return;
    closed_ = true;
    if (dropped_for != nullptr)
      ++srv_.dropped;
    if (lane_) {
      // No answer is written on the descriptor once it may be reused.
      lane_->close();
      task_lane::detach(lane_key_);
    }
    error_code ignored;
    socket_.close(ignored);
    timer_.cancel();
    poll_.cancel();
    held_ = {};
    srv_.forget(*this);
  }

  transfer_server::impl& srv_;
  tcp::socket socket_;
  std::shared_ptr<tls_session> tls_; ///< shared with a lane's writer
  asio::steady_timer timer_;
  asio::steady_timer poll_;
  steady::time_point deadline_;
  steady::time_point wait_until_;
  bool closed_ = false;
  int polls_ = 0;
  std::string peer_;
  request req_{};
  std::array<char, max_token> token_{};
  answer ans_{};
  std::string msg_;
  held_bytes held_;
  uint64_t from_ = 0;
  uint64_t n_ = 0;
  uint64_t sent_ = 0;
  std::string staged_; ///< with TLS: the answer's header and message
  size_t staged_sent_ = 0;
  std::shared_ptr<task_lane::writer> lane_; ///< set once a task lane said hello
  uint64_t lane_key_ = 0;
  task_lane::frame lane_frame_{};
  std::vector<char> lane_payload_;
};

} // namespace

std::shared_ptr<connection_base> make_connection(transfer_server::impl& srv, tcp::socket socket) {
  return std::make_shared<connection>(srv, std::move(socket));
}

} // namespace manta::detail
