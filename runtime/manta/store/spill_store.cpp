#include "manta/store/spill_store.hpp"

#include "manta/core/demangle.hpp"
#include "schemas/object.capnp.h"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/exception.h>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <limits>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <vector>

namespace manta::detail {

namespace {

value_error io_error(const std::string& what, const std::string& path) {
  return codec_error(what + " '" + path + "': " + std::strerror(errno));
}

/// Closes a file descriptor on scope exit.
struct fd_guard {
  int fd;
  ~fd_guard() {
    if (fd >= 0)
      ::close(fd);
  }
};

/// Unmaps a file mapping on scope exit.
struct map_guard {
  void* addr;
  size_t len;
  ~map_guard() {
    if (addr != MAP_FAILED && addr != nullptr)
      ::munmap(addr, len);
  }
};

/// One chunk to write: a slice of the encoded bytes. Slices that start on a
/// word boundary and span whole words are handed to Cap'n Proto by reference
/// (they become a segment of the message, written with writev, no copy).
struct slice {
  size_t offset;
  size_t size;
  bool by_reference;
};

std::vector<slice> plan_chunks(const char* data, size_t size) {
  std::vector<slice> out;
  size_t off = 0;
  while (off < size) {
    auto n = std::min(spill_store::chunk_bytes, size - off);
    bool aligned = reinterpret_cast<uintptr_t>(data + off) % sizeof(capnp::word) == 0;
    if (!aligned) {
      out.push_back({off, n, false});
    } else if (n % sizeof(capnp::word) != 0 && n >= sizeof(capnp::word)) {
      auto whole = n - n % sizeof(capnp::word);
      out.push_back({off, whole, true});
      out.push_back({off + whole, n - whole, false});
    } else {
      out.push_back({off, n, n % sizeof(capnp::word) == 0});
    }
    off += n;
  }
  return out;
}

/// A traversal limit proportional to the bytes there are: a well-formed
/// message is read once, a crafted one cannot make reading it loop.
capnp::ReaderOptions bounded(size_t words) {
  capnp::ReaderOptions opts;
  opts.traversalLimitInWords = words * 4 + 64;
  return opts;
}

} // namespace

std::string default_spill_directory() {
  return "/tmp/manta-" + std::to_string(::getpid()) + "/spill";
}

void spill_store::configure(std::string directory, bool enabled) {
  std::lock_guard<std::mutex> guard{mtx_};
  default_parent_ = directory.empty() || directory == default_spill_directory();
  dir_ = directory.empty() ? default_spill_directory() : std::move(directory);
  dir_created_ = false;
  enabled_.store(enabled, std::memory_order_release);
}

std::string spill_store::directory() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return dir_;
}

value_error spill_store::ensure_directory() {
  if (dir_created_)
    return {};
  // mkdir -p, component by component.
  for (size_t pos = 1; pos <= dir_.size(); ++pos) {
    if (pos != dir_.size() && dir_[pos] != '/')
      continue;
    auto part = dir_.substr(0, pos);
    if (::mkdir(part.c_str(), 0700) != 0 && errno != EEXIST)
      return io_error("cannot create the spill directory", part);
  }
  dir_created_ = true;
  return {};
}

std::optional<size_t> spill_store::free_bytes(const std::string& directory) {
  struct statvfs vfs {};
  if (::statvfs(directory.c_str(), &vfs) != 0)
    return std::nullopt;
  return static_cast<size_t>(vfs.f_bavail) * static_cast<size_t>(vfs.f_frsize);
}

std::optional<spill_store::disk_full> spill_store::last_disk_full() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return disk_full_;
}

value_error spill_store::out_of_room(const std::string& path, size_t needed, std::string why) {
  std::lock_guard<std::mutex> guard{mtx_};
  disk_full_ = disk_full{dir_, needed, free_bytes(dir_).value_or(0), std::move(why)};
  return codec_error("cannot write the spill file '" + path + "': the spill directory '" + dir_
                     + "' is full (" + std::to_string(needed) + " bytes needed, "
                     + std::to_string(disk_full_->free) + " free: " + disk_full_->error
                     + "); free disk space there or set --object-spill-dir to a larger disk");
}

