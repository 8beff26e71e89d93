#include "manta/store/object_slot.hpp"

#include "manta/store/accounted_value.hpp"
#include "manta/store/borrowers.hpp"
#include "manta/core/codec.hpp"
#include "manta/store/far_objects.hpp"
#include "manta/store/memory_budget.hpp"
#include "manta/store/object_store.hpp"
#include "manta/sim/sim_hooks.hpp"
#include "manta/store/spill_store.hpp"
#include "manta/store/spilled_refs.hpp"
#include "manta/sched/task_spec.hpp"
#include "manta/errors.hpp"

#include <algorithm>
#include <cstring>

namespace manta::detail {

namespace {

std::atomic<uint64_t> seal_counter{0};

} // namespace

object_slot::object_slot(object_store* store, object_id id,
                         const std::shared_ptr<task_spec>& producer)
  : store_(store), id_(id), producer_(producer),
    // The function's name lives in the registry for the whole process.
    task_name_(producer ? &producer->function_name : nullptr) {
  if (store_ != nullptr)
    store_->table().adopt();
}

object_slot::~object_slot() {
  if (sim_engaged())
    sim_slot_gone(this);
  // The spill file goes with the object.
  if (!spill_path_.empty()) {
    store_->spill().remove(spill_path_, spill_file_bytes_, spill_generation_);
    store_->kept_refs().drop(this);
  }
  // A large value stays counted until its last reader lets go (value_account);
  // one kept in the slot was never counted (seal_inline).
  auto counted = value_ && account_ == nullptr && value_.get() != inline_ ? size_bytes_ : 0;
  // Last: it lets go of the slot's reference to its store.
  if (store_ != nullptr)
    store_->table().erase(id_, counted);
}

template <class F>
bool object_slot::seal(uint8_t state, F&& store) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (state_.load(std::memory_order_relaxed) != pending)
    return false;
  store();
  seal_seq_ = seal_counter.fetch_add(1, std::memory_order_relaxed) + 1;
  state_.store(state, std::memory_order_release);
  // Tell waiters under the lock: a waiter that removes itself concurrently
  // (a timed-out get) must not be told after it has returned.
  for (auto* w : waiters_)
    w->on_ready();
  waiters_.clear();
  waiters_.shrink_to_fit();
  return true;
}

template <class F>
bool object_slot::seal_ready(const std::type_info& type, size_t size_bytes,
                             const value_codec* codec, F&& keep) {
  if (sim_engaged()) // a measured run's virtual time passes before its result exists
    sim_before_seal(*this);
  bool sealed = seal(ready_state, [&] {
    type_ = &type;
    size_bytes_ = size_bytes;
    codec_ = codec;
    spillable_ = codec != nullptr && size_bytes >= min_spill_bytes;
    keep();
  });
  if (sealed && sim_engaged()) // where and when: its readers elsewhere wait for the network
    sim_sealed(*this);
  return sealed;
}

bool object_slot::seal_value(std::shared_ptr<const void> value, const std::type_info& type,
                             size_t size_bytes, const value_codec* codec) {
  return seal_ready(type, size_bytes, codec, [&] { keep_value(std::move(value)); });
}

bool object_slot::seal_inline(const void* value, size_t n, const std::type_info& type,
                              size_t size_bytes, const value_codec* codec) {
  return seal_ready(type, size_bytes, codec, [&] {
    std::memcpy(inline_, value, std::min(n, inline_capacity));
    // Aliasing an empty owner: the slot's own storage. Not counted in the
    // store's bytes (as the slot itself is not): counting these 16 bytes at
    // most cost two atomic operations a task on the table's shared counter,
    // written by the threads that seal and the one that drops the slot.
    value_ = std::shared_ptr<const void>(std::shared_ptr<const void>{}, inline_);
    account_ = nullptr;
  });
}

bool object_slot::seal_error(std::exception_ptr error) {
  bool sealed = seal(failed_state, [&] { error_ = std::move(error); });
  if (sealed && sim_engaged())
    sim_sealed(*this);
  return sealed;
}

bool object_slot::seal_remote(const std::type_info& type, size_t encoded_size,
                              const value_codec* codec, std::shared_ptr<remote_object> remote) {
  return seal(ready_state, [&] {
    type_ = &type;
    size_bytes_ = encoded_size;
    codec_ = codec;
    remote_ = std::move(remote);
    spillable_ = true; // readers pin, and the first pin fetches the value
    residency_.fetch_or(evicted_bit, std::memory_order_release);
  });
}

bool object_slot::add_waiter(waiter* w) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (state_.load(std::memory_order_relaxed) != pending)
    return false;
  waiters_.push_back(w);
  return true;
}

void object_slot::remove_waiter(waiter* w) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = std::find(waiters_.begin(), waiters_.end(), w);
  if (i != waiters_.end())
    waiters_.erase(i);
}

void object_slot::keep_value(std::shared_ptr<const void> value) const {
  if (size_bytes_ < min_spill_bytes || !value) {
    // Small values are counted for the slot's life: an account of their
    // own is a second allocation per put, which cost a quarter of
    // single_client_put_calls.
    value_ = std::move(value);
    account_ = nullptr;
    if (value_ && store_ != nullptr)
      store_->table().account(size_bytes_);
    return;
  }
  auto* raw = value.get();
  auto account = std::make_shared<const value_account>(store_, std::move(value), size_bytes_);
  account_ = account.get();
  value_ = std::shared_ptr<const void>(std::move(account), raw);
}

