#include "manta/cluster/head_store.hpp"

#include <boost/json.hpp>

#include <hiredis/hiredis.h>

#include <charconv>
#include <cstdarg>
#include <cstring>
#include <ctime>
#include <mutex>
#include <tuple>
#include <type_traits>

namespace manta::detail {

namespace {

namespace json = boost::json;

/// Serialises the calls on head stores. A hiredis context is not
/// thread-safe, and a head's store is used by two threads: the head's main
/// thread writes the head record once it listens (manta::head_main), while
/// the registry actor already persists the joins of workers that found the
/// head (a CAF thread). Unserialised, the two commands interleaved on the
/// connection (ThreadSanitizer, head_store_cluster: the output buffer
/// reallocated under the other's write; a `put_head` could land inside
/// `put_all`'s MULTI/EXEC). One lock for every store of the process (a
/// member would need a new field in head_store.hpp, which actors/atoms.hpp
/// includes everywhere): a process holds one store at a time, the head's,
/// or a short-lived one to look the head up. Recursive: `put_all` runs the
/// other public calls inside its transaction.
std::unique_lock<std::recursive_mutex> serialize_calls() {
  static std::recursive_mutex calls;
  return std::unique_lock<std::recursive_mutex>{calls};
}

constexpr const char* schema_version = "1";
constexpr std::string_view node_magic = "manta.node.1:";

/// What to do when the store cannot be reached or used.
std::string hint(const store_address& where) {
  return "start redis-server there (`redis-server --port " + std::to_string(where.port)
         + "`), or give another store with --head-store=redis://HOST:PORT/DB "
           "(MANTA_HEAD_STORE); without one the head keeps its state in memory";
}

timeval to_timeval(std::chrono::milliseconds d) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(d.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((d.count() % 1000) * 1000);
  return tv;
}

[[noreturn]] void bad_record(const std::string& key, const std::string& why) {
  throw head_store_error("the head store's record " + key + " " + why
                         + " (written by another Manta version, or not by Manta); use an "
                           "empty database for the head store (redis://HOST:PORT/DB), or "
                           "delete Manta's keys there: redis-cli -n DB --scan --pattern "
                           "'manta:*' | xargs redis-cli -n DB del");
}

/// The counter stored under `key` (a GET answer: 0 if there is none;
/// decimal, at most `max_digits` digits and `max`); throws naming `what`
/// it should be otherwise.
uint64_t stored_counter(const redisReply& r, const char* key, size_t max_digits, uint64_t max,
                        const char* what) {
  if (r.type == REDIS_REPLY_NIL)
    return 0;
  auto text = r.str ? std::string{r.str, r.len} : std::string{};
  if (text.empty() || text.size() > max_digits
      || text.find_first_not_of("0123456789") != std::string::npos || std::stoull(text) > max)
    bad_record(key, std::string{"is not "} + what + " ('" + text.substr(0, 20) + "')");
  return std::stoull(text);
}

/// Calls `each(field, value)` for every pair of an HGETALL answer.
template <class Each>
void for_each_entry(const redisReply& r, Each each) {
  for (size_t k = 0; k + 1 < r.elements; k += 2)
    each(std::string{r.element[k]->str, r.element[k]->len},
         std::string{r.element[k + 1]->str, r.element[k + 1]->len});
}

/// The records of the hash `hash` (an HGETALL answer), each decoded by
/// `decode(key, value)`; the key names at most `field_chars` of its field.
template <class Record>
std::vector<Record> decode_entries(const redisReply& r, const std::string& hash, size_t field_chars,
                                   Record (*decode)(const std::string&, const std::string&)) {
  std::vector<Record> out;
  for_each_entry(r, [&](const std::string& field, const std::string& value) {
    out.push_back(decode(hash + "[" + field.substr(0, field_chars) + "]", value));
  });
  return out;
}

/// One stored JSON record being read: its fields by name, each error
/// naming the key, the kind of record and the field.
class stored_record {
public:
  /// Parses `text` and refuses another version than this code writes.
  stored_record(std::string key, const std::string& text, const char* kind)
    : key_(std::move(key)), kind_(kind) {
    boost::system::error_code ec;
    auto v = json::parse(text, ec);
    if (ec || !v.is_object())
      bad_record(key_, std::string{"is not "} + kind_ + " (not a JSON object)");
    o_ = std::move(v.as_object());
    if (auto version = get<int>("v"); version != 1)
      bad_record(key_, "has version " + std::to_string(version));
  }

