// The store behind `manta logs`: lines in print order across tasks, by
// task and by actor, `after` for followers, `tail`, an answer cut at
// `limit` that a follower continues, and the per-task and task bounds.

#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include "manta/observe/log_store.hpp"

#include <string>
#include <vector>

using manta::object_id;
using manta::detail::log_entry;
using manta::detail::log_query;
using manta::detail::log_store;

namespace {

std::vector<std::string> texts(const std::vector<log_entry>& xs) {
  std::vector<std::string> out;
  for (auto& x : xs)
    out.push_back(x.name + ":" + x.line);
  return out;
}

} // namespace

TEST_CASE("lines in print order; by task, actor, after and tail") {
  log_store s;
  s.add(object_id{1}, "f", 0, "a");
  s.add(object_id{2}, "c 'x'.m", 7, "b");
  s.add(object_id{1}, "f", 0, "c");
  s.add(object_id{3}, "c 'x'.m", 0, "d"); // shipped from another node: no actor id
  s.add(object_id{4}, "c 'y'.m", 0, "e");
  uint64_t last = 0;
  CHECK(texts(s.query({}, last))
        == std::vector<std::string>{"f:a", "c 'x'.m:b", "f:c", "c 'x'.m:d", "c 'y'.m:e"});
  CHECK(last == 5);
  log_query task;
  task.task = object_id{1};
  CHECK(texts(s.query(task, last)) == std::vector<std::string>{"f:a", "f:c"});
  CHECK(s.lines_of(object_id{1}) == std::vector<std::string>{"a", "c"});
  log_query actor;
  actor.actor = 7;
  actor.actor_prefix = "c 'x'.";
  CHECK(texts(s.query(actor, last)) == std::vector<std::string>{"c 'x'.m:b", "c 'x'.m:d"});
  log_query after;
  after.after = 3;
  CHECK(texts(s.query(after, last)) == std::vector<std::string>{"c 'x'.m:d", "c 'y'.m:e"});
  log_query tail;
  tail.tail = 2;
  CHECK(texts(s.query(tail, last)) == std::vector<std::string>{"c 'x'.m:d", "c 'y'.m:e"});
  CHECK(last == 5);
  CHECK(s.has(object_id{4}));
  CHECK_FALSE(s.has(object_id{9}));
}

TEST_CASE("a search keeps the lines that contain its text, or all of a task whose name does") {
  log_store s;
  s.add(object_id{1}, "f", 0, "disk is full");
  s.add(object_id{2}, "g", 0, "all good");
  s.add(object_id{1}, "f", 0, "retrying");
  s.add(object_id{3}, "disk_check", 0, "ok");
  s.add(object_id{2}, "g", 0, "the disk is fine");
  uint64_t last = 0;
  log_query q;
  q.contains = "disk";
  CHECK(texts(s.query(q, last))
        == std::vector<std::string>{"f:disk is full", "disk_check:ok", "g:the disk is fine"});
  q.tail = 1;
  CHECK(texts(s.query(q, last)) == std::vector<std::string>{"g:the disk is fine"});
  log_query none;
  none.contains = "no line says this";
  CHECK(s.query(none, last).empty());
  log_query in_task;
  in_task.task = object_id{1};
  in_task.contains = "retry";
  CHECK(texts(s.query(in_task, last)) == std::vector<std::string>{"f:retrying"});
}

TEST_CASE("an answer cut at limit goes on from its last line") {
  log_store s;
  for (int i = 0; i < 10; ++i)
    s.add(object_id{uint64_t(1 + i % 3)}, "f", 0, std::to_string(i));
  log_query q;
  q.limit = 4;
  uint64_t last = 0;
  std::vector<std::string> seen;
  for (int round = 0; round < 5; ++round) {
    auto got = s.query(q, last);
    for (auto& e : got)
      seen.push_back(e.line);
    q.after = last;
  }
  CHECK(seen == std::vector<std::string>{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"});
  log_query tail;
  tail.tail = 100;
  tail.limit = 3; // a tail longer than the limit gives the last `limit`
  std::vector<std::string> lines;
  for (auto& e : s.query(tail, last))
    lines.push_back(e.line);
  CHECK(lines == std::vector<std::string>{"7", "8", "9"});
  CHECK(last == 10);
}

TEST_CASE("the bounds: lines per task and tasks kept") {
  log_store s;
  for (size_t i = 0; i < log_store::max_lines_per_task + 5; ++i)
    s.add(object_id{1}, "f", 0, "x");
  CHECK(s.lines_of(object_id{1}).size() == log_store::max_lines_per_task);
  for (uint64_t id = 2; id <= log_store::max_tasks + 1; ++id)
    s.add(object_id{id}, "g", 0, "y");
  CHECK_FALSE(s.has(object_id{1})); // the oldest task went first
  CHECK(s.has(object_id{2}));
  s.clear();
  uint64_t last = 0;
  CHECK(s.query({}, last).empty());
}
