#pragma once
// One direction of a connection: a queue of chunks stamped with the time they may move on,
// the pacing of their exit, and an ordered list of stages (the toxics and holds that apply
// now). No sockets and no timers: the caller passes the time in, so a lane is tested alone.

#include "quecsim/core/clock.hpp"
#include "quecsim/net/errors.hpp"
#include "quecsim/net/toxic.hpp"

#include <boost/system/error_code.hpp>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <vector>

namespace quecsim::net {

/// A piece of a stream on its way: bytes, or an end marker behind the bytes before it.
struct chunk {
  std::vector<char> bytes;
  std::size_t offset = 0;           ///< bytes of `bytes` already moved on
  clock::time_point due;            ///< when it may move on
  bool eof = false;                 ///< an end-of-stream marker rather than bytes
  boost::system::error_code error;  ///< with eof: why the stream ended
  bool fatal = false;               ///< with eof: the connection fails with `error` there
};

/// Where stages draw their random choices (jitter, slicer sizes) and report them: the
/// network's seeded generator, so a seed repeats a run.
class chooser {
 public:
  virtual ~chooser() = default;
  /// A random choice in [-spread, +spread].
  virtual std::int64_t draw(std::int64_t spread) = 0;
  /// Reports the choice a toxic made (a latency in nanoseconds, a slicer piece's size).
  virtual void chose(toxic_type type, std::int64_t value) = 0;
};

/// Bytes entering a lane on their way through its stages.
struct passage {
  std::vector<chunk> pieces;  ///< one chunk, or the pieces a slicer cut it into
  /// A limit was reached: the stream ends behind the pieces (reset or orderly).
  bool ended = false;
  bool reset = false;       ///< with ended: the end is a reset
  std::uint64_t limit = 0;  ///< with ended: the limit's byte count, for the note
};

/// What a lane needs from outside to shape: the clock's scale and the random choices.
struct lane_env {
  const quecsim::clock& clk;
  chooser& choices;
};

/// One step bytes pass through in a lane while a fault applies. Stages that shape change
/// bytes as they enter (cut, delay, split); the others act where bytes leave (a rate, a
/// hold). A stage is added when its fault applies to the connection and removed after.
class stage {
 public:
  virtual ~stage() = default;
  /// Where it sits in a lane: lower ranks see the bytes first (limits, latency, slicers).
  virtual int rank() const = 0;
  /// Whether it changes bytes as they enter (`enter` is called only then).
  virtual bool shapes() const { return false; }
  /// Passes bytes entering the lane at `now`.
  virtual void enter(passage& p, const lane_env& env) { (void)p, (void)env; }
  /// Whether nothing may leave the lane while it is there.
  virtual bool holds() const { return false; }
  /// The highest exit rate it allows, bytes per simulated second (0: no limit of its own).
  virtual std::uint64_t rate() const { return 0; }
};

/// limit_data: the stream ends once `bytes` have passed; bytes past it never pass.
class limit_stage final : public stage {
 public:
  limit_stage(std::uint64_t bytes, bool reset) : bytes_(bytes), reset_(reset) {}
  int rank() const override { return 0; }
  bool shapes() const override { return true; }
  void enter(passage& p, const lane_env& env) override;
  /// Bytes counted so far.
  std::uint64_t passed() const { return passed_; }

 private:
  std::uint64_t bytes_;
  bool reset_;
  std::uint64_t passed_ = 0;
};

/// latency: every chunk waits `latency` (plus or minus a random `jitter`) more.
class latency_stage final : public stage {
 public:
  latency_stage(clock::duration latency, clock::duration jitter)
      : latency_(latency), jitter_(jitter) {}
  int rank() const override { return 1; }
  bool shapes() const override { return true; }
  void enter(passage& p, const lane_env& env) override;

 private:
  clock::duration latency_;
  clock::duration jitter_;
};

/// slicer: chunks cut into pieces of about `average` bytes, each `delay` after the last.
class slicer_stage final : public stage {
 public:
  slicer_stage(std::size_t average, std::size_t variation, clock::duration delay)
      : average_(average), variation_(variation), delay_(delay) {}
  int rank() const override { return 2; }
  bool shapes() const override { return true; }
  void enter(passage& p, const lane_env& env) override;

