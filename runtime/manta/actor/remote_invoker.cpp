#include "manta/actor/remote_invoker.hpp"

namespace manta::detail {

void note_travel_problem(std::string& out, const char* role, size_t n, const std::string& problem) {
  if (out.empty() && !problem.empty())
    out = std::string{role} + " " + std::to_string(n) + "'s " + problem;
}

void throw_wire_arg_count(size_t got, size_t expected) {
  throw std::runtime_error("got " + std::to_string(got) + " encoded arguments for "
                           + std::to_string(expected) + " parameters");
}

void throw_wire_arg_undecodable(size_t index, const value_error& err) {
  throw std::runtime_error("argument " + std::to_string(index + 1)
                           + " does not decode: " + error_text(err));
}

} // namespace manta::detail