value_error spill_store::write(object_id id, const std::type_info& type, const value_codec& codec,
                               const void* value, size_t memory_size, file& out) {
  encoded_bytes enc;
  if (auto err = codec.encode(value, enc))
    return err;
  // The file: the encoded bytes, a header and a few words of framing per
  // chunk. Checked against the free space first, so that a full disk costs
  // no partial file (and the object store can say why it is full).
  auto needed = enc.size + 4096 + 64 * (enc.size / chunk_bytes + 1);
  std::string path;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (!enabled_.load())
      return codec_error("spilling is disabled");
    if (auto err = ensure_directory())
      return err;
    if (auto free = free_bytes(dir_); free && *free < needed) {
      disk_full_ = disk_full{dir_, needed, *free, "not enough free space"};
      return codec_error("the spill directory '" + dir_ + "' is full (" + std::to_string(needed)
                         + " bytes needed, " + std::to_string(*free)
                         + " free); free disk space there or set --object-spill-dir to a "
                           "larger disk");
    }
    // A value re-spilled after its file was dropped gets a fresh name.
    path = dir_ + "/" + to_string(id) + ".obj";
    for (int n = 1; paths_.count(path) != 0; ++n)
      path = dir_ + "/" + to_string(id) + "-" + std::to_string(n) + ".obj";
    paths_.insert(path);
  }
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    auto err = io_error("cannot create the spill file", path);
    std::lock_guard<std::mutex> guard{mtx_};
    paths_.erase(path);
    return err;
  }
  fd_guard closer{fd};
  auto chunks = plan_chunks(enc.data, enc.size);
  try {
    capnp::MallocMessageBuilder hb;
    auto h = hb.initRoot<schema::ObjectHeader>();
    h.setId(id.value());
    h.setTypeName(demangle(type.name()));
    h.setTypeSignature(type.name());
    h.setCodec(codec.kind);
    h.setEncodedSize(enc.size);
    h.setMemorySize(memory_size);
    h.setChunkCount(static_cast<uint32_t>(chunks.size()));
    capnp::writeMessageToFd(fd, hb);
    for (auto& c : chunks) {
      capnp::MallocMessageBuilder cb{64};
      auto chunk = cb.initRoot<schema::ObjectChunk>();
      chunk.setOffset(c.offset);
      capnp::Data::Reader bytes{reinterpret_cast<const kj::byte*>(enc.data + c.offset), c.size};
      if (c.by_reference)
        chunk.adoptData(cb.getOrphanage().referenceExternalData(bytes));
      else
        chunk.setData(bytes);
      capnp::writeMessageToFd(fd, cb);
    }
  } catch (const kj::Exception& e) {
    ::unlink(path.c_str());
    {
      std::lock_guard<std::mutex> guard{mtx_};
      paths_.erase(path);
    }
    // kj reports a failed write(2) with the system's words for errno.
    std::string what = e.getDescription().cStr();
    for (int code : {ENOSPC, EDQUOT, EFBIG})
      if (what.find(std::strerror(code)) != std::string::npos)
        return out_of_room(
          path, needed,
          std::string{std::strerror(code)}
            + (code == EFBIG ? ": over this process's file size limit, ulimit -f" : ""));
    return codec_error("cannot write the spill file '" + path + "': " + what);
  }
  {
    std::lock_guard<std::mutex> guard{mtx_};
    disk_full_.reset();
  }
  struct stat st {};
  out.bytes = ::fstat(fd, &st) == 0 ? static_cast<size_t>(st.st_size) : enc.size;
  out.path = std::move(path);
  files_.fetch_add(1, std::memory_order_relaxed);
  bytes_.fetch_add(out.bytes, std::memory_order_relaxed);
  return {};
}

value_error spill_store::read(const std::string& path, object_id id, const std::type_info& type,
                              const value_codec& codec, std::shared_ptr<const void>& out) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return io_error("cannot open the spill file", path);
  fd_guard closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0)
    return io_error("cannot stat the spill file", path);
  auto len = static_cast<size_t>(st.st_size);
  if (len == 0 || len % sizeof(capnp::word) != 0)
    return codec_error("the spill file '" + path + "' is truncated (" + std::to_string(len)
                       + " bytes)");
  void* addr = ::mmap(nullptr, len, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
  if (addr == MAP_FAILED)
    return io_error("cannot map the spill file", path);
  map_guard unmap{addr, len};
  ::madvise(addr, len, MADV_SEQUENTIAL);
  return decode_spill_file({static_cast<const char*>(addr), len}, path, id, type, codec, out);
}

