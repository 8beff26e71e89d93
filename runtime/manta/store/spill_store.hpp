#pragma once

#include "manta/core/codec.hpp"
#include "manta/object_id.hpp"


#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <typeinfo>
#include <unordered_set>

namespace manta::detail {

/// Where the node's spilled objects live on local disk: one file per object
/// in the spill directory, framed with Cap'n Proto (`schemas/object.capnp`:
/// an ObjectHeader, then ObjectChunk messages). Part of an `object_store`,
/// configured when it is made and cleared when it closes, which bumps the
/// generation so that a spilled object's file is not trusted after that.
class spill_store {
public:
  spill_store() = default;
  spill_store(const spill_store&) = delete;
  spill_store& operator=(const spill_store&) = delete;

  /// Sets the directory (created on first spill) and whether spilling is on.
  void configure(std::string directory, bool enabled);

  /// Removes every spill file and the directory; spilling is off until the
  /// next `configure`.
  void clear();

  bool enabled() const noexcept { return enabled_.load(std::memory_order_acquire); }

  std::string directory() const;

  uint64_t generation() const noexcept { return generation_.load(std::memory_order_acquire); }

  /// A written file.
  struct file {
    std::string path;
    size_t bytes = 0;
  };

  /// Writes one value to a new file; an error value if encoding or I/O fails.
  value_error write(object_id id, const std::type_info& type, const value_codec& codec,
                    const void* value, size_t memory_size, file& out);

  /// Reads a value back from `path`, checking that the file holds object
  /// `id` of `type` encoded with `codec`.
  value_error read(const std::string& path, object_id id, const std::type_info& type,
                   const value_codec& codec, std::shared_ptr<const void>& out);

  /// Deletes a file of generation `gen` (a no-op for files of an earlier run,
  /// which `clear` removed already).
  void remove(const std::string& path, size_t bytes, uint64_t gen) noexcept;

  /// Files and bytes on disk right now.
  size_t files() const noexcept { return files_.load(std::memory_order_relaxed); }
  size_t bytes_on_disk() const noexcept { return bytes_.load(std::memory_order_relaxed); }

  /// The spill directory ran out of room: the last write found fewer bytes
  /// free than its file needed, or failed with ENOSPC, EDQUOT or EFBIG
  /// (a file size limit). Kept until a write succeeds, so that the object
  /// store's "full" error can say the disk is the reason rather than blame
  /// the objects left in memory.
  struct disk_full {
    std::string directory;
    size_t needed = 0;
    size_t free = 0;
    std::string error; // the system's words ("No space left on device")
  };
  std::optional<disk_full> last_disk_full() const;

  /// Bytes free for this user in `directory` (statvfs), or nullopt.
  static std::optional<size_t> free_bytes(const std::string& directory);

  /// Bytes of encoded data per Cap'n Proto chunk message.
  static constexpr size_t chunk_bytes = size_t{64} << 20;

private:
  value_error ensure_directory();
  value_error out_of_room(const std::string& path, size_t needed, std::string why);

  mutable std::mutex mtx_;
  std::string dir_;
  bool dir_created_ = false;
  bool default_parent_ = false;
  std::unordered_set<std::string> paths_;
  std::optional<disk_full> disk_full_;
  std::atomic<bool> enabled_{false};
  std::atomic<uint64_t> generation_{1};
  std::atomic<size_t> files_{0};
  std::atomic<size_t> bytes_{0};
};

/// Checks and decodes the bytes of a spill file (`spill_store::read` maps
/// the file and calls this): an ObjectHeader for object `id` of `type`
/// written with `codec`, then exactly the chunks it announces, in order.
/// Files are local, but a disk fills up, a process dies mid-write and files
/// get copied around, so every field is checked and a bad file is an error
/// value naming `path`, never a crash. `file` must be 8-byte aligned.
value_error decode_spill_file(std::span<const char> file, const std::string& path, object_id id,
                              const std::type_info& type, const value_codec& codec,
                              std::shared_ptr<const void>& out);

/// The default spill directory: /tmp/manta-<pid>/spill.
std::string default_spill_directory();

} // namespace manta::detail
