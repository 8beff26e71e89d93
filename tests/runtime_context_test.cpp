// manta::get_runtime_context(): job, task, actor and node ids, namespace,
// assigned resources and GPU ids of the running code; GPUs leased by index
// (fractions packed onto one GPU, a whole GPU only where one is wholly
// free), and CUDA_VISIBLE_DEVICES reading as the task's own GPUs on its
// thread. On one node and on a worker node of a real cluster (this binary
// is also the head and the workers: cluster_main.hpp).

#include "tests/cluster_main.hpp"

#include <manta/manta.hpp>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <map>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {

/// What a task or actor call saw of its context.
struct seen {
  std::string task_id;
  std::string actor_id;
  int node_id = -1;
  std::string node_name;
  std::string ns;
  std::map<std::string, double> resources;
  std::vector<int> gpu_ids;
  std::string cuda_visible; ///< getenv on the task's thread; "<unset>" if none
  bool restarted = false;
};

seen look_now() {
  auto ctx = manta::get_runtime_context();
  const char* env = std::getenv("CUDA_VISIBLE_DEVICES");
  return seen{ctx.get_task_id(),
              ctx.get_actor_id(),
              static_cast<int>(ctx.get_node_id()),
              ctx.get_node_name(),
              ctx.get_namespace(),
              ctx.get_assigned_resources(),
              ctx.get_gpu_ids(),
              env != nullptr ? env : "<unset>",
              ctx.was_current_actor_reconstructed()};
}

seen look() {
  return look_now();
}

std::atomic<int> g_holding{0};
std::atomic<bool> g_release{false};

/// Looks, then holds its resources until released (or 10 s pass).
seen look_and_hold() {
  auto s = look_now();
  ++g_holding;
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!g_release && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(1ms);
  --g_holding;
  return s;
}

MANTA_REMOTE(look, look_and_hold);

class probe {
public:
  seen where() { return look_now(); }
};

MANTA_ACTOR(probe, &probe::where);

/// Waits until `n` tasks hold, or fails after 10 s.
void wait_holding(int n) {
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (g_holding < n && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(1ms);
  REQUIRE(g_holding == n);
}

struct local_runtime {
  explicit local_runtime(double gpus) {
    g_release = false;
    manta::init_options o;
    o.num_cpus = 4;
    if (gpus > 0)
      o.resources = {{"GPU", gpus}};
    manta::init(o);
  }
  ~local_runtime() {
    g_release = true;
    manta::shutdown();
  }
};

std::string id_of(const manta::object_ref<seen>& r) {
  return manta::to_string(r.id());
}

} // namespace

TEST_CASE("the driver's own thread: no task, no actor, node 0, the job from MANTA_JOB_ID") {
  CHECK_THROWS_AS(manta::get_runtime_context(), manta::not_initialized_error);
  local_runtime rt{0};
  ::unsetenv("MANTA_JOB_ID");
  auto ctx = manta::get_runtime_context();
  CHECK(ctx.get_job_id().empty());
  CHECK(ctx.get_task_id().empty());
  CHECK(ctx.get_actor_id().empty());
  CHECK(ctx.get_node_id() == manta::current_node());
  CHECK(ctx.get_node_name().find("node-0") == 0);
  CHECK(ctx.get_namespace() == "default");
  CHECK(ctx.get_assigned_resources().empty());
  CHECK(ctx.get_gpu_ids().empty());
  ::setenv("MANTA_JOB_ID", "job-0042", 1); // what `manta job submit` sets
  CHECK(manta::get_runtime_context().get_job_id() == "job-0042");
  ::unsetenv("MANTA_JOB_ID");
}

TEST_CASE("a task sees its own id and resources") {
  local_runtime rt{0};
  auto r = manta::task(look).num_cpus(2).remote();
  auto s = manta::get(r, 10s);
  CHECK(s.task_id == id_of(r));
  CHECK(s.actor_id.empty());
  CHECK(s.node_id == 0);
  CHECK(s.resources == std::map<std::string, double>{{"CPU", 2}});
  CHECK(s.gpu_ids.empty());
  auto r2 = manta::task(look).remote();
  CHECK(manta::get(r2, 10s).task_id == id_of(r2));
  CHECK(id_of(r2) != id_of(r));
}

TEST_CASE("GPU tasks get distinct GPUs by index and CUDA_VISIBLE_DEVICES reads as theirs") {
  ::setenv("CUDA_VISIBLE_DEVICES", "0,1,2,3", 1); // the process's own value
  local_runtime rt{2};
  g_holding = 0;
  auto a = manta::task(look_and_hold).resources({{"GPU", 1}}).remote();
  auto b = manta::task(look_and_hold).resources({{"GPU", 1}}).remote();
  wait_holding(2); // both run at once, each on its own GPU
  auto plain = manta::get(manta::task(look).remote(), 10s);
  CHECK(plain.gpu_ids.empty());
  CHECK(plain.cuda_visible == "0,1,2,3"); // a task without GPUs: the process's value
  CHECK(std::string{std::getenv("CUDA_VISIBLE_DEVICES")} == "0,1,2,3"); // the driver's too
  g_release = true;
  auto sa = manta::get(a, 10s);
  auto sb = manta::get(b, 10s);
  REQUIRE(sa.gpu_ids.size() == 1);
  REQUIRE(sb.gpu_ids.size() == 1);
  CHECK(sa.gpu_ids[0] != sb.gpu_ids[0]);
  CHECK(sa.cuda_visible == std::to_string(sa.gpu_ids[0]));
  CHECK(sb.cuda_visible == std::to_string(sb.gpu_ids[0]));
  CHECK(sa.resources.at("GPU") == 1);
  auto both = manta::get(manta::task(look).resources({{"GPU", 2}}).remote(), 10s);
  CHECK(both.gpu_ids == std::vector<int>{0, 1});
  CHECK(both.cuda_visible == "0,1");
  ::unsetenv("CUDA_VISIBLE_DEVICES");
}

