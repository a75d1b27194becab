#include "quecsim/ftpd/server.hpp"

#include <boost/asio/write.hpp>

#include "control_session.hpp"
#include "server_state.hpp"

namespace quecsim::ftpd {

namespace asio = boost::asio;
using boost::system::error_code;
using tcp = asio::ip::tcp;

void server_state::trim_records() {
  std::size_t closed = 0;
  for (const auto& r : records) closed += r->open ? 0 : 1;
  for (auto it = records.begin(); closed > cfg.kept_records && it != records.end();) {
    if (!(*it)->open) {
      it = records.erase(it);
      --closed;
    } else {
      ++it;
    }
  }
}

void server_state::session_ended(const std::shared_ptr<control_session>& s,
                                 const std::string& address) {
  if (sessions.erase(s) == 0) return;
  auto it = per_address.find(address);
  if (it != per_address.end() && --it->second == 0) per_address.erase(it);
  trim_records();
}

namespace {

// Refuses a connection beyond the limits: the 421 line, then close.
void refuse(tcp::socket s, const char* line) {
  auto sock = std::make_shared<tcp::socket>(std::move(s));
  auto text = std::make_shared<std::string>(line);
  asio::async_write(*sock, asio::buffer(*text), [sock, text](const error_code&, std::size_t) {
    error_code ec;
    sock->shutdown(tcp::socket::shutdown_both, ec);
    sock->close(ec);
  });
}

void do_accept(const std::shared_ptr<server_state>& st) {
  st->acceptor.async_accept([st](const error_code& ec, tcp::socket s) {
    if (!st->running) return;
    if (ec) {
      if (ec == asio::error::operation_aborted) return;
      // Out of descriptors and the like: keep serving those already here, and try again a
      // little later rather than spinning on the same error.
      st->retry_timer.expires_after(std::chrono::milliseconds(50));
      st->retry_timer.async_wait([st](const error_code& e) {
        if (!e && st->running) do_accept(st);
      });
      return;
    }
    error_code rec;
    auto peer = s.remote_endpoint(rec);
    if (rec) return do_accept(st);
    auto addr = peer.address();
    if (addr.is_v6() && addr.to_v6().is_v4_mapped())
      addr = asio::ip::make_address_v4(asio::ip::v4_mapped, addr.to_v6());
    const auto address = addr.to_string();
    if (st->sessions.size() >= st->cfg.limits.max_sessions) {
      refuse(std::move(s), "421 Too many connections. Service temporarily unavailable.\r\n");
    } else if (st->per_address[address] >= st->cfg.limits.max_sessions_per_address) {
      refuse(std::move(s), "421 Too many connections from the same IP address.\r\n");
    } else {
      ++st->per_address[address];
      auto rec_ptr = std::make_shared<session_record>();
      rec_ptr->id = st->next_id++;
      rec_ptr->peer = address + ":" + std::to_string(peer.port());
      st->records.push_back(rec_ptr);
      auto session = std::make_shared<control_session>(std::move(s), st, rec_ptr);
      st->sessions.insert(session);
      session->run();
    }
    if (st->per_address[address] == 0) st->per_address.erase(address);
    do_accept(st);
  });
}

}  // namespace

server::server(asio::io_context& io, config cfg)
    : state_(std::make_shared<server_state>(io, std::move(cfg), nullptr)) {}

server::server(asio::io_context& io, config cfg, const quecsim::clock& clk)
    : state_(std::make_shared<server_state>(io, std::move(cfg), &clk)) {}

server::~server() {
  try {
    stop();
  } catch (...) {
    // Closing sockets cannot usefully fail here; a destructor must not throw.
  }
}

void server::start() {
  auto& st = *state_;
  validate(st.cfg);
  try {
    st.root.emplace(st.cfg.root);
  } catch (const std::filesystem::filesystem_error& e) {
    throw config_error("--root: " + std::string(e.what()));
  }
  for (const auto& r : st.cfg.faults) st.faults.add(r);
  std::weak_ptr<server_state> weak = state_;
  st.faults.on_change([weak] {
    auto s = weak.lock();
    if (!s) return;
    // Sessions may end while being told; iterate over a copy.
    auto sessions = s->sessions;
    for (const auto& session : sessions) session->rules_changed();
  });
  tcp::endpoint ep(asio::ip::make_address(st.cfg.address), st.cfg.port);
  st.acceptor.open(ep.protocol());
  st.acceptor.set_option(tcp::acceptor::reuse_address(true));
  st.acceptor.bind(ep);
  st.acceptor.listen(asio::socket_base::max_listen_connections);
  st.running = true;
  do_accept(state_);
}

void server::stop() {
  auto& st = *state_;
  if (!st.running) return;
  st.running = false;
  error_code ec;
  st.acceptor.close(ec);
  st.retry_timer.cancel();
  auto sessions = st.sessions;
  for (const auto& s : sessions) s->stop();
  st.sessions.clear();
  st.per_address.clear();
}

tcp::endpoint server::endpoint() const {
  error_code ec;
  return state_->acceptor.local_endpoint(ec);
}

const config& server::cfg() const {
  return state_->cfg;
}

fault_book::rule_id server::add_fault(fault_rule rule) {
  return state_->faults.add(std::move(rule));
}

bool server::remove_fault(fault_book::rule_id id) {
  return state_->faults.remove(id);
}

void server::clear_faults() {
  state_->faults.clear();
}

const fault_book& server::faults() const {
  return state_->faults;
}

std::vector<session_record> server::records() const {
  std::vector<session_record> out;
  out.reserve(state_->records.size());
  for (const auto& r : state_->records) out.push_back(*r);
  return out;
}

const session_record* server::record(std::uint64_t id) const {
  for (const auto& r : state_->records)
    if (r->id == id) return r.get();
  return nullptr;
}

void server::clear_records() {
  auto& recs = state_->records;
  recs.erase(std::remove_if(recs.begin(), recs.end(), [](const auto& r) { return !r->open; }),
             recs.end());
}

void server::set_observer(std::function<void(const record_event&)> f) {
  state_->observer = std::move(f);
}

std::size_t server::session_count() const {
  return state_->sessions.size();
}

}  // namespace quecsim::ftpd
