#include "manta/net/wire_failure.hpp"

#include "manta/actor_errors.hpp"
#include "manta/core/demangle.hpp"
#include "manta/errors.hpp"
#include "manta/placement_group.hpp"
#include "manta/queue.hpp"

#include <typeinfo>

namespace manta::detail {

error_kind kind_of(const std::exception& e) noexcept {
  const std::type_info& t = typeid(e);
#define MANTA_ERROR_KIND_OF(kind, schema_name, cls) \
  if (t == typeid(::manta::cls))                    \
    return error_kind::kind;
  MANTA_ERROR_KINDS(MANTA_ERROR_KIND_OF)
#undef MANTA_ERROR_KIND_OF
  return error_kind::task_error;
}

namespace {

template <class E>
std::exception_ptr make_of(std::string message) {
  return std::make_exception_ptr(E(std::move(message)));
}

template <>
std::exception_ptr make_of<task_error>(std::string message) {
  return std::make_exception_ptr(task_error("<unnamed>", std::move(message), "?", "?"));
}

} // namespace

std::exception_ptr make_error(error_kind k, std::string message) {
  switch (k) {
#define MANTA_ERROR_KIND_MAKE(kind, schema_name, cls) \
  case error_kind::kind:                              \
    return make_of<::manta::cls>(std::move(message));
    MANTA_ERROR_KINDS(MANTA_ERROR_KIND_MAKE)
#undef MANTA_ERROR_KIND_MAKE
  }
  // Not reached: every kind has a case, and codes from the wire are
  // checked (error_kind_from_code) before they become kinds.
  return std::make_exception_ptr(error(message));
}

wire::failure_message to_failure(const std::exception_ptr& ep, const std::string& task_name,
                                 const std::string& node) {
  wire::failure_message f;
  f.task_name = task_name;
  f.node = node;
  try {
    std::rethrow_exception(ep);
  } catch (const task_error& e) {
    f.type_name = e.type_name();
    f.message = e.message();
    f.node = e.node();
  } catch (const std::exception& e) {
    f.kind = kind_of(e);
    if (f.kind == error_kind::task_error)
      f.type_name = demangle(typeid(e).name());
    f.message = e.what();
  } catch (...) {
    f.type_name = "<unknown>";
    f.message = "the task failed";
  }
  return f;
}

std::exception_ptr from_failure(const wire::failure_message& f) {
  if (f.kind == error_kind::task_error)
    return std::make_exception_ptr(task_error(f.type_name, f.message, f.task_name, f.node));
  return make_error(f.kind, f.message);
}

} // namespace manta::detail
