#include "tests/netem_relay.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <future>
#include <mutex>
#include <poll.h>
#include <queue>
#include <random>
#include <sched.h>
#include <sstream>
#include <stdexcept>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

#ifdef MANTA_HAVE_NFQUEUE
#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#endif

namespace manta_test {

namespace {

[[noreturn]] void refuse(const std::string& spec, const std::string& what) {
  throw std::invalid_argument("netem spec \"" + spec + "\": " + what
                              + " (without kernel netem the harness understands only "
                                "\"delay TIME [JITTER]\" and \"loss PERCENT%\", times "
                                "with a unit us, ms or s)");
}

std::chrono::microseconds parse_time(const std::string& spec, const std::string& word) {
  size_t used = 0;
  double value = 0;
  try {
    value = std::stod(word, &used);
  } catch (const std::exception&) {
    refuse(spec, "\"" + word + "\" is not a time");
  }
  auto unit = word.substr(used);
  double us = unit == "us" ? 1 : unit == "ms" ? 1e3 : unit == "s" ? 1e6 : -1;
  if (us < 0 || value < 0)
    refuse(spec, "\"" + word + "\" is not a time");
  return std::chrono::microseconds{static_cast<int64_t>(value * us)};
}

bool is_time(const std::string& word) {
  return !word.empty() && (std::isdigit(static_cast<unsigned char>(word[0])) || word[0] == '.')
         && word.back() != '%';
}

} // namespace

netem_spec parse_netem(const std::string& spec) {
  std::istringstream in{spec};
  std::vector<std::string> words;
  for (std::string w; in >> w;)
    words.push_back(w);
  netem_spec out;
  for (size_t i = 0; i < words.size(); ++i) {
    if (words[i] == "delay" && i + 1 < words.size()) {
      out.delay = parse_time(spec, words[++i]);
      if (i + 1 < words.size() && is_time(words[i + 1]))
        out.jitter = parse_time(spec, words[++i]);
      if (i + 1 < words.size() && words[i + 1].back() == '%')
        refuse(spec, "a delay correlation (\"" + words[i + 1] + "\") is not supported");
      if (out.jitter > out.delay)
        refuse(spec, "a jitter above the delay is not supported");
    } else if (words[i] == "loss" && i + 1 < words.size()) {
      auto& p = words[++i];
      size_t used = 0;
      try {
        out.loss = std::stod(p, &used) / 100;
      } catch (const std::exception&) {
        refuse(spec, "\"" + p + "\" is not a percentage");
      }
      if (p.substr(used) != "%" || out.loss < 0 || out.loss > 1)
        refuse(spec, "\"" + p + "\" is not a percentage");
      if (i + 1 < words.size() && words[i + 1].back() == '%')
        refuse(spec, "a loss correlation (\"" + words[i + 1] + "\") is not supported");
    } else {
      refuse(spec, "\"" + words[i] + "\" is not understood");
    }
  }
  return out;
}

bool netem_relay_built() {
#ifdef MANTA_HAVE_NFQUEUE
  return true;
#else
  return false;
#endif
}

struct netem_relay::state {
  struct params {
    std::chrono::microseconds delay{0}, jitter{0};
  };
  struct held {
    std::chrono::steady_clock::time_point due;
    uint32_t id;
    size_t queue;
    bool operator>(const held& other) const { return due > other.due; }
  };
  struct context {
    state* self;
    size_t queue;
  };

  std::mutex mutex; // guards params_
  std::vector<params> params_;
  std::atomic<bool> stop{false};
  std::atomic<size_t> released{0}, overruns{0};
  int wake = -1; // an eventfd: the destructor's nudge
  std::thread thread;
  // Only the relay thread touches these.
  std::vector<context> contexts;
  std::priority_queue<held, std::vector<held>, std::greater<>> heap;
  std::mt19937_64 rng{std::random_device{}()};

  /// A packet arrived on `queue`: hold it until its time.
  void hold(size_t queue, uint32_t id) {
    params p;
    {
      std::lock_guard guard{mutex};
      p = params_.at(queue);
    }
    auto delay = p.delay;
    if (p.jitter.count() > 0)
      delay += std::chrono::microseconds{
        std::uniform_int_distribution<int64_t>{-p.jitter.count(), p.jitter.count()}(rng)};
    heap.push({std::chrono::steady_clock::now() + std::max(delay, decltype(delay){0}), id, queue});
  }

