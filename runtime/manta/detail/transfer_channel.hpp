#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

/// A reader's connection to one transfer server (object_transfer.hpp).
namespace manta::detail {

class data_path_tls;

/// One connection to the transfer server at host:port, plain TCP or, with
/// `tls`, TLS 1.3 with both certificates checked against the cluster's CA.
/// Every step is bounded: connecting and the handshake must finish, and a
/// read or write must move a byte, within `stall`, else it fails. Failures
/// throw std::runtime_error naming the step and the reason (the reader's
/// thread catches them and drops that holder).
class transfer_channel {
public:
  transfer_channel(const std::string& host, uint16_t port, std::shared_ptr<data_path_tls> tls,
                   std::chrono::milliseconds stall);
  ~transfer_channel();

  transfer_channel(const transfer_channel&) = delete;
  transfer_channel& operator=(const transfer_channel&) = delete;

  /// Writes [a, a + na) then [b, b + nb).
  void write(const void* a, size_t na, const void* b, size_t nb);

  /// Reads exactly `n` bytes into `out`.
  void read(void* out, size_t n);

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace manta::detail
