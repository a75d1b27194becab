// The +++ escape of data mode, fed bytes and times, without a timer or a port.

#include "quecsim/at/escape_detector.hpp"

#include <catch2/catch.hpp>

#include <string>

using quecsim::at::escape_detector;
using namespace std::chrono_literals;

namespace {

constexpr escape_detector::duration guard = 1s;

// A data-mode input buffer in front of a detector, the way the module holds one: bytes
// arrive, the detector says hold or pass, what passes is taken by the data handler.
struct data_mode {
  escape_detector d;
  std::string pending;
  std::string passed;
  escape_detector::time_point t{};
  escape_detector::time_point timer{};  // when the module's timer would fire (epoch: none)
  bool escaped = false;

  void arrive(const std::string& bytes, escape_detector::duration after) {
    t += after;
    d.received(t, guard, !pending.empty());
    pending += bytes;
    pump();
  }
  void pump() {
    const auto v = d.examine(pending, t, guard);
    if (v.arm) timer = v.check_at;
    if (v.disarm) timer = {};
    if (v.hold) return;
    passed += pending;
    pending.clear();
  }
  // Lets time pass; the timer fires if it is due.
  void wait(escape_detector::duration how_long) {
    t += how_long;
    if (timer == escape_detector::time_point{} || timer > t) return;
    timer = {};
    switch (d.expired(pending)) {
      case escape_detector::outcome::escape:
        escaped = true;
        pending.clear();
        break;
      case escape_detector::outcome::data:
        pump();
        break;
      case escape_detector::outcome::none:
        break;
    }
  }
};

}  // namespace

TEST_CASE("+++ with a guard time of silence on both sides is the escape", "[at][escape]") {
  data_mode m;
  m.arrive("data", 5s);
  m.arrive("+++", 2s);
  CHECK(m.d.held() == 3);
  CHECK(m.timer == m.t + guard);
  m.wait(guard);
  CHECK(m.escaped);
  CHECK(m.passed == "data");
  CHECK(m.pending.empty());
}

TEST_CASE("+++ sent one plus at a time is the escape; the guard counts from the last plus",
          "[at][escape]") {
  data_mode m;
  m.arrive("x", 5s);
  m.arrive("+", 2s);
  m.arrive("+", 100ms);
  m.arrive("+", 100ms);
  CHECK(m.timer == m.t + guard);
  m.wait(guard / 2);
  CHECK_FALSE(m.escaped);
  m.wait(guard / 2);
  CHECK(m.escaped);
  CHECK(m.passed == "x");
}

TEST_CASE("+++ without silence before it is data", "[at][escape]") {
  data_mode m;
  m.arrive("abc", 5s);
  m.arrive("+++", 10ms);
  CHECK(m.d.held() == 0);
  CHECK(m.passed == "abc+++");
  m.wait(guard * 2);
  CHECK_FALSE(m.escaped);
}

TEST_CASE("+++ followed by more bytes within the guard time is data", "[at][escape]") {
  data_mode m;
  m.arrive("+++", 5s);
  CHECK(m.d.held() == 3);
  m.arrive("x", 10ms);
  CHECK(m.d.held() == 0);
  CHECK(m.timer == escape_detector::time_point{});
  CHECK(m.passed == "+++x");
  m.wait(guard * 2);
  CHECK_FALSE(m.escaped);
}

TEST_CASE("four pluses are data", "[at][escape]") {
  data_mode m;
  m.arrive("++++", 5s);
  CHECK(m.passed == "++++");
  CHECK_FALSE(m.escaped);
}

TEST_CASE("fewer than three pluses held through the guard time are data after all",
          "[at][escape]") {
  data_mode m;
  m.arrive("++", 5s);
  CHECK(m.d.held() == 2);
  CHECK(m.passed.empty());
  m.wait(guard);
  CHECK_FALSE(m.escaped);
  CHECK(m.passed == "++");
  // The silence is counted from the last arrival: a plus now may start an escape again.
  m.arrive("+", 10ms);
  CHECK(m.d.held() == 1);
  CHECK(m.passed == "++");
}

TEST_CASE("a stale timer and a reset leave nothing held", "[at][escape]") {
  escape_detector d;
  CHECK(d.expired("") == escape_detector::outcome::none);
  d.received(escape_detector::time_point{} + 5s, guard, false);
  auto v = d.examine("++", escape_detector::time_point{} + 5s, guard);
  CHECK(v.hold);
  CHECK(v.arm);
  // The same two pluses again (the module pumps again): no new deadline.
  v = d.examine("++", escape_detector::time_point{} + 5500ms, guard);
  CHECK(v.hold);
  CHECK_FALSE(v.arm);
  d.reset();
  CHECK(d.held() == 0);
  CHECK(d.expired("++") == escape_detector::outcome::none);
  // After a reset the silence before is not known: pluses pass.
  v = d.examine("+", escape_detector::time_point{} + 6s, guard);
  CHECK_FALSE(v.hold);
}
