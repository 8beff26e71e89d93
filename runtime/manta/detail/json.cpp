#include "manta/detail/json.hpp"

#include <cmath>
#include <cstdio>

namespace manta::detail::json {

namespace {

/// Builds one JSON object field by field.
class object_writer {
public:
  object_writer& field(std::string_view key, std::string_view value) {
    key_(key);
    append_string(out_, value);
    return *this;
  }
  object_writer& field(std::string_view key, const char* value) {
    return field(key, std::string_view{value});
  }
  object_writer& field(std::string_view key, const std::string& value) {
    return field(key, std::string_view{value});
  }
  template <class Int>
    requires std::is_integral_v<Int>
  object_writer& field(std::string_view key, Int value) {
    key_(key);
    out_ += std::to_string(value);
    return *this;
  }
  object_writer& raw(std::string_view key, std::string_view json) {
    key_(key);
    out_ += json;
    return *this;
  }
  std::string done() {
    out_ += "}";
    return std::move(out_);
  }

private:
  void key_(std::string_view key) {
    out_ += out_.size() == 1 ? "" : ",";
    append_string(out_, key);
    out_ += ":";
  }
  std::string out_ = "{";
};

std::string id_or_null(object_id id) {
  return id.valid() ? quote(to_string(id)) : "null";
}

} // namespace

std::string to_json(const resource_map& r) {
  std::string out = "{";
  for (auto& [name, amount] : r) {
    if (out.size() > 1)
      out += ",";
    append_string(out, name);
    char buf[32];
    // JSON has no NaN or infinity (amounts are checked at init; this keeps
    // a member's odd value from breaking the head's whole answer).
    std::snprintf(buf, sizeof(buf), std::isfinite(amount) ? ":%g" : ":null", amount);
    out += buf;
  }
  return out + "}";
}

std::string to_json(const task_info& t) {
  std::string args = "[";
  for (auto& a : t.args) {
    if (args.size() > 1)
      args += ",";
    args += object_writer{}.raw("id", id_or_null(a.id)).field("size_bytes", a.size_bytes).done();
  }
  args += "]";
  return object_writer{}
    .raw("id", id_or_null(t.id))
    .field("name", t.name)
    .field("kind", t.kind)
    .field("state", to_string(t.state))
    .field("submitted_us", t.submitted_us)
    .field("started_us", t.started_us)
    .field("ended_us", t.ended_us)
    .field("thread", t.thread)
    .field("thread_id", t.thread_id)
    .field("node", t.node)
    .raw("parent", id_or_null(t.parent))
    .field("actor", t.actor)
    .field("attempts", t.attempts)
    .raw("suspended", t.suspended ? "true" : "false")
    .field("error", t.error)
    .field("job", t.job)
    .raw("args", args)
    .raw("caused_by", id_or_null(t.caused_by))
    .done();
}

std::string to_json(const actor_info& a) {
  std::string history = "[";
  for (auto& h : a.history) {
    if (history.size() > 1)
      history += ",";
    history += object_writer{}
                 .field("state", h.state)
                 .field("at_us", h.at_us)
                 .field("detail", h.detail)
                 .done();
  }
  history += "]";
  return object_writer{}
    .field("id", a.id)
    .field("class_name", a.class_name)
    .field("name", a.name)
    .field("namespace", a.ns)
    .field("state", a.state)
    .field("restarts", a.restarts)
    .field("queued_calls", a.queued_calls)
    .field("running_calls", a.running_calls)
    .field("node", a.node)
    .field("death_cause", a.death_cause)
    .raw("resources", to_json(a.resources))
    .field("job", a.job)
    .raw("history", history)
    .done();
}

std::string to_json(const node_info& n) {
  return object_writer{}
    .field("name", n.name)
    .field("role", n.role)
    .field("state", n.state)
    .raw("total", to_json(n.total))
    .raw("available", to_json(n.available))
    .field("queued_tasks", n.queued_tasks)
    .field("executor_threads", n.executor_threads)
    .done();
}

std::string to_json(const object_memory_info& o) {
  return object_writer{}
    .raw("id", id_or_null(o.id))
    .field("size_bytes", o.size_bytes)
    .field("owner", o.owner)
    .field("references", o.references)
    .field("location", o.location)
    .field("type", o.type)
    .field("created_by", o.created_by)
    .field("pins", o.pins)
    .done();
}

} // namespace manta::detail::json
