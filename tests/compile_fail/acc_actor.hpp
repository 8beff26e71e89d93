#pragma once

// The actor of the actor compile_fail cases and of their control
// (actor_control.cpp): each case calls it wrongly in one way, and the control
// makes the same calls rightly, so a case fails for its own mistake alone.

#include <manta/manta.hpp>

#include <string>

class acc {
public:
  explicit acc(int start) : n_(start) {}
  int add(int by) { return n_ += by; }
  std::string label(const std::string& p) const { return p; }

private:
  int n_;
};
MANTA_ACTOR(acc, &acc::add, &acc::label);
