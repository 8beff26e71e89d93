#include "manta/observe/json.hpp"

#include "manta/placement/placement_json.hpp"

#include <boost/json/value_from.hpp>

#include <cmath>

namespace manta::detail::json {

namespace bj = boost::json;

/// Fills one object field by field, each string through `text`.
class object_filler {
public:
  explicit object_filler(bj::value& v, size_t fields) : o_(v.emplace_object()) {
    o_.reserve(fields);
  }

  object_filler& operator()(std::string_view key, std::string_view s) {
    o_.emplace(key, text(s, o_.storage()));
    return *this;
  }
  object_filler& operator()(std::string_view key, const std::string& s) {
    return (*this)(key, std::string_view{s});
  }
  object_filler& operator()(std::string_view key, const char* s) {
    return (*this)(key, std::string_view{s});
  }
  template <class T>
    requires std::is_arithmetic_v<T>
  object_filler& operator()(std::string_view key, T x) {
    o_.emplace(key, x);
    return *this;
  }
  /// An id, null when not set.
  object_filler& operator()(std::string_view key, object_id id) {
    if (id.valid())
      return (*this)(key, to_string(id));
    o_.emplace(key, nullptr);
    return *this;
  }
  object_filler& operator()(std::string_view key, const resource_map& r) {
    o_.emplace(key, to_value(r, o_.storage()));
    return *this;
  }
  /// An array of `xs`, each filled by `fill(filler, x)`.
  template <class X, class Fill>
  object_filler& operator()(std::string_view key, const std::vector<X>& xs, size_t fields,
                            Fill&& fill) {
    bj::array a(o_.storage());
    a.reserve(xs.size());
    for (auto& x : xs) {
      bj::value v(o_.storage());
      object_filler f{v, fields};
      fill(f, x);
      a.push_back(std::move(v));
    }
    o_.emplace(key, std::move(a));
    return *this;
  }

private:
  bj::object& o_;
};

bj::value to_value(const resource_map& r, bj::storage_ptr sp) {
  bj::value v(std::move(sp));
  auto& o = v.emplace_object();
  for (auto& [name, amount] : r) {
    bj::value x(o.storage());
    // JSON has no NaN or infinity (amounts are checked at init; this keeps
    // a member's odd value from breaking the head's whole answer); a whole
    // amount is written as an integer ("CPU":4, not 4E0).
    if (!std::isfinite(amount))
      x = nullptr;
    else if (amount == std::trunc(amount) && std::fabs(amount) < 9e15)
      x = static_cast<int64_t>(amount);
    else
      x = amount;
    o.emplace(text(name, o.storage()), std::move(x));
  }
  return v;
}

std::string to_json(const resource_map& r) {
  return bj::serialize(to_value(r));
}

} // namespace manta::detail::json

namespace manta {

using detail::json::object_filler;

void tag_invoke(const boost::json::value_from_tag&, boost::json::value& v, const task_info& t) {
  object_filler f{v, 18};
  f("id", t.id);
  f("name", t.name);
  f("kind", t.kind);
  f("state", to_string(t.state));
  f("submitted_us", t.submitted_us);
  f("started_us", t.started_us);
  f("ended_us", t.ended_us);
  f("thread", t.thread);
  f("thread_id", t.thread_id);
  f("node", t.node);
  f("parent", t.parent);
  f("actor", t.actor);
  f("attempts", t.attempts);
  f("suspended", t.suspended);
  f("error", t.error);
  f("job", t.job);
  f("args", t.args, 2, [](object_filler& a, const task_info::argument& x) {
    a("id", x.id);
    a("size_bytes", x.size_bytes);
  });
  f("caused_by", t.caused_by);
}

void tag_invoke(const boost::json::value_from_tag&, boost::json::value& v, const actor_info& a) {
  object_filler f{v, 13};
  f("id", a.id);
  f("class_name", a.class_name);
  f("name", a.name);
  f("namespace", a.ns);
  f("state", a.state);
  f("restarts", a.restarts);
  f("queued_calls", a.queued_calls);
  f("running_calls", a.running_calls);
  f("node", a.node);
  f("death_cause", a.death_cause);
  f("resources", a.resources);
  f("job", a.job);
  f("history", a.history, 3, [](object_filler& h, const actor_state_change& x) {
    h("state", x.state);
    h("at_us", x.at_us);
    h("detail", x.detail);
  });
}

void tag_invoke(const boost::json::value_from_tag&, boost::json::value& v, const node_info& n) {
  object_filler f{v, 7};
  f("name", n.name);
  f("role", n.role);
  f("state", n.state);
  f("total", n.total);
  f("available", n.available);
  f("queued_tasks", n.queued_tasks);
  f("executor_threads", n.executor_threads);
}

void tag_invoke(const boost::json::value_from_tag&, boost::json::value& v,
                const object_memory_info& o) {
  object_filler f{v, 8};
  f("id", o.id);
  f("size_bytes", o.size_bytes);
  f("owner", o.owner);
  f("references", o.references);
  f("location", o.location);
  f("type", o.type);
  f("created_by", o.created_by);
  f("pins", o.pins);
}

void tag_invoke(const boost::json::value_from_tag&, boost::json::value& v,
                const placement_group_info& g) {
  object_filler f{v, 7};
  f("id", g.id);
  f("name", g.name);
  f("strategy", g.strategy);
  f("state", g.state);
  f("tasks", g.tasks);
  f("actors", g.actors);
  f("bundles", g.bundles, 3, [](object_filler& b, const bundle_info& x) {
    b("index", x.index);
    b("resources", x.resources);
    b("node", x.node);
  });
}

} // namespace manta
