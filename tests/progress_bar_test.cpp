// The terminal progress bar: what it draws, and that it stays silent when
// stdout is not a terminal (as under meson, which captures it).

#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include "tools/progress_bar.hpp"

#include <unistd.h>

using manta::tools::progress_bar;

TEST_CASE("the bar shows done of total and the current step") {
  CHECK(progress_bar::render(0, 4, "warm-up", 8) == "[........] 0/4 warm-up");
  CHECK(progress_bar::render(2, 4, "tasks", 8) == "[####....] 2/4 tasks");
  CHECK(progress_bar::render(4, 4, "", 8) == "[########] 4/4");
  CHECK(progress_bar::render(9, 4, "", 8) == "[########] 4/4"); // clamped
  CHECK(progress_bar::render(1, 0, "", 4) == "[####] 1/1");     // no division by zero
}

TEST_CASE("the bar is silent unless stdout is a terminal") {
  progress_bar bar{10};
  CHECK(bar.active() == (::isatty(STDOUT_FILENO) != 0));
  progress_bar off{10, false};
  CHECK(!off.active());
}
