#include "manta/store/held_objects.hpp"

#include "manta/store/accounted_value.hpp"
#include "manta/core/codec.hpp"
#include "manta/store/contained_refs.hpp"
#include "manta/core/runtime.hpp"
#include "manta/store/object_store.hpp"
#include "manta/store/pinned_inner.hpp"
#include "manta/store/store_copy.hpp"

#include <algorithm>

namespace manta::detail {

// -- copy_progress --------------------------------------------------------------

copy_progress::copy_progress(uint64_t size)
  : have_((size + transfer_chunk - 1) / transfer_chunk, false) {
  // nop
}

void copy_progress::arrived(uint64_t index) {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (index < have_.size())
      have_[index] = true;
  }
  cv_.notify_all();
}

void copy_progress::fail() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    failed_ = true;
  }
  cv_.notify_all();
}

bool copy_progress::wait(uint64_t offset, uint64_t length, std::chrono::milliseconds limit) {
  if (length == 0)
    return true;
  auto first = offset / transfer_chunk;
  auto last = (offset + length - 1) / transfer_chunk;
  std::unique_lock<std::mutex> guard{mtx_};
  return cv_.wait_for(guard, limit, [&] {
    if (failed_)
      return true;
    for (auto k = first; k <= last && k < have_.size(); ++k)
      if (!have_[k])
        return false;
    return true;
  }) && !failed_;
}

// -- held_objects ---------------------------------------------------------------

void held_objects::forget(entry& e) {
  if (e.cached)
    cached_ -= e.size;
  e.cached = false;
  if (e.progress)
    e.progress->fail();
  if (!e.file.path.empty())
    store_.spill().remove(e.file.path, e.file.bytes, e.file.generation);
  e.file = {};
}

void held_objects::put(uint64_t id, std::shared_ptr<const std::vector<char>> bytes) {
  auto size = bytes->size();
  std::shared_ptr<const std::vector<char>> gone; // freed outside the lock
  std::lock_guard<std::mutex> guard{mtx_};
  auto& e = map_[id];
  forget(e);
  gone = std::move(e.bytes);
  e = entry{std::move(bytes), nullptr, false, next_seq_++, size, {}, {}};
}

std::shared_ptr<const std::vector<char>> held_objects::find(uint64_t id) {
  return restore(id);
}

size_t held_objects::erase(uint64_t id) {
  std::shared_ptr<const std::vector<char>> gone; // freed outside the lock
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = map_.find(id);
  if (i == map_.end())
    return 0;
  auto size = i->second.size;
  forget(i->second);
  gone = std::move(i->second.bytes);
  map_.erase(i);
  return size;
}

void held_objects::clear() {
  std::vector<std::shared_ptr<const std::vector<char>>> gone; // freed outside the lock
  std::lock_guard<std::mutex> guard{mtx_};
  gone.reserve(map_.size());
  for (auto& [id, e] : map_) {
    forget(e);
    gone.push_back(std::move(e.bytes));
  }
  map_.clear();
}

size_t held_objects::erase_node(uint16_t node) {
  std::vector<std::shared_ptr<const std::vector<char>>> gone; // freed outside the lock
  size_t freed = 0;
  std::lock_guard<std::mutex> guard{mtx_};
  for (auto i = map_.begin(); i != map_.end();) {
    if ((i->first >> 48) != node) {
      ++i;
      continue;
    }
    forget(i->second);
    freed += i->second.size;
    gone.push_back(std::move(i->second.bytes));
    i = map_.erase(i);
  }
  return freed;
}

std::optional<held_bytes> held_objects::view(uint64_t id) {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    auto i = map_.find(id);
    if (i == map_.end())
      return std::nullopt;
    if (auto& bytes = i->second.bytes)
      return held_bytes{bytes, bytes->data(), bytes->size(), i->second.progress};
  }
  // Spilled: read back first.
  auto bytes = restore(id);
  if (!bytes)
    return std::nullopt;
  return held_bytes{bytes, bytes->data(), bytes->size(), nullptr};
}

