#include "quecsim/net/resolve.hpp"

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace quecsim::net {

namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

host_mode parse_host_mode(const std::string& text) {
  if (text == "embedded") return host_mode::embedded;
  if (text == "map") return host_mode::map;
  if (text == "system") return host_mode::system;
  throw std::invalid_argument("unknown host mode '" + text + "' (embedded, map or system)");
}

std::pair<std::string, host_target> parse_host_entry(const std::string& text) {
  const auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0)
    throw std::invalid_argument("host entry '" + text + "' is not NAME=ADDR:PORT");
  const std::string name = text.substr(0, eq);
  const std::string rest = text.substr(eq + 1);
  const auto colon = rest.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == rest.size())
    throw std::invalid_argument("host entry '" + text + "' is not NAME=ADDR:PORT");
  std::string addr = rest.substr(0, colon);
  if (addr.size() > 2 && addr.front() == '[' && addr.back() == ']')
    addr = addr.substr(1, addr.size() - 2);
  const std::string port_text = rest.substr(colon + 1);
  if (port_text.size() > 5 || !std::all_of(port_text.begin(), port_text.end(), [](char c) {
        return std::isdigit(static_cast<unsigned char>(c));
      }))
    throw std::invalid_argument("host entry '" + text + "' has a bad port");
  const unsigned long port = std::stoul(port_text);
  if (port == 0 || port > 65535)
    throw std::invalid_argument("host entry '" + text + "' has a port outside 1-65535");
  return {lower(name), host_target{addr, static_cast<std::uint16_t>(port)}};
}

resolution resolve(const std::string& host, std::uint16_t port, host_mode mode,
                   const host_target& embedded, const std::map<std::string, host_target>& hosts) {
  // The host map first, in every mode.
  host_target target{host, port};
  bool mapped = false;
  if (auto it = hosts.find(lower(host)); it != hosts.end()) {
    target = it->second;
    mapped = true;
  }
  if (!mapped && mode == host_mode::embedded) target = embedded;
  resolution r;
  boost::system::error_code ec;
  const auto literal = boost::asio::ip::make_address(target.address, ec);
  if (!ec) {
    r.what = resolution::kind::endpoint;
    r.endpoint = boost::asio::ip::tcp::endpoint(literal, target.port);
  } else if (mode == host_mode::system) {
    r.what = resolution::kind::lookup;
    r.target = target;
  }
  return r;
}

}  // namespace quecsim::net
