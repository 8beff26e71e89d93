#include "manta/cluster/node_address.hpp"

#include "manta/observe/log_sink.hpp"
#include "manta/errors.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <atomic>
#include <cstdio>

namespace manta::detail {

namespace asio = boost::asio;

void check_node_ip(std::string_view where, const std::string& ip) {
  auto bad = [&](const std::string& why) {
    return invalid_argument_error("manta: " + std::string{where} + "=" + ip + ": " + why
                                  + "; give an IP address of this machine that the other "
                                    "nodes reach it at (such as 10.0.0.5; `ip -brief "
                                    "address` lists them), or leave it unset for 127.0.0.1");
  };
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(ip == "localhost" ? default_node_ip : ip, ec);
  if (ec)
    throw bad("not an IP address (a host name is not taken: give the address itself)");
  if (addr.is_unspecified())
    throw bad("listens everywhere but tells the other nodes nothing they can connect to");
  if (addr.is_multicast())
    throw bad("a multicast address");
  // Bind a socket to it: an address of another machine (or of an interface
  // that is not up) fails here with "Cannot assign requested address".
  asio::io_context io;
  asio::ip::tcp::socket probe{io};
  probe.open(addr.is_v4() ? asio::ip::tcp::v4() : asio::ip::tcp::v6(), ec);
  if (!ec)
    probe.bind({addr, 0}, ec);
  if (ec)
    throw bad("not an address of this machine (" + ec.message() + ")");
}

bool is_loopback(const std::string& ip) {
  if (ip == "localhost")
    return true;
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(ip, ec);
  return !ec && addr.is_loopback();
}

void check_exposure(std::string_view who, const std::string& ip, const tls_options& tls,
                    bool trusted_network) {
  if (!tls.plain || is_loopback(ip))
    return;
  if (!trusted_network)
    throw invalid_argument_error(
      std::string{who} + ": refusing to listen on " + ip
      + " with --transport=plain: off loopback anyone who reaches that address reads and "
        "sends the cluster's messages unauthenticated and unencrypted; drop "
        "--transport=plain (TLS is the default), or add --trusted-network "
        "(MANTA_TRUSTED_NETWORK=1) if every host on that network is trusted");
  static std::atomic<bool> warned{false};
  if (!warned.exchange(true))
    detail::log_line(log_level::warning,
                     "%.*s: warning: listening on %s with --transport=plain (no authentication, "
                     "no encryption) because --trusted-network says every host on that network "
                     "is trusted\n",
                     static_cast<int>(who.size()), who.data(), ip.c_str());
}

} // namespace manta::detail