 private:
  std::size_t average_;
  std::size_t variation_;
  clock::duration delay_;
  clock::time_point last_due_{};  ///< when the last piece was due
};

/// bandwidth: bytes leave at most at `rate` bytes per simulated second.
class rate_stage final : public stage {
 public:
  explicit rate_stage(std::uint64_t rate) : rate_(rate) {}
  int rank() const override { return 3; }
  std::uint64_t rate() const override { return rate_; }

 private:
  std::uint64_t rate_;
};

/// timeout, blackhole: nothing leaves while it is there.
class hold_stage final : public stage {
 public:
  int rank() const override { return 4; }
  bool holds() const override { return true; }
};

/// The stage that acts for `t` in a lane (the timeout's reset timer is the connection's).
std::unique_ptr<stage> make_stage(const toxic& t);

/// One direction of a connection: bytes enter (through the stages that shape), wait until
/// due, and leave paced by the lowest of the link's and the stages' rates, unless a stage
/// holds them. An unshaped lane queues a chunk with one test and no per-byte work.
class lane {
 public:
  /// Names a stage in the lane (a toxic's id; the network's blackhole has its own).
  using stage_id = std::uint64_t;

  /// `dir` is upstream or downstream: the error an orderly limit ends the stream with
  /// differs (broken_pipe to the writer, eof to the reader).
  lane(stream dir, lane_env env) : dir_(dir), env_(env) {}

  /// What entering bytes did.
  struct entered {
    std::size_t queued = 0;   ///< bytes queued (fewer than given when a limit ended it)
    bool ended = false;       ///< a limit ended the stream: an end marker is queued
    bool reset = false;       ///< with ended: as a reset
    std::uint64_t limit = 0;  ///< with ended: the limit
  };

  /// Takes `n` bytes due at `due` (their arrival plus the link's one-way delay).
  entered push(const char* data, std::size_t n, clock::time_point due);
  /// Queues an end of stream (a FIN, an injected EOF) behind the bytes before it.
  void push_end(boost::system::error_code why, clock::time_point due, bool fatal = false);

  /// Whether no chunk waits.
  bool empty() const { return queue_.empty(); }
  /// Bytes waiting.
  std::size_t bytes() const { return bytes_; }
  /// Whether a stage holds every byte.
  bool held() const { return holds_ > 0; }
  /// Whether a stage changes bytes as they enter.
  bool shaping() const { return shaping_; }
  /// The chunk that leaves next (only when not empty).
  const chunk& front() const { return queue_.front(); }
  /// When the front may leave: its due time or the pacing, whichever is later.
  clock::time_point ready_at() const {
    return queue_.front().due > next_allowed_ ? queue_.front().due : next_allowed_;
  }
  /// The most bytes of the front that may leave at once given the link's rate (0: none).
  std::size_t slice(std::uint64_t link_rate) const;
  /// Moves `n` bytes of the front on at `now`; the next wait as long as they take at the
  /// rate (the lower of `link_rate` and the stages'; 0 is unlimited).
  void consume(std::size_t n, clock::time_point now, std::uint64_t link_rate);
  /// Copies up to `max` bytes of the front (bytes, not an end) into `out` and consumes them.
  std::size_t take(char* out, std::size_t max, clock::time_point now, std::uint64_t link_rate);
  /// Drops the front chunk (an end marker once acted on).
  void pop() { queue_.pop_front(); }
  /// Drops everything waiting.
  void clear();

  /// Adds a stage under `id`, in rank order (after stages of the same rank).
  void add(stage_id id, std::unique_ptr<stage> s);
  /// Removes the stages of `id`; false when there were none.
  bool remove(stage_id id);
  /// Whether a stage of `id` is there.
  bool has(stage_id id) const;
  /// Stages in the lane now.
  std::size_t stages() const { return stages_.size(); }
  /// The lowest rate of the link's and the stages' (0: unlimited).
  std::uint64_t rate(std::uint64_t link_rate) const;

 private:
  struct entry {
    stage_id id;
    std::unique_ptr<stage> s;
  };
  void refresh();  ///< the summary the hot path reads
  entered shape(chunk c);

  stream dir_;
  lane_env env_;
  std::deque<chunk> queue_;
  std::size_t bytes_ = 0;
  clock::time_point next_allowed_{};
  std::vector<entry> stages_;
  // Summary of the stages, so an unshaped lane pays one test.
  bool shaping_ = false;
  int holds_ = 0;
  std::uint64_t rate_ = 0;
};

}  // namespace quecsim::net
