#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

/// The direct task lane (`MANTA_TASK_LANE=1`, off by default;
/// docs/cluster.md, "The direct task lane"): a request kind of the raw data
/// path on which a driver sends a worker the TaskSpecs of its tasks (and
/// their cancels) and the worker's pool threads write back the answers they
/// give themselves (`early_answer`), bypassing CAF's connection and its
/// I/O threads both ways. The bookkeeping stays the cluster client's and
/// the node manager's: a lane only carries their bytes.
namespace manta::detail {
class data_path_tls;
class tls_session;
} // namespace manta::detail

namespace manta::detail::task_lane {

/// "MTK1" little-endian: the first four bytes of a lane connection (the
/// data path's object requests begin with "MTX1").
constexpr uint32_t magic = 0x314b544d;
/// The most bytes one frame may carry (a spec or a result).
constexpr uint64_t max_frame = uint64_t{64} << 20;

/// What a frame is.
enum kind : uint32_t {
  /// driver -> worker, first: `id` the lane's key (announced before over
  /// CAF, naming the owner), `length` the cluster token's length, then the
  /// token.
  hello = 0,
  /// driver -> worker: a TaskSpec of `length` bytes.
  spec = 1,
  /// driver -> worker: cancel task `id`; `extra` bit 0 force, bit 1
  /// recursive.
  cancel = 2,
  /// worker -> driver: the TaskResult of task `id` (`length` bytes), then
  /// its value apart (`extra` bytes: a value of 64 KiB or more).
  result = 3,
  /// driver -> worker, once a heartbeat: is the lane moving? `id` echoed.
  ping = 4,
  /// worker -> driver: the answer to ping `id`, written by the data path.
  pong = 5,
};

/// Every frame's fixed part: as long as an object request's header, which
/// the data path server reads first.
struct frame {
  uint32_t magic;
  uint32_t kind;
  uint64_t id;
  uint64_t length;
  uint64_t extra;
};
static_assert(sizeof(frame) == 32);

/// Whether the lane is on in this process: `MANTA_TASK_LANE=1`, read once.
bool enabled() noexcept;

/// Specs this process wrote on its lanes, and answers it read on them
/// (the tests see that the lane, not the usual path, carried a task).
uint64_t specs_sent() noexcept;
uint64_t answers_read() noexcept;

/// A driver retires a TLS lane once its key sealed or opened this many
/// records (tls_records::retire_after, half the key's limit: the other
/// half is the margin for the answers, pings and cancels still to come on
/// it): `client::worn`, task_lanes.cpp `retire_lane`.
uint64_t retire_records() noexcept;
/// For tests only: retire lanes after `n` records (0: the default again),
/// so that a test sees lanes retired after a few dozen tasks.
void set_retire_records_for_tests(uint64_t n) noexcept;

/// Writes `parts` whole on the socket `fd` (blocking or not: it waits for
/// room, at most `timeout_ms` in all). False if the socket failed.
bool write_all(int fd, std::span<const std::span<const char>> parts, int timeout_ms);

// -- the worker's side -----------------------------------------------------------

/// The worker's end of one lane connection, which the threads answering
/// its tasks write on; the data path connection closes it (under the lock)
/// before it closes the socket, so nobody writes to a descriptor reused.
/// In a TLS cluster it seals records with the connection's session
/// (`tls`): once the lane said hello, nothing else writes on that
/// connection, and this lock orders its writes, so the records go out in
/// one sealing sequence.
class writer {
public:
  explicit writer(int fd, std::shared_ptr<tls_session> tls = nullptr);
  ~writer();
  /// Writes a result frame; false if the lane is closed or failed (the
  /// caller answers the usual way instead).
  bool send_result(uint64_t id, std::span<const char> message, std::span<const char> beside);
  /// Answers the driver's ping `id` (`pong`).
  bool send_pong(uint64_t id);
  void close() noexcept;

private:
  /// Writes a frame's parts under the lock, sealed in records with TLS;
  /// a failed write closes the lane.
  bool write(std::span<const std::span<const char>> parts);
  std::mutex mtx_;
  int fd_;
  std::shared_ptr<tls_session> tls_;
  std::vector<char> staging_; ///< with TLS: a small frame's parts, for one record
  bool open_ = true;
};

/// The lane connection with key `key` said hello: its writer, while open.
void attach(uint64_t key, const std::shared_ptr<writer>& w);
/// It closed.
void detach(uint64_t key) noexcept;
/// The writer of lane `key`, if it is open.
std::shared_ptr<writer> writer_of(uint64_t key);

/// A lone task a handler leaves to the connection's thread: run on it off
/// the connection's strand, once the lane's next frame is being read.
using later = std::function<void()>;
/// What the data path server hands a frame to (the node manager, which
/// hosts lane tasks under their owners): set once the node manager runs,
/// called on the connection's thread in the order the frames came. `run`:
/// where the handler may leave a task to that thread, null when the data
/// path has no thread to spare for one (a spec only).
using handler =
  std::function<void(uint64_t key, const frame& f, std::vector<char> payload, later* run)>;
void set_handler(handler h);
/// Hands a frame to the handler; false if there is none (the connection
/// closes).
bool deliver(uint64_t key, const frame& f, std::vector<char> payload, later* run = nullptr);

// -- the driver's side -----------------------------------------------------------

/// A driver's lane to one worker: a TCP connection to its data path,
/// written by the cluster client (specs, cancels), read by a thread of its
/// own (results). In a TLS cluster, the data path's TLS: the data path's
/// handshake (the worker's certificate checked against the cluster's CA,
/// and this process's by the worker), then every byte in records sealed
/// and opened as the data path's (task_lane_tls.hpp); the writes under
/// the lock, the reads on the reader's thread alone.
class client {
public:
  client();
  ~client();
  /// Connects to `host:port`, through the TLS handshake if `tls`, and
  /// says hello; "" or why not (also if it was `shut` before or while it
  /// connected: then it stays closed).
  std::string connect(const std::string& host, uint16_t port, const std::string& token,
                      uint64_t key, const std::shared_ptr<data_path_tls>& tls = nullptr);
  /// Whether it is connected and has not failed.
  bool up() const noexcept;
  bool send_spec(std::span<const char> spec);
  bool send_cancel(uint64_t id, bool force, bool recursive);
  /// Asks the worker for a `pong` (the lane's own liveness: `stalled`).
  bool send_ping();
  /// Whether nothing (an answer, a pong) was read on it for `limit` since
  /// it connected or since the last frame read.
  bool stalled(std::chrono::milliseconds limit) const noexcept;
  /// Whether its TLS key sealed or opened `retire_records()` records: the
  /// driver sends no new spec on it and opens another (a plain lane never
  /// wears).
  bool worn() const noexcept { return worn_.load(std::memory_order_relaxed); }
  /// Ends the connection as a reset would (not `shut`): its reader returns
  /// true (the client sends again what was out on it).
  void reset() noexcept;
  /// Reads result frames until the connection ends or `shut`:
  /// `on_result(id, message, beside)` for each. True if it ended without
  /// `shut` (a reset, a failed write, the worker closed it): the specs and
  /// answers in flight on it may be lost, and the caller sends again what
  /// is still out (task_lanes.cpp, `lane_down`).
  bool
  read_loop(const std::function<void(uint64_t, std::vector<char>, std::vector<char>)>& on_result);
  /// Once `read_loop` returned: "" if the connection ended (closed, shut,
  /// reset), else why the reader ended it (a TLS record that did not
  /// authenticate, a frame that is no answer).
  std::string ended_for() const;
  /// Ends the connection (the reader returns), for good: a `connect`
  /// still under way on the reader's thread gives up.
  void shut() noexcept;

private:
  friend void lose_lanes_for_tests(bool specs);
  friend size_t break_lanes_for_tests();
  bool send(const frame& f, std::span<const char> payload);
  mutable std::mutex mtx_;
  int fd_ = -1;
  /// With TLS: set before `up_`, kept until the client goes (the reader
  /// reads through it without the lock).
  std::unique_ptr<tls_session> tls_;
  std::vector<char> staging_;
  bool up_ = false;
  bool shut_ = false; ///< `shut` was called: no connection from now on
  uint64_t pings_ = 0;
  /// When a frame was last read on it (or it connected): steady clock, ns.
  std::atomic<int64_t> last_read_{0};
  /// Tests only (`lose_lanes_for_tests`): the answers it reads are lost,
  /// and the specs written on it.
  std::atomic<bool> lose_answers_{false};
  std::atomic<bool> lose_specs_{false};
  std::atomic<bool> worn_{false}; ///< `worn`
  std::string ended_for_;
};

/// For tests: every lane this process's driver has open loses from now on
/// what it carries, as a network dropping the flow would: the answers read
/// on it are counted (`answers_read`) and dropped and, if `specs`, the
/// specs written on it are not sent (the writes succeed).
void lose_lanes_for_tests(bool specs);

/// For tests: ends every lane this process's driver has open as a reset
/// would (`shutdown` of its socket, not the client's `shut`), so its reader
/// ends on its own. Returns how many.
size_t break_lanes_for_tests();

} // namespace manta::detail::task_lane
