// An object_ref<std::string> passed for an int parameter.
#include <manta/manta.hpp>

#include <string>

int add(int a, int b) {
  return a + b;
}
std::string shout(const std::string& s) {
  return s + "!";
}
MANTA_REMOTE(add, shout);

int main() {
  auto s = manta::task(shout).remote(std::string{"hi"});
  auto r = manta::task(add).remote(s, 2); // s is an object_ref<std::string>
  return manta::get(r);
}
