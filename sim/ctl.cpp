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

namespace quecsim::sim {

namespace {

using nlohmann::json;

constexpr int exit_ok = 0;
constexpr int exit_failed = 1;
constexpr int exit_usage = 2;

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

// A blocking connection to the control socket, line by line.
class connection {
 public:
  explicit connection(const std::string& path) : path_(path) {
    sockaddr_un addr{};
    if (path.size() >= sizeof addr.sun_path) {
      throw failure("control socket " + path + ": path too long");
    }
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw failure(std::string("socket: ") + std::strerror(errno));
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
      const int err = errno;
      ::close(fd_);
      throw failure("cannot connect to control socket " + path + ": " + std::strerror(err));
    }
  }
  ~connection() { ::close(fd_); }
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  void send(const std::string& line) {
    std::string data = line + "\n";
    std::size_t done = 0;
    while (done < data.size()) {
      const ssize_t n = ::send(fd_, data.data() + done, data.size() - done, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw failure("control socket " + path_ + ": " + std::strerror(errno));
      done += static_cast<std::size_t>(n);
    }
  }

  /// The next line; false at the end of the stream.
  bool read_line(std::string& line) {
    for (;;) {
      const auto lf = buffer_.find('\n');
      if (lf != std::string::npos) {
        line = buffer_.substr(0, lf);
        buffer_.erase(0, lf + 1);
        return true;
      }
      char chunk[65536];
      const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw failure("control socket " + path_ + ": " + std::strerror(errno));
      if (n == 0) return false;
      buffer_.append(chunk, static_cast<std::size_t>(n));
    }
  }

 private:
  std::string path_;
  int fd_ = -1;
  std::string buffer_;
};

failure not_an_object(const std::string& path, const std::string& line) {
  std::string why = "control socket ";
  why.append(path).append(" sent a line that is not a JSON object: ").append(line);
  return failure(why);
}

json read_json(connection& c, const std::string& path) {
  std::string line;
  if (!c.read_line(line)) {
    throw failure("control socket " + path + " closed the connection before replying");
  }
  json value = json::parse(line, nullptr, false);
  if (value.is_discarded() || !value.is_object()) {
    throw not_an_object(path, line);
  }
  return value;
}

std::string error_of(const json& reply) {
  const auto e = reply.find("error");
  return e != reply.end() && e->is_string() ? e->get<std::string>() : reply.dump();
}

void print(const json& value) {
  std::cout << value.dump(2, ' ', false, json::error_handler_t::replace) << std::endl;
}

extern "C" void interrupted(int) {
  // Subscribing ends at Ctrl-C: a normal end. Every event line was flushed already.
  ::_exit(exit_ok);
}

int run(const std::string& path, const json& request) {
  connection c(path);
  c.send(request.dump(-1, ' ', false, json::error_handler_t::replace));
  const json reply = read_json(c, path);
  if (reply.value("ok", false) != true) throw failure(error_of(reply));
  print(reply);
  if (request.value("op", "") != "subscribe") return exit_ok;
  ::signal(SIGINT, interrupted);
  // Events, one compact line each, until interrupted or until quecsim ends.
  std::string line;
  while (c.read_line(line)) {
    const json message = json::parse(line, nullptr, false);
    if (message.is_discarded() || !message.is_object()) {
      throw not_an_object(path, line);
    }
    const auto event = message.find("event");
    if (event == message.end()) continue;  // a reply to nothing we asked: none expected
    if (event->is_null()) throw failure(error_of(message));
    std::cout << event->dump(-1, ' ', false, json::error_handler_t::replace) << std::endl;
  }
  return exit_ok;
}

}  // namespace

int run_ctl(int argc, char** argv) {
  std::vector<std::string> args(argv + 2, argv + argc);
  for (const auto& a : args) {
    if (a == "-h" || a == "--help") {
      std::cout << usage;
      return exit_ok;
    }
  }
  if (args.size() < 2) {
    std::cerr << "quecsim ctl: "
              << (args.empty() ? "missing SOCKET and op" : "missing op after " + args[0]) << "\n"
              << usage;
    return exit_usage;
  }
  const std::string path = args[0];
  args.erase(args.begin());
  json request;
  try {
    request = build_request(args);
  } catch (const usage_error& e) {
    std::cerr << "quecsim ctl: " << e.what() << "\n" << usage;
    return exit_usage;
  }
  ::signal(SIGPIPE, SIG_IGN);
  try {
    return run(path, request);
  } catch (const failure& e) {
    std::cerr << "quecsim ctl: " << e.what() << '\n';
    return exit_failed;
  }
}

}  // namespace quecsim::sim
