#include "manta/cluster/cluster_token.hpp"

#include "manta/cluster/cluster.hpp"
#include "manta/core/runtime_dir.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sstream>
#include <random>
#include <sys/stat.h>
#include <unistd.h>

namespace manta::detail {

std::string generate_token() {
  // std::random_device reads the kernel's generator (getrandom/urandom) on
  // Linux with libstdc++.
  std::random_device rd;
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 8; ++i) {
    auto x = rd();
    for (int k = 0; k < 8; ++k, x >>= 4)
      out.push_back(digits[x & 0xf]);
  }
  return out;
}

bool tokens_equal(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size())
    return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i)
    diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

std::string default_token_file() {
  return runtime_dir() + "/head.token";
}

std::string write_token_file(const std::string& path, const std::string& token) {
  auto tmp = path + ".tmp";
  ::unlink(tmp.c_str());
  // O_EXCL with mode 0600: the file is never readable by others, not even
  // for a moment, and a link planted at the name is not followed.
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    return "cannot create '" + tmp + "': " + std::strerror(errno);
  auto text = token + "\n";
  auto n = ::write(fd, text.data(), text.size());
  ::close(fd);
  if (n != static_cast<ssize_t>(text.size()) || ::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return "cannot write '" + path + "': " + std::strerror(errno);
  }
  return {};
}

std::string read_token_file(const std::string& path, std::string& error) {
  auto file = read_checked_file(path, 4096, file_rule::private_to_user);
  error = file.missing ? std::string{} : file.error;
  std::istringstream in{file.text};
  std::string token;
  in >> token;
  return token;
}

std::string token_hint() {
  return "give the token the head wrote to " + default_token_file()
         + " (on the head's machine) in a file only you can read with --token-file=FILE "
           "or in MANTA_TOKEN (not on a command line: every user can read those), or use "
           "--address=auto on that machine";
}

} // namespace manta::detail
