#pragma once

#include <string>
#include <string_view>

/// The cluster token: a shared secret the head makes and every node and
/// driver shows. Without it anyone who can reach a port could join, submit
/// tasks or read objects (Ray's dashboard and job API let anyone on the
/// network run code; Manta is closed by default). Every Manta message
/// between processes carries it, and a process drops messages with another
/// and disconnects their sender (actors/token_gate.hpp).
namespace manta::detail {

/// 32 random bytes from the kernel, as 64 hex digits.
std::string generate_token();

/// Compares in time independent of where the two differ.
bool tokens_equal(std::string_view a, std::string_view b) noexcept;

/// Where the head started on this machine keeps its token (mode 0600):
/// <runtime dir>/head.token.
std::string default_token_file();

/// Writes `token` to `path`, readable and writable by the owner only.
/// Returns an error text, or "" on success.
std::string write_token_file(const std::string& path, const std::string& token);

/// The token in `path` (its first word), or "" if there is no such file.
/// A file that is not this user's alone (owner, mode 0600, not a link; see
/// runtime_dir.hpp) is refused: `error` says why.
std::string read_token_file(const std::string& path, std::string& error);

/// What to tell a process whose token was refused or is missing.
std::string token_hint();

} // namespace manta::detail
