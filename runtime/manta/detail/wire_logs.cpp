#include "manta/detail/wire.hpp"

#include "manta/detail/wire_reader.hpp"

#include "schemas/task.capnp.h"

namespace manta::detail::wire {

// schema::LogBatch: the lines a node's tasks printed, sent to their owners.

bytes encode(const log_batch& x) {
  return build<schema::LogBatch>([&](schema::LogBatch::Builder b) {
    b.setNode(x.node);
    b.setDropped(x.dropped);
    auto lines = b.initLines(static_cast<unsigned>(x.lines.size()));
    for (unsigned i = 0; i < x.lines.size(); ++i) {
      lines[i].setTaskId(x.lines[i].task_id);
      lines[i].setToStderr(x.lines[i].to_stderr);
      lines[i].setText(capnp::Text::Reader{x.lines[i].text.data(), x.lines[i].text.size()});
    }
  });
}

std::string decode(std::span<const char> in, log_batch& out) {
  return read_root<schema::LogBatch>(
    "LogBatch", in, [&](schema::LogBatch::Reader r) -> std::string {
      out.node = r.getNode().cStr();
      out.dropped = r.getDropped();
      out.lines.clear();
      for (auto l : r.getLines()) {
        auto text = l.getText();
        out.lines.push_back({l.getTaskId(), l.getToStderr(), {text.begin(), text.size()}});
      }
      if (out.node.empty())
        return "no node name";
      return {};
    });
}

} // namespace manta::detail::wire
