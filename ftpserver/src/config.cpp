#include "quecsim/ftpd/config.hpp"

#include <fstream>
#include <iterator>
#include <utility>

#include <boost/asio/ip/address.hpp>
#include <nlohmann/json.hpp>

#include "quecsim/core/json_text.hpp"

namespace quecsim::ftpd {

namespace {

[[noreturn]] void fail(const std::string& where, const std::string& pointer,
                       const std::string& expected) {
  throw config_error(where + ": " + (pointer.empty() ? "/" : pointer) + ": " + expected);
}

}  // namespace

user parse_user_spec(const std::string& spec, const std::string& what) {
  auto colon = spec.find(':');
  if (colon == std::string::npos || colon == 0)
    throw config_error(what + ": expected NAME:PASS, got '" + spec + "'");
  user u;
  u.name = spec.substr(0, colon);
  u.password = spec.substr(colon + 1);
  return u;
}

std::vector<user> load_users_file(const std::filesystem::path& file, bool& anonymous) {
  const std::string where = file.string();
  std::ifstream in(file, std::ios::binary);
  if (!in) throw config_error(where + ": cannot open the users file");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  json_text::failure why;
  auto parsed = json_text::parse(text, why);
  // A syntax error, or a number too large for a double (1e400): with its line and pointer.
  if (!parsed) throw config_error(json_text::describe(where, why));
  nlohmann::json doc = std::move(*parsed);
  const nlohmann::json* list = &doc;
  std::string base;
  if (doc.is_object()) {
    for (const auto& [k, v] : doc.items()) {
      if (k != "users" && k != "anonymous")
        fail(where, "/" + k, "unknown key (expected \"users\" or \"anonymous\")");
    }
    if (doc.contains("anonymous")) {
      if (!doc["anonymous"].is_boolean()) fail(where, "/anonymous", "expected true or false");
      anonymous = doc["anonymous"].get<bool>();
    }
    if (!doc.contains("users")) fail(where, "", "expected an object with a \"users\" array");
    list = &doc["users"];
    base = "/users";
  }
  if (!list->is_array()) fail(where, base, "expected an array of users");
  std::vector<user> users;
  for (std::size_t i = 0; i < list->size(); ++i) {
    const auto& o = (*list)[i];
    const std::string p = base + "/" + std::to_string(i);
    if (!o.is_object()) fail(where, p, "expected an object {\"name\",\"password\",...}");
    user u;
    for (const auto& [k, v] : o.items()) {
      std::string key_pointer = p;
      key_pointer.append("/").append(k);
      if (k == "name" || k == "password" || k == "home") {
        if (!v.is_string()) fail(where, key_pointer, "expected a string");
      } else if (k == "write") {
        if (!v.is_boolean()) fail(where, key_pointer, "expected true or false");
      } else {
        fail(where, key_pointer,
             "unknown key (expected \"name\", \"password\", \"home\" or \"write\")");
      }
    }
    if (!o.contains("name")) fail(where, p, "expected a \"name\"");
    if (!o.contains("password")) fail(where, p, "expected a \"password\"");
    u.name = o["name"].get<std::string>();
    if (u.name.empty()) fail(where, p + "/name", "expected a non-empty string");
    u.password = o["password"].get<std::string>();
    if (o.contains("home")) u.home = o["home"].get<std::string>();
    if (o.contains("write")) u.can_write = o["write"].get<bool>();
    users.push_back(std::move(u));
  }
  return users;
}

bool is_loopback_address(const std::string& address) {
  boost::system::error_code ec;
  auto a = boost::asio::ip::make_address(address, ec);
  return !ec && a.is_loopback();
}

void validate(const config& cfg) {
  std::error_code ec;
  if (cfg.root.empty()) throw config_error("--root: a folder to serve is required");
  if (!std::filesystem::is_directory(cfg.root, ec))
    throw config_error("--root: '" + cfg.root.string() + "' is not an existing folder");
  boost::system::error_code bec;
  boost::asio::ip::make_address(cfg.address, bec);
  if (bec) throw config_error("--address: '" + cfg.address + "' is not an IP address");
  if (!is_loopback_address(cfg.address) && cfg.users.empty())
    throw config_error("--address: binding " + cfg.address +
                       " (not loopback) requires --user or --users-file");
  if (cfg.limits.max_line < 16) throw config_error("--max-line: must be at least 16");
  if (cfg.limits.max_sessions == 0) throw config_error("--max-sessions: must be at least 1");
  if (cfg.limits.max_sessions_per_address == 0)
    throw config_error("--max-sessions-per-address: must be at least 1");
}

}  // namespace quecsim::ftpd
