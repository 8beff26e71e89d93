#include "manta/net/object_transfer.hpp"

#include "manta/observe/log_sink.hpp"
#include "manta/net/task_lane.hpp"
#include "manta/net/transfer_server_state.hpp"

#include <boost/asio/strand.hpp>

#include <algorithm>

#include <pthread.h>
#include <sys/resource.h>

namespace manta::detail {

namespace {

std::atomic<uint64_t> g_served{0};

/// How long a stopping server waits for a lane task running on a loop
/// thread before it leaves that thread behind (the runtime gives its
/// pool's threads as long).
constexpr std::chrono::milliseconds lane_task_grace{250};

/// Connections at most a quarter of the descriptors the process may open:
/// the rest stay for CAF, spill files and the user's code.
size_t connection_cap(size_t wanted) {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur == RLIM_INFINITY)
    return wanted;
  return std::max<size_t>(1, std::min<size_t>(wanted, lim.rlim_cur / 4));
}

/// How often a connection checks its deadline.
std::chrono::milliseconds tick_of(const transfer_limits& l) {
  return std::clamp(std::min(l.stall_timeout, l.idle_timeout) / 4, std::chrono::milliseconds{5},
                    std::chrono::milliseconds{1000});
}

} // namespace

uint64_t bytes_served() noexcept {
  return g_served.load(std::memory_order_relaxed);
}

void add_bytes_served(uint64_t n) noexcept {
  g_served.fetch_add(n, std::memory_order_relaxed);
}

transfer_server::impl::impl(std::string tok, lookup_fn look, std::shared_ptr<data_path_tls> t,
                            transfer_limits l)
  : helper(std::max(1u, l.lookup_threads)), token(std::move(tok)), lookup(std::move(look)),
    tls(std::move(t)), limits(l), cap(connection_cap(l.max_connections)), tick(tick_of(l)) {}

// -- accepting ----------------------------------------------------------------------

void transfer_server::impl::accept() {
  acceptor.async_accept(asio::make_strand(io), [this](boost::system::error_code ec, tcp::socket s) {
    if (stopping.load())
      return;
    if (ec) {
      // Out of descriptors (EMFILE, ENFILE) or another failure: the
      // connection stays queued; accepting pauses instead of spinning,
      // and resumes once connections close.
      uint64_t skipped = 0;
      if (accept_log.allow(skipped))
        detail::log_line(log_level::warning,
                         "manta: the object transfer server cannot accept a connection (%s); "
                         "accepting pauses for %lld ms%s%s\n",
                         ec.message().c_str(), static_cast<long long>(limits.accept_pause.count()),
                         ec == asio::error::no_descriptors
                           ? " (raise the file descriptor limit, `ulimit -n`)"
                           : "",
                         log_limiter::skipped_text(skipped).c_str());
      accept_timer.expires_after(limits.accept_pause);
      accept_timer.async_wait([this](boost::system::error_code e) {
        if (!e && !stopping.load())
          accept();
      });
      return;
    }
    admit(std::move(s));
    accept();
  });
}

void transfer_server::impl::admit(tcp::socket s) {
  // Answers go out as they are written: TLS writes one record (16 KiB) at
  // a time, which Nagle's algorithm would hold back for the peer's ACK.
  boost::system::error_code ignored;
  s.set_option(tcp::no_delay(true), ignored);
  ++accepted;
  auto c = make_connection(*this, std::move(s));
  std::shared_ptr<connection_base> evicted;
  {
    std::lock_guard<std::mutex> guard{mtx};
    if (conns.size() >= cap) {
      // Full: the oldest connection that has not shown the token makes
      // room (a reader shows it in its first round trip; an intruder never
      // does), else the one idle longest between requests (a reader keeps
      // connections for its next read, connection_pool.hpp, and retries
      // on a fresh one if this one is gone), else the newcomer is turned
      // away.
      auto i = std::find_if(conns.begin(), conns.end(),
                            [](const auto& x) { return !x->authenticated.load(); });
      if (i == conns.end())
        i = longest_idle();
      if (i == conns.end()) {
        ++dropped;
        return; // `c` closes its socket as it goes
      }
      evicted = *i;
      evicted->registered = false;
      conns.erase(i);
    }
    c->where = conns.insert(conns.end(), c);
    c->registered = true;
  }
  if (evicted) {
    ++dropped;
    evicted->close_soon();
  }
  c->start();
}

std::list<std::shared_ptr<connection_base>>::iterator transfer_server::impl::longest_idle() {
  auto limit = (steady::now() - evictable_idle).time_since_epoch().count();
  auto best = conns.end();
  int64_t oldest = limit;
  for (auto i = conns.begin(); i != conns.end(); ++i) {
    auto since = (*i)->idle_since.load();
    if (since != 0 && since <= oldest) {
      oldest = since;
      best = i;
    }
  }
  return best;
}

// -- transfer_server ----------------------------------------------------------------

transfer_server::transfer_server(const std::string& host, std::string token, lookup_fn lookup,
                                 std::shared_ptr<data_path_tls> tls, transfer_limits limits)
  : impl_(std::make_shared<impl>(std::move(token), std::move(lookup), std::move(tls), limits)) {
  tcp::endpoint ep{asio::ip::make_address(host), 0};
  impl_->acceptor.open(ep.protocol());
  impl_->acceptor.set_option(tcp::acceptor::reuse_address(true));
  impl_->acceptor.bind(ep);
  impl_->acceptor.listen();
  impl_->accept();
  // With the task lane on, its loop threads may run lane tasks
  // (transfer_connection.cpp): named, so that they are told from the pool's.
  for (unsigned i = 0; i < std::max(1u, limits.loop_threads); ++i)
    impl_->threads.emplace_back([p = impl_.get(), named = task_lane::enabled()] {
      if (named)
        ::pthread_setname_np(::pthread_self(), "manta-data");
      p->io.run();
    });
}

transfer_server::~transfer_server() {
  impl_->stopping.store(true);
  // Lookups under way finish; none starts. Then the loop stops, and with
  // no thread left, the connections close (the list's, and those only
  // pending handlers hold, as the io_context goes).
  impl_->helper.stop();
  impl_->helper.join();
  impl_->io.stop();
  if (!impl_->tasks_end_within(lane_task_grace)) {
    // A loop thread still runs a lane task (user code that may never
    // return): left behind, as the pool leaves its threads, with the
    // server's state it needs (kept for good, its connections and pending
    // handlers with it: the process is ending).
    for (auto& t : impl_->threads)
      t.detach();
    static std::mutex left_mtx;
    static std::vector<std::shared_ptr<impl>> left;
    std::lock_guard<std::mutex> guard{left_mtx};
    left.push_back(impl_);
    return;
  }
  for (auto& t : impl_->threads)
    t.join();
  boost::system::error_code ignored;
  impl_->acceptor.close(ignored);
  std::lock_guard<std::mutex> guard{impl_->mtx};
  for (auto& c : impl_->conns)
    c->registered = false;
  impl_->conns.clear();
}

uint16_t transfer_server::port() const noexcept {
  return impl_->acceptor.local_endpoint().port();
}

size_t transfer_server::accepted() const noexcept {
  return impl_->accepted.load();
}

size_t transfer_server::refused() const noexcept {
  return impl_->refused.load();
}

size_t transfer_server::connections() const noexcept {
  std::lock_guard<std::mutex> guard{impl_->mtx};
  return impl_->conns.size();
}

size_t transfer_server::dropped() const noexcept {
  return impl_->dropped.load();
}

size_t transfer_server::max_connections() const noexcept {
  return impl_->cap;
}

} // namespace manta::detail
