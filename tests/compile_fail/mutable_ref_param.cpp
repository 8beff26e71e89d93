// A remote function taking a non-const reference: arguments are immutable
// once submitted, so this cannot be a task.
#include <manta/manta.hpp>

void bump(int& x) {
  ++x;
}
MANTA_REMOTE(bump);

int main() {
  int x = 0;
  manta::get(manta::task(bump).remote(x));
  return x;
}
