// One direction of a connection, alone: bytes entering, waiting until due, leaving paced,
// and the stages (toxics, holds) added and removed, with the time passed in. No sockets.

#include "quecsim/net/lane.hpp"

#include <boost/asio/error.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

using namespace quecsim;
using namespace quecsim::net;
using namespace std::chrono_literals;

namespace {

/// Random choices from a fixed script, recording what the stages chose.
struct scripted : chooser {
  std::vector<std::int64_t> draws;  ///< given in turn (0 once spent)
  std::size_t next = 0;
  std::vector<std::pair<toxic_type, std::int64_t>> chosen;
  std::int64_t draw(std::int64_t spread) override {
    const std::int64_t v = next < draws.size() ? draws[next++] : 0;
    return std::max(-spread, std::min(spread, v));
  }
  void chose(toxic_type type, std::int64_t value) override { chosen.emplace_back(type, value); }
};

/// A lane on a real-time clock (scale 1) at a fixed start time.
struct lane_rig {
  explicit lane_rig(stream dir = stream::downstream) : l(dir, lane_env{clk, choices}) {}
  lane::entered push(const std::string& s, clock::time_point due) {
    return l.push(s.data(), s.size(), due);
  }
  lane::entered push(const std::string& s) { return push(s, t0); }
  /// Takes everything that may leave at `now` (up to `max` per take), as one string.
  std::string drain(clock::time_point now, std::size_t max = 1 << 20, std::uint64_t link = 0) {
    std::string out;
    while (!l.empty() && !l.held() && !l.front().eof && l.ready_at() <= now) {
      std::string buf(max, '\0');
      buf.resize(l.take(buf.data(), max, now, link));
      out += buf;
    }
    return out;
  }
  quecsim::clock clk{1.0};
  scripted choices;
  clock::time_point t0 = clock::time_point{} + 1h;
  lane l;
};

toxic make(toxic_type type) {
  toxic t;
  t.type = type;
  return t;
}

}  // namespace

TEST_CASE("an unshaped lane passes bytes in order once due", "[net][lane]") {
  lane_rig r;
  CHECK(r.l.empty());
  CHECK(r.push("abc", r.t0 + 10ms).queued == 3);
  CHECK(r.push("def", r.t0 + 20ms).queued == 3);
  CHECK(r.l.bytes() == 6);
  CHECK(r.l.ready_at() == r.t0 + 10ms);
  CHECK(r.drain(r.t0 + 5ms).empty());
  CHECK(r.drain(r.t0 + 10ms) == "abc");
  CHECK(r.drain(r.t0 + 30ms) == "def");
  CHECK(r.l.empty());
  CHECK(r.l.bytes() == 0);
}

TEST_CASE("a lane gives a chunk out in pieces as small as the reader asks", "[net][lane]") {
  lane_rig r;
  r.push("abcdef");
  std::string buf(4, '\0');
  CHECK(r.l.take(buf.data(), 4, r.t0, 0) == 4);
  CHECK(buf == "abcd");
  CHECK(r.l.bytes() == 2);
  CHECK(r.l.take(buf.data(), 4, r.t0, 0) == 2);
  CHECK(buf.substr(0, 2) == "ef");
  CHECK(r.l.empty());
}

TEST_CASE("a lane paces its exit by the link's rate", "[net][lane]") {
  lane_rig r;
  r.push(std::string(1000, 'x'));
  // 1000 B/s: a tenth of a second's worth (100 bytes) at a time, each 100 ms after the last.
  CHECK(r.l.slice(1000) == 100);
  CHECK(r.drain(r.t0, 1 << 20, 1000).size() == 100);
  CHECK(r.l.ready_at() == r.t0 + 100ms);
  CHECK(r.drain(r.t0 + 99ms, 1 << 20, 1000).empty());
  CHECK(r.drain(r.t0 + 100ms, 1 << 20, 1000).size() == 100);
  // Unlimited: all at once.
  CHECK(r.drain(r.t0 + 200ms, 1 << 20, 0).size() == 800);
}

TEST_CASE("an end marker leaves behind the bytes before it", "[net][lane]") {
  lane_rig r;
  r.push("data", r.t0);
  r.l.push_end(boost::asio::error::eof, r.t0 + 5ms);
  CHECK(r.drain(r.t0 + 10ms) == "data");
  REQUIRE_FALSE(r.l.empty());
  CHECK(r.l.front().eof);
  CHECK(r.l.front().error == boost::asio::error::eof);
  CHECK_FALSE(r.l.front().fatal);
  r.l.pop();
  CHECK(r.l.empty());
}