std::shared_ptr<std::vector<char>>
held_objects::start_copy(uint64_t id, uint64_t size, std::function<void()> on_drop,
                         std::shared_ptr<copy_progress>& progress) {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (map_.count(id) != 0)
      return nullptr;
  }
  // Room in the same budget as the store's values: older copies go first,
  // then spillable values are spilled; without room the read is not kept.
  auto& budget = store_.budget();
  if (size > budget.limit()
      || (store_.table().bytes_used() + size > budget.limit() && !budget.make_room(size)))
    return nullptr;
  auto buffer = std::make_shared<std::vector<char>>();
  if (size >= huge_copy_bytes) {
    buffer->reserve(size);
    populate_pages(buffer->data(), size); // fresh memory (store_copy.hpp)
  }
  buffer->resize(size);
  buffer = accounted(store_, std::move(buffer), size);
  std::lock_guard<std::mutex> guard{mtx_};
  if (map_.count(id) != 0)
    return nullptr;
  progress = std::make_shared<copy_progress>(size);
  map_[id] = entry{buffer, progress, true, next_seq_++, size, std::move(on_drop), {}};
  cached_ += size;
  return buffer;
}

void held_objects::finish_copy(uint64_t id) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (auto i = map_.find(id); i != map_.end())
    i->second.progress = nullptr;
}

void held_objects::abort_copy(uint64_t id) {
  std::shared_ptr<const std::vector<char>> gone;
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = map_.find(id);
  if (i == map_.end() || !i->second.cached)
    return;
  forget(i->second);
  gone = std::move(i->second.bytes);
  map_.erase(i);
}

size_t held_objects::evict(size_t need) {
  std::vector<std::function<void()>> dropped;
  std::vector<std::shared_ptr<const std::vector<char>>> gone;
  size_t freed = 0;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    std::vector<std::pair<uint64_t, uint64_t>> copies; // (seq, id)
    // A copy a task is reading would stay in memory (and counted) anyway.
    for (auto& [id, e] : map_)
      if (e.cached && !e.progress && e.bytes && e.bytes.use_count() == 1)
        copies.emplace_back(e.seq, id);
    std::sort(copies.begin(), copies.end());
    for (auto& [seq, id] : copies) {
      if (freed >= need)
        break;
      auto i = map_.find(id);
      freed += i->second.size;
      forget(i->second);
      gone.push_back(std::move(i->second.bytes));
      if (i->second.on_drop)
        dropped.push_back(std::move(i->second.on_drop));
      map_.erase(i);
    }
  }
  gone.clear(); // uncounted here, before the caller checks the budget
  for (auto& f : dropped)
    f();
  return freed;
}

size_t held_objects::cached_bytes() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return cached_;
}

std::vector<held_objects::info> held_objects::list() const {
  std::vector<info> out;
  std::lock_guard<std::mutex> guard{mtx_};
  out.reserve(map_.size());
  for (auto& [id, e] : map_)
    out.push_back(info{id, e.size, e.cached, e.bytes == nullptr, e.progress == nullptr,
                       e.bytes != nullptr && e.bytes.use_count() > 1});
  return out;
}

std::optional<held_bytes> local_object_bytes(uint64_t id) {
  // Asked by the transfer server, which the runtime stops before it goes.
  auto* rt = runtime::live();
  if (rt == nullptr)
    return std::nullopt;
  auto& store = rt->store();
  if (auto held = store.held().view(id))
    return held;
  auto slot = store.table().find(object_id{id});
  if (!slot || !slot->done() || slot->failed() || slot->codec() == nullptr
      || (slot->remote() && !slot->resident()))
    return std::nullopt;
  struct encoded {
    std::shared_ptr<const void> value; // pinned in memory while it is sent
    encoded_bytes bytes;
  };
  auto e = std::make_shared<encoded>();
  try {
    e->value = slot->shared_value();
  } catch (const std::exception&) {
    return std::nullopt; // a spilled value that cannot be read back
  }
  // The refs inside are lent for the reader, held by this object's own pin
  // (the reader borrows it while it reads them), not left lent outside
  // any container.
  lend_scope inner;
  if (slot->codec()->encode(e->value.get(), e->bytes))
    return std::nullopt;
  hold_with_pin(id, inner.take());
  auto* data = e->bytes.data;
  auto size = e->bytes.size;
  return held_bytes{std::move(e), data, size, nullptr};
}
} // namespace manta::detail