TEST_CASE("fractions of a GPU are packed onto one, and a fraction waits for a GPU it fits on") {
  local_runtime rt{2};
  g_holding = 0;
  auto half1 = manta::task(look_and_hold).resources({{"GPU", 0.5}}).remote();
  auto half2 = manta::task(look_and_hold).resources({{"GPU", 0.5}}).remote();
  wait_holding(2);
  auto whole = manta::task(look_and_hold).resources({{"GPU", 1}}).remote();
  wait_holding(3); // GPU 1 is wholly free: it runs at once
  g_release = true;
  auto s1 = manta::get(half1, 10s);
  auto s2 = manta::get(half2, 10s);
  auto sw = manta::get(whole, 10s);
  CHECK(s1.gpu_ids == s2.gpu_ids); // packed
  REQUIRE(sw.gpu_ids.size() == 1);
  CHECK(sw.gpu_ids != s1.gpu_ids);

  // 0.7 + 0.7 land on different GPUs, leaving 0.3 on each: 0.6 free in
  // all, yet a 0.5 fits on neither GPU and must wait.
  g_release = false;
  g_holding = 0;
  auto big1 = manta::task(look_and_hold).resources({{"GPU", 0.7}}).remote();
  auto big2 = manta::task(look_and_hold).resources({{"GPU", 0.7}}).remote();
  wait_holding(2);
  auto small = manta::task(look).resources({{"GPU", 0.5}}).remote();
  CHECK_FALSE(manta::wait(std::vector{small}, 1, 300ms).ready.size() == 1);
  g_release = true;
  CHECK(manta::get(big1, 10s).gpu_ids != manta::get(big2, 10s).gpu_ids);
  CHECK(manta::get(small, 10s).gpu_ids.size() == 1);
}

TEST_CASE("an actor's methods see its id, its resources and the GPUs it holds for its life") {
  local_runtime rt{2};
  auto p1 = manta::actor<probe>().resources({{"GPU", 1}}).remote();
  auto p2 = manta::actor<probe>().resources({{"GPU", 1}}).remote();
  auto c1 = p1.call(&probe::where).remote();
  auto a = manta::get(c1, 10s);
  auto a2 = manta::get(p1.call(&probe::where).remote(), 10s);
  auto b = manta::get(p2.call(&probe::where).remote(), 10s);
  CHECK(a.task_id == id_of(c1));
  CHECK(!a.actor_id.empty());
  CHECK(a.actor_id == a2.actor_id);
  CHECK(a.actor_id != b.actor_id);
  CHECK(a.resources == std::map<std::string, double>{{"CPU", 0}, {"GPU", 1}});
  REQUIRE(a.gpu_ids.size() == 1);
  REQUIRE(b.gpu_ids.size() == 1);
  CHECK(a.gpu_ids == a2.gpu_ids);
  CHECK(a.gpu_ids != b.gpu_ids);
  CHECK(a.cuda_visible == std::to_string(a.gpu_ids[0]));
  CHECK_FALSE(a.restarted);
  // Both GPUs are held by the actors: a GPU task waits until one dies,
  // then gets the GPU it held.
  auto t = manta::task(look).resources({{"GPU", 1}}).remote();
  CHECK(manta::wait(std::vector{t}, 1, 300ms).ready.empty());
  manta::kill(p1);
  CHECK(manta::get(t, 10s).gpu_ids == a.gpu_ids);
}

TEST_CASE("on a worker node: its node id, and GPUs of that node") {
  manta::local_cluster c;
  c.add_worker(1, "GPU:2");
  c.join(/*local_cpus=*/0);
  auto r = manta::task(look).resources({{"GPU", 2}}).remote();
  auto s = manta::get(r, 20s);
  CHECK(s.node_id != static_cast<int>(manta::current_node()));
  CHECK(s.node_name.find("node-" + std::to_string(s.node_id)) == 0);
  CHECK(s.task_id == id_of(r));
  CHECK(s.gpu_ids == std::vector<int>{0, 1});
  CHECK(s.cuda_visible == "0,1");
  auto p = manta::actor<probe>().num_cpus(1).resources({{"GPU", 1}}).remote();
  auto x = manta::get(p.call(&probe::where).remote(), 20s);
  auto y = manta::get(p.call(&probe::where).remote(), 20s);
  CHECK(x.node_id == s.node_id);
  CHECK(!x.actor_id.empty());
  CHECK(x.actor_id == y.actor_id);
  REQUIRE(x.gpu_ids.size() == 1);
  CHECK(x.cuda_visible == std::to_string(x.gpu_ids[0]));
}

int main(int argc, char** argv) {
  return manta_test::cluster_test_main(argc, argv);
}