void object_slot::drop_value() const noexcept {
  if (value_ && account_ == nullptr && value_.get() != inline_ && store_ != nullptr)
    store_->table().unaccount(size_bytes_);
  value_.reset(); // a value_account uncounts it when its last reader goes
  account_ = nullptr;
}

// -- spilling -----------------------------------------------------------------

std::shared_ptr<const void> object_slot::shared_value() const {
  if (value_.get() == inline_)
    return shared_inline();
  if (!spillable_)
    return value_;
  value_pin pin{*this};
  return value_;
}

std::shared_ptr<const void> object_slot::shared_inline() const {
  // Made once, so every reader shares one copy (`get_shared` returns the
  // same object each time), which outlives the slot as any value does.
  std::lock_guard<std::mutex> guard{mtx_};
  if (!inline_shared_) {
    struct alignas(16) block {
      unsigned char bytes[inline_capacity];
    };
    auto copy = std::make_shared<block>();
    std::memcpy(copy->bytes, inline_, inline_capacity);
    inline_shared_ = std::shared_ptr<const void>(copy, copy->bytes);
  }
  return inline_shared_;
}

bool object_slot::has_spill_file() const noexcept {
  return !spill_path_.empty() && spill_generation_ == store_->spill().generation();
}

void object_slot::pin_slow() const {
  bool restored = false;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (!value_) {
      // Spilled: read it back. Only this thread touches value_ now: the
      // evicted bit keeps other readers on this (locked) path.
      value_error err;
      std::shared_ptr<const void> value;
      if (remote_ && spill_path_.empty()) {
        // Never read here yet: fetch it from the node that holds it.
        auto what = fetch_far_value(remote_, *codec_, value);
        if (!what.empty())
          throw object_lost_error("object " + to_string(id_) + " (" + format_bytes(size_bytes_)
                                  + ") is lost: " + what);
      } else {
        if (!has_spill_file())
          err = codec_error("its spill file was removed when the runtime shut down");
        else {
          auto refs = store_->kept_refs().of(this); // the slots the refs inside name
          spilled_refs_scope kept{refs};
          err = store_->spill().read(spill_path_, id_, *type_, *codec_, value);
        }
        if (err)
          throw object_lost_error("object " + to_string(id_) + " (" + format_bytes(size_bytes_)
                                  + ") was spilled to disk and cannot be restored: "
                                  + error_text(err));
      }
      keep_value(std::move(value));
      restored = true;
    }
    residency_.fetch_add(1, std::memory_order_acquire);
    residency_.fetch_and(~evicted_bit, std::memory_order_release);
  }
  // The restored value may push the node over its budget: spill others (this
  // one is pinned). Best effort: a read never fails for lack of memory.
  if (restored && store_ != nullptr)
    store_->budget().make_room(0);
}

size_t object_slot::spill(bool rewrite) noexcept {
  if (!spillable_ || !done() || failed() || store_ == nullptr)
    return 0;
  // Never wait for a slot's lock here: its owner may be restoring it and
  // waiting for the spiller (memory_budget::make_room) in turn.
  std::unique_lock<std::mutex> guard{mtx_, std::try_to_lock};
  if (!guard.owns_lock())
    return 0;
  uint32_t expected = 0;
  if (!residency_.compare_exchange_strong(expected, evicted_bit, std::memory_order_acq_rel))
    return 0; // pinned, or not in memory
  auto keep = [&] {
    residency_.fetch_and(~evicted_bit, std::memory_order_release);
    return size_t{0};
  };
  // A shared_ptr handed out by get_shared (or kept by the caller of a
  // `put(shared_ptr)`) keeps the value alive anyway: writing it out would
  // free nothing.
  if (value_.use_count() != 1 || (account_ != nullptr && !account_->sole_owner()))
    return keep();
  if (remote_ && spill_path_.empty()) {
    // A copy of an object held by another node: drop it (evict) instead of
    // writing it out; the next read fetches it again, or rebuilds it from
    // its lineage if that node is gone.
    drop_value();
    return size_bytes_;
  }
  auto& store = store_->spill();
  if (rewrite || !has_spill_file()) {
    if (!spill_path_.empty()) {
      store.remove(spill_path_, spill_file_bytes_, spill_generation_);
      spill_path_.clear();
      store_->kept_refs().drop(this); // the value in memory holds them meanwhile
    }
    auto gen = store.generation();
    spill_store::file f;
    std::vector<slot_ptr> refs; // inside the value: kept with its file
    {
      spilled_refs_scope kept{refs};
      if (store.write(id_, *type_, *codec_, value_.get(), size_bytes_, f))
        return keep();
    }
    store_->kept_refs().keep(this, std::move(refs));
    spill_path_ = std::move(f.path);
    spill_file_bytes_ = f.bytes;
    spill_generation_ = gen;
  }
  drop_value();
  return size_bytes_;
}

} // namespace manta::detail