value_error decode_spill_file(std::span<const char> file, const std::string& path, object_id id,
                              const std::type_info& type, const value_codec& codec,
                              std::shared_ptr<const void>& out) {
  auto fail = [&](const std::string& what) {
    return codec_error(
      "the spill file '" + path + "' " + what
      + "; spill files belong to the process that wrote them: was it cut short by a full "
        "disk or changed by another program?");
  };
  if (file.empty() || file.size() % sizeof(capnp::word) != 0)
    return fail("is truncated (" + std::to_string(file.size()) + " bytes)");
  if (reinterpret_cast<uintptr_t>(file.data()) % alignof(capnp::word) != 0)
    return codec_error("decode_spill_file: the buffer is not 8-byte aligned");
  try {
    kj::ArrayPtr<const capnp::word> rest{reinterpret_cast<const capnp::word*>(file.data()),
                                         file.size() / sizeof(capnp::word)};
    capnp::FlatArrayMessageReader hr{rest, bounded(rest.size())};
    auto h = hr.getRoot<schema::ObjectHeader>();
    if (h.getId() != id.value())
      return fail("holds object " + to_string(object_id{h.getId()}) + ", not " + to_string(id));
    if (std::string_view{h.getTypeSignature().cStr()} != type.name())
      return fail("holds a " + std::string{h.getTypeName().cStr()} + ", not a "
                  + demangle(type.name()));
    if (std::string_view{h.getCodec().cStr()} != codec.kind)
      return fail("was written with codec '" + std::string{h.getCodec().cStr()} + "'");
    if (h.getEncodedSize() > file.size())
      return fail("announces " + std::to_string(h.getEncodedSize()) + " bytes but has only "
                  + std::to_string(file.size()));
    rest = rest.slice(static_cast<size_t>(hr.getEnd() - rest.begin()), rest.size());
    byte_chunks chunks;
    size_t total = 0;
    for (uint32_t i = 0; i < h.getChunkCount(); ++i) {
      if (rest.size() == 0)
        return fail("ends after " + std::to_string(i) + " of " + std::to_string(h.getChunkCount())
                    + " chunks");
      capnp::FlatArrayMessageReader cr{rest, bounded(rest.size())};
      auto c = cr.getRoot<schema::ObjectChunk>();
      auto data = c.getData();
      if (c.getOffset() != total)
        return fail("has a chunk at offset " + std::to_string(c.getOffset()) + " where "
                    + std::to_string(total) + " was expected");
      chunks.emplace_back(reinterpret_cast<const char*>(data.begin()), data.size());
      total += data.size();
      rest = rest.slice(static_cast<size_t>(cr.getEnd() - rest.begin()), rest.size());
    }
    if (total != h.getEncodedSize())
      return fail("holds " + std::to_string(total) + " bytes, its header says "
                  + std::to_string(h.getEncodedSize()));
    if (rest.size() != 0)
      return fail("has " + std::to_string(rest.size() * sizeof(capnp::word))
                  + " bytes after its last chunk");
    return codec.decode(chunks, total, out);
  } catch (const kj::Exception& e) {
    return fail(std::string{"is corrupt: "} + e.getDescription().cStr());
  }
}

void spill_store::remove(const std::string& path, size_t bytes, uint64_t gen) noexcept {
  std::lock_guard<std::mutex> guard{mtx_};
  if (gen != generation_.load() || paths_.erase(path) == 0)
    return;
  ::unlink(path.c_str());
  files_.fetch_sub(1, std::memory_order_relaxed);
  bytes_.fetch_sub(bytes, std::memory_order_relaxed);
}

void spill_store::clear() {
  std::lock_guard<std::mutex> guard{mtx_};
  enabled_.store(false, std::memory_order_release);
  generation_.fetch_add(1, std::memory_order_acq_rel);
  for (auto& p : paths_)
    ::unlink(p.c_str());
  paths_.clear();
  files_.store(0, std::memory_order_relaxed);
  bytes_.store(0, std::memory_order_relaxed);
  if (dir_created_) {
    ::rmdir(dir_.c_str());
    if (default_parent_) {
      auto parent = dir_.substr(0, dir_.rfind('/'));
      ::rmdir(parent.c_str());
    }
  }
  dir_created_ = false;
}

} // namespace manta::detail
