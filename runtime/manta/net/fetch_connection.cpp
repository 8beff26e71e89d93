#include "manta/net/fetch_connection.hpp"

#include "manta/net/object_transfer.hpp"
#include "manta/store/store_copy.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <cstring>

namespace manta::detail {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace transfer_protocol;

namespace {

const char* handshake_hint = " (the holder does not use TLS, or its certificate and this "
                             "process's are not signed by the same CA)";

/// A holder that has no chunk of the object yet is asked again this many
/// times, this long apart (1 s in all), before it counts as failed: the
/// owner names readers as holders when it sends them their task, which
/// may not have started reading yet.
constexpr int not_here_retries = 20;
constexpr auto not_here_pause = std::chrono::milliseconds{50};

constexpr auto stall = std::chrono::duration_cast<std::chrono::milliseconds>(
  transfer_stall_timeout);

} // namespace

// -- one connection ---------------------------------------------------------------

fetch_connection::fetch_connection(std::shared_ptr<fetch_op> op, size_t src,
                                   std::unique_ptr<data_link> idle)
  : op_(std::move(op)), src_(src), reused_(idle != nullptr),
    strand_(idle ? idle->strand : asio::make_strand(op_->io)),
    socket_(idle ? std::move(idle->socket) : tcp::socket{strand_}), watchdog_(strand_),
    pause_(strand_), tls_(idle ? std::move(idle->tls) : nullptr) {}

void fetch_connection::start() {
  asio::dispatch(strand_, [self = shared_from_this()] {
    if (self->reused_) { // connected (and through its handshake) already
      self->arm_watchdog();
      self->doing_ = "write";
      return self->fill();
    }
    auto& from = self->op_->sources[self->src_];
    error_code ec;
    auto address = asio::ip::make_address(from.host, ec);
    if (ec)
      return self->fail_io("connect: '" + from.host + "' is not an IP address");
    self->arm_watchdog();
    self->socket_.async_connect(tcp::endpoint{address, from.port}, [self](error_code ec) {
      if (!self->check(ec))
        return;
      ++self->moved_;
      // Requests go out at once (Nagle's algorithm would hold the second
      // of the two in flight for an ACK).
      error_code ignored;
      self->socket_.set_option(tcp::no_delay(true), ignored);
      if (!self->op_->tls) {
        self->doing_ = "write";
        return self->fill();
      }
      self->socket_.non_blocking(true, ignored);
      self->tls_ = std::make_unique<tls_session>(*self->op_->tls, tls_session::role::client,
                                                 self->socket_.native_handle());
      self->doing_ = "TLS handshake";
      self->handshake();
    });
  });
}

void fetch_connection::resume() {
  asio::post(strand_, [self = shared_from_this()] {
    self->waiting_ = false;
    ++self->moved_;
    self->fill();
  });
}

void fetch_connection::handshake() {
  auto r = tls_->handshake();
  if (r == tls_session::done) {
    ++moved_;
    doing_ = "write";
    return fill();
  }
  if (r == tls_session::failed)
    return fail_io("TLS handshake: " + tls_->error() + handshake_hint);
  wait_socket(r, [this] { handshake(); });
}

void fetch_connection::fill() {
  if (over_)
    return;
  requests_.clear();
  while (back_.empty() && pending_.size() < 2) {
    uint64_t k = 0;
    auto got = op_->take(src_, pending_.empty() ? shared_from_this() : nullptr, k);
    if (got == fetch_op::take_result::wait) {
      waiting_ = true; // resumed when chunks come back or the read ends
      return;
    }
    if (got == fetch_op::take_result::none)
      break;
    pending_.push_back(k);
    auto offset = k * transfer_chunk;
    request r{magic, static_cast<uint32_t>(op_->token.size()), op_->id, offset,
              std::min(transfer_chunk, op_->size - offset)};
    auto at = requests_.size();
    requests_.resize(at + sizeof(r) + op_->token.size());
    std::memcpy(requests_.data() + at, &r, sizeof(r));
    std::memcpy(requests_.data() + at + sizeof(r), op_->token.data(), op_->token.size());
  }
  if (!requests_.empty()) {
    doing_ = "write";
    return write_requests([this] { read_answer(); });
  }
  if (!pending_.empty())
    return read_answer();
  if (back_.empty())
    return finish(); // nothing more for it
  op_->give_back(back_);
  back_.clear();
  if (served_)
    return fill();
  ++waits_;
  pause_.expires_after(not_here_pause);
  pause_.async_wait([self = shared_from_this()](error_code ec) {
    if (!self->check(ec))
      return;
    ++self->moved_;
    self->fill();
  });
}

void fetch_connection::read_answer() {
  doing_ = "read";
  read_into(reinterpret_cast<char*>(&answer_), sizeof(answer_), [this] {
    heard_ = true;
    if (answer_.status > refused_status || answer_.message_len > max_message)
      return fail("the holder's answer is no Manta object transfer answer");
    message_.assign(answer_.message_len, '\0');
    read_into(message_.data(), message_.size(), [this] { read_message(); });
  });
}

void fetch_connection::read_message() {
  auto k = pending_.front();
  auto offset = k * transfer_chunk;
  auto length = std::min(transfer_chunk, op_->size - offset);
  if (answer_.status == not_here && !served_ && waits_ < not_here_retries) {
    // A holder named as one about to read the object may not have started
    // yet: the chunk goes back and it is asked again soon.
    back_.push_back(k);
    pending_.pop_front();
    return fill();
  }
  if (answer_.status != ok)
    return fail((answer_.status == not_here ? "" : "refused: ") + message_);
  if (answer_.length != length)
    return fail("the node has " + std::to_string(offset + answer_.length) + " bytes, expected "
                + std::to_string(offset + length));
  op_->ensure(offset + length);
  read_into(op_->out + offset, length, [this] { read_data(); });
}

void fetch_connection::read_data() {
  auto k = pending_.front();
  if (op_->arrived)
    op_->arrived->arrived(k);
  pending_.pop_front();
  served_ = true;
  op_->landed(k);
  fill();
}

void fetch_connection::write_requests(step then) {
  if (!tls_) {
    asio::async_write(socket_, asio::buffer(requests_),
                      [self = shared_from_this(), then = std::move(then)](error_code ec, size_t) {
                        if (!self->check(ec))
                          return;
                        ++self->moved_;
                        then();
                      });
    return;
  }
  tls_write(0, std::move(then));
}

void fetch_connection::tls_write(size_t at, step then) {
  while (at < requests_.size()) {
    size_t written = 0;
    auto r = tls_->write(requests_.data() + at, requests_.size() - at, written);
    if (r == tls_session::failed)
      return fail_io("write: " + tls_->error());
    if (r != tls_session::done)
      return wait_socket(
        r, [this, at, then = std::move(then)]() mutable { tls_write(at, std::move(then)); });
    ++moved_;
    at += written;
  }
  auto r = tls_->flush();
  if (r == tls_session::done)
    return then();
  if (r == tls_session::failed)
    return fail_io("write: " + tls_->error());
  wait_socket(
    r, [this, then = std::move(then)]() mutable { tls_write(requests_.size(), std::move(then)); });
}

void fetch_connection::read_into(char* p, size_t n, step then) {
  if (!tls_) {
    if (n == 0)
      return then();
    asio::async_read(
      socket_, asio::buffer(p, n),
      [this](const error_code& ec, size_t) -> size_t {
        ++moved_; // up to 4 MiB per system call
        return ec ? 0 : size_t{4} << 20;
      },
      [self = shared_from_this(), then = std::move(then)](error_code ec, size_t) {
        if (self->check(ec))
          then();
      });
    return;
  }
  while (n > 0) {
    size_t got = 0;
    auto r = tls_->read(p, n, got);
    if (r == tls_session::failed)
      return fail_io(std::string{"read: "} + tls_->error());
    if (r != tls_session::done)
      return wait_socket(
        r, [this, p, n, then = std::move(then)]() mutable { read_into(p, n, std::move(then)); });
    ++moved_;
    p += got;
    n -= got;
  }
  then();
}

void fetch_connection::wait_socket(tls_session::result r, step then) {
  socket_.async_wait(r == tls_session::want_read ? tcp::socket::wait_read : tcp::socket::wait_write,
                     [self = shared_from_this(), then = std::move(then)](error_code ec) {
                       if (!self->check(ec))
                         return;
                       ++self->moved_;
                       then();
                     });
}

bool fetch_connection::check(const error_code& ec) {
  if (over_)
    return false;
  if (stalled_) {
    fail_io(std::string{doing_} + ": nothing moved for " + std::to_string(stall.count()) + " ms");
    return false;
  }
  if (ec) {
    fail_io(std::string{doing_} + ": " + ec.message()
            + (tls_ && std::strcmp(doing_, "TLS handshake") == 0 ? handshake_hint : ""));
    return false;
  }
  return true;
}

void fetch_connection::arm_watchdog() {
  watchdog_.expires_after(stall);
  watchdog_.async_wait([self = shared_from_this()](error_code ec) {
    if (ec || self->over_)
      return;
    auto now = self->moved_.load();
    if (!self->waiting_ && now == self->seen_) {
      self->stalled_ = true;
      error_code ignored;
      self->socket_.close(ignored); // ends the step under way with operation_aborted
      self->pause_.cancel();
      return;
    }
    self->seen_ = now;
    self->arm_watchdog();
  });
}

void fetch_connection::fail_io(const std::string& what) {
  auto& from = op_->sources[src_];
  auto why = "object transfer from " + from.host + ":" + std::to_string(from.port)
             + " failed: " + what;
  if (!op_->tls && !served_)
    why += " (if the holder's cluster uses TLS, this process needs its TLS settings too)";
  fail(std::move(why));
}

void fetch_connection::fail(std::string why) {
  if (over_)
    return;
  pending_.insert(pending_.end(), back_.begin(), back_.end());
  close();
  if (reused_ && !heard_)
    op_->retry(src_, pending_); // a stale idle connection: `why` is not the holder's
  else
    op_->failed(src_, std::move(why), pending_);
  op_->ended();
}

void fetch_connection::finish() {
  // A TLS key near its record limit (tls_session::worn) is not kept.
  if (op_->pool == nullptr || !socket_.is_open() || (tls_ && tls_->worn())) {
    close();
    return op_->ended();
  }
  // At a request boundary: nothing in flight, nothing unread.
  over_ = true;
  watchdog_.cancel();
  pause_.cancel();
  op_->pool->put(op_->key_of(src_), std::make_unique<data_link>(data_link{
                                      strand_, std::move(socket_), std::move(tls_), op_->tls}));
  op_->ended();
}

void fetch_connection::close() {
  over_ = true;
  error_code ignored;
  watchdog_.cancel();
  pause_.cancel();
  tls_.reset();
  socket_.close(ignored);
}

} // namespace manta::detail
