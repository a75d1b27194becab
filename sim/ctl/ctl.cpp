#include "ctl.hpp"

#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/control_client.hpp"
#include "support/exit_codes.hpp"

namespace quecsim::sim::ctl {

namespace {

using nlohmann::json;
namespace exit_code = support::exit_code;
using support::error_of;

constexpr const char* usage =
    "Usage: quecsim ctl SOCKET ping | state | subscribe [kinds=K,...] | unsubscribe\n"
    "       quecsim ctl SOCKET load FILE.json | unload NAME\n"
    "       quecsim ctl SOCKET ACTION [KEY=VALUE ...]   (sends op apply)\n"
    "       quecsim ctl SOCKET --json '{\"op\":...}'\n"
    "Sends one request to a running quecsim's control socket and prints the reply.\n"
    "Exit codes: 0 ok, 1 error reply or connection failure, 2 bad command line.\n";

// A command line the user got wrong: exit 2 with the message.
struct usage_error : std::runtime_error {
  using runtime_error::runtime_error;
};

// The connection failed or the reply was an error: exit 1 with the message.
struct failure : std::runtime_error {
  using runtime_error::runtime_error;
};

json parse_value(const std::string& text) {
  // Numbers, true/false/null, objects and arrays as JSON; anything else is a string.
  json value = json::parse(text, nullptr, false);
  return value.is_discarded() ? json(text) : value;
}

json build_request(const std::vector<std::string>& args) {
  const std::string& word = args[0];
  const auto no_more = [&args, &word] {
    if (args.size() > 1) throw usage_error(word + " takes no argument, got '" + args[1] + "'");
  };
  if (word == "--json") {
    if (args.size() != 2) throw usage_error("--json takes exactly one request object");
    json request = json::parse(args[1], nullptr, false);
    if (request.is_discarded() || !request.is_object()) {
      throw usage_error("--json: not a JSON object: " + args[1]);
    }
    return request;
  }
  if (word == "ping" || word == "state" || word == "unsubscribe") {
    no_more();
    return {{"op", word}};
  }
  if (word == "subscribe") {
    json request{{"op", "subscribe"}};
    for (std::size_t i = 1; i < args.size(); ++i) {
      if (args[i].rfind("kinds=", 0) != 0) {
        throw usage_error("subscribe takes only kinds=K,..., got '" + args[i] + "'");
      }
      json kinds = json::array();
      std::istringstream list(args[i].substr(6));
      for (std::string k; std::getline(list, k, ',');) {
        if (!k.empty()) kinds.push_back(k);
      }
      if (kinds.empty()) throw usage_error("subscribe: kinds= names no event kind");
      request["kinds"] = kinds;
    }
    return request;
  }
  if (word == "unload") {
    if (args.size() != 2) throw usage_error("unload takes one scenario NAME");
    return {{"op", "unload"}, {"name", args[1]}};
  }
  if (word == "load") {
    if (args.size() != 2) throw usage_error("load takes one scenario FILE.json");
    std::ifstream in(args[1]);
    if (!in) throw usage_error("load: cannot read " + args[1]);
    json scenario;
    try {
      scenario = json::parse(in);
    } catch (const json::exception& e) {
      // parse_error, or out_of_range for a number too large for a double (1e400).
      throw usage_error("load: " + args[1] + " is not JSON: " + e.what());
    }
    return {{"op", "load"}, {"file", args[1]}, {"scenario", scenario}};
  }
  if (word.empty() || word[0] == '-') throw usage_error("unknown option '" + word + "'");
  json action{{"action", word}};
  for (auto& c : action["action"].get_ref<std::string&>()) {
    if (c == '-') c = '_';
  }
  for (std::size_t i = 1; i < args.size(); ++i) {
    const auto eq = args[i].find('=');
    if (eq == std::string::npos || eq == 0) {
      throw usage_error(word + ": expected KEY=VALUE, got '" + args[i] + "'");
    }
    action[args[i].substr(0, eq)] = parse_value(args[i].substr(eq + 1));
  }
  return {{"op", "apply"}, {"action", action}};
}

void print(const json& value) {
  std::cout << value.dump(2, ' ', false, json::error_handler_t::replace) << std::endl;
}

extern "C" void interrupted(int) {
  // Subscribing ends at Ctrl-C: a normal end. Every event line was flushed already.
  ::_exit(exit_code::ok);
}

int serve(const std::string& path, const json& request) {
  support::control_client c(path);
  const json reply = c.request(request);
  if (reply.value("ok", false) != true) throw failure(error_of(reply));
  print(reply);
  if (request.value("op", "") != "subscribe") return exit_code::ok;
  ::signal(SIGINT, interrupted);
  // Events, one compact line each, until interrupted or until quecsim ends.
  json message;
  while (c.try_receive(message)) {
    const auto event = message.find("event");
    if (event == message.end()) continue;  // a reply to nothing we asked: none expected
    if (event->is_null()) throw failure(error_of(message));
    std::cout << event->dump(-1, ' ', false, json::error_handler_t::replace) << std::endl;
  }
  return exit_code::ok;
}

}  // namespace

int run(int argc, char** argv) {
  std::vector<std::string> args(argv + 2, argv + argc);
  for (const auto& a : args) {
    if (a == "-h" || a == "--help") {
      std::cout << usage;
      return exit_code::ok;
    }
  }
  if (args.size() < 2) {
    std::cerr << "quecsim ctl: "
              << (args.empty() ? "missing SOCKET and op" : "missing op after " + args[0]) << "\n"
              << usage;
    return exit_code::usage;
  }
  const std::string path = args[0];
  args.erase(args.begin());
  json request;
  try {
    request = build_request(args);
  } catch (const usage_error& e) {
    std::cerr << "quecsim ctl: " << e.what() << "\n" << usage;
    return exit_code::usage;
  }
  ::signal(SIGPIPE, SIG_IGN);
  try {
    return serve(path, request);
  } catch (const std::runtime_error& e) {
    std::cerr << "quecsim ctl: " << e.what() << '\n';
    return exit_code::failed;
  }
}

}  // namespace quecsim::sim::ctl
