#include "manta/errors.hpp"

namespace manta {

namespace {

std::string describe(const std::string& type_name, const std::string& message,
                     const std::string& task_name, const std::string& node) {
  std::string out = "task '";
  out += task_name;
  out += "' failed on node ";
  out += node;
  out += " with ";
  out += type_name;
  out += ": ";
  out += message;
  return out;
}

} // namespace

task_error::task_error(std::string type_name, std::string message, std::string task_name,
                       std::string node)
  : error(describe(type_name, message, task_name, node)), type_name_(std::move(type_name)),
    message_(std::move(message)), task_name_(std::move(task_name)), node_(std::move(node)) {
  // nop
}

} // namespace manta
