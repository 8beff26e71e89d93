#include "manta/detail/object_fetch.hpp"

#include "manta/detail/held_objects.hpp"
#include "manta/detail/object_transfer.hpp"
#include "manta/detail/store_copy.hpp"
#include "manta/detail/transfer_protocol.hpp"

#include "manta/detail/transfer_channel.hpp"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

namespace manta::detail {

using namespace transfer_protocol;

namespace {

std::mutex g_reader_tls_mtx;
std::shared_ptr<data_path_tls> g_reader_tls;

/// A holder that has no chunk of the object yet is asked again this many
/// times, this long apart (1 s in all), before it counts as failed: the
/// owner names readers as holders when it sends them their task, which
/// may not have started reading yet.
constexpr int not_here_retries = 20;
constexpr auto not_here_pause = std::chrono::milliseconds{50};

/// One read of an object from several holders: the chunks not yet read,
/// shared by every connection, and what went wrong where.
struct fetch_plan {
  std::mutex mtx;
  std::condition_variable cv;
  std::deque<uint64_t> todo;
  uint64_t left = 0; ///< chunks not landed yet
  std::vector<std::string> errors; ///< per source; non-empty: dropped
  size_t failures = 0; ///< sources dropped
  size_t finished = 0; ///< connections ended

  /// The next chunk for a connection to `src`; waits (if `wait`) while
  /// others may still give chunks back. False: nothing more for it.
  bool take(size_t src, bool wait, uint64_t& k) {
    std::unique_lock<std::mutex> guard{mtx};
    if (wait)
      cv.wait(guard, [&] { return !todo.empty() || left == 0 || !errors[src].empty(); });
    if (todo.empty() || !errors[src].empty())
      return false;
    k = todo.front();
    todo.pop_front();
    return true;
  }

  void landed() {
    std::lock_guard<std::mutex> guard{mtx};
    if (--left == 0)
      cv.notify_all();
  }

  /// Source `src` failed: its chunks in flight go back to the others.
  void failed(size_t src, std::string why, const std::deque<uint64_t>& pending) {
    {
      std::lock_guard<std::mutex> guard{mtx};
      if (errors[src].empty()) {
        errors[src] = std::move(why);
        ++failures;
      }
      for (auto k : pending)
        todo.push_front(k);
    }
    cv.notify_all();
  }

  /// Chunks a connection asked for too early go back to everyone.
  void give_back(const std::deque<uint64_t>& chunks) {
    {
      std::lock_guard<std::mutex> guard{mtx};
      for (auto k : chunks)
        todo.push_front(k);
    }
    cv.notify_all();
  }

