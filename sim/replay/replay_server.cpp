#include "replay_server.hpp"

#include <algorithm>
#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <stdexcept>

namespace quecsim::sim::replay {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

namespace {

std::string verb_of(const std::string& line) {
  std::string v;
  for (const char c : line) {
    if (c == ' ') break;
    v.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  return v;
}

}  // namespace

replay_server::replay_server(asio::io_context& io, std::vector<ftp_step> steps,
                             std::map<std::size_t, std::string> downloads)
    : io_(io),
      steps_(std::move(steps)),
      downloads_(std::move(downloads)),
      control_acceptor_(io),
      data_acceptor_(io),
      close_timer_(io) {}

std::uint16_t replay_server::start() {
  const tcp::endpoint any(asio::ip::make_address("127.0.0.1"), 0);
  control_acceptor_.open(any.protocol());
  control_acceptor_.bind(any);
  control_acceptor_.listen();
  accept_control();
  return control_acceptor_.local_endpoint().port();
}

void replay_server::accept_control() {
  auto s = std::make_shared<tcp::socket>(io_);
  control_acceptor_.async_accept(*s, [this, s](error_code ec) {
    if (ec) return;
    close_control();
    close_timer_.cancel();
    control_ = s;
    control_in_.clear();
    control_out_.clear();
    writing_ = false;
    close_after_write_ = false;
    // A new connection ends the previous conversation: what is left of it was not said.
    while (cursor_ < steps_.size() && steps_[cursor_].what != ftp_step::open) ++cursor_;
    blocked_ = false;
    transfer_ = transfer::none;
    on_data_ = nullptr;
    ++accepted_;
    read_control(s);
    advance();
    accept_control();
  });
}

void replay_server::read_control(const socket_ptr& s) {
  auto buf = std::make_shared<std::array<char, 4096>>();
  s->async_read_some(asio::buffer(*buf), [this, s, buf](error_code ec, std::size_t n) {
    if (s != control_) return;
    if (ec) {
      // The module ended the connection: the recorded end of it, if that is next.
      if (cursor_ < steps_.size() && steps_[cursor_].what == ftp_step::closed) {
        ++cursor_;
        advance();
      }
      return;
    }
    control_in_.append(buf->data(), n);
    for (auto end = control_in_.find('\n'); end != std::string::npos;
         end = control_in_.find('\n')) {
      std::string line = control_in_.substr(0, end);
      control_in_.erase(0, end + 1);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      on_line(line);
      if (s != control_) return;
    }
    read_control(s);
  });
}

void replay_server::on_line(const std::string& line) {
  // Skip the server's side of what the module missed; then the line should be the next step.
  while (cursor_ < steps_.size() && steps_[cursor_].what == ftp_step::reply && !blocked_) {
    send(steps_[cursor_++].text);
  }
  if (cursor_ < steps_.size() && steps_[cursor_].what == ftp_step::command) {
    const auto& expected = steps_[cursor_].text;
    // Passwords are masked in the transcript ("PASS ****").
    const bool same = expected == line || (verb_of(expected) == "PASS" && verb_of(line) == "PASS");
    const std::string verb = verb_of(line);
    if (!same && verb != "PORT" && verb != "EPRT") {
      mismatches_.push_back("line " + std::to_string(steps_[cursor_].line) + ": recorded '" +
                            expected + "', sent '" + line + "'");
    }
    transfer_step_ = cursor_;
    ++cursor_;
  } else {
    mismatches_.push_back("the end of the recorded conversation: sent '" + line + "'");
  }
  const std::string verb = verb_of(line);
  if (verb == "RETR" || verb == "LIST" || verb == "NLST" || verb == "MLSD") {
    transfer_ = transfer::download;
  } else if (verb == "STOR" || verb == "APPE" || verb == "STOU") {
    transfer_ = transfer::upload;
  } else if (verb == "PORT") {
    // Active mode: connect to where the module listens now (its port differs every run).
    unsigned h1 = 0, h2 = 0, h3 = 0, h4 = 0, p1 = 0, p2 = 0;
    if (std::sscanf(line.c_str() + 5, "%u,%u,%u,%u,%u,%u", &h1, &h2, &h3, &h4, &p1, &p2) == 6) {
      close_data();
      auto s = std::make_shared<tcp::socket>(io_);
      const tcp::endpoint to(
          asio::ip::make_address(std::to_string(h1) + "." + std::to_string(h2) + "." +
                                 std::to_string(h3) + "." + std::to_string(h4)),
          static_cast<std::uint16_t>(p1 * 256 + p2));
      s->async_connect(to, [this, s](error_code ec) {
        if (!ec) data_ready(s);
      });
    }
  }
  advance();
}

void replay_server::advance() {
  while (cursor_ < steps_.size() && !blocked_) {
    const ftp_step& step = steps_[cursor_];
    switch (step.what) {
      case ftp_step::open:
        // A new control connection: its replies wait for the module to connect.
        if (accepted_ == 0) return;
        --accepted_;
        ++cursor_;
        break;
      case ftp_step::command:
        return;  // the module speaks next
      case ftp_step::closed: {
        // The server ended it (end of file, reset): so does this one, as long after its last
        // word as it did. Otherwise the module ended it, and its read sees that.
        const bool by_server = step.text.find("End of file") != std::string::npos ||
                               step.text.find("reset by peer") != std::string::npos;
        if (!by_server) return;
        ++cursor_;
        const double gap = cursor_ >= 2 ? step.t - steps_[cursor_ - 2].t : 0.0;
        auto s = control_;
        close_timer_.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
            std::chrono::duration<double>(std::max(0.0, gap))));
        close_timer_.async_wait([this, s](error_code ec) {
          if (!ec && s == control_) close_control();
        });
        return;
      }
      case ftp_step::reply: {
        ++cursor_;
        const char kind = step.text.empty() ? '0' : step.text[0];
        send(data_reply(step.text));
        if (transfer_ != transfer::none && kind == '1') {
          blocked_ = true;
          if (transfer_ == transfer::download) {
            with_data([this] { serve_download(); });
          } else {
            // A server that failed the upload (426, 451, ...) ended its data connection early:
            // so does this one, at the first bytes, with a reset.
            bool fails = false;
            for (auto i = cursor_; i < steps_.size() && steps_[i].what == ftp_step::reply; ++i) {
              if (!steps_[i].text.empty() && steps_[i].text[0] != '1') {
                fails = steps_[i].text[0] >= '4';
                break;
              }
            }
            with_data([this, fails] { drain_upload(fails); });
          }
          return;
        }
        if (transfer_ != transfer::none && kind >= '2' && step.text.size() > 3 &&
            step.text[3] == ' ') {
          transfer_ = transfer::none;
        }
        break;
      }
    }
  }
}

