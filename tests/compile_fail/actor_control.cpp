// Control for the actor compile_fail cases: the same calls, written
// correctly, must compile.
#include "tests/compile_fail/acc_actor.hpp"

int main() {
  manta::init();
  auto a = manta::actor<acc>().remote(1);
  auto b = manta::actor<acc>().remote(manta::put(2));          // object_ref<int> ctor arg
  auto r = a.call(&acc::add).remote(manta::put(3));             // object_ref<int> for int
  auto s = b.call(&acc::label).remote("x");                     // const char* converts
  int v = manta::get(r) + static_cast<int>(manta::get(s).size());
  manta::shutdown();
  return v;
}