  void ended() {
    {
      std::lock_guard<std::mutex> guard{mtx};
      ++finished;
    }
    cv.notify_all();
  }
};

void send_request(transfer_channel& s, const std::string& token, uint64_t id, uint64_t offset,
                  uint64_t length) {
  request r{magic, static_cast<uint32_t>(token.size()), id, offset, length};
  s.write(&r, sizeof(r), token.data(), token.size());
}

/// One connection to source `src`: keeps two chunk requests in flight and
/// reads the answers into `out` until no chunk is left for it.
void pump(fetch_plan& plan, size_t src, const object_source& from, const std::string& token,
          uint64_t id, uint64_t size, char* out, copy_progress* arrived,
          const std::shared_ptr<data_path_tls>& tls) {
  std::deque<uint64_t> pending; // requested, answers not read yet
  std::deque<uint64_t> back;    // "not here yet": given back, asked again later
  bool served = false;
  int waits = 0;
  auto range = [size](uint64_t k) {
    auto offset = k * transfer_chunk;
    return std::pair{offset, std::min(transfer_chunk, size - offset)};
  };
  std::string why;
  try {
    transfer_channel s{from.host, from.port, tls,
                       std::chrono::duration_cast<std::chrono::milliseconds>(
                         transfer_stall_timeout)};
    for (;;) {
      uint64_t k = 0;
      while (back.empty() && pending.size() < 2 && plan.take(src, pending.empty(), k)) {
        pending.push_back(k);
        auto [offset, length] = range(k);
        send_request(s, token, id, offset, length);
      }
      if (pending.empty()) {
        if (back.empty())
          return;
        plan.give_back(back);
        back.clear();
        if (!served) {
          ++waits;
          std::this_thread::sleep_for(not_here_pause);
        }
        continue;
      }
      auto [offset, length] = range(pending.front());
      answer a{};
      s.read(&a, sizeof(a));
      if (a.status > refused_status || a.message_len > max_message) {
        why = "the holder's answer is no Manta object transfer answer";
        break;
      }
      std::string message(a.message_len, '\0');
      s.read(message.data(), message.size());
      if (a.status == not_here && !served && waits < not_here_retries) {
        // A holder named as one about to read the object may not have
        // started yet: the chunk goes back and it is asked again soon.
        back.push_back(pending.front());
        pending.pop_front();
        continue;
      }
      if (a.status != ok) {
        why = (a.status == not_here ? "" : "refused: ") + message;
        break;
      }
      if (a.length != length) {
        why = "the node has " + std::to_string(offset + a.length) + " bytes, expected "
              + std::to_string(offset + length);
        break;
      }
      s.read(out + offset, length);
      if (arrived != nullptr)
        arrived->arrived(pending.front());
      pending.pop_front();
      served = true;
      plan.landed();
    }
  } catch (const std::exception& e) {
    why = std::string{"object transfer from "} + from.host + ":" + std::to_string(from.port)
          + " failed: " + e.what();
    if (!tls && !served)
      why += " (if the holder's cluster uses TLS, this process needs its TLS settings too)";
  }
  pending.insert(pending.end(), back.begin(), back.end());
  plan.failed(src, std::move(why), pending);
}

} // namespace

void set_reader_tls(std::shared_ptr<data_path_tls> tls) {
  std::lock_guard<std::mutex> guard{g_reader_tls_mtx};
  g_reader_tls = std::move(tls);
}

std::shared_ptr<data_path_tls> reader_tls() {
  std::lock_guard<std::mutex> guard{g_reader_tls_mtx};
  return g_reader_tls;
}

std::string fetch_object(const std::vector<object_source>& sources, const std::string& token,
                         uint64_t id, uint64_t size, std::vector<char>& out, int streams,
                         copy_progress* arrived, std::shared_ptr<data_path_tls> tls) {
  if (out.size() != size) {
    if (size >= huge_copy_bytes && out.capacity() < size) {
      std::vector<char>{}.swap(out);
      out.reserve(size);
      populate_pages(out.data(), size); // fresh memory (store_copy.hpp)
    }
    out.resize(size);
  }
  if (size == 0)
    return {};
  if (sources.empty())
    return "no node holds object " + std::to_string(id);
  fetch_plan plan;
  auto chunks = (size + transfer_chunk - 1) / transfer_chunk;
  for (uint64_t k = 0; k < chunks; ++k)
    plan.todo.push_back(k);
  plan.left = chunks;
  plan.errors.resize(sources.size());
  // One connection per holder when there are several; with one, up to
  // `streams`, each with at least 4 chunks (16 MiB) to read: below that a
  // second connection costs more than it brings.
  auto active = std::min(sources.size(), transfer_sources);
  uint64_t per_source = 1;
  if (active == 1)
    per_source = std::max<uint64_t>(
      1, std::min<uint64_t>(static_cast<uint64_t>(std::max(1, streams)), chunks / 4));
  std::vector<std::thread> threads;
  auto start = [&](size_t src) {
    for (uint64_t c = 0; c < per_source; ++c)
      threads.emplace_back([&, src] {
        pump(plan, src, sources[src], token, id, size, out.data(), arrived, tls);
        plan.ended();
      });
  };
  for (size_t src = 0; src < active; ++src)
    start(src);
  // Each holder that fails is replaced by the next one standing by.
  size_t tried = active;
  {
    std::unique_lock<std::mutex> guard{plan.mtx};
    size_t replaced = 0;
    for (;;) {
      plan.cv.wait(guard, [&] {
        return plan.left == 0 || plan.failures > replaced || plan.finished == threads.size();
      });
      if (plan.left == 0)
        break;
      if (plan.failures > replaced) {
        ++replaced;
        if (tried < sources.size())
          start(tried++);
        continue;
      }
      break; // every connection ended, nothing stands by
    }
  }
  for (auto& t : threads)
    t.join();
  if (plan.left == 0)
    return {};
  if (tried == 1)
    return plan.errors[0];
  std::string why = "every holder failed:";
  for (size_t src = 0; src < tried; ++src)
    why += " " + sources[src].host + ":" + std::to_string(sources[src].port) + ": "
           + (plan.errors[src].empty() ? "?" : plan.errors[src]) + ";";
  why.pop_back();
  return why;
}

std::string fetch_object(const std::string& host, uint16_t port, const std::string& token,
                         uint64_t id, uint64_t size, std::vector<char>& out, int streams,
                         std::shared_ptr<data_path_tls> tls) {
  return fetch_object({object_source{host, port}}, token, id, size, out, streams, nullptr,
                      std::move(tls));
}

} // namespace manta::detail
