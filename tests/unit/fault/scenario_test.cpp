#include "quecsim/fault/scenario.hpp"

#include <catch2/catch.hpp>
#include <fstream>
#include <set>

using quecsim::fault::parse_action;
using quecsim::fault::parse_scenario;
using quecsim::fault::scenario_error;
using quecsim::fault::trigger_kind;
using json = nlohmann::json;

namespace {

json minimal() {
  return json::parse(R"({"name": "s", "description": "one line"})");
}

// The message a document is refused with.
std::string refusal(const json& doc) {
  try {
    parse_scenario(doc, "x.json");
  } catch (const scenario_error& e) {
    return e.what();
  }
  return "accepted";
}

}  // namespace

TEST_CASE("A scenario with every section parses with its defaults filled in", "[fault]") {
  const auto doc = json::parse(R"({
    "$schema": "./schema.json", "name": "full", "description": "everything", "seed": 7,
    "module": {"model": "M10", "baud": 9600, "latency_ms": 100, "bandwidth": 200,
               "time_scale": 0.5, "autobaud": true},
    "server": {"users": [{"name": "u", "password": "p"}],
               "faults": [{"action": "reply", "command": "RETR", "text": "550 No."}],
               "files": [{"path": "d/a.txt", "text": "abc"}, {"path": "b.bin", "size": 10}]},
    "events": [
      {"when": {"command": "at+qftpget"}, "do": [{"action": "pdp_deact"}]},
      {"name": "late", "when": {"time_ms": 10, "period_ms": 5}, "count": "unlimited",
       "every": 2, "after_ms": 3, "probability": 0.5, "if": {"ftp": "OPENED"},
       "do": [{"action": "urc", "text": "+X"}, {"action": "close_data", "after_bytes": 100}]},
      {"when": {"bytes": 4096, "direction": "down", "from": "connect"}, "do": [{"action": "restart"}]},
      {"when": {"ftp_reply": 150}, "do": [{"action": "stall", "duration_ms": 5}]},
      {"when": {"state": {"machine": "pdp", "to": "active"}}, "do": [{"action": "unstall"}]}
    ],
    "expect": {"lines": ["+QFTPGET:-8"], "ftp_state": "IDLE",
               "files": [{"path": "b.bin", "sha256": "AB00000000000000000000000000000000000000000000000000000000000000"}]}
  })");
  const auto s = parse_scenario(doc, "full.json");
  CHECK(s.name == "full");
  CHECK(s.seed == 7u);
  CHECK(s.module.model == "M10");
  CHECK(s.module.baud == 9600u);
  CHECK(s.module.autobaud == true);
  REQUIRE(s.users.size() == 1);
  REQUIRE(s.server_faults.size() == 1);
  REQUIRE(s.files.size() == 2);
  CHECK(s.files[1].size == 10u);
  REQUIRE(s.events.size() == 5);
  CHECK(s.events[0].when.kind == trigger_kind::command);
  CHECK(s.events[0].when.text == "AT+QFTPGET");
  CHECK(s.events[0].count == 1);
  CHECK(s.events[0].actions[0].params["refuse_ms"] == 0);
  CHECK(s.events[1].name == "late");
  CHECK(s.events[1].count == -1);
  CHECK(s.events[1].every == 2u);
  CHECK(s.events[1].conditions.size() == 1);
  CHECK(s.events[1].actions[1].params["mode"] == "reset");
  CHECK(s.events[2].when.from_connect);
  CHECK_FALSE(s.events[2].when.upstream);
  CHECK(s.events[3].when.reply_code == 150);
  CHECK(s.events[4].when.machine == "pdp");
  CHECK(s.expect.files[0].sha256.substr(0, 2) == "ab");
  CHECK(s.needs_embedded_server());
}

