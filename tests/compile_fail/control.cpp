// Control: the same calls as the compile_fail cases, written correctly. It
// must compile, which proves that the harness (compiler, flags, include
// paths) works and that the other cases fail for their own reason.
#include <manta/manta.hpp>

#include <string>

int add(int a, int b) {
  return a + b;
}
std::string shout(const std::string& s) {
  return s + "!";
}
void count_to(manta::generator_sink<int>& out, int n) {    // a streaming generator
  for (int i = 0; i < n; ++i)
    out.yield(i);
}
MANTA_REMOTE(add, shout, count_to);

int main() {
  manta::init();
  auto a = manta::task(add).remote(1, 2);                  // values
  auto b = manta::task(add).remote(a, 3);                  // object_ref<int> for int
  auto c = manta::task(add).remote(short{1}, 2L);          // convertible values
  auto s = manta::task(shout).remote(std::string{"hi"});   // std::string for const std::string&
  auto t = manta::task(shout).remote(s);                   // object_ref<std::string>
  auto u = manta::task(shout).remote("literal");           // const char* converts
  auto p = manta::put(7);
  int v = manta::get(b) + manta::get(c) + manta::get(p);
  std::string w = manta::get(t) + manta::get(u);
  manta::object_ref_generator<int> g = manta::task(count_to).remote(a);  // int items
  for (manta::object_ref<int> item : g)
    v += manta::get(item);
  manta::shutdown();
  return v + static_cast<int>(w.size());
}
