#pragma once

#include "manta/net/wire.hpp"
#include "manta/errors.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

struct redisContext;

/// The head's state in Redis (docs/cluster.md, "Head fault tolerance"): a
/// head started with `--head-store=redis://HOST:PORT/DB` (MANTA_HEAD_STORE)
/// writes its members, the next node index, its named actors and its own
/// address there, so that a head killed with -9 is replaced by one started
/// with the same store: it reads them back, takes the members back as they
/// rejoin, and workers and drivers given the store find it at its new
/// address. Every command is bounded (`timeout`); Redis being down is a
/// `head_store_error` naming the store and what to do.
///
/// Keys (all under "manta:", in the URL's database; JSON records are flat
/// objects, Boost.JSON's; those of earlier versions, all strings, read):
///   manta:schema            "1": the layout below; another value is refused
///   manta:head              JSON {"v":1,"address","pid","since_ms"}
///   manta:next_index        decimal: the next node index to hand out
///   manta:nodes             hash: index -> "manta.node.1:" + Cap'n Proto
///                           NodeInfo (workers and drivers; a driver's record
///                           is its job's registration)
///   manta:actors            hash: "NAMESPACE/NAME" -> JSON {"v":1,"name",
///                           "namespace","class","node","owner","actor_id",
///                           "detached"}
///   manta:next_job          decimal: the number of the next job id
///   manta:jobs              hash: job id -> JSON {"v":1,"id","entrypoint",
///                           "host","pid","node","state","detail",
///                           "start_ms","end_ms"}
///   manta:placement_groups  unused (reserved): a placement group is its
///                           driver's, not the head's
namespace manta::detail {

/// The store is unreachable, answered an error, or holds a record Manta
/// cannot read; the text names the store, the key and a hint.
class head_store_error : public error {
public:
  using error::error;
};

/// "redis://HOST:PORT[/DB]" split and checked.
struct store_address {
  std::string host;
  uint16_t port = 6379;
  int db = 0;
  /// As given, for messages.
  std::string text;
};

/// Parses `url`; `where` names its source in errors ("--head-store").
/// Throws invalid_argument_error naming the problem and the expected form.
store_address parse_store_address(const std::string& where, const std::string& url);

/// A named actor as the head records it: where it lives and who owns it.
struct named_actor_record {
  std::string name;
  std::string ns = "default";
  std::string cls;
  uint16_t node = 0;  ///< the worker holding the instance
  uint16_t owner = 0; ///< the driver that created it (owns its handle)
  uint64_t actor_id = 0;
  bool detached = false;
};

/// A job (a driver) as the head's job table records it (docs/cluster.md,
/// "Jobs").
struct job_record {
  std::string id;
  /// The command line `manta job submit` ran; "" for a driver started by
  /// hand.
  std::string entrypoint;
  /// The driver's host, pid and node index (0 until it joined).
  std::string host;
  uint32_t pid = 0;
  uint16_t node = 0;
  /// PENDING (submitted, no driver joined yet), RUNNING, FINISHED, FAILED
  /// or STOPPED.
  std::string state = "PENDING";
  /// How it ended ("exit code 3", "signal 9", "the driver left without
  /// shutting down ..."); "" while it runs.
  std::string detail;
  /// Milliseconds since the Unix epoch; end 0 while it runs.
  int64_t start_ms = 0;
  int64_t end_ms = 0;
};

/// Where the head wrote it is.
struct head_record {
  std::string address;
  uint32_t pid = 0;
  int64_t since_ms = 0;
};

class head_store {
public:
  /// Connects (at most `timeout`) and checks the schema version. Throws
  /// head_store_error when Redis cannot be reached or the database holds
  /// another layout.
  explicit head_store(store_address where,
                      std::chrono::milliseconds timeout = std::chrono::milliseconds(1000));
  ~head_store();

  head_store(const head_store&) = delete;
  head_store& operator=(const head_store&) = delete;

  const store_address& address() const noexcept { return where_; }

  // Every call below throws head_store_error on a failure; the connection
  // is then made again on the next call.

  void put_head(const head_record& h);
  std::optional<head_record> head();

  void put_next_index(uint16_t next);
  /// 0 if none is stored.
  uint16_t next_index();

  void put_node(const wire::node_record& rec);
  void drop_node(uint16_t index);
  std::map<uint16_t, wire::node_record> nodes();

  void put_actor(const named_actor_record& a);
  void drop_actor(const std::string& ns, const std::string& name);
  std::vector<named_actor_record> actors();

  void put_next_job(uint32_t next);
  /// 0 if none is stored.
  uint32_t next_job();
  void put_job(const job_record& j);
  void drop_job(const std::string& id);
  std::vector<job_record> jobs();

  /// Writes the whole state at once (MULTI/EXEC: readers never see half of
  /// it), replacing what is there, with the head record last written:
  /// after the store came back.
  void put_all(uint16_t next, const std::map<uint16_t, wire::node_record>& members,
               const std::vector<named_actor_record>& named, uint32_t next_job = 0,
               const std::vector<job_record>& jobs = {});

  /// Test support: writes `value` raw under hash `key` field `field`.
  void put_raw(const std::string& key, const std::string& field, const std::string& value);

private:
  void connect();
  /// Runs a command (printf-like, hiredis' %s / %b); returns its reply,
  /// throwing on an error reply or a broken connection.
  struct reply;
  reply command(const char* what, const char* format, ...);
  [[noreturn]] void fail(const std::string& what, const std::string& why);

  store_address where_;
  std::chrono::milliseconds timeout_;
  /// The head record last written, written again by `put_all` (a Redis
  /// that came back empty must say where the head is too).
  std::optional<head_record> last_head_;
  redisContext* ctx_ = nullptr;
};

/// Where the store at `url` says the head is ("HOST:PORT"), or "" if it
/// names none: for workers and drivers following a head that moved. Throws
/// head_store_error (unreachable, bad record) and invalid_argument_error
/// (a bad URL, named as `--head-store`).
std::string stored_head_address(const std::string& url, std::chrono::milliseconds timeout);

/// Encodes and decodes the records (exposed for the tests). A record that
/// is not one Manta wrote (another version, other data) is an error naming
/// `key`.
std::string encode_node(const wire::node_record& rec);
wire::node_record decode_node(const std::string& key, const std::string& bytes);
std::string encode_actor(const named_actor_record& a);
named_actor_record decode_actor(const std::string& key, const std::string& text);
std::string encode_job(const job_record& j);
job_record decode_job(const std::string& key, const std::string& text);

} // namespace manta::detail