TEST_CASE("a hold stage stops the exit until removed", "[net][lane]") {
  lane_rig r;
  r.push("held");
  r.l.add(7, std::make_unique<hold_stage>());
  CHECK(r.l.held());
  CHECK(r.drain(r.t0 + 1s).empty());
  r.l.add(8, std::make_unique<hold_stage>());
  CHECK(r.l.remove(7));
  CHECK(r.l.held());  // two holds: one left
  CHECK(r.l.remove(8));
  CHECK_FALSE(r.l.held());
  CHECK_FALSE(r.l.remove(8));
  CHECK(r.drain(r.t0 + 1s) == "held");
}

TEST_CASE("a rate stage lowers the link's rate and stops when removed", "[net][lane]") {
  lane_rig r;
  r.l.add(1, make_stage([] {
            auto t = make(toxic_type::bandwidth);
            t.rate = 500;
            return t;
          }()));
  CHECK(r.l.rate(0) == 500);
  CHECK(r.l.rate(2000) == 500);
  CHECK(r.l.rate(100) == 100);
  r.push(std::string(200, 'x'));
  CHECK(r.l.slice(0) == 50);
  CHECK(r.l.remove(1));
  CHECK(r.l.rate(0) == 0);
  CHECK(r.l.slice(0) == 200);
}

TEST_CASE("a latency stage delays each chunk by its latency and jitter", "[net][lane]") {
  lane_rig r;
  auto t = make(toxic_type::latency);
  t.latency = 100ms;
  t.jitter = 10ms;
  r.l.add(1, make_stage(t));
  r.choices.draws = {std::chrono::nanoseconds(5ms).count(),
                     -std::chrono::nanoseconds(30ms).count()};
  r.push("a");
  r.push("b");
  CHECK(r.l.ready_at() == r.t0 + 105ms);
  CHECK(r.drain(r.t0 + 104ms).empty());
  CHECK(r.drain(r.t0 + 105ms) == "ab");  // in order, though "b" was due earlier
  REQUIRE(r.choices.chosen.size() == 2);
  CHECK(r.choices.chosen[0].first == toxic_type::latency);
  CHECK(r.choices.chosen[0].second == std::chrono::nanoseconds(105ms).count());
  CHECK(r.choices.chosen[1].second == std::chrono::nanoseconds(90ms).count());  // held to jitter
  // Removed: later chunks are not delayed.
  CHECK(r.l.remove(1));
  r.push("c");
  CHECK(r.drain(r.t0) == "c");
}

TEST_CASE("latency stages scale with the clock", "[net][lane]") {
  quecsim::clock fast(0.01);
  scripted choices;
  lane l(stream::upstream, lane_env{fast, choices});
  auto t = make(toxic_type::latency);
  t.latency = 10s;
  l.add(1, make_stage(t));
  const auto t0 = clock::time_point{} + 1h;
  l.push("x", 1, t0);
  CHECK(l.ready_at() == t0 + 100ms);
}

TEST_CASE("a slicer stage cuts chunks into spaced pieces and keeps every byte", "[net][lane]") {
  lane_rig r;
  auto t = make(toxic_type::slicer);
  t.average_size = 4;
  t.size_variation = 1;
  t.delay = 10ms;
  r.l.add(1, make_stage(t));
  r.choices.draws = {0, 1, -1};
  CHECK(r.push("abcdefghijk").queued == 11);
  std::vector<std::string> pieces;
  for (int i = 0; i < 3; ++i) {
    std::string buf(64, '\0');
    const auto at = r.l.ready_at();
    buf.resize(r.l.take(buf.data(), 64, at, 0));
    pieces.push_back(buf);
  }
  CHECK(pieces == std::vector<std::string>{"abcd", "efghi", "jk"});
  CHECK(r.l.empty());
  REQUIRE(r.choices.chosen.size() == 3);
  CHECK(r.choices.chosen[1] == std::make_pair(toxic_type::slicer, std::int64_t{5}));
}

TEST_CASE("slicer pieces are due one delay apart", "[net][lane]") {
  lane_rig r;
  auto t = make(toxic_type::slicer);
  t.average_size = 2;
  t.delay = 10ms;
  r.l.add(1, make_stage(t));
  r.push("aabbcc");
  CHECK(r.drain(r.t0) == "aa");  // the first piece is due with its chunk
  CHECK(r.drain(r.t0 + 9ms).empty());
  CHECK(r.drain(r.t0 + 10ms) == "bb");
  CHECK(r.drain(r.t0 + 20ms) == "cc");
}

