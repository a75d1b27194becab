#include "quecsim/core/clock.hpp"

#include <catch2/catch.hpp>
#include <stdexcept>

using namespace std::chrono_literals;

TEST_CASE("clock scales simulated durations") {
  quecsim::clock c(0.01);
  CHECK(c.scaled(900s) == 9s);
  CHECK(quecsim::clock(1.0).scaled(5ms) == 5ms);
}

TEST_CASE("clock refuses a scale that is not positive") {
  CHECK_THROWS_AS(quecsim::clock(0.0), std::invalid_argument);
  CHECK_THROWS_AS(quecsim::clock(-1.0), std::invalid_argument);
}
