#pragma once

#include <cstddef>
#include <string>
#include <sys/types.h>

/// The runtime folder ($MANTA_RUNTIME_DIR, default /tmp/manta-<uid>) and the
/// files in it: the head's address, token and dashboard address, the pid
/// files and logs of the daemons `manta start` forks. /tmp is shared with
/// every user of the machine, so whoever makes /tmp/manta-<uid> first owns
/// it: another user who planted it, or files in it, could point drivers at
/// a cluster of theirs (`--address=auto`) or have `manta stop` signal any
/// process. Every place that reads or writes the folder goes through here,
/// and refuses a folder or file that is not this user's alone, as ssh does
/// for ~/.ssh and tmux for its socket folder.
namespace manta::detail {

/// $MANTA_RUNTIME_DIR, or /tmp/manta-<uid>.
std::string runtime_dir();

/// Why `dir` must not hold this user's cluster files, or "" if it may: it
/// must be a folder (not a symbolic link), owned by this user and writable
/// by no one else. The error names the folder, its owner and its mode, and
/// says what to do.
std::string check_private_dir(const std::string& dir);

/// Creates `dir` with mode 0700 if it does not exist, then checks it as
/// `check_private_dir` does.
std::string make_private_dir(const std::string& dir);

/// A file read by `read_checked_file`.
struct checked_file {
  /// Its content (at most the bound given).
  std::string text;
  /// Why it was refused or could not be read; "" on success.
  std::string error;
  /// True if there is no such file (then `error` says so too).
  bool missing = false;
  /// Its owner and permission bits.
  uid_t owner = 0;
  mode_t mode = 0;
};

/// How `read_checked_file` treats a file.
enum class file_rule {
  /// Any regular file readable by this user (a config file); symbolic
  /// links are followed.
  readable,
  /// A file of the runtime folder or a secret: not a symbolic link, owned
  /// by this user, and neither readable nor writable by anyone else (0600
  /// or stricter).
  private_to_user,
};

/// Reads a regular file of at most `max_bytes`, refusing anything else
/// (a FIFO or a device such as /dev/zero would block or never end; a
/// larger file is not what the caller expects) without reading it.
checked_file read_checked_file(const std::string& path, size_t max_bytes, file_rule rule);

/// Writes `text` to `path` with mode 0600: to a new file (O_EXCL, not
/// following a link planted at its name) renamed into place, so no reader
/// sees it half written or readable by others. Returns an error text, or
/// "" on success.
std::string write_private_file(const std::string& path, const std::string& text);

/// Reads the file `name` ("head.address") of the runtime folder after
/// checking the folder and the file (see above); they are small, at most
/// 4 KiB. A missing folder or file sets `missing` (and `error`).
checked_file read_runtime_file(const std::string& name);

} // namespace manta::detail