TEST_CASE("a downstream limit passes exactly its bytes, then an orderly end", "[net][lane]") {
  lane_rig r(stream::downstream);
  auto t = make(toxic_type::limit_data);
  t.bytes = 5;
  r.l.add(1, make_stage(t));
  auto e = r.push("abc");
  CHECK(e.queued == 3);
  CHECK_FALSE(e.ended);
  e = r.push("defgh");
  CHECK(e.queued == 2);
  CHECK(e.ended);
  CHECK_FALSE(e.reset);
  CHECK(e.limit == 5);
  CHECK(r.drain(r.t0) == "abcde");
  REQUIRE_FALSE(r.l.empty());
  CHECK(r.l.front().eof);
  CHECK(r.l.front().error == boost::asio::error::eof);
  CHECK_FALSE(r.l.front().fatal);
}

TEST_CASE("an upstream limit ends with broken_pipe, a reset limit with a fatal reset",
          "[net][lane]") {
  SECTION("orderly") {
    lane_rig r(stream::upstream);
    auto t = make(toxic_type::limit_data);
    t.bytes = 2;
    r.l.add(1, make_stage(t));
    CHECK(r.push("abc").ended);
    CHECK(r.drain(r.t0) == "ab");
    CHECK(r.l.front().error == boost::asio::error::broken_pipe);
  }
  SECTION("reset") {
    lane_rig r(stream::upstream);
    auto t = make(toxic_type::limit_data);
    t.bytes = 2;
    t.reset = true;
    r.l.add(1, make_stage(t));
    const auto e = r.push("abc");
    CHECK(e.ended);
    CHECK(e.reset);
    CHECK(r.drain(r.t0) == "ab");
    CHECK(r.l.front().error == make_error_code(errc::connection_reset));
    CHECK(r.l.front().fatal);
  }
}

TEST_CASE("a limit reached exactly at a chunk's end ends there", "[net][lane]") {
  lane_rig r;
  auto t = make(toxic_type::limit_data);
  t.bytes = 3;
  r.l.add(1, make_stage(t));
  const auto e = r.push("abc");
  CHECK(e.queued == 3);
  CHECK(e.ended);
  CHECK(r.drain(r.t0) == "abc");
  CHECK(r.l.front().eof);
}

TEST_CASE("stages act in rank order: limit, then latency, then slicer", "[net][lane]") {
  lane_rig r;
  auto slicer = make(toxic_type::slicer);
  slicer.average_size = 2;
  auto latency = make(toxic_type::latency);
  latency.latency = 50ms;
  auto limit = make(toxic_type::limit_data);
  limit.bytes = 5;
  // Added in the opposite order: the lane sorts them.
  r.l.add(1, make_stage(slicer));
  r.l.add(2, make_stage(latency));
  r.l.add(3, make_stage(limit));
  CHECK(r.l.stages() == 3);
  const auto e = r.push("abcdefgh");
  CHECK(e.queued == 5);  // cut before slicing
  CHECK(e.ended);
  CHECK(r.l.ready_at() == r.t0 + 50ms);  // delayed before slicing
  CHECK(r.drain(r.t0 + 49ms).empty());
  CHECK(r.drain(r.t0 + 50ms) == "abcde");
  CHECK(r.l.front().eof);
  CHECK(r.l.front().due == r.t0 + 50ms);  // the end with the last piece
}

TEST_CASE("stages of one id leave together and others stay", "[net][lane]") {
  lane_rig r;
  r.l.add(4, std::make_unique<hold_stage>());
  auto t = make(toxic_type::bandwidth);
  t.rate = 10;
  r.l.add(5, make_stage(t));
  CHECK(r.l.has(4));
  CHECK(r.l.has(5));
  CHECK_FALSE(r.l.has(6));
  CHECK(r.l.remove(4));
  CHECK_FALSE(r.l.has(4));
  CHECK(r.l.has(5));
  CHECK(r.l.rate(0) == 10);
  r.l.clear();
  CHECK(r.l.empty());
  CHECK(r.l.stages() == 1);  // clearing the bytes leaves the stages
}

TEST_CASE("make_stage gives each toxic type its stage", "[net][lane]") {
  CHECK(make_stage(make(toxic_type::timeout))->holds());
  auto bw = make(toxic_type::bandwidth);
  bw.rate = 9;
  CHECK(make_stage(bw)->rate() == 9);
  CHECK(make_stage(make(toxic_type::latency))->shapes());
  CHECK(make_stage(make(toxic_type::limit_data))->shapes());
  CHECK_FALSE(make_stage(make(toxic_type::timeout))->shapes());
}
