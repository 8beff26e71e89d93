// The raw data path between two processes, plain TCP against TLS, beside
// a raw TCP stream between the same two processes: a child process serves
// one object (a transfer_server, plain or with TLS from the identity made
// from a cluster token, what a cluster uses by default), another streams
// the same bytes down a plain socket (tools/raw_stream.hpp); this process reads the object with
// fetch_object as a node does (two connections, 4 MiB chunks, into a
// buffer it reuses) and the stream with recv into the same buffer, the
// three interleaved run by run, then a plain read into fresh memory (a new
// buffer each run, as a node's first read of an object of that size lands:
// its pages mapped as the chunks come, object_fetch.cpp); prints which
// library seals the TLS records
// (record_cipher.hpp), every run, the medians, the spread and the ratios.
// Then small reads (1 MiB): each over a fresh connection
// (the reader's kept connections closed first) against one kept from the
// previous read, plain and TLS, interleaved; medians and quartiles.
//
//   data_path_benchmark [--megabytes=N] [--runs=N] [--small-reads=N]

#include <manta/cluster/cluster_tls.hpp>
#include <manta/net/data_path_tls.hpp>
#include <manta/net/fetch_loop.hpp>
#include <manta/cluster/object_fetch.hpp>
#include <manta/net/object_transfer.hpp>
#include <manta/net/record_cipher.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#if __has_include(<manta/net/connection_pool.hpp>)
#define MANTA_KEEPS_CONNECTIONS 1
#include <manta/net/connection_pool.hpp>
#endif

#include "tools/benchmark_options.hpp"
#include "tools/raw_stream.hpp"

#include <openssl/evp.h>

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

using namespace manta::detail;
using steady = std::chrono::steady_clock;

const std::string token = "benchmark-token";
constexpr uint64_t small_bytes = uint64_t{1} << 20; // object 2

char expected(size_t i) {
  return static_cast<char>(i * 31 + (i >> 12));
}

/// A child process serving object 1 (`bytes` bytes) until this process
/// closes the pipe; the port comes back through the pipe.
struct server_process {
  pid_t pid = -1;
  int to_child = -1;
  uint16_t port = 0;

