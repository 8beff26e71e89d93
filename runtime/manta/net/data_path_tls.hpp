#pragma once

#include "manta/init.hpp"

#include <boost/asio/ssl/context.hpp>

#include <openssl/ssl.h>

#include <memory>
#include <string>

namespace caf {
class actor_system;
} // namespace caf

/// TLS for the raw data path (object_transfer.hpp, object_fetch.hpp): the
/// same identity as the cluster's CAF connections (transport.hpp; made from
/// the token by default, cluster_tls.hpp, or the files of a cluster's own
/// CA), so a TLS cluster's object bytes are encrypted too and only a peer
/// holding a certificate the cluster's CA signed gets to send its first
/// request.
namespace manta::detail {

class token_identity;

/// One OpenSSL context for both ends of data path connections: TLS 1.3
/// only, this process's certificate and key, and the CA that every peer's
/// certificate must verify against (both ends ask for the other's).
class data_path_tls {
public:
  /// Loads the three files of `tls` (which must be enabled); on failure,
  /// null with `error` naming the file and OpenSSL's reason.
  static std::shared_ptr<data_path_tls> make(const tls_options& tls, std::string& error);

  /// The identity `id` made from the cluster token (cluster_tls.hpp), with
  /// the data path's settings; null if OpenSSL fails.
  static std::shared_ptr<data_path_tls> from_identity(const token_identity& id);

  /// The data path TLS of a process whose cluster connections use TLS (the
  /// identity made from the token, or the files CAF's OpenSSL module was
  /// given), null for a plain one; throws manta::error if the files do not
  /// load.
  static std::shared_ptr<data_path_tls> of(const caf::actor_system& sys);

  boost::asio::ssl::context& context() noexcept { return ctx_; }

private:
  data_path_tls();
  explicit data_path_tls(SSL_CTX* native);

  /// The data path's own modes and protocol limits on `ctx_`.
  void configure();

  boost::asio::ssl::context ctx_;
};

} // namespace manta::detail
