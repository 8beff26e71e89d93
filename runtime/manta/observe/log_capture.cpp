#include "manta/observe/log_capture.hpp"

#include "manta/actor/actor_call.hpp"
#include "manta/actor/actor_core.hpp"
#include "manta/store/allocation_hook.hpp"
#include "manta/core/job_id.hpp"
#include "manta/observe/log_shipper.hpp"
#include "manta/observe/log_store.hpp"
#include "manta/cluster/remote_task.hpp"
#include "manta/core/runtime.hpp"
#include "manta/sched/worker_pool.hpp"
#include "manta/logs.hpp"

#include <atomic>
#include <iostream>
#include <map>

namespace manta::detail {

namespace {

/// Who a line is printed for.
struct printer {
  std::string name;
  object_id id;
  /// The actor whose call prints; 0 for a task.
  uint64_t actor = 0;
  /// Where the line also goes: the owner of a task another node sent.
  log_shipper* shipper = nullptr;
  /// That task's mark that its result must follow its lines through the
  /// node manager (remote_task::via_manager).
  std::atomic<bool>* via_manager = nullptr;
};

/// Who the calling thread prints for; false on threads that run no task.
bool current_printer(printer& p) {
  if (auto* call = current_call()) {
    p.name = current_actor() != nullptr ? current_actor()->display_name() + "." + call->method_name
                                        : call->method_name;
    p.id = call->result ? call->result->id() : object_id{};
    p.actor = current_actor() != nullptr ? current_actor()->id() : 0;
    return true;
  }
  if (auto* t = this_task().task; t != nullptr && t->result && t->result->id().valid()) {
    p.name = t->name();
    p.id = t->result->id();
    if (auto* hosted = dynamic_cast<const remote_task*>(t)) {
      p.shipper = hosted->log_sink.get();
      p.via_manager = &hosted->via_manager;
    }
    return true;
  }
  return false;
}

/// Whether a log_capture is installed (the runtime's `log_prefix`).
std::atomic<bool> g_capturing{false};

} // namespace

/// An unbuffered streambuf in front of the stream's own: every character
/// comes through here, so each thread can collect its own line.
class log_capture::prefixing_buf : public std::streambuf {
public:
  prefixing_buf(std::streambuf* target, bool is_stderr) : target_(target), is_stderr_(is_stderr) {}

  std::streambuf* target() const noexcept { return target_; }

  /// Keeps the line and prints it as "(name node) line", or "(name node
  /// job) line" in a job (the owner's, by the node in the task's id).
  void emit(const std::string& name, const std::string& node, object_id id, uint64_t actor,
            const std::string& line) {
    if (auto* rt = runtime::live()) // a late print after shutdown is not kept
      rt->task_logs().add(id, name, actor, line);
    auto job = job_of_node(id.node());
    auto text = "(" + name + " " + node + (job.empty() ? "" : " " + job) + ") " + line + "\n";
    std::lock_guard<std::mutex> guard{mtx_};
    target_->sputn(text.data(), static_cast<std::streamsize>(text.size()));
  }

protected:
  int_type overflow(int_type ch) override {
    if (traits_type::eq_int_type(ch, traits_type::eof()))
      return traits_type::not_eof(ch);
    char c = traits_type::to_char_type(ch);
    return xsputn(&c, 1) == 1 ? ch : traits_type::eof();
  }

  std::streamsize xsputn(const char* s, std::streamsize n) override {
    // A bad_alloc from the memory monitor's stop would leave std::cout bad
    // for every thread; the stopped task stops at its own next allocation.
    allocation_hook::hold_off no_stop;
    printer p;
    if (!current_printer(p)) {
      std::lock_guard<std::mutex> guard{mtx_};
      return target_->sputn(s, n);
    }
    // Even an unfinished line, shipped when the run ends, after the seal.
    if (p.shipper != nullptr && p.via_manager != nullptr)
      p.via_manager->store(true, std::memory_order_relaxed);
    auto& line = pending();
    for (std::streamsize i = 0; i < n; ++i) {
      if (s[i] != '\n') {
        line += s[i];
        continue;
      }
      ship_and_emit(p, line);
      line.clear();
    }
    if (!line.empty())
      has_partial() = true;
    return n;
  }

  /// A flush does not end a line: std::cerr flushes after every `<<`, and
  /// `std::cerr << "x = " << x << "\n"` is one line. What is left when the
  /// task or call ends is emitted then (`end_of_run`).
  int sync() override {
    std::lock_guard<std::mutex> guard{mtx_};
    return target_->pubsync();
  }

public:
  /// Emits the calling thread's unfinished line, as its own line.
  void finish_line() {
    printer p;
    auto& line = pending();
    if (!line.empty() && current_printer(p))
      ship_and_emit(p, line);
    line.clear();
  }

  /// Whether some unfinished line may wait on this thread.
  static bool& has_partial() {
    thread_local bool flag = false;
    return flag;
  }

private:
  /// The calling thread's unfinished line (one per stream and thread).
  std::string& pending() {
    thread_local std::map<const prefixing_buf*, std::string> lines;
    return lines[this];
  }

  /// Sends the line on to the task's owner if another node sent the task,
  /// and emits it here.
  void ship_and_emit(const printer& p, const std::string& line) {
    if (p.shipper != nullptr)
      p.shipper->add(p.id.value(), is_stderr_, line);
    emit(p.name, runtime::node_name(), p.id, p.actor, line);
  }

  std::streambuf* target_;
  bool is_stderr_;
  std::mutex mtx_;
};

log_capture::prefixing_buf& log_capture::buffer(bool is_stderr) {
  // One buffer per stream for the process, in front of the stream's first
  // own buffer.
  static auto* out = new prefixing_buf(std::cout.rdbuf(), false);
  static auto* err = new prefixing_buf(std::cerr.rdbuf(), true);
  return is_stderr ? *err : *out;
}

log_capture::log_capture() : out_(&buffer(false)), err_(&buffer(true)) {
  std::cout.rdbuf(out_);
  std::cerr.rdbuf(err_);
  g_capturing = true;
}

log_capture::~log_capture() {
  g_capturing = false;
  std::cout.flush();
  std::cerr.flush();
  if (std::cout.rdbuf() == out_)
    std::cout.rdbuf(out_->target());
  if (std::cerr.rdbuf() == err_)
    std::cerr.rdbuf(err_->target());
}

bool log_capture::installed() noexcept {
  return g_capturing.load();
}

void log_capture::end_of_run() {
  if (!prefixing_buf::has_partial())
    return;
  prefixing_buf::has_partial() = false;
  buffer(false).finish_line();
  buffer(true).finish_line();
}

void log_capture::surface(object_id id, const std::string& name, const std::string& node,
                          bool to_stderr, const std::string& line) {
  if (g_capturing) {
    buffer(to_stderr).emit(name, node, id, 0, line);
    return;
  }
  auto& os = to_stderr ? std::cerr : std::cout;
  os << line << '\n';
}

std::vector<std::string> log_capture::lines_of(object_id id) {
  auto* rt = runtime::live();
  return rt ? rt->task_logs().lines_of(id) : std::vector<std::string>{};
}

} // namespace manta::detail

namespace manta {

std::vector<std::string> task_logs(object_id id) {
  return detail::log_capture::lines_of(id);
}

} // namespace manta
