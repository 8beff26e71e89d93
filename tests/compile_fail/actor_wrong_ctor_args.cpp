// An actor created with arguments its constructor does not take.
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
  manta::actor<acc>().remote(std::string{"x"}, 2);
}
