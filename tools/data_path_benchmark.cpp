// The raw data path between two processes, plain TCP against TLS: a child
// process serves one object (a transfer_server, plain or with TLS from the
// identity made from a cluster token, what a cluster uses by default),
// this process reads it with fetch_object as a node does
// (two connections, 4 MiB chunks, into a buffer it reuses), the two modes
// interleaved run by run; prints every run and the medians.
//
//   data_path_benchmark [--megabytes=N] [--runs=N]

#include <manta/detail/cluster_tls.hpp>
#include <manta/detail/data_path_tls.hpp>
#include <manta/detail/object_fetch.hpp>
#include <manta/detail/object_transfer.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

using namespace manta::detail;
using steady = std::chrono::steady_clock;

const std::string token = "benchmark-token";

long flag(int argc, char** argv, std::string_view name, long fallback) {
  for (int i = 1; i < argc; ++i) {
    std::string_view a{argv[i]};
    if (a.size() > name.size() && a.substr(0, name.size()) == name && a[name.size()] == '=')
      return std::strtol(argv[i] + name.size() + 1, nullptr, 10);
  }
  return fallback;
}

/// A child process serving object 1 (`bytes` bytes) until this process
/// closes the pipe; the port comes back through the pipe.
struct server_process {
  pid_t pid = -1;
  int to_child = -1;
  uint16_t port = 0;

  server_process(uint64_t bytes, bool tls) {
    int up[2];
    int down[2];
    if (::pipe(up) != 0 || ::pipe(down) != 0)
      std::exit(1);
    pid = ::fork();
    if (pid == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      ::close(up[0]);
      ::close(down[1]);
      // The identity the parent installed came along with the fork.
      auto ctx = tls ? data_path_tls::from_token_identity() : nullptr;
      auto data = std::make_shared<std::vector<char>>(bytes);
      for (size_t i = 0; i < data->size(); ++i)
        (*data)[i] = static_cast<char>(i * 31 + (i >> 12));
      transfer_server server{"127.0.0.1", token,
                             [data](uint64_t id) -> std::optional<held_bytes> {
                               if (id != 1)
                                 return std::nullopt;
                               return held_bytes{data, data->data(), data->size(), nullptr};
                             },
                             ctx};
      uint16_t p = server.port();
      if (::write(up[1], &p, sizeof(p)) != sizeof(p))
        ::_exit(1);
      char c;
      while (::read(down[0], &c, 1) > 0) {
      }
      ::_exit(0);
    }
    ::close(up[1]);
    ::close(down[0]);
    to_child = down[1];
    if (::read(up[0], &port, sizeof(port)) != sizeof(port)) {
      std::fprintf(stderr, "the server process did not start\n");
      std::exit(1);
    }
    ::close(up[0]);
  }

  ~server_process() {
    ::close(to_child);
    ::waitpid(pid, nullptr, 0);
  }
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  auto n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

} // namespace

int main(int argc, char** argv) {
  long megabytes = flag(argc, argv, "--megabytes", 256);
  long runs = flag(argc, argv, "--runs", 7);
  long only = flag(argc, argv, "--only", -1); // 0: plain, 1: TLS (profiling)
  if (megabytes <= 0 || runs <= 0) {
    std::fprintf(stderr, "usage: data_path_benchmark [--megabytes=N] [--runs=N] (positive)\n");
    return 2;
  }
  if (auto err = install_token_identity(token); !err.empty())
    return std::fprintf(stderr, "%s\n", err.c_str()), 1;
  auto tls = data_path_tls::from_token_identity();
  uint64_t bytes = static_cast<uint64_t>(megabytes) << 20;
  server_process plain{bytes, false};
  server_process secure{bytes, true};
  std::vector<char> out(bytes); // reused: the transport, not page faults
  std::vector<double> plain_gbs;
  std::vector<double> tls_gbs;
  std::printf("run   plain GB/s   TLS GB/s   (%ld MiB, two connections)\n", megabytes);
  for (long r = 0; r <= runs; ++r) {
    double rate[2] = {0, 0};
    for (int mode = 0; mode < 2; ++mode) {
      if (only >= 0 && mode != only)
        continue;
      auto& server = mode == 0 ? plain : secure;
      auto start = steady::now();
      auto why = fetch_object("127.0.0.1", server.port, token, 1, bytes, out, 2,
                              mode == 0 ? nullptr : tls);
      double s = std::chrono::duration<double>(steady::now() - start).count();
      if (!why.empty())
        return std::fprintf(stderr, "BUG: %s\n", why.c_str()), 1;
      if (out[12345] != static_cast<char>(12345 * 31 + (12345 >> 12)))
        return std::fprintf(stderr, "BUG: wrong bytes\n"), 1;
      rate[mode] = static_cast<double>(bytes) / s / 1e9;
    }
    if (r == 0)
      continue; // warm-up
    plain_gbs.push_back(rate[0]);
    tls_gbs.push_back(rate[1]);
    std::printf("%3ld   %10.2f   %8.2f\n", r, rate[0], rate[1]);
  }
  double p = median(plain_gbs);
  double t = median(tls_gbs);
  std::printf("median %9.2f   %8.2f   TLS/plain %.2f\n", p, t, t / p);
  return 0;
}
