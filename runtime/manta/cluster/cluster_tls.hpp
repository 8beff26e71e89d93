#pragma once

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include <openssl/ssl.h>

#include <chrono>
#include <memory>
#include <string>

/// The cluster's TLS identity made from its token, so that every cluster is
/// TLS by default with nothing to hand out but the token the head already
/// writes (see "Authentication" in docs/reliability.md).
///
/// Why: CAF 0.17 parses a peer's bytes (BASP headers, then messages, system
/// messages such as an exit included) before Manta sees any of them, so a
/// token inside Manta's messages cannot stop a peer that never had it. TLS
/// with mutual certificate checks can: nothing a peer sends reaches CAF
/// before its certificate has been verified.
///
/// How: the CA's Ed25519 private key is derived from the token
/// (HMAC-SHA256(token, label)), so every process that holds the token
/// builds the same CA on its own, and a process without it can neither sign
/// a certificate the CA accepts nor read anything. Each process makes a
/// fresh Ed25519 key and a certificate for it signed by that CA; the SSL
/// context lives in memory only (no key on disk). The identity belongs to
/// the CAF configuration of the actor system whose sessions present it
/// (`tls_config`, made by `make_caf_config`, owned by the runtime or by the
/// tool that made the system): CAF's OpenSSL sessions find it through
/// their system (`token_identity_of`, openssl_patch.cpp), so two systems
/// of one process never share or replace each other's.
namespace manta::detail {

/// A process's certificate and key, made from the cluster token, and the
/// CA every peer's certificate must chain to. Immutable once made.
class token_identity {
public:
  /// Builds an identity from `token`: null with `error` saying why when
  /// the token is empty or OpenSSL fails.
  static std::shared_ptr<const token_identity> make(const std::string& token, std::string& error);

  ~token_identity();
  token_identity(const token_identity&) = delete;
  token_identity& operator=(const token_identity&) = delete;

  /// A new reference to the context CAF's sessions share (the caller frees
  /// it with SSL_CTX_free). TLS 1.3 only; both ends must present a
  /// certificate the cluster's CA signed.
  SSL_CTX* shared_context() const noexcept;

  /// A fresh context (owned by the caller) with this identity and the same
  /// checks, for connections of Manta's own that must not share settings
  /// with CAF's (the raw data path sets its own modes); null if OpenSSL
  /// fails.
  SSL_CTX* new_context() const;

  /// The first 16 hex digits of the SHA-256 of the CA's public key: the
  /// same on every process of a cluster, different between clusters (for
  /// logs and errors; it reveals nothing about the token).
  const std::string& fingerprint() const noexcept { return fingerprint_; }

private:
  token_identity() = default;

  X509* ca_ = nullptr;        // the cluster's CA certificate
  X509* node_ = nullptr;      // this process's certificate
  EVP_PKEY* key_ = nullptr;   // this process's key
  SSL_CTX* shared_ = nullptr; // the context CAF's sessions share
  std::string fingerprint_;
};

/// CAF's configuration with the token identity its actor system's TLS
/// sessions present (null: plain TCP, or CAF's own files) and the time its
/// accepted sessions get for their handshake. `make_caf_config` makes every
/// configuration this type, and `configure_tls` sets both.
class tls_config : public caf::actor_system_config {
public:
  /// The identity the system's sessions present, null without one.
  std::shared_ptr<const token_identity> identity;
  /// How long a connection this system accepts may take to finish its
  /// handshake before it is closed (handshake_guard.hpp): the cluster's
  /// connection timeout, at least `cluster::connect_timeout`. Kept with the
  /// configuration, as the identity is, so that another actor system of
  /// the process (a later runtime, a tool's) does not change this one's.
  std::chrono::milliseconds handshake_timeout{default_handshake_timeout};

  /// The handshake time of a configuration `configure_tls` did not set.
  static constexpr std::chrono::milliseconds default_handshake_timeout{4000};
};

/// The identity `sys`'s sessions present, or null (plain, CAF's files, or a
/// configuration `make_caf_config` did not make).
const token_identity* token_identity_of(const caf::actor_system& sys) noexcept;

/// The time `sys`'s accepted sessions get for their handshake (the
/// default for a configuration `make_caf_config` did not make).
std::chrono::milliseconds handshake_timeout_of(const caf::actor_system& sys) noexcept;

} // namespace manta::detail
