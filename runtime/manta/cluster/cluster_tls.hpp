#pragma once

#include <openssl/ssl.h>

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
/// context lives in memory only (no key on disk). CAF's OpenSSL sessions
/// take it through `cluster_ssl_context` (openssl_patch.cpp).
namespace manta::detail {

/// Builds this process's identity from `token` and makes it the one every
/// TLS session of the process uses (replacing an earlier one). Returns an
/// error text, or "" on success. An empty token is an error.
std::string install_token_identity(const std::string& token);

/// Forgets the identity (nothing changes for sessions already open).
void clear_token_identity() noexcept;

/// A new reference to the context of the installed identity (the caller
/// frees it with SSL_CTX_free), or nullptr when none is installed. TLS 1.3
/// only; both ends must present a certificate the cluster's CA signed.
SSL_CTX* cluster_ssl_context();

/// A fresh context (owned by the caller) with the installed identity and
/// the same checks, for connections of Manta's own that must not share
/// settings with CAF's (the raw data path sets its own modes); nullptr
/// when none is installed.
SSL_CTX* new_cluster_ssl_context();

/// The first 16 hex digits of the SHA-256 of the CA's public key: the same
/// on every process of a cluster, different between clusters (for logs and
/// errors; it reveals nothing about the token).
std::string cluster_ca_fingerprint();

} // namespace manta::detail