std::string replay_server::data_reply(const std::string& text) {
  const bool pasv = text.rfind("227", 0) == 0;
  const bool epsv = text.rfind("229", 0) == 0;
  if (!pasv && !epsv) return text;
  close_data();
  on_data_ = nullptr;
  if (!data_acceptor_.is_open()) {
    const tcp::endpoint any(asio::ip::make_address("127.0.0.1"), 0);
    data_acceptor_.open(any.protocol());
    data_acceptor_.bind(any);
    data_acceptor_.listen();
  }
  const auto port = data_acceptor_.local_endpoint().port();
  auto s = std::make_shared<tcp::socket>(io_);
  data_acceptor_.async_accept(*s, [this, s](error_code ec) {
    if (!ec) data_ready(s);
  });
  // The module connects to the control connection's peer and the port given here.
  if (pasv) {
    return "227 Entering Passive Mode (127,0,0,1," + std::to_string(port / 256) + "," +
           std::to_string(port % 256) + ").";
  }
  return "229 Entering Extended Passive Mode (|||" + std::to_string(port) + "|)";
}

void replay_server::with_data(std::function<void()> fn) {
  if (data_) return fn();
  on_data_ = std::move(fn);
}

void replay_server::data_ready(socket_ptr s) {
  data_ = std::move(s);
  if (on_data_) {
    auto fn = std::move(on_data_);
    on_data_ = nullptr;
    fn();
  }
}

void replay_server::serve_download() {
  auto content = std::make_shared<std::string>();
  if (auto it = downloads_.find(transfer_step_); it != downloads_.end()) *content = it->second;
  auto s = data_;
  asio::async_write(*s, asio::buffer(*content), [this, s, content](error_code, std::size_t) {
    if (s == data_) close_data();
    blocked_ = false;
    advance();
  });
}

void replay_server::drain_upload(bool abort) {
  auto s = data_;
  auto buf = std::make_shared<std::array<char, 65536>>();
  s->async_read_some(asio::buffer(*buf), [this, s, buf, abort](error_code ec, std::size_t) {
    if (!ec && !abort) return drain_upload(false);
    if (!ec && s == data_) {
      error_code ignored;
      s->set_option(tcp::socket::linger(true, 0), ignored);
      s->close(ignored);
      data_.reset();
    }
    if (s == data_) close_data();
    blocked_ = false;
    advance();
  });
}

void replay_server::close_data() {
  if (!data_) return;
  error_code ignored;
  data_->shutdown(tcp::socket::shutdown_both, ignored);
  data_->close(ignored);
  data_.reset();
}

void replay_server::close_control() {
  if (!control_) return;
  if (writing_) {
    close_after_write_ = true;
    return;
  }
  error_code ignored;
  control_->shutdown(tcp::socket::shutdown_both, ignored);
  control_->close(ignored);
  control_.reset();
}

void replay_server::send(const std::string& line) {
  if (!control_) return;
  control_out_.push_back(line + "\r\n");
  if (!writing_) write_next();
}

void replay_server::write_next() {
  if (control_out_.empty() || !control_) {
    writing_ = false;
    if (close_after_write_) {
      close_after_write_ = false;
      close_control();
    }
    return;
  }
  writing_ = true;
  auto s = control_;
  asio::async_write(*s, asio::buffer(control_out_.front()), [this, s](error_code ec, std::size_t) {
    if (s != control_) return;
    control_out_.pop_front();
    if (ec) control_out_.clear();
    write_next();
  });
}