  /// Field `name` as a T. Records written before Manta stored them with
  /// Boost.JSON (by Boost.PropertyTree, up to stop 38) hold every value as
  /// a string ("pid":"42", "detached":"true"): both forms read, so a head
  /// upgraded over a kept store finds its state.
  template <class T>
  T get(std::string_view name) const {
    const auto* v = o_.if_contains(name);
    if (v == nullptr)
      bad(name, "is missing");
    if constexpr (std::is_same_v<T, std::string>) {
      if (!v->is_string())
        bad(name, "is not a string");
      return std::string{v->get_string()};
    } else if constexpr (std::is_same_v<T, bool>) {
      if (v->is_bool())
        return v->get_bool();
      if (v->is_string() && (v->get_string() == "true" || v->get_string() == "false"))
        return v->get_string() == "true";
      bad(name, "is not true or false");
    } else {
      T out{};
      if (v->is_string()) {
        auto s = v->get_string();
        auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
        if (ec != std::errc{} || end != s.data() + s.size())
          bad(name, "is not a whole number in range");
        return out;
      }
      boost::system::error_code ec;
      out = v->to_number<T>(ec);
      if (ec)
        bad(name, "is not a whole number in range");
      return out;
    }
  }

private:
  [[noreturn]] void bad(std::string_view name, const char* why) const {
    bad_record(key_, std::string{"is not "} + kind_ + ": field '" + std::string{name} + "' " + why);
  }

  std::string key_;
  const char* kind_;
  json::object o_;
};

/// A stored JSON record's field: its name and the member holding it.
template <class Record, class T>
struct stored_field {
  std::string_view name;
  T Record::*member;
};

template <class Record, class T>
stored_field(const char*, T Record::*) -> stored_field<Record, T>;

/// Each stored record's fields in the order they are written, listed once
/// for its writer (`to_stored`) and its reader (`from_stored`).
template <class Record>
constexpr auto stored_fields = 0;

template <>
constexpr auto stored_fields<head_record> =
  std::tuple{stored_field{"address", &head_record::address}, stored_field{"pid", &head_record::pid},
             stored_field{"since_ms", &head_record::since_ms}};

template <>
constexpr auto stored_fields<named_actor_record> =
  std::tuple{stored_field{"name", &named_actor_record::name},
             stored_field{"namespace", &named_actor_record::ns},
             stored_field{"class", &named_actor_record::cls},
             stored_field{"node", &named_actor_record::node},
             stored_field{"owner", &named_actor_record::owner},
             stored_field{"actor_id", &named_actor_record::actor_id},
             stored_field{"detached", &named_actor_record::detached}};

template <>
constexpr auto stored_fields<job_record> = std::tuple{
  stored_field{"id", &job_record::id},         stored_field{"entrypoint", &job_record::entrypoint},
  stored_field{"host", &job_record::host},     stored_field{"pid", &job_record::pid},
  stored_field{"node", &job_record::node},     stored_field{"state", &job_record::state},
  stored_field{"detail", &job_record::detail}, stored_field{"start_ms", &job_record::start_ms},
  stored_field{"end_ms", &job_record::end_ms}};

/// `x` as a JSON record of this code's version ("v": 1), then its fields.
template <class Record>
std::string to_stored(const Record& x) {
  json::object o{{"v", 1}};
  std::apply([&](auto... f) { (o.emplace(f.name, json::value_from(x.*f.member)), ...); },
             stored_fields<Record>);
  return json::serialize(o);
}

/// The record stored under `key` as `text`, its fields read in order; throws
/// naming `kind` and the field (`stored_record`) if one cannot be read.
template <class Record>
Record from_stored(std::string key, const std::string& text, const char* kind) {
  stored_record o{std::move(key), text, kind};
  Record x;
  std::apply(
    [&](auto... f) {
      ((x.*f.member = o.get<std::remove_reference_t<decltype(x.*f.member)>>(f.name)), ...);
    },
    stored_fields<Record>);
  return x;
}

} // namespace

store_address parse_store_address(const std::string& where, const std::string& url) {
  auto bad = [&](const std::string& why) -> invalid_argument_error {
    return invalid_argument_error(where
                                  + " expects redis://HOST:PORT[/DB] (e.g. "
                                    "redis://127.0.0.1:6379/0), got '"
                                  + url + "': " + why);
  };
  constexpr std::string_view scheme = "redis://";
  if (url.rfind(scheme, 0) != 0)
    throw bad("it must start with redis:// (Redis is the only store)");
  store_address out;
  out.text = url;
  auto rest = url.substr(scheme.size());
  if (auto slash = rest.find('/'); slash != std::string::npos) {
    auto db = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
    if (!db.empty()) {
      if (db.size() > 5 || db.find_first_not_of("0123456789") != std::string::npos)
        throw bad("the database '" + db + "' is not a number");
      out.db = std::stoi(db);
    }
  }
  auto colon = rest.rfind(':');
  out.host = colon == std::string::npos ? rest : rest.substr(0, colon);
  if (out.host.empty())
    throw bad("no host");
  if (colon != std::string::npos) {
    auto port = rest.substr(colon + 1);
    if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos
        || std::stoi(port) == 0 || std::stoi(port) > 65535)
      throw bad("the port '" + port + "' is not a number in 1-65535");
    out.port = static_cast<uint16_t>(std::stoi(port));
  }
  return out;
}

