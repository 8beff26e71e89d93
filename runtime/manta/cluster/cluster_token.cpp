#include "manta/cluster/cluster_token.hpp"

#include "manta/cluster/cluster.hpp"
#include "manta/core/runtime_dir.hpp"

#include <sstream>
#include <random>

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
  return write_private_file(path, token + "\n");
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