// ---- the socket peers -----------------------------------------------------------------------

struct socket_peer::connection {
  explicit connection(asio::io_context& io) : socket(io), timer(io) {}
  tcp::socket socket;
  asio::steady_timer timer;
  std::size_t index = 0;   // of its script
  std::size_t cursor = 0;  // the next step
  std::string received;    // the module's bytes not yet matched
  std::array<char, 4096> buffer{};
  std::chrono::steady_clock::time_point accepted;
  bool reading = false;
  bool writing = false;
  bool waiting = false;  // on the timer
  bool ended = false;    // the module closed, or the script ended it
};

socket_peer::socket_peer(asio::io_context& io, std::vector<socket_script> scripts, double speed)
    : io_(io), scripts_(std::move(scripts)), speed_(speed) {}

std::uint16_t socket_peer::start() {
  const auto loopback = asio::ip::make_address("127.0.0.1");
  const auto listen = [&](std::uint16_t port) {
    auto a = std::make_unique<tcp::acceptor>(io_);
    const tcp::endpoint at(loopback, port);
    error_code ec;
    a->open(at.protocol(), ec);
    if (!ec) a->set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) a->bind(at, ec);
    if (!ec) a->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return std::uint16_t{0};
    const auto got = a->local_endpoint().port();
    acceptors_.push_back(std::move(a));
    accept(*acceptors_.back());
    return got;
  };
  std::vector<std::uint16_t> ports;
  bool all = true;
  for (const auto& sc : scripts_) {
    if (sc.peer_port == 0) {
      all = false;
    } else if (std::find(ports.begin(), ports.end(), sc.peer_port) == ports.end()) {
      ports.push_back(sc.peer_port);
      if (listen(sc.peer_port) == 0) all = false;  // taken now: the module is sent elsewhere
    }
  }
  if (all) return 0;
  const auto own = listen(0);
  if (own == 0) throw std::runtime_error("cannot listen on 127.0.0.1 for the socket peer");
  return own;
}

void socket_peer::accept(tcp::acceptor& a) {
  auto c = std::make_shared<connection>(io_);
  a.async_accept(c->socket, [this, c, &a](error_code ec) {
    if (ec) return;
    c->index = accepted_++;
    c->accepted = std::chrono::steady_clock::now();
    if (c->index >= scripts_.size()) {
      // A connection the recording did not make: refused as a closed port would.
      mismatches_.push_back("connection " + std::to_string(c->index + 1) + ": not recorded");
      c->socket.close(ec);
    } else {
      open_.push_back(c);
      advance(c);
    }
    accept(a);
  });
}

void socket_peer::read(const connection_ptr& c) {
  if (c->reading || c->ended) return;
  c->reading = true;
  c->socket.async_read_some(asio::buffer(c->buffer), [this, c](error_code ec, std::size_t n) {
    c->reading = false;
    if (ec) {
      c->ended = true;
      const auto& steps = scripts_[c->index].steps;
      if (c->cursor < steps.size() && steps[c->cursor].what == socket_step::from_module) {
        mismatches_.push_back("connection " + std::to_string(c->index + 1) +
                              ": the module closed before sending what it had sent");
      }
      c->socket.close(ec);
      return;
    }
    c->received.append(c->buffer.data(), n);
    advance(c);
    read(c);
  });
}

void socket_peer::advance(const connection_ptr& c) {
  const auto& script = scripts_[c->index];
  while (!c->ended && !c->writing && !c->waiting && c->cursor < script.steps.size()) {
    const auto& step = script.steps[c->cursor];
    if (step.what == socket_step::from_module) {
      if (c->received.size() < step.bytes.size()) break;  // more to come
      if (c->received.compare(0, step.bytes.size(), step.bytes) != 0) {
        mismatches_.push_back("connection " + std::to_string(c->index + 1) + ": the module sent " +
                              std::to_string(step.bytes.size()) +
                              " bytes that differ from the recorded ones");
      }
      c->received.erase(0, step.bytes.size());
      ++c->cursor;
      continue;
    }
    // The peer's part: not before its recorded time since the connection.
    const auto due =
        c->accepted + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                          std::chrono::duration<double>(std::max(0.0, step.t - script.t) / speed_));
    if (std::chrono::steady_clock::now() < due) {
      c->waiting = true;
      c->timer.expires_at(due);
      c->timer.async_wait([this, c](error_code ec) {
        c->waiting = false;
        if (!ec) advance(c);
      });
      return;
    }
    if (step.what == socket_step::peer_close) {
      c->ended = true;
      error_code ignored;
      c->socket.shutdown(tcp::socket::shutdown_both, ignored);
      c->socket.close(ignored);
      return;
    }
    c->writing = true;
    asio::async_write(c->socket, asio::buffer(step.bytes), [this, c](error_code ec, std::size_t) {
      c->writing = false;
      if (ec) {
        c->ended = true;
        return;
      }
      ++c->cursor;
      advance(c);
    });
    return;
  }
  read(c);
}

}  // namespace quecsim::sim::replay
