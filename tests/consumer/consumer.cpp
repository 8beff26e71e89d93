// A program outside the project, built against an installed Manta (or Manta
// as a meson subproject) by tests/consumer/run.sh: it starts the runtime,
// runs a task and checks its result, and fetches the dashboard's page,
// which the library serves from its own copy (no source tree).

#include <manta/manta.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <string>

int square(int x) {
  return x * x;
}
MANTA_REMOTE(square);

namespace {

/// GET / from the node's dashboard (127.0.0.1:port), the whole reply; ""
/// if it cannot be had within 5 s.
std::string fetch_page(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    return {};
  timeval limit{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof(limit));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof(limit));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string reply;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    auto request = "GET / HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port)
                   + "\r\nConnection: close\r\n\r\n";
    if (::send(fd, request.data(), request.size(), 0) == static_cast<ssize_t>(request.size())) {
      char buf[4096];
      for (ssize_t n; (n = ::recv(fd, buf, sizeof(buf), 0)) > 0;)
        reply.append(buf, static_cast<size_t>(n));
    }
  }
  ::close(fd);
  return reply;
}

} // namespace

int main() {
  manta::init_options opts;
  opts.num_cpus = 2;
  opts.dashboard_port = 0;
  manta::init(opts);
  int result = manta::get(manta::task(square).remote(manta::task(square).remote(3)));
  auto url = manta::dashboard_url(); // http://127.0.0.1:PORT/
  auto port = std::stoi(url.substr(url.rfind(':') + 1));
  auto page = fetch_page(static_cast<uint16_t>(port));
  manta::shutdown();
  if (result != 81) {
    std::fprintf(stderr, "consumer: square(square(3)) gave %d, not 81\n", result);
    return 1;
  }
  if (page.rfind("HTTP/1.1 200", 0) != 0
      || page.find("<title>Manta dashboard</title>") == std::string::npos) {
    std::fprintf(stderr, "consumer: the dashboard at %s did not serve its page; got:\n%.300s\n",
                 url.c_str(), page.c_str());
    return 1;
  }
  std::printf("consumer: square(square(3)) = %d; dashboard page served (%zu bytes)\n", result,
              page.size());
  return 0;
}
