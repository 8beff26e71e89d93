#include "manta/core/runtime_dir.hpp"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace manta::detail {

namespace {

/// "alice (uid 1000)", or "uid 1000" for a user without a name.
std::string user_name(uid_t uid) {
  passwd pw{};
  passwd* found = nullptr;
  std::vector<char> buf(4096);
  if (::getpwuid_r(uid, &pw, buf.data(), buf.size(), &found) == 0 && found != nullptr)
    return std::string{found->pw_name} + " (uid " + std::to_string(uid) + ")";
  return "uid " + std::to_string(uid);
}

std::string octal_mode(mode_t mode) {
  char out[8];
  std::snprintf(out, sizeof out, "%04o", static_cast<unsigned>(mode & 07777));
  return out;
}

/// Closes a descriptor when it goes.
struct fd_guard {
  int fd;
  ~fd_guard() {
    if (fd >= 0)
      ::close(fd);
  }
};

} // namespace

std::string runtime_dir() {
  if (auto env = std::getenv("MANTA_RUNTIME_DIR"); env != nullptr && *env != '\0')
    return env;
  return "/tmp/manta-" + std::to_string(::getuid());
}

std::string check_private_dir(const std::string& dir) {
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0)
    return "cannot use the runtime folder " + dir + ": " + std::strerror(errno);
  auto me = ::geteuid();
  auto hint = "; set MANTA_RUNTIME_DIR to a folder only you can write, or remove " + dir
              + " (as its owner or root) and run `manta start` again";
  if (S_ISLNK(st.st_mode))
    return "refusing the runtime folder " + dir + ": it is a symbolic link (owner "
           + user_name(st.st_uid) + "), which could lead anywhere" + hint;
  if (!S_ISDIR(st.st_mode))
    return "refusing the runtime folder " + dir + ": it is not a folder" + hint;
  if (st.st_uid != me)
    return "refusing the runtime folder " + dir + ": it is owned by " + user_name(st.st_uid)
           + ", not by you (" + user_name(me) + "), mode " + octal_mode(st.st_mode)
           + "; another user may have made it to take over your cluster's files" + hint;
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
    return "refusing the runtime folder " + dir + ": it is writable by "
           + ((st.st_mode & S_IWOTH) != 0 ? std::string{"every user"} : std::string{"its group"})
           + " (owner " + user_name(st.st_uid) + ", mode " + octal_mode(st.st_mode)
           + "), so others could plant files in it; if that is not needed, `chmod 700 " + dir
           + "`, or set MANTA_RUNTIME_DIR to a folder only you can write";
  return {};
}

std::string make_private_dir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    return "cannot create the runtime folder " + dir + ": " + std::strerror(errno)
           + "; set MANTA_RUNTIME_DIR to a folder you can write";
  return check_private_dir(dir);
}

checked_file read_checked_file(const std::string& path, size_t max_bytes, file_rule rule) {
  checked_file out;
  bool secret = rule == file_rule::private_to_user;
  // O_NONBLOCK: opening a FIFO does not wait for a writer (it is refused
  // below as not a regular file).
  int flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | (secret ? O_NOFOLLOW : 0);
  fd_guard fd{::open(path.c_str(), flags)};
  if (fd.fd < 0) {
    out.missing = errno == ENOENT;
    out.error = errno == ELOOP && secret ? "refusing " + path + ": it is a symbolic link"
                                         : "cannot read " + path + ": " + std::strerror(errno);
    return out;
  }
  struct stat st {};
  if (::fstat(fd.fd, &st) != 0) {
    out.error = "cannot read " + path + ": " + std::strerror(errno);
    return out;
  }
  out.owner = st.st_uid;
  out.mode = st.st_mode;
  if (!S_ISREG(st.st_mode)) {
    out.error = "refusing " + path + ": it is not a regular file (a device, FIFO or folder)";
    return out;
  }
  if (secret && st.st_uid != ::geteuid()) {
    out.error = "refusing " + path + ": it is owned by " + user_name(st.st_uid) + ", not by you ("
                + user_name(::geteuid())
                + "); another user may have "
                  "planted it";
    return out;
  }
  if (secret && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    out.error = "refusing " + path + ": its mode is " + octal_mode(st.st_mode)
                + ", so other users can read or change it; a secret must be yours alone "
                  "(`chmod 600 "
                + path + "`)";
    return out;
  }
  if (static_cast<uint64_t>(st.st_size) > max_bytes) {
    out.error = "refusing " + path + ": it has " + std::to_string(st.st_size)
                + " bytes, more than the " + std::to_string(max_bytes) + " expected";
    return out;
  }
  // Reads one byte past the bound to notice a file that grew since fstat.
  out.text.resize(max_bytes + 1);
  size_t got = 0;
  while (got < out.text.size()) {
    auto n = ::read(fd.fd, out.text.data() + got, out.text.size() - got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      out.error = "cannot read " + path + ": " + std::strerror(errno);
      out.text.clear();
      return out;
    }
    if (n == 0)
      break;
    got += static_cast<size_t>(n);
  }
  if (got > max_bytes) {
    out.error = "refusing " + path + ": it has more than the " + std::to_string(max_bytes)
                + " bytes expected";
    out.text.clear();
    return out;
  }
  out.text.resize(got);
  return out;
}

std::string write_private_file(const std::string& path, const std::string& text) {
  auto tmp = path + ".tmp";
  ::unlink(tmp.c_str());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    return "cannot create '" + tmp + "': " + std::strerror(errno);
  size_t done = 0;
  while (done < text.size()) {
    auto n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  if (done != text.size() || ::rename(tmp.c_str(), path.c_str()) != 0) {
    auto err = std::string{std::strerror(errno)};
    ::unlink(tmp.c_str());
    return "cannot write '" + path + "': " + err;
  }
  return {};
}

checked_file read_runtime_file(const std::string& name) {
  auto dir = runtime_dir();
  checked_file out;
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0 && errno == ENOENT) {
    out.missing = true;
    out.error = "the runtime folder " + dir + " does not exist";
    return out;
  }
  if (auto err = check_private_dir(dir); !err.empty()) {
    out.error = err;
    return out;
  }
  return read_checked_file(dir + "/" + name, 4096, file_rule::private_to_user);
}

} // namespace manta::detail