  void run(const std::string& ns, size_t queues, std::promise<void>& ready);

#ifdef MANTA_HAVE_NFQUEUE
  static int on_packet(nfq_q_handle*, nfgenmsg*, nfq_data* nfa, void* data) {
    auto* c = static_cast<context*>(data);
    if (auto* header = nfq_get_msg_packet_hdr(nfa))
      c->self->hold(c->queue, ntohl(header->packet_id));
    return 0;
  }
#endif
};

void netem_relay::state::run(const std::string& ns, size_t queues, std::promise<void>& ready) {
#ifndef MANTA_HAVE_NFQUEUE
  (void)ns;
  (void)queues;
  ready.set_exception(std::make_exception_ptr(std::runtime_error(
    "netem relay: built without libnetfilter_queue (tools/setup.sh installs it)")));
#else
  auto fail = [&](const std::string& what) {
    ready.set_exception(std::make_exception_ptr(
      std::runtime_error("netem relay: " + what + ": " + std::strerror(errno))));
  };
  // This thread alone moves into the bridge's namespace: the netlink
  // socket it opens there sees that namespace's queues.
  int fd_ns = ::open(("/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ns < 0 || ::setns(fd_ns, CLONE_NEWNET) != 0) {
    fail("cannot enter namespace " + ns);
    if (fd_ns >= 0)
      ::close(fd_ns);
    return;
  }
  ::close(fd_ns);
  nfq_handle* h = nfq_open();
  if (h == nullptr)
    return fail("nfq_open");
  contexts.reserve(queues); // stable addresses for the callbacks
  std::vector<nfq_q_handle*> handles;
  for (size_t i = 0; i < queues; ++i) {
    contexts.push_back({this, i});
    auto* qh = nfq_create_queue(h, static_cast<uint16_t>(i), &on_packet, &contexts.back());
    if (qh == nullptr) {
      fail("nfq_create_queue " + std::to_string(i));
      for (auto* q : handles)
        nfq_destroy_queue(q);
      nfq_close(h);
      return;
    }
    handles.push_back(qh);
    // Only the packet id comes up (no payload); a GSO packet comes whole,
    // as netem would hold it; room for many packets in flight.
    nfq_set_mode(qh, NFQNL_COPY_META, 0);
    nfq_set_queue_maxlen(qh, 65536);
    nfq_set_queue_flags(qh, NFQA_CFG_F_GSO, NFQA_CFG_F_GSO);
  }
  int fd = nfq_fd(h);
  int size = 16 << 20;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size);
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  ready.set_value();
  std::vector<char> buf(1 << 16);
  while (!stop.load()) {
    auto now = std::chrono::steady_clock::now();
    auto wait = heap.empty() ? std::chrono::nanoseconds{std::chrono::milliseconds{100}}
                             : std::max(std::chrono::nanoseconds{0}, heap.top().due - now);
    timespec ts{static_cast<time_t>(wait.count() / 1000000000),
                static_cast<long>(wait.count() % 1000000000)};
    pollfd fds[2] = {{fd, POLLIN, 0}, {wake, POLLIN, 0}};
    ::ppoll(fds, 2, &ts, nullptr);
    for (;;) {
      auto n = ::recv(fd, buf.data(), buf.size(), MSG_DONTWAIT);
      if (n < 0 && errno == ENOBUFS) {
        ++overruns; // the kernel dropped what it could not hand over
        continue;
      }
      if (n <= 0)
        break;
      nfq_handle_packet(h, buf.data(), static_cast<int>(n));
    }
    now = std::chrono::steady_clock::now();
    while (!heap.empty() && heap.top().due <= now) {
      auto [due, id, queue] = heap.top();
      heap.pop();
      nfq_set_verdict(handles[queue], id, NF_ACCEPT, 0, nullptr);
      ++released;
    }
  }
  for (auto* q : handles)
    nfq_destroy_queue(q);
  nfq_close(h);
#endif
}

netem_relay::netem_relay(const std::string& ns, size_t queues) : state_(new state) {
  state_->params_.resize(queues);
  state_->wake = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  std::promise<void> ready;
  auto started = ready.get_future();
  state_->thread = std::thread{[this, ns, queues, &ready] { state_->run(ns, queues, ready); }};
  try {
    started.get();
  } catch (...) {
    state_->thread.join();
    ::close(state_->wake);
    throw;
  }
}

netem_relay::~netem_relay() {
  state_->stop = true;
  uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(state_->wake, &one, sizeof one);
  state_->thread.join();
  ::close(state_->wake);
}

void netem_relay::set(size_t queue, std::chrono::microseconds delay,
                      std::chrono::microseconds jitter) {
  std::lock_guard guard{state_->mutex};
  state_->params_.at(queue) = {delay, jitter};
}

size_t netem_relay::released() const {
  return state_->released.load();
}

size_t netem_relay::overruns() const {
  return state_->overruns.load();
}

} // namespace manta_test
