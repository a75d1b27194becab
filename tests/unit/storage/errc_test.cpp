#include "quecsim/storage/errc.hpp"

#include <catch2/catch.hpp>

namespace qs = quecsim::storage;

TEST_CASE("a storage error is an error_code of the storage category", "[storage]") {
  const boost::system::error_code ec = qs::errc::not_found;
  CHECK(ec);
  CHECK(ec.value() == 4010);
  CHECK(ec.category().name() == std::string("quecsim.storage"));
  CHECK(ec.message() == "file not found");
  CHECK(ec == qs::errc::not_found);
  CHECK(ec != qs::errc::busy);
}

TEST_CASE("storage errc::ok is success", "[storage]") {
  const boost::system::error_code ec = qs::errc::ok;
  CHECK_FALSE(ec);
  CHECK(ec.message() == "success");
}

TEST_CASE("every storage error has a message of its own", "[storage]") {
  for (int v = 4000; v <= 4010; ++v) {
    const auto m = qs::make_error_code(static_cast<qs::errc>(v)).message();
    CHECK(m.find("storage error") == std::string::npos);
  }
  CHECK(qs::category().message(4011) == "storage error 4011");
}
