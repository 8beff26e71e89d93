#pragma once

#include "manta/init.hpp"

#include <boost/asio/ssl/context.hpp>

#include <memory>
#include <string>

namespace caf {
class actor_system;
} // namespace caf

/// TLS for the raw data path (object_transfer.hpp, object_fetch.hpp): the
/// same certificate, key and CA as the cluster's CAF connections
/// (transport.hpp), so a TLS cluster's object bytes are encrypted too and
/// only a peer holding a certificate the cluster's CA signed gets to send
/// its first request.
namespace manta::detail {

/// One OpenSSL context for both ends of data path connections: TLS 1.3
/// only, this process's certificate and key, and the CA that every peer's
/// certificate must verify against (both ends ask for the other's).
class data_path_tls {
public:
  /// Loads the three files of `tls` (which must be enabled); on failure,
  /// null with `error` naming the file and OpenSSL's reason.
  static std::shared_ptr<data_path_tls> make(const tls_options& tls, std::string& error);

  /// The data path TLS of a process whose cluster connections use TLS (the
  /// files CAF's OpenSSL module was given), null for a plain one; throws
  /// manta::error if the files do not load.
  static std::shared_ptr<data_path_tls> of(const caf::actor_system& sys);

  boost::asio::ssl::context& context() noexcept {
    return ctx_;
  }

private:
  data_path_tls();

  boost::asio::ssl::context ctx_;
};

} // namespace manta::detail
