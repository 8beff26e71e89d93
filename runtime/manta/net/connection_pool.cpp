#include "manta/net/connection_pool.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cerrno>
#include <vector>

#include <sys/socket.h>

namespace manta::detail {

namespace asio = boost::asio;

/// An idle connection on the list, with its idle timer (on its strand).
struct connection_pool::entry {
  entry(holder_key k, std::unique_ptr<data_link> l)
    : key(std::move(k)), strand(l->strand), link(std::move(l)), timer(strand) {}

  holder_key key;
  asio::strand<asio::io_context::executor_type> strand;
  std::unique_ptr<data_link> link; ///< moved out when taken
  asio::steady_timer timer;
  std::list<entry_ptr>::iterator where;
  bool listed = false; ///< guarded by the pool's mutex
};

namespace {

/// True while the holder has neither closed the connection nor sent
/// anything on it (a peek that would block).
bool still_open(asio::ip::tcp::socket& s) {
  char c = 0;
  auto n = ::recv(s.native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

void close_link(data_link& link) {
  boost::system::error_code ignored;
  link.tls.reset();
  link.socket.close(ignored);
}

} // namespace

connection_pool::~connection_pool() {
  // The loop's threads are gone (fetch_loop's destructor joined them):
  // nothing runs on the strands any more.
  std::lock_guard<std::mutex> guard{mtx_};
  for (auto& e : idle_) {
    e->listed = false;
    close_link(*e->link);
  }
  idle_.clear();
}

void connection_pool::set_limits(limits l) {
  std::lock_guard<std::mutex> guard{mtx_};
  limits_ = l;
}

connection_pool::limits connection_pool::current_limits() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return limits_;
}

std::unique_ptr<data_link> connection_pool::take(const holder_key& key) {
  std::vector<entry_ptr> stale;
  std::unique_ptr<data_link> found;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    // Newest first: the one least likely to be near its holder's timeout.
    for (auto i = idle_.end(); !found && i != idle_.begin();) {
      auto e = *--i;
      if (!(e->key == key))
        continue;
      i = idle_.erase(i); // the next one; the loop goes on before it
      e->listed = false;
      if (!still_open(e->link->socket)) {
        stale.push_back(e);
        continue;
      }
      found = std::move(e->link);
      ++reused_;
      // The timer stops on its strand; its handler finds the entry off
      // the list and leaves the connection alone.
      asio::post(e->strand, [e] { e->timer.cancel(); });
    }
  }
  for (auto& e : stale)
    close_later(e);
  return found;
}

void connection_pool::put(holder_key key, std::unique_ptr<data_link> link) {
  auto l = current_limits();
  if (l.per_holder == 0 || l.total == 0)
    return close_link(*link);
  auto e = std::make_shared<entry>(std::move(key), std::move(link));
  // Armed before it is listed: once listed, a read may take it.
  e->timer.expires_after(l.idle_timeout);
  e->timer.async_wait([this, e](boost::system::error_code ec) {
    if (!ec)
      expire(e);
  });
  std::vector<entry_ptr> evicted;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    size_t same = 0;
    for (auto& x : idle_)
      same += x->key == e->key ? 1 : 0;
    for (auto i = idle_.begin(); same >= l.per_holder && i != idle_.end();) {
      auto x = *i++;
      if (x->key == e->key) {
        unlist(x);
        evicted.push_back(x);
        --same;
      }
    }
    while (idle_.size() >= l.total) {
      auto x = idle_.front();
      unlist(x);
      evicted.push_back(x);
    }
    e->where = idle_.insert(idle_.end(), e);
    e->listed = true;
  }
  for (auto& x : evicted)
    close_later(x);
}

void connection_pool::close_all() {
  std::list<entry_ptr> all;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    for (auto& e : idle_)
      e->listed = false;
    all.swap(idle_);
  }
  for (auto& e : all)
    close_later(e);
}

size_t connection_pool::idle(const holder_key& key) const {
  std::lock_guard<std::mutex> guard{mtx_};
  size_t n = 0;
  for (auto& e : idle_)
    n += e->key == key ? 1 : 0;
  return n;
}

size_t connection_pool::idle() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return idle_.size();
}

void connection_pool::unlist(const entry_ptr& e) {
  idle_.erase(e->where);
  e->listed = false;
}

void connection_pool::close_later(const entry_ptr& e) {
  asio::post(e->strand, [e] {
    e->timer.cancel();
    close_link(*e->link);
  });
}

void connection_pool::expire(const entry_ptr& e) {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (!e->listed)
      return; // taken, or closed already
    unlist(e);
  }
  close_link(*e->link); // on its strand (the timer's handler)
}

} // namespace manta::detail
