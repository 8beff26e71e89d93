#include "tools/http_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace manta::tools {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;

http_result http_get(const std::string& address, const std::string& target, int timeout_s,
                     const std::string& token) {
  http_result out;
  std::string addr = address;
  if (addr.rfind("http://", 0) == 0)
    addr = addr.substr(7);
  while (!addr.empty() && addr.back() == '/')
    addr.pop_back();
  auto colon = addr.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == addr.size()) {
    out.error = "address '" + address + "' is not HOST:PORT";
    return out;
  }
  try {
    boost::asio::io_context io;
    tcp::resolver resolver{io};
    beast::tcp_stream stream{io};
    stream.expires_after(std::chrono::seconds(timeout_s));
    stream.connect(resolver.resolve(addr.substr(0, colon), addr.substr(colon + 1)));
    http::request<http::empty_body> req{http::verb::get, target, 11};
    req.set(http::field::host, addr);
    req.set(http::field::user_agent, "manta-cli");
    if (!token.empty())
      req.set(http::field::authorization, "Bearer " + token);
    http::write(stream, req);
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(1ull << 30); // timelines of big histories are large
    http::read(stream, buffer, parser);
    out.status = parser.get().result_int();
    out.body = std::move(parser.get().body());
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  } catch (const std::exception& e) {
    out.error = "cannot GET http://" + addr + target + ": " + e.what();
  }
  return out;
}

} // namespace manta::tools
