#pragma once

#include "manta/init.hpp"
#include "tools/command_line.hpp"

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

/// What the `manta` commands that talk to a running cluster share: their
/// flags for the head's address, the token and TLS, and the connection to
/// the head (`manta status`, `manta job ...`).
namespace manta::tools {

/// The token in the file `--token-file` names (checked like the head's:
/// this user's alone); "" after printing why not.
std::string token_from_file(const char* command, const std::string& path);

/// The refusal of `--token=T` on a command line.
void refuse_token_flag(const char* command);

/// The head's address from the runtime folder, for `--address=auto`; ""
/// after printing why not.
std::string local_head_address(const char* command);

/// MANTA_TOKEN, or "".
std::string env_token();

/// TLS files from MANTA_TLS_CERT, MANTA_TLS_KEY and MANTA_TLS_CA, and
/// MANTA_TRANSPORT=plain.
tls_options env_tls();

/// Reads the flags of `args` that reach the head: refuses `--token` (a
/// command line is no place for it), reads the token in `--token-file`
/// into `token`, and sets `tls` from `--tls-cert`, `--tls-key` and
/// `--tls-ca` (as absolute paths: the daemons get them and need not share
/// our working directory) and `--transport=tls|plain`. Returns 0, or the
/// exit code of bad usage after printing why.
int take_head_flags(const char* command, const command_args& args, std::string& token,
                    tls_options& tls);

/// A command's connection to the head's registry.
struct head_connection {
  std::string address; ///< "HOST:PORT"
  std::string token;
  std::unique_ptr<caf::actor_system_config> cfg;
  std::unique_ptr<caf::actor_system> sys;
  caf::actor head;
};

/// Connects `command` to the head at `address` ("auto": the head started
/// on this machine) with `token` (empty: the runtime folder's token file)
/// within 5 s. Returns nothing after printing why not, naming the address
/// and what to do; `rc` is then the exit status (2: bad input, 1: no head).
std::optional<head_connection> connect_head(const char* command, std::string address,
                                            std::string token, const tls_options& tls, int& rc);

/// Waits (up to 5 s) until no detached CAF thread of this process is left,
/// for a command that forks after its connection ended: the actor system's
/// destructor returns once its detached actors (CAF 0.17 runs the
/// middleman's utility actors on threads named "caf.actor") have finished
/// their work, not once their threads have exited, so one may still be
/// exiting at the fork. A child forked then copies none of it, but a lock
/// it held stays taken there, and under ThreadSanitizer such a child cannot
/// start threads (a `manta job submit` supervisor died reporting to the
/// head: docs/reliability.md, run 13).
void await_detached_threads_gone();

} // namespace manta::tools
