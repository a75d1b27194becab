#include "quecsim/module/profile.hpp"

#include <catch2/catch.hpp>
#include <string>

namespace qm = quecsim::module;

namespace {

const char* minimal = R"({"model":"X1","identity":{"manufacturer":"Quectel_Ltd",
  "model":"Quectel_X1","revision":"X1R01","imei":"123456789012345"}})";

std::string refusal(const std::string& text) {
  try {
    qm::profile::parse(text, "p.json");
  } catch (const qm::profile_error& e) {
    return e.what();
  }
  return "accepted";
}

}  // namespace

TEST_CASE("a minimal profile takes the M95 defaults for every section it leaves out") {
  const auto p = qm::profile::parse(minimal, "p.json");
  CHECK(p.model == "X1");
  CHECK(p.model_name == "Quectel_X1");
  CHECK(p.revision == "X1R01");
  CHECK(p.imei == "123456789012345");
  CHECK(p.boot_delay == std::chrono::milliseconds(3000));
  CHECK(p.ftp_cfg_types == 4);
  CHECK(p.commands.empty());
}

TEST_CASE("the shipped profiles load and differ where the models differ") {
  const auto m95 = qm::profile::find("M95");
  const auto m10 = qm::profile::find("M10");
  const auto m33 = qm::profile::find("M33");
  CHECK(m95.revision == "M95FAR02A08");
  CHECK(m10.revision == "M10EBR01A12");
  CHECK(m33.revision == "M33CR01A03");
  CHECK(m95.ftp_cfg_types == 6);
  CHECK(m10.ftp_cfg_types == 4);
  CHECK(m33.storage.has_ram);
  CHECK(m33.storage.has_sd);
  CHECK(m95.storage.has_ram);  // later M95 firmware downloads into RAM (BEHAVIOUR.md)
  CHECK_FALSE(m95.storage.has_sd);
  CHECK_FALSE(m10.storage.has_ram);
  REQUIRE(m95.commands.at("+CCID").texts);  // the M95 manual V3.2 adds AT+CCID
  CHECK(*m95.commands.at("+CCID").texts->exec ==
        std::vector<std::string>{"+CCID: \"89860012345678901234\""});
  CHECK_FALSE(m10.commands.at("+CCID").supported);
  CHECK(m95.commands.at("+CIMI").supported);
  CHECK(qm::profile::names() == std::vector<std::string>{"M10", "M33", "M95", "MC60"});
}

TEST_CASE("a broken profile is refused naming the file, the JSON pointer and what was expected") {
  CHECK(refusal("{").rfind("p.json:1:2: not valid JSON: ", 0) == 0);
  CHECK(refusal("[]") == "p.json: /: expected an object, got an empty array");
  CHECK(refusal(R"({"identity":{}})") == "p.json: /model: missing");
  CHECK(refusal(R"({"model":"X","identity":{"manufacturer":"a","model":"b","revision":"c"}})") ==
        "p.json: /identity/imei: missing (expected 15 digits)");
  std::string bad_imei = minimal;
  bad_imei.replace(bad_imei.find("123456789012345"), 15, "12345");
  CHECK(refusal(bad_imei) ==
        "p.json: /identity/imei: expected 15 digits, got the string \"12345\"");
  std::string extra = minimal;
  extra.insert(extra.size() - 1, R"(,"colour":"blue")");
  CHECK(refusal(extra) == "p.json: /colour: unknown key");
  std::string deep = minimal;
  deep.insert(deep.size() - 1, R"(,"power":{"boot_delay_ms":-1})");
  CHECK(refusal(deep) ==
        "p.json: /power/boot_delay_ms: expected an integer from 0 to 60000, got the integer -1");
  std::string unknown_in_section = minimal;
  unknown_in_section.insert(unknown_in_section.size() - 1, R"(,"sim":{"state":"ready","x":1})");
  CHECK(refusal(unknown_in_section) == "p.json: /sim/x: unknown key");
  std::string sim = minimal;
  sim.insert(sim.size() - 1, R"(,"sim":{"state":"locked"})");
  CHECK(
      refusal(sim) ==
      R"(p.json: /sim/state: expected one of "ready", "pin", "puk", "removed", got the string "locked")");
  std::string cmd = minimal;
  cmd.insert(cmd.size() - 1, R"(,"commands":{"+QGMR":{"exec":["X1R01_1.0"],"test":[1]}})");
  CHECK(refusal(cmd) == "p.json: /commands/+QGMR/test/0: expected a string, got the integer 1");
  std::string name = minimal;
  name.insert(name.size() - 1, R"(,"commands":{"qgmr":true})");
  CHECK(refusal(name).rfind("p.json: /commands/qgmr: expected a command name", 0) == 0);
}

TEST_CASE("a profile's command table holds support flags and fixed texts") {
  std::string text = minimal;
  text.insert(text.size() - 1,
              R"(,"commands":{"+CIMI":false,"+QGMR":{"exec":["X1R01_1.0"],"test":[]}})");
  const auto p = qm::profile::parse(text, "p.json");
  CHECK_FALSE(p.commands.at("+CIMI").supported);
  const auto& qgmr = p.commands.at("+QGMR");
  REQUIRE(qgmr.texts);
  CHECK(*qgmr.texts->exec == std::vector<std::string>{"X1R01_1.0"});
  CHECK(qgmr.texts->test->empty());
  CHECK_FALSE(qgmr.texts->read);
}

TEST_CASE("an unknown model name is refused listing the known ones") {
  try {
    qm::profile::find("M99");
    FAIL("accepted");
  } catch (const qm::profile_error& e) {
    CHECK(std::string(e.what()) ==
          "unknown model 'M99' (one of M10, M33, M95, MC60, or a profile file)");
  }
  CHECK_THROWS_WITH(qm::profile::find("/nonexistent/x.json"),
                    "/nonexistent/x.json: cannot be read");
}