  server_process(uint64_t bytes, const token_identity* tls) {
    int up[2];
    int down[2];
    if (::pipe(up) != 0 || ::pipe(down) != 0)
      std::exit(1);
    pid = ::fork();
    if (pid == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      ::close(up[0]);
      ::close(down[1]);
      // The identity the parent made came along with the fork.
      auto ctx = tls != nullptr ? data_path_tls::from_identity(*tls) : nullptr;
      auto data = std::make_shared<std::vector<char>>(bytes);
      for (size_t i = 0; i < data->size(); ++i)
        (*data)[i] = expected(i);
      transfer_server server{"127.0.0.1", token,
                             [data](uint64_t id) -> std::optional<held_bytes> {
                               if (id == 2) // the small object: its first MiB
                                 return held_bytes{data, data->data(),
                                                   std::min<uint64_t>(small_bytes, data->size()),
                                                   nullptr};
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

/// The `q` quantile (0.5: the median), interpolated.
double quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  if (v.empty())
    return 0;
  double at = q * static_cast<double>(v.size() - 1);
  auto lo = static_cast<size_t>(at);
  auto hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (at - static_cast<double>(lo));
}

double median(const std::vector<double>& v) {
  return quantile(v, 0.5);
}

/// Closes the reader's kept connections, so the next read connects again.
void forget_connections() {
#ifdef MANTA_KEEPS_CONNECTIONS
  fetch_loop::instance().pool().close_all();
#endif
}

/// Small reads: `n` rounds, each a fresh and a kept-connection read over
/// plain TCP and TLS (in that order), milliseconds per read.
void small_reads(long n, const server_process& plain, const server_process& secure,
                 const std::shared_ptr<data_path_tls>& tls) {
  std::vector<double> ms[2][2]; // [TLS][kept]
  std::vector<char> out(small_bytes);
  for (long r = -1; r < n; ++r) { // round -1: warm-up
    for (int mode = 0; mode < 2; ++mode)
      for (int kept = 0; kept < 2; ++kept) {
        auto& server = mode == 0 ? plain : secure;
        if (kept == 0)
          forget_connections();
        auto start = steady::now();
        auto why = fetch_object("127.0.0.1", server.port, token, 2, small_bytes, out, 1,
                                mode == 0 ? nullptr : tls);
        double t = std::chrono::duration<double, std::milli>(steady::now() - start).count();
        if (!why.empty() || out[4321] != expected(4321)) {
          std::fprintf(stderr, "BUG: %s\n", why.empty() ? "wrong bytes" : why.c_str());
          std::exit(1);
        }
        if (r >= 0)
          ms[mode][kept].push_back(t);
      }
  }
  std::printf("\n1 MiB reads (%ld each, ms: median [quartiles])\n", n);
  for (int mode = 0; mode < 2; ++mode) {
    auto& f = ms[mode][0];
    auto& k = ms[mode][1];
    std::printf("%-6s fresh connection %6.3f [%.3f-%.3f]   kept connection %6.3f [%.3f-%.3f]   "
                "kept/fresh %.2f\n",
                mode == 0 ? "plain" : "TLS", median(f), quantile(f, 0.25), quantile(f, 0.75),
                median(k), quantile(k, 0.25), quantile(k, 0.75), median(k) / median(f));
  }
#ifndef MANTA_KEEPS_CONNECTIONS
  std::printf("(this build keeps no connections: both columns connect afresh)\n");
#endif
}

} // namespace

int main(int argc, char** argv) {
  manta::tools::benchmark_options flags{
    "data_path_benchmark",
    "usage: data_path_benchmark [--megabytes=N] [--runs=N] [--small-reads=N]\n"
    "The raw data path between two processes, plain TCP against TLS, beside a raw TCP\n"
    "stream between the same two processes (tools/data_path_benchmark.cpp)."};
  flags.number("megabytes", 256, 1, "size of the object read")
    .number("runs", 7, 1, "interleaved runs of each transport")
    .number("only", -1, -1, "only one transport (0 plain, 1 TLS, 2 stream, 3 fresh memory)", 3)
    .number("small-reads", 100, 0, "1 MiB reads over fresh and kept connections (0: none)");
  if (auto done = flags.read(argc, argv))
    return *done;
  long megabytes = flags.number("megabytes");
  long runs = flags.number("runs");
  long only = flags.number("only");
  long small = flags.number("small-reads");
  std::string err;
  auto id = token_identity::make(token, err);
  if (!id)
    return std::fprintf(stderr, "%s\n", err.c_str()), 1;
  auto tls = data_path_tls::from_identity(*id);
  uint64_t bytes = static_cast<uint64_t>(megabytes) << 20;
  server_process plain{bytes, nullptr};
  server_process secure{bytes, id.get()};
  std::vector<char> pattern(bytes);
  for (size_t i = 0; i < pattern.size(); ++i)
    pattern[i] = expected(i);
  manta_tools::raw_stream_server stream{pattern.data(), bytes};
  std::vector<char> out(bytes); // reused: the transport, not page faults
  std::vector<double> gbs[4]; // plain, TLS, raw stream, plain into fresh memory
  // The suite both ends prefer (data_path_tls.cpp): which library seals it
  // decides much of the TLS figure (record_cipher.hpp).
  std::printf("TLS records: AES-128-GCM by %s\n", record_cipher::library(EVP_aes_128_gcm()));
  std::printf("run   plain GB/s   TLS GB/s   raw TCP stream GB/s   plain, fresh memory GB/s   (%ld "
              "MiB; the data path over two connections, the stream over one)\n",
              megabytes);
  for (long r = 0; r <= runs; ++r) {
    double rate[4] = {0, 0, 0, 0};
    for (int mode = 0; mode < 4; ++mode) {
      if (only >= 0 && mode != only)
        continue;
      double s = 0;
      std::vector<char> fresh; // mode 3's: new memory each run
      auto& into = mode == 3 ? fresh : out;
      if (mode == 2) {
        s = stream.read(out.data(), bytes);
      } else {
        auto& server = mode == 1 ? secure : plain;
        auto start = steady::now();
        auto why = fetch_object("127.0.0.1", server.port, token, 1, bytes, into, 2,
                                mode == 1 ? tls : nullptr);
        s = std::chrono::duration<double>(steady::now() - start).count();
        if (!why.empty())
          return std::fprintf(stderr, "BUG: %s\n", why.c_str()), 1;
      }
      for (size_t i : {size_t{12345}, static_cast<size_t>(bytes - 1)})
        if (into[i] != expected(i))
          return std::fprintf(stderr, "BUG: wrong bytes\n"), 1;
      rate[mode] = static_cast<double>(bytes) / s / 1e9;
    }
    if (r == 0)
      continue; // warm-up
    for (int mode = 0; mode < 4; ++mode)
      gbs[mode].push_back(rate[mode]);
    std::printf("%3ld   %10.2f   %8.2f   %19.2f   %24.2f\n", r, rate[0], rate[1], rate[2], rate[3]);
  }
  double p = median(gbs[0]);
  double t = median(gbs[1]);
  double raw = median(gbs[2]);
  double f = median(gbs[3]);
  std::printf("median %9.2f   %8.2f   %19.2f   %24.2f\n", p, t, raw, f);
  std::printf("range  %4.2f-%4.2f   %3.2f-%4.2f   %14.2f-%4.2f   %19.2f-%4.2f\n",
              quantile(gbs[0], 0), quantile(gbs[0], 1), quantile(gbs[1], 0), quantile(gbs[1], 1),
              quantile(gbs[2], 0), quantile(gbs[2], 1), quantile(gbs[3], 0), quantile(gbs[3], 1));
  std::printf("plain/raw stream %.2f   TLS/raw stream %.2f   TLS/plain %.2f   fresh memory/raw "
              "stream %.2f\n",
              p / raw, t / raw, t / p, f / raw);
  if (small > 0)
    small_reads(small, plain, secure, tls);
  return 0;
}
