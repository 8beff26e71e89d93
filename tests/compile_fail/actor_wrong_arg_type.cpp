// An actor method called with an argument of the wrong type.
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

int main() {
  auto a = manta::actor<acc>().remote(1);
  a.call(&acc::add).remote(std::string{"three"});
}