struct head_store::reply {
  std::unique_ptr<redisReply, void (*)(void*)> r{nullptr, freeReplyObject};
  redisReply* operator->() const { return r.get(); }
  std::string str() const { return r->str ? std::string{r->str, r->len} : std::string{}; }
};

head_store::head_store(store_address where, std::chrono::milliseconds timeout)
  : where_(std::move(where)), timeout_(timeout) {
  auto serial = serialize_calls();
  connect();
}

head_store::~head_store() {
  auto serial = serialize_calls();
  if (ctx_)
    redisFree(ctx_);
}

void head_store::fail(const std::string& what, const std::string& why) {
  if (ctx_) {
    redisFree(ctx_);
    ctx_ = nullptr;
  }
  throw head_store_error("the head store at " + where_.text + ": " + what + " failed: " + why + "; "
                         + hint(where_));
}

void head_store::connect() {
  ctx_ = redisConnectWithTimeout(where_.host.c_str(), where_.port, to_timeval(timeout_));
  if (ctx_ == nullptr)
    fail("connecting", "out of memory");
  if (ctx_->err != 0)
    fail("connecting", ctx_->errstr);
  if (redisSetTimeout(ctx_, to_timeval(timeout_)) != REDIS_OK)
    fail("connecting", "cannot set the command timeout");
  command("selecting the database", "SELECT %d", where_.db);
  auto v = command("reading manta:schema", "GET manta:schema");
  if (v->type == REDIS_REPLY_NIL)
    command("writing manta:schema", "SET manta:schema %s", schema_version);
  else if (v.str() != schema_version)
    bad_record("manta:schema", "says layout '" + v.str().substr(0, 20)
                                 + "', this Manta reads "
                                   "layout "
                                 + schema_version);
}

head_store::reply head_store::command(const char* what, const char* format, ...) {
  if (ctx_ == nullptr)
    connect();
  va_list ap;
  va_start(ap, format);
  reply out;
  out.r.reset(static_cast<redisReply*>(redisvCommand(ctx_, format, ap)));
  va_end(ap);
  if (!out.r)
    fail(what, ctx_->err != 0 ? std::string{ctx_->errstr} : std::string{"no answer"});
  if (out->type == REDIS_REPLY_ERROR)
    fail(what, "Redis answered " + out.str());
  return out;
}

void head_store::put_head(const head_record& h) {
  auto serial = serialize_calls();
  auto text = to_stored(h);
  command("writing manta:head", "SET manta:head %b", text.data(), text.size());
  last_head_ = h;
}

std::optional<head_record> head_store::head() {
  auto serial = serialize_calls();
  auto r = command("reading manta:head", "GET manta:head");
  if (r->type == REDIS_REPLY_NIL)
    return std::nullopt;
  return from_stored<head_record>("manta:head", r.str(), "a head record");
}

void head_store::put_next_index(uint16_t next) {
  auto serial = serialize_calls();
  command("writing manta:next_index", "SET manta:next_index %d", int{next});
}

uint16_t head_store::next_index() {
  auto serial = serialize_calls();
  auto r = command("reading manta:next_index", "GET manta:next_index");
  return static_cast<uint16_t>(stored_counter(*r.r, "manta:next_index", 5, 65535, "a node index"));
}

void head_store::put_node(const wire::node_record& rec) {
  auto serial = serialize_calls();
  auto bytes = encode_node(rec);
  command("writing manta:nodes", "HSET manta:nodes %d %b", int{rec.index}, bytes.data(),
          bytes.size());
}

void head_store::drop_node(uint16_t index) {
  auto serial = serialize_calls();
  command("deleting from manta:nodes", "HDEL manta:nodes %d", int{index});
}

