// The raw data path for object bytes (object_transfer.hpp): byte-exact over
// one or several connections, refused without the token, clear about what
// is missing, and unharmed by garbage or a peer that goes away.

#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
#include <manta/detail/object_transfer.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

using namespace manta::detail;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

std::shared_ptr<std::vector<char>> pattern(size_t n) {
  auto v = std::make_shared<std::vector<char>>(n);
  uint64_t x = 88172645463325252ull;
  for (auto& c : *v) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c = static_cast<char>(x);
  }
  return v;
}

struct served {
  std::shared_ptr<std::vector<char>> bytes = pattern((40u << 20) + 12345);
  transfer_server server{"127.0.0.1", "secret", [this](uint64_t id) -> std::optional<held_bytes> {
                           if (id != 7)
                             return std::nullopt;
                           return held_bytes{bytes, bytes->data(), bytes->size()};
                         }};
};

} // namespace

TEST_CASE("objects arrive byte-exact over one and several connections") {
  served s;
  for (int streams : {1, 2, 3}) {
    CAPTURE(streams);
    std::vector<char> out;
    CHECK(fetch_object("127.0.0.1", s.server.port(), "secret", 7, s.bytes->size(), out, streams)
          == "");
    CHECK(out == *s.bytes);
  }
  std::vector<char> empty;
  CHECK(fetch_object("127.0.0.1", s.server.port(), "secret", 7, 0, empty) == "");
  CHECK(empty.empty());
}

TEST_CASE("a wrong token is refused; a missing object or size is named") {
  served s;
  std::vector<char> out;
  auto refused = fetch_object("127.0.0.1", s.server.port(), "guess", 7, 100, out);
  CHECK(refused.find("wrong cluster token") != std::string::npos);
  CHECK(s.server.refused() == 1);
  auto missing = fetch_object("127.0.0.1", s.server.port(), "secret", 8, 100, out);
  CHECK(missing.find("not on this node") != std::string::npos);
  auto larger = fetch_object("127.0.0.1", s.server.port(), "secret", 7, s.bytes->size() + 1, out);
  CHECK(larger.find("expected") != std::string::npos);
  auto nobody = fetch_object("127.0.0.1", 1, "secret", 7, 100, out); // nothing listens on port 1
  CHECK(nobody.find("object transfer from 127.0.0.1:1 failed") != std::string::npos);
}

TEST_CASE("garbage and peers that hang up do not hurt the server") {
  served s;
  asio::io_context io;
  {
    tcp::socket sock{io};
    sock.connect({asio::ip::make_address("127.0.0.1"), s.server.port()});
    std::string junk(64, '\x5a');
    asio::write(sock, asio::buffer(junk));
    char answer[16];
    boost::system::error_code ec;
    asio::read(sock, asio::buffer(answer), ec);
    CHECK_FALSE(ec); // an answer saying no, then the connection closes
  }
  {
    tcp::socket sock{io};
    sock.connect({asio::ip::make_address("127.0.0.1"), s.server.port()});
    uint32_t half[3] = {0x3158544d, 6, 0}; // a request cut short, then gone
    asio::write(sock, asio::buffer(half, sizeof(half)));
  }
  CHECK(s.server.refused() >= 1);
  std::vector<char> out;
  CHECK(fetch_object("127.0.0.1", s.server.port(), "secret", 7, s.bytes->size(), out, 2) == "");
  CHECK(out == *s.bytes);
}
