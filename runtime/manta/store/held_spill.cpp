// Spilling of the results a node holds for owners on other nodes
// (held_objects): written to the spill store like any other object when the
// memory budget needs room, read back when a reader asks for them.

#include "manta/store/held_objects.hpp"
#include "manta/observe/log_sink.hpp"

#include "manta/store/accounted_value.hpp"
#include "manta/core/codec.hpp"
#include "manta/store/object_store.hpp"
#include "manta/object_id.hpp"

#include <algorithm>
#include <cstdio>
#include <typeinfo>

namespace manta::detail {

namespace {

using byte_vector = std::vector<char>;

const value_codec& bytes_codec() {
  return *codec_for<byte_vector>();
}

} // namespace

size_t held_objects::spill(size_t need) {
  auto& store = store_.spill();
  std::vector<std::pair<uint64_t, uint64_t>> order; // (seq, id)
  {
    std::lock_guard<std::mutex> guard{mtx_};
    for (auto& [id, e] : map_)
      if (!e.cached && e.bytes && !e.progress)
        order.emplace_back(e.seq, id);
  }
  std::sort(order.begin(), order.end());
  // Those whose spill file is still valid first: dropping them costs no I/O.
  std::stable_partition(order.begin(), order.end(), [&](const auto& x) {
    std::lock_guard<std::mutex> guard{mtx_};
    auto i = map_.find(x.second);
    return i != map_.end() && !i->second.file.path.empty()
           && i->second.file.generation == store.generation();
  });
  size_t freed = 0;
  for (auto& [seq, id] : order) {
    if (freed >= need)
      break;
    std::shared_ptr<const byte_vector> victim;
    spill_file file;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      auto i = map_.find(id);
      // Being sent (or read by a task here): dropping it frees nothing.
      if (i == map_.end() || !i->second.bytes || i->second.bytes.use_count() != 1)
        continue;
      victim = i->second.bytes;
      file = i->second.file;
    }
    if (file.path.empty() || file.generation != store.generation()) {
      // Written without the lock: readers go on reading it from memory.
      file = {};
      file.generation = store.generation();
      spill_store::file written;
      if (store.write(object_id{id}, typeid(byte_vector), bytes_codec(), victim.get(),
                      victim->size(), written))
        break; // the disk is full or failing: nothing more to spill
      file.path = std::move(written.path);
      file.bytes = written.bytes;
    }
    std::lock_guard<std::mutex> guard{mtx_};
    auto i = map_.find(id);
    if (i == map_.end() || i->second.bytes != victim) {
      // Freed (or replaced) meanwhile: the new file belongs to nobody.
      if (file.path != (i == map_.end() ? std::string{} : i->second.file.path))
        store.remove(file.path, file.bytes, file.generation);
      continue;
    }
    i->second.file = file;
    if (victim.use_count() == 2) { // the map's and ours: nobody reads it
      i->second.bytes.reset();
      freed += i->second.size;
    } // else a reader came meanwhile; the file stays for the next spill
    victim.reset(); // its value_account uncounts it
  }
  return freed;
}

std::shared_ptr<const std::vector<char>> held_objects::restore(uint64_t id) {
  spill_file file;
  uint64_t size = 0;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    auto i = map_.find(id);
    if (i == map_.end() || i->second.progress)
      return nullptr; // not here, or a copy still being read
    if (i->second.bytes)
      return i->second.bytes;
    file = i->second.file;
    size = i->second.size;
  }
  auto& store = store_.spill();
  std::shared_ptr<const void> value;
  value_error err;
  if (file.path.empty() || file.generation != store.generation())
    err = codec_error("its spill file was removed when the runtime shut down");
  else
    err = store.read(file.path, object_id{id}, typeid(byte_vector), bytes_codec(), value);
  if (err) {
    detail::log_line(
      log_level::error, "manta: held object %s (%s) cannot be read back from disk: %s\n",
      to_string(object_id{id}).c_str(), format_bytes(size).c_str(), error_text(err).c_str());
    return nullptr;
  }
  auto bytes = accounted(store_, std::static_pointer_cast<const byte_vector>(std::move(value)),
                         size);
  {
    std::lock_guard<std::mutex> guard{mtx_};
    auto i = map_.find(id);
    if (i == map_.end() || i->second.file.path != file.path)
      return nullptr; // freed meanwhile
    if (i->second.bytes) {
      bytes = i->second.bytes; // another reader restored it first
    } else {
      i->second.bytes = bytes;
      i->second.seq = next_seq_++; // just read: spilled again last
    }
  }
  // Back in memory it may push the node over its budget: spill others
  // (this one is in use). Best effort, as for a spilled value's reader.
  store_.budget().make_room(0);
  return bytes;
}

} // namespace manta::detail
