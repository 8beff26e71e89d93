#include "manta/cluster/object_fetch.hpp"
#include "manta/store/object_store.hpp"

#include "manta/core/runtime.hpp"
#include "manta/store/held_objects.hpp"
#include "manta/net/object_transfer.hpp"
#include "manta/store/store_copy.hpp"
#include "manta/net/transfer_protocol.hpp"

#include "manta/net/fetch_connection.hpp"
#include "manta/net/fetch_loop.hpp"

#include <future>
#include <new>
#include <typeinfo>

namespace manta::detail {

namespace {

/// Where a read lands: `data`, and the vector it is the data of if that
/// is not sized yet (it grows chunk by chunk as the read goes, see
/// `fetch_op::ensure`).
struct destination {
  char* data = nullptr;
  std::vector<char>* grown = nullptr;
};

/// Readies `out` for `size` bytes. A huge object lands in memory an
/// earlier read or put left in the buffer pool (its pages mapped) if there
/// is some of about that size; else in fresh memory, reserved only: a
/// thread of the read maps its pages ahead of the connections, and each
/// chunk is zeroed (mapped, if that thread is behind) by the connection
/// about to read it, so the first requests go out at once and the first
/// touch goes on while the bytes come (fetch_op.hpp).
destination prepare(std::vector<char>& out, uint64_t size) {
  if (out.size() != size && size >= huge_copy_bytes && out.capacity() < size) {
    using bytes = std::vector<char>;
    // The running node's pool (none: a read made with no runtime).
    auto* rt = runtime::live();
    auto* kept = rt != nullptr ? static_cast<bytes*>(rt->store().pool().take(typeid(bytes), size))
                               : nullptr;
    if (kept != nullptr) {
      out.swap(*kept);
      delete kept; // with `out`'s former buffer
    } else {
      bytes{}.swap(out);
      out.reserve(size); // fresh, untouched
      return {out.data(), &out};
    }
  }
  out.resize(size);
  return {out.data(), nullptr};
}

/// Starts a read once the loop gives it a turn: `out` then gives where it
/// lands, `size` bytes (which must live until `done` ran).
void start_read(std::vector<object_source> sources, std::string token, uint64_t id, uint64_t size,
                std::function<destination()> out, int streams,
                std::shared_ptr<copy_progress> arrived, std::shared_ptr<data_path_tls> tls,
                fetch_done done) {
  if (size == 0)
    return done({});
  if (sources.empty())
    return done("no node holds object " + std::to_string(id));
  auto& loop = fetch_loop::instance();
  loop.admit([&loop, sources = std::move(sources), token = std::move(token), id, size,
              out = std::move(out), streams, arrived = std::move(arrived), tls = std::move(tls),
              done = std::move(done)]() mutable {
    auto into = out();
    auto op = std::make_shared<fetch_op>(loop.io(), &loop.pool(), std::move(sources),
                                         std::move(token), id, size, into.data, into.grown, streams,
                                         std::move(arrived), std::move(tls),
                                         [&loop, done = std::move(done)](std::string err) {
                                           loop.release();
                                           done(std::move(err));
                                         });
    op->start();
  });
}

} // namespace

std::string fetch_object(const std::vector<object_source>& sources, const std::string& token,
                         uint64_t id, uint64_t size, std::vector<char>& out, int streams,
                         copy_progress* arrived, std::shared_ptr<data_path_tls> tls) {
  auto into = prepare(out, size);
  std::promise<std::string> result;
  auto ended = result.get_future();
  // The caller waits below, so `out` and `arrived` outlive the read.
  start_read(
    sources, token, id, size, [into] { return into; }, streams,
    std::shared_ptr<copy_progress>{std::shared_ptr<void>{}, arrived}, std::move(tls),
    [&result](std::string err) { result.set_value(std::move(err)); });
  return ended.get();
}

void fetch_object_async(std::vector<object_source> sources, std::string token, uint64_t id,
                        uint64_t size, std::shared_ptr<std::vector<char>> out, fetch_done done,
                        int streams, std::shared_ptr<copy_progress> arrived,
                        std::shared_ptr<data_path_tls> tls) {
  if (size == 0)
    out->clear();
  // Sized on the loop: fresh pages of a huge object take a while.
  auto into = [out, size] { return prepare(*out, size); };
  start_read(std::move(sources), std::move(token), id, size, std::move(into), streams,
             std::move(arrived), std::move(tls),
             [out, done = std::move(done)](std::string err) { done(std::move(err)); });
}

void recycle_read_buffer(std::vector<char>&& bytes) noexcept {
  using buffer = std::vector<char>;
  auto capacity = bytes.capacity();
  auto* rt = runtime::live();
  if (capacity < huge_copy_bytes || rt == nullptr)
    return;
  try {
    // A kept buffer is at its full size: the read that takes it shrinks it
    // (no byte written) rather than zeroing a tail.
    auto* kept = new buffer{std::move(bytes)};
    if (kept->size() < capacity)
      kept->resize(capacity);
    rt->store().pool().give(
      {kept, [](void* p) noexcept { delete static_cast<buffer*>(p); }, &typeid(buffer), capacity});
  } catch (const std::bad_alloc&) {
    // No memory to keep it: it is freed.
  }
}

std::string fetch_object(const std::string& host, uint16_t port, const std::string& token,
                         uint64_t id, uint64_t size, std::vector<char>& out, int streams,
                         std::shared_ptr<data_path_tls> tls) {
  return fetch_object({object_source{host, port}}, token, id, size, out, streams, nullptr,
                      std::move(tls));
}

} // namespace manta::detail
