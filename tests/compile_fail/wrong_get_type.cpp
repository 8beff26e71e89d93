// get on an object_ref<std::string> read as an int.
#include <manta/manta.hpp>

#include <string>

std::string shout(const std::string& s) {
  return s + "!";
}
MANTA_REMOTE(shout);

int main() {
  auto s = manta::task(shout).remote(std::string{"hi"});
  int n = manta::get(s);
  return n;
}