TEST_CASE("Malformed scenarios are refused naming the file, the pointer and what was expected",
          "[fault]") {
  auto with_event = [](const char* event) {
    auto doc = minimal();
    doc["events"] = json::array({json::parse(event)});
    return doc;
  };
  CHECK(refusal(json::array()) ==
        "x.json: /: expected a scenario object with \"name\" and \"events\", got an empty array");
  CHECK(refusal(json::parse(R"({"description": "d"})")) == "x.json: /: expected \"name\"");
  CHECK(refusal(json::parse(R"({"name": "n", "description": "d", "bogus": 1})")) ==
        "x.json: /bogus: unknown key in a scenario (expected $schema, name, description, seed, "
        "modules, module, server, events, expect)");
  CHECK(refusal(with_event(R"({"when": {"time_ms": 1}, "do": [{"action": "explode"}]})"))
            .rfind("x.json: /events/0/do/0/action: expected one of ", 0) == 0);
  CHECK(refusal(with_event(
            R"({"when": {"time_ms": 1}, "count": -1, "do": [{"action": "restart"}]})")) ==
        "x.json: /events/0/count: expected an integer of at least 1 or \"unlimited\", got the "
        "integer -1");
  CHECK(refusal(with_event(
                    R"({"when": {"time_ms": 1, "command": "AT"}, "do": [{"action": "restart"}]})"))
            .rfind("x.json: /events/0/when: expected exactly one trigger of", 0) == 0);
  CHECK(
      refusal(with_event(R"({"when": {"command": "QFTPGET"}, "do": [{"action": "restart"}]})")) ==
      "x.json: /events/0/when/command: expected an AT command line prefix such as \"AT+QFTPGET\"");
  CHECK(refusal(with_event(R"({"when": {"ftp_command": "FOO"}, "do": [{"action": "restart"}]})"))
            .rfind("x.json: /events/0/when/ftp_command: expected an FTP verb the module sends",
                   0) == 0);
  CHECK(
      refusal(with_event(R"({"when": {"ftp_reply": 99}, "do": [{"action": "restart"}]})")) ==
      "x.json: /events/0/when/ftp_reply: expected an integer from 100 to 599, got the integer 99");
  CHECK(refusal(with_event(R"({"when": {"bytes": 10}, "do": [{"action": "restart"}]})")) ==
        "x.json: /events/0/when: expected \"direction\": \"up\" or \"down\"");
  CHECK(
      refusal(with_event(
          R"({"when": {"state": {"machine": "ftp", "to": "DONE"}}, "do": [{"action": "restart"}]})")) ==
      "x.json: /events/0/when/state/to: expected a state of ftp: IDLE, OPENING, OPENED, WORKING, "
      "TRANSFER, CLOSING, CLOSED");
  CHECK(refusal(with_event(R"({"when": {"command_regex": "(("}, "do": [{"action": "restart"}]})"))
            .rfind("x.json: /events/0/when/command_regex: expected a regular expression", 0) == 0);
  CHECK(refusal(with_event(R"({"when": {"time_ms": 1}, "do": []})")) ==
        "x.json: /events/0/do: expected a non-empty array of actions, got an empty array");
  CHECK(refusal(with_event(R"({"when": {"time_ms": 1}, "do": [{"action": "host_drop"}]})")) ==
        "x.json: /events/0/do/0: expected \"bytes\": an integer of at least 1");
  CHECK(refusal(with_event(
            R"({"when": {"time_ms": 1}, "do": [{"action": "toxic", "type": "latency"}]})")) ==
        "x.json: /events/0/do/0: expected \"latency_ms\" for a latency toxic");
  CHECK(refusal(with_event(
            R"({"when": {"time_ms": 1}, "do": [{"action": "close_data", "mode": "gently"}]})")) ==
        "x.json: /events/0/do/0/mode: expected one of close, reset, got the string \"gently\"");
  CHECK(refusal(with_event(
            R"({"when": {"time_ms": 1}, "probability": 0, "do": [{"action": "restart"}]})")) ==
        "x.json: /events/0/probability: expected a number greater than 0 and at most 1, got the "
        "integer 0");
  auto bad_rule = minimal();
  bad_rule["server"] = json::parse(R"({"faults": [{"action": "data_drop", "after_bytes": -1}]})");
  CHECK(refusal(bad_rule) ==
        "x.json: /server/faults/0/after_bytes: expected an integer of at least 0, got the integer "
        "-1");
  auto escape = minimal();
  escape["server"] = json::parse(R"({"files": [{"path": "../etc/passwd", "text": "x"}]})");
  CHECK(
      refusal(escape) ==
      "x.json: /server/files/0/path: expected a relative path inside the served folder (no '..')");
  auto hash = minimal();
  hash["expect"] = json::parse(R"({"files": [{"path": "a", "sha256": "xyz"}]})");
  CHECK(refusal(hash) == "x.json: /expect/files/0/sha256: expected 64 hexadecimal digits");
}

TEST_CASE("A scenario targets every module, one, or a set", "[fault]") {
  auto with_modules = [](const char* modules) {
    auto doc = minimal();
    doc["modules"] = json::parse(modules);
    return doc;
  };
  const auto every = parse_scenario(minimal(), "x.json");
  CHECK(every.modules.empty());
  CHECK(every.targets(0));
  CHECK(every.targets(999));
  CHECK(parse_scenario(with_modules(R"("all")"), "x.json").modules.empty());
  const auto one = parse_scenario(with_modules("3"), "x.json");
  CHECK(one.modules == std::vector<int>{3});
  CHECK(one.targets(3));
  CHECK_FALSE(one.targets(0));
  const auto set = parse_scenario(with_modules("[0, 2]"), "x.json");
  CHECK(set.targets(0));
  CHECK_FALSE(set.targets(1));
  CHECK(set.targets(2));

  CHECK(refusal(with_modules(R"("some")")) ==
        "x.json: /modules: expected \"all\", a module number (0 for the first) or a non-empty "
        "array of them");
  CHECK(refusal(with_modules("[]")) ==
        "x.json: /modules: expected \"all\", a module number (0 for the first) or a non-empty "
        "array of them");
  CHECK(refusal(with_modules("-1")) ==
        "x.json: /modules: expected an integer from 0 to 65535, got the integer -1");
  CHECK(refusal(with_modules(R"([1, "2"])")) ==
        "x.json: /modules/1: expected an integer from 0 to 65535, got the string \"2\"");
  CHECK(refusal(with_modules("[1, 4, 1]")) == "x.json: /modules/2: module 1 is named twice");
}

TEST_CASE("A scenario naming a module the process does not run is refused", "[fault]") {
  auto with_modules = [](const char* modules) {
    auto doc = minimal();
    doc["modules"] = json::parse(modules);
    return parse_scenario(doc, "x.json");
  };
  CHECK_NOTHROW(quecsim::fault::check_targets(with_modules("[0, 2]"), 3));
  CHECK_NOTHROW(quecsim::fault::check_targets(parse_scenario(minimal(), "x.json"), 1));
  CHECK_THROWS_WITH(quecsim::fault::check_targets(with_modules("[0, 3]"), 3),
                    "x.json: /modules/1: expected a module of this process (0 to 2), got 3");
  CHECK_THROWS_WITH(quecsim::fault::check_targets(with_modules("1"), 1),
                    "x.json: /modules: expected a module of this process (only 0), got 1");
}

TEST_CASE("A JSON syntax error is reported with its line and column", "[fault]") {
  try {
    quecsim::fault::parse_json_text("{\n  \"name\": \"x\",\n  oops\n}", "bad.json");
    FAIL("accepted");
  } catch (const scenario_error& e) {
    CHECK(std::string(e.what()).rfind("bad.json:3:3: not valid JSON: ", 0) == 0);
  }
}

TEST_CASE("An action sent live is validated like one in a file", "[fault]") {
  const auto a = parse_action(json::parse(R"({"action": "pdp_deact", "refuse_ms": 2000})"),
                              "control", "/action");
  CHECK(a.name == "pdp_deact");
  CHECK(a.params["refuse_ms"] == 2000);
  CHECK_THROWS_WITH(
      parse_action(json::parse(R"({"action": "pdp_deact", "refuse": 1})"), "control", "/action"),
      "control: /action/refuse: unknown key in action \"pdp_deact\"; did you mean "
      "\"refuse_ms\"? (expected "
      "action, refuse_ms)");
}

TEST_CASE("The JSON Schema names exactly the keys, actions and parameters the loader accepts",
          "[fault]") {
  std::ifstream in(std::string(QUECSIM_SOURCE_DIR) + "/scenarios/schema.json");
  REQUIRE(in);
  const auto schema = json::parse(in);
  const auto& defs = schema["$defs"];
  std::set<std::string> top;
  for (const auto& [k, v] : schema["properties"].items()) top.insert(k);
  const auto& keys_loaded = quecsim::fault::scenario_keys();
  CHECK(top == std::set<std::string>(keys_loaded.begin(), keys_loaded.end()));
  // "modules" takes the same three forms in both.
  const auto& forms = schema["properties"]["modules"]["oneOf"];
  REQUIRE(forms.size() == 3);
  CHECK(forms[0]["const"] == "all");
  CHECK(forms[1]["type"] == "integer");
  CHECK(forms[1]["minimum"] == 0);
  CHECK(forms[1]["maximum"] == 65535);
  CHECK(forms[2]["type"] == "array");
  CHECK(forms[2]["minItems"] == 1);
  CHECK(forms[2]["uniqueItems"] == true);
  CHECK(forms[2]["items"] == forms[1]);
  std::set<std::string> in_schema;
  for (const auto& name : defs["action"]["properties"]["action"]["enum"]) in_schema.insert(name);
  const auto names = quecsim::fault::action_names();
  CHECK(in_schema == std::set<std::string>(names.begin(), names.end()));
  for (const auto& name : names) {
    INFO(name);
    std::set<std::string> keys;
    for (const auto& [k, v] : defs["action_" + name]["properties"].items())
      if (k != "action") keys.insert(k);
    const auto params = quecsim::fault::action_parameters(name);
    CHECK(keys == std::set<std::string>(params.begin(), params.end()));
  }
}