std::map<uint16_t, wire::node_record> head_store::nodes() {
  auto serial = serialize_calls();
  auto r = command("reading manta:nodes", "HGETALL manta:nodes");
  std::map<uint16_t, wire::node_record> out;
  for_each_entry(*r.r, [&](const std::string& field, const std::string& value) {
    auto key = "manta:nodes[" + field.substr(0, 20) + "]";
    auto rec = decode_node(key, value);
    if (std::to_string(rec.index) != field)
      bad_record(key, "holds node index " + std::to_string(rec.index));
    out[rec.index] = std::move(rec);
  });
  return out;
}

void head_store::put_actor(const named_actor_record& a) {
  auto serial = serialize_calls();
  auto field = a.ns + "/" + a.name;
  auto text = encode_actor(a);
  command("writing manta:actors", "HSET manta:actors %b %b", field.data(), field.size(),
          text.data(), text.size());
}

void head_store::drop_actor(const std::string& ns, const std::string& name) {
  auto serial = serialize_calls();
  auto field = ns + "/" + name;
  command("deleting from manta:actors", "HDEL manta:actors %b", field.data(), field.size());
}

std::vector<named_actor_record> head_store::actors() {
  auto serial = serialize_calls();
  auto r = command("reading manta:actors", "HGETALL manta:actors");
  return decode_entries(*r.r, "manta:actors", 80, decode_actor);
}

void head_store::put_next_job(uint32_t next) {
  auto serial = serialize_calls();
  command("writing manta:next_job", "SET manta:next_job %u", next);
}

uint32_t head_store::next_job() {
  auto serial = serialize_calls();
  auto r = command("reading manta:next_job", "GET manta:next_job");
  return static_cast<uint32_t>(
    stored_counter(*r.r, "manta:next_job", 9, 999'999'999, "a job number"));
}

void head_store::put_job(const job_record& j) {
  auto serial = serialize_calls();
  auto text = encode_job(j);
  command("writing manta:jobs", "HSET manta:jobs %b %b", j.id.data(), j.id.size(), text.data(),
          text.size());
}

void head_store::drop_job(const std::string& id) {
  auto serial = serialize_calls();
  command("deleting from manta:jobs", "HDEL manta:jobs %b", id.data(), id.size());
}

std::vector<job_record> head_store::jobs() {
  auto serial = serialize_calls();
  auto r = command("reading manta:jobs", "HGETALL manta:jobs");
  return decode_entries(*r.r, "manta:jobs", 40, decode_job);
}

void head_store::put_all(uint16_t next, const std::map<uint16_t, wire::node_record>& members,
                         const std::vector<named_actor_record>& named, uint32_t next_job,
                         const std::vector<job_record>& jobs) {
  auto serial = serialize_calls();
  command("starting a transaction", "MULTI");
  command("clearing manta:nodes", "DEL manta:nodes manta:actors manta:jobs");
  put_next_index(next);
  for (auto& [_, rec] : members)
    put_node(rec);
  for (auto& a : named)
    put_actor(a);
  if (next_job != 0)
    put_next_job(next_job);
  for (auto& j : jobs)
    put_job(j);
  if (last_head_)
    put_head(*last_head_);
  command("committing the state", "EXEC");
}

void head_store::put_raw(const std::string& key, const std::string& field,
                         const std::string& value) {
  auto serial = serialize_calls();
  command("writing a raw record", "HSET %b %b %b", key.data(), key.size(), field.data(),
          field.size(), value.data(), value.size());
}

std::string stored_head_address(const std::string& url, std::chrono::milliseconds timeout) {
  head_store store{parse_store_address("--head-store (MANTA_HEAD_STORE)", url), timeout};
  auto h = store.head();
  return h ? h->address : std::string{};
}

std::string encode_node(const wire::node_record& rec) {
  auto bytes = wire::encode(rec);
  std::string out{node_magic};
  out.append(bytes.data(), bytes.size());
  return out;
}

wire::node_record decode_node(const std::string& key, const std::string& bytes) {
  if (bytes.rfind(node_magic, 0) != 0)
    bad_record(key, "does not start with '" + std::string{node_magic} + "'");
  wire::bytes payload(bytes.begin() + static_cast<std::ptrdiff_t>(node_magic.size()), bytes.end());
  wire::node_record rec;
  if (auto err = wire::decode(payload, rec); !err.empty())
    bad_record(key, "is not a node record: " + err);
  return rec;
}

std::string encode_actor(const named_actor_record& a) {
  return to_stored(a);
}

named_actor_record decode_actor(const std::string& key, const std::string& text) {
  return from_stored<named_actor_record>(key, text, "a named-actor record");
}

std::string encode_job(const job_record& j) {
  return to_stored(j);
}

job_record decode_job(const std::string& key, const std::string& text) {
  return from_stored<job_record>(key, text, "a job record");
}

} // namespace manta::detail
