#include "manta/dashboard/dashboard_http.hpp"

#include "manta/observe/json.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>

#include <openssl/crypto.h>

#include <algorithm>
#include <cctype>

namespace manta::actors {

namespace {

int hex_digit(char c) {
  return c >= '0' && c <= '9'   ? c - '0'
         : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                : -1;
}

std::string decode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && hex_digit(s[i + 1]) >= 0
               && hex_digit(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_digit(s[i + 1]) * 16 + hex_digit(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::string lower(std::string_view s) {
  std::string out{s};
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

/// In time independent of where they differ (OpenSSL's CRYPTO_memcmp).
bool same_token(std::string_view given, const std::string& token) {
  return !token.empty() && given.size() == token.size()
         && CRYPTO_memcmp(given.data(), token.data(), token.size()) == 0;
}

/// "[::1]" and "::1" -> "::1"; whether `host` is an IP address literal.
bool is_ip_literal(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  boost::system::error_code ec;
  boost::asio::ip::make_address(std::string{host}, ec);
  return !ec;
}

/// The value of cookie `name` in a Cookie header ("a=1; manta_token=x").
std::string_view cookie_value(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    auto semi = header.find(';');
    auto item = header.substr(0, semi);
    header = semi == std::string_view::npos ? std::string_view{} : header.substr(semi + 1);
    while (!item.empty() && item.front() == ' ')
      item.remove_prefix(1);
    if (item.size() > name.size() && item.substr(0, name.size()) == name
        && item[name.size()] == '=')
      return item.substr(name.size() + 1);
  }
  return {};
}

bool authorized(const http_request& req, const dashboard_access& access) {
  if (!access.needs_token())
    return true;
  auto auth = req[http::field::authorization];
  constexpr std::string_view bearer = "Bearer ";
  if (auth.size() > bearer.size() && auth.substr(0, bearer.size()) == bearer
      && same_token({auth.data() + bearer.size(), auth.size() - bearer.size()}, access.token))
    return true;
  auto cookies = req[http::field::cookie];
  return same_token(cookie_value({cookies.data(), cookies.size()}, token_cookie), access.token);
}

http_reply login_page(int status, std::string_view note) {
  std::string body =
    "<!doctype html><html><head><meta charset=\"utf-8\"><title>Manta dashboard: log "
    "in</title></head><body><h1>Manta dashboard</h1><p>This dashboard listens off loopback, "
    "so it needs the cluster token (<code>manta start --head</code> wrote it to "
    "&lt;runtime dir&gt;/head.token; scripts send <code>Authorization: Bearer "
    "TOKEN</code>).</p>";
  if (!note.empty())
    body += "<p><strong>" + std::string{note} + "</strong></p>";
  body += "<form method=\"post\" action=\"/login\"><input type=\"password\" name=\"token\" "
          "autocomplete=\"off\" size=\"70\"> <button>Log in</button></form></body></html>\n";
  return {status, "text/html; charset=utf-8", std::move(body)};
}

/// POST /login with "token=...": a cookie for the page's own requests.
http_reply login(const http_request& req, const dashboard_access& access) {
  auto form = parse_query(req.body());
  auto i = form.find("token");
  if (i == form.end() || !same_token(i->second, access.token))
    return login_page(401, "That is not the cluster token.");
  http_reply r{303, "text/plain", "logged in\n"};
  r.headers.emplace_back("Location", "/");
  // HttpOnly: no script reads it; SameSite=Strict: no other site's page
  // makes the browser send it.
  r.headers.emplace_back("Set-Cookie", std::string{token_cookie} + "=" + access.token
                                         + "; Path=/; HttpOnly; SameSite=Strict");
  return r;
}

} // namespace

std::multimap<std::string, std::string> parse_query(std::string_view query) {
  std::multimap<std::string, std::string> out;
  while (!query.empty()) {
    auto amp = query.find('&');
    auto item = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (item.empty())
      continue;
    auto eq = item.find('=');
    if (eq == std::string_view::npos)
      out.emplace(decode(item), "");
    else
      out.emplace(decode(item.substr(0, eq)), decode(item.substr(eq + 1)));
  }
  return out;
}

bool dashboard_access::is_loopback(std::string_view host) {
  return host == "127.0.0.1" || host == "::1" || host == "localhost";
}

bool dashboard_access::host_allowed(std::string_view host_header) const {
  auto h = lower(host_header);
  // Split off the port: "name:port", "[v6]:port", or no port (80).
  std::string name = h;
  std::string port_text;
  if (auto close = h.rfind(']'); !h.empty() && h.front() == '[') {
    if (close == std::string::npos)
      return false;
    name = h.substr(0, close + 1);
    if (close + 1 < h.size()) {
      if (h[close + 1] != ':')
        return false;
      port_text = h.substr(close + 2);
    }
  } else if (auto colon = h.find(':'); colon != std::string::npos) {
    name = h.substr(0, colon);
    port_text = h.substr(colon + 1);
  }
  auto want = std::to_string(port);
  if (port_text.empty() ? port != 80 : port_text != want)
    return false;
  auto bound = lower(host);
  auto bound_name = bound.find(':') != std::string::npos ? "[" + bound + "]" : bound;
  if (name == bound_name || name == "localhost" || name == "127.0.0.1" || name == "[::1]")
    return true;
  // Bound to every address: any of the machine's addresses may be asked,
  // and an IP address in Host cannot be a rebinding (that needs a name).
  return (bound == "0.0.0.0" || bound == "::") && is_ip_literal(name);
}

http_reply answer_request(const http_request& req, const dashboard_access& access,
                          const dashboard_handler& answer) {
  auto host = req[http::field::host];
  if (host.empty())
    return {400, "text/plain", "the dashboard needs a Host header (HTTP/1.1)\n"};
  if (!access.host_allowed({host.data(), host.size()}))
    return {403, "text/plain",
            "the dashboard at port " + std::to_string(access.port)
              + " answers requests for its own address only (such as 127.0.0.1:"
              + std::to_string(access.port)
              + "); this one named another host, as a page that rebinds its name to this "
                "machine would. Open the dashboard by its address.\n"};
  std::string_view target{req.target().data(), req.target().size()};
  auto path = target.substr(0, target.find('?'));
  if (req.method() == http::verb::post && path == "/login" && access.needs_token())
    return login(req, access);
  if (req.method() != http::verb::get)
    return {405, "text/plain", "the dashboard is read-only: GET only\n"};
  if (!authorized(req, access)) {
    if (path == "/metrics" || path.rfind("/api/", 0) == 0) {
      http_reply r{401, "application/json",
                   detail::json::error_body(
                     "this dashboard listens off loopback and needs the cluster token: send the "
                     "header 'Authorization: Bearer TOKEN' (manta list and friends send "
                     "MANTA_TOKEN, --token or the head.token file)")};
      r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"manta\"");
      return r;
    }
    return login_page(401, "");
  }
  if (path == "/login")
    return login_page(200, "You are logged in.");
  return answer(target);
}

http_reply unreadable_request(const boost::system::error_code& what) {
  if (what == http::error::header_limit)
    return {431, "text/plain",
            "the request's headers exceed the dashboard's limit of "
              + std::to_string(max_header_bytes) + " bytes\n"};
  if (what == http::error::body_limit)
    return {413, "text/plain",
            "the request's body exceeds the dashboard's limit of " + std::to_string(max_body_bytes)
              + " bytes\n"};
  return {400, "text/plain", "the dashboard could not read this request as HTTP/1.1\n"};
}

int answer_raw(std::string_view raw, const dashboard_access& access,
               const dashboard_handler& answer, std::string* body) {
  http::request_parser<http::string_body> parser;
  parser.header_limit(max_header_bytes);
  parser.body_limit(max_body_bytes);
  parser.eager(true);
  boost::system::error_code ec;
  boost::asio::const_buffer buf{raw.data(), raw.size()};
  while (!ec && !parser.is_done() && buf.size() > 0) {
    auto used = parser.put(buf, ec);
    buf += used;
    if (ec == http::error::need_more)
      ec = {};
    if (used == 0)
      break;
  }
  // put_eof requires some bytes taken (a Beast precondition the fuzzer
  // found): fewer than a start line is a partial message too.
  if (!ec && !parser.is_done()) {
    if (parser.got_some())
      parser.put_eof(ec);
    else
      ec = http::error::partial_message;
  }
  http_reply r = ec ? unreadable_request(ec) : answer_request(parser.get(), access, answer);
  if (body != nullptr)
    *body = std::move(r.body);
  return r.status;
}

} // namespace manta::actors
