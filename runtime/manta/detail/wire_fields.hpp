#pragma once

#include "manta/detail/wire.hpp"

#include <capnp/list.h>
#include <kj/common.h>

#include <span>
#include <string>
#include <vector>

/// The pieces several Cap'n Proto messages share, written and read in one
/// place: lists of texts, byte blobs and resources, and the fields a
/// TaskSpec and an ActorSpec have in common. Included by .cpp files only:
/// the callers pass the generated builders and readers.
namespace manta::detail::wire {

/// Bytes as a schema's Data.
inline kj::ArrayPtr<const kj::byte> as_data(std::span<const char> s) {
  return kj::arrayPtr(reinterpret_cast<const kj::byte*>(s.data()), s.size());
}

/// A schema's List(Text) from strings, and back.
template <class Builder>
void set_texts(Builder&& list, const std::vector<std::string>& texts) {
  for (unsigned i = 0; i < texts.size(); ++i)
    list.set(i, texts[i]);
}

template <class Reader>
std::vector<std::string> get_texts(Reader&& list) {
  std::vector<std::string> out;
  out.reserve(list.size());
  for (auto t : list)
    out.emplace_back(t.cStr(), t.size());
  return out;
}

/// A schema's List(Data) from byte blobs, and back.
template <class Builder>
void set_args(Builder&& list, const std::vector<bytes>& args) {
  for (unsigned i = 0; i < args.size(); ++i)
    list.set(i, as_data(args[i]));
}

/// The room byte blobs take in a message (`build`'s payload): each padded
/// to a word, plus its list pointer.
inline size_t blobs_bytes(const std::vector<bytes>& blobs) {
  size_t n = 0;
  for (auto& b : blobs)
    n += b.size() + 16;
  return n;
}

template <class Reader>
std::vector<bytes> get_args(Reader&& list) {
  std::vector<bytes> out;
  out.reserve(list.size());
  for (auto a : list)
    out.emplace_back(reinterpret_cast<const char*>(a.begin()),
                     reinterpret_cast<const char*>(a.end()));
  return out;
}

/// A schema's List(Resource) from a resource map, and back.
template <class Builder>
void set_resources(Builder&& list, const resource_map& rs) {
  unsigned i = 0;
  for (auto& [name, amount] : rs) {
    list[i].setName(name);
    list[i].setAmount(amount);
    ++i;
  }
}

template <class Reader>
resource_map get_resources(Reader&& list) {
  resource_map out;
  for (auto r : list)
    out[r.getName().cStr()] = r.getAmount();
  return out;
}

/// What a TaskSpec and an ActorSpec (`x`: a task_message or an
/// actor_message) both carry: the encoded arguments, the demand, which
/// exceptions are retried and whose code runs.
template <class Builder, class Message>
void set_run_fields(Builder& b, const Message& x) {
  set_args(b.initArgs(static_cast<unsigned>(x.args.size())), x.args);
  b.setNumCpus(x.demand.cpus);
  set_resources(b.initResources(static_cast<unsigned>(x.demand.custom.size())), x.demand.custom);
  b.setRetryExceptions(x.retry_exceptions);
  set_texts(b.initRetryExceptionTypes(static_cast<unsigned>(x.retry_exception_types.size())),
            x.retry_exception_types);
  b.setJobId(x.job_id);
  set_texts(b.initCodeSearchPath(static_cast<unsigned>(x.code.size())), x.code);
}

template <class Reader, class Message>
void get_run_fields(const Reader& r, Message& out) {
  out.args = get_args(r.getArgs());
  out.demand.cpus = r.getNumCpus();
  out.demand.custom = get_resources(r.getResources());
  out.retry_exceptions = r.getRetryExceptions();
  out.retry_exception_types = get_texts(r.getRetryExceptionTypes());
  out.job_id = r.getJobId().cStr();
  out.code = get_texts(r.getCodeSearchPath());
}

} // namespace manta::detail::wire
