// The AT+QFTP* command table: each command's forms, parameters and limits as the manual
// gives them, and what it does in each state of the service (see the state table in
// docs/ftp-service.md).

#include <string>

#include "quecsim/ftp/errors.hpp"
#include "quecsim/ftp/service.hpp"

namespace quecsim::ftp {
namespace {

using at::cme;
using at::in_quotes;
using at::param;
using inv_ptr = std::shared_ptr<at::invocation>;

// File and folder names are trimmed: the manual's own example asks for the size of
// " test.txt ", and a real server has no such file.
std::string trimmed(const std::string& s) {
  const auto first = s.find_first_not_of(' ');
  if (first == std::string::npos) return {};
  const auto last = s.find_last_not_of(' ');
  return s.substr(first, last - first + 1);
}

// Chapter 3's -10: the input parameter is illegal (a well-formed but unusable value).
constexpr int illegal_input = -10;

}  // namespace

void service::add_commands() {
  add_open_close();
  add_transfers();
  add_path();
  add_credentials();
  add_cfg();
  add_stat_len();
  add_rename();
  add_one_name_commands();
}

// AT+QFTPOPEN and AT+QFTPCLOSE.
void service::add_open_close() {
  auto& t = module_.commands();
  {
    at::command_spec s;
    s.name = "+QFTPOPEN";
    auto port = param::integer(1, 65535, true);
    port.quoted_integer_ok = true;  // OpenCPU sends AT+QFTPOPEN="host","21"
    s.params = {param::string(50), port};
    s.test = at::reply({"+QFTPOPEN: \"HOST NAME\",(1-65535)"});
    s.read = [this](const inv_ptr& inv) {
      inv->info("+QFTPOPEN: " + in_quotes(host_) + "," + std::to_string(port_));
      inv->ok();
    };
    s.write = [this](const inv_ptr& inv) {
      const auto& a = inv->args();
      if (trimmed(a[0].text).empty()) return inv->error(cme::incorrect_parameters);
      inv->ok();
      if (state_ != service_state::idle && state_ != service_state::closed) {
        return result("OPEN", error::busy);
      }
      open(trimmed(a[0].text), a[1].omitted() ? 21 : static_cast<std::uint16_t>(a[1].number));
    };
    t.add(std::move(s));
  }
  {
    at::command_spec s;
    s.name = "+QFTPCLOSE";
    s.test = at::reply({});
    s.exec = [this](const inv_ptr& inv) {
      inv->ok();
      switch (state_) {
        case service_state::idle:
          return result("CLOSE", error::unknown);
        case service_state::closing:
          return result("CLOSE", error::busy);
        default:
          return close();
      }
    };
    t.add(std::move(s));
  }
}

// AT+QFTPPUT and AT+QFTPGET.
void service::add_transfers() {
  auto& t = module_.commands();
  {
    at::command_spec s;
    s.name = "+QFTPPUT";
    s.params = {param::string(50), param::integer(0, 2147483647), param::integer(1, 65535, true)};
    // The manual's test row, as written.
    s.test = at::reply({"+QFTPPUT: \"FILE NAME\",<fileSz>,(1-65535)"});
    s.write = [this](const inv_ptr& inv) {
      const auto& a = inv->args();
      const std::string name = trimmed(a[0].text);
      // Through /COM/ a size of 0 has no meaning (only stored files take their real size).
      if (name.empty() || (local_.com && a[1].number == 0)) {
        return inv->error(cme::incorrect_parameters);
      }
      if (!begin_session_command(inv, "PUT")) return;
      const auto limit = std::chrono::seconds(a[2].omitted() ? 900 : a[2].number);
      if (!local_.com) return put_file(name, static_cast<std::uint64_t>(a[1].number), limit);
      put(name, static_cast<std::uint64_t>(a[1].number), limit);
    };
    t.add(std::move(s));
  }
  {
    at::command_spec s;
    s.name = "+QFTPGET";
    // The optional size is what later firmware accepts: download at most that many bytes.
    s.params = {param::string(50), param::integer(1, 2147483647, true)};
    s.test = at::reply({"+QFTPGET: \"FILE NAME\""});
    s.write = [this](const inv_ptr& inv) {
      const auto& a = inv->args();
      const std::string name = trimmed(a[0].text);
      if (name.empty()) return inv->error(cme::incorrect_parameters);
      if (!begin_session_command(inv, "GET")) return;
      const std::uint64_t limit = a[1].omitted() ? 0 : static_cast<std::uint64_t>(a[1].number);
      if (!local_.com) return get_file(name, limit);
      get(name, limit);
    };
    t.add(std::move(s));
  }
}

// AT+QFTPPATH: CWD, remembered only when the server took it.
void service::add_path() {
  auto& t = module_.commands();
  auto alive = std::weak_ptr<bool>(alive_);
  at::command_spec s;
  s.name = "+QFTPPATH";
  s.params = {param::string(100)};
  s.test = at::reply({"+QFTPPATH: \"PATH NAME\""});
  // The manual's read row puts OK before the information: reproduced as written.
  s.read = [this](const inv_ptr& inv) {
    inv->after_final("+QFTPPATH:" + in_quotes(path_));
    inv->ok();
  };
  s.write = [this, alive](const inv_ptr& inv) {
    const std::string path = inv->args()[0].text;
    if (!begin_session_command(inv, "PATH")) return;
    if (trimmed(path).empty()) {
      // "" is the login folder: nothing to ask the server.
      path_.clear();
      return finish_operation("PATH", {});
    }
    client_->cwd(trimmed(path), [this, alive, path](ftp::result r) {
      if (alive.expired()) return;
      if (r.code == 0) path_ = path;
      finish_operation("PATH", {r.code, 0});
    });
  };
  t.add(std::move(s));
}

// AT+QFTPUSER and AT+QFTPPASS: the account the next AT+QFTPOPEN logs in as.
void service::add_credentials() {
  const auto credential = [this](const std::string& name, const std::string& label,
                                 std::string service::*field) {
    at::command_spec s;
    s.name = "+QFTP" + name;
    s.params = {param::string(30)};
    s.test = at::reply({"+QFTP" + name + ": " + in_quotes(label)});
    s.read = [this, name, field](const inv_ptr& inv) {
      inv->info("+QFTP" + name + ":" + in_quotes(this->*field));
      inv->ok();
    };
    s.write = [this, field](const inv_ptr& inv) {
      // Only while no service is open: the account is what the next AT+QFTPOPEN logs in as.
      if (state_ != service_state::idle) return inv->error(cme::operation_not_allowed);
      this->*field = inv->args()[0].text;
      inv->ok();
    };
    module_.commands().add(std::move(s));
  };
  credential("USER", "USER NAME", &service::user_);
  credential("PASS", "PASSWORD", &service::password_);
}

// AT+QFTPCFG: the transfer settings, answered OK then +QFTPCFG:<result> later.
void service::add_cfg() {
  auto& t = module_.commands();
  at::command_spec s;
  s.name = "+QFTPCFG";
  s.params = {param::integer(1, 6), param::either(100, true)};
  // The manual's test row says (1-3) though type 4 exists: reproduced as written.
  s.test = at::reply({"+QFTPCFG: (1-3)"});
  s.write = [this](const inv_ptr& inv) {
    const auto& a = inv->args();
    const int type = static_cast<int>(a[0].number);
    const at::value v = a[1];
    // Types 5 and 6 exist only in firmware whose profile says so.
    if (type > module_.config().model.ftp_cfg_types) return inv->error(cme::incorrect_parameters);
    inv->ok();
    const std::string line = cfg_answer(type, v);
    auto timer = std::make_shared<boost::asio::steady_timer>(
        module_.io(), module_.time().scaled(timing_.local_result));
    timer->async_wait([this, timer, line, alive = std::weak_ptr<bool>(alive_)](auto ec) {
      if (!ec && !alive.expired()) module_.urc("+QFTPCFG:" + line);
    });
  };
  t.add(std::move(s));
}

// What AT+QFTPCFG=<type>[,<value>] answers after OK: the value read, 0 for a value taken,
// -3 while a command runs, -10 for a value that cannot be used.
std::string service::cfg_answer(int type, const at::value& v) {
  std::string line;
  if (state_ == service_state::working || state_ == service_state::transfer) {
    line = std::to_string(error::busy);
  } else if (v.omitted()) {
    // <value> left out: the command reads the parameter instead.
    switch (type) {
      case 1:
        line = passive_ ? "1" : "0";
        break;
      case 2:
        line = binary_ ? "0" : "1";
        break;
      case 3:
        line = std::to_string(resume_);
        break;
      case 5:
        line = std::to_string(cfg5_);
        break;
      case 6:
        line = std::to_string(cfg6_);
        break;
      default:
        line = in_quotes(position_);
        break;
    }
  } else if (type == 4) {
    // "/COM/", or "/UFS/", "/RAM/", "/SD/" with an optional file name, where the model
    // has that area.
    local_position p;
    if (v.is_string() && parse_position(v.text, p)) {
      line = "0";
      position_ = v.text;
      local_ = p;
    } else {
      line = std::to_string(illegal_input);
    }
  } else if (!v.is_integer() || v.number < 0 || (type != 3 && v.number > 1)) {
    line = std::to_string(illegal_input);
  } else {
    line = "0";
    if (type == 1) passive_ = v.number == 1;
    if (type == 2) binary_ = v.number == 0;
    if (type == 3) resume_ = static_cast<std::uint64_t>(v.number);
    if (type == 5) cfg5_ = static_cast<int>(v.number);
    if (type == 6) cfg6_ = static_cast<int>(v.number);
  }
  return line;
}

// AT+QFTPSTAT and AT+QFTPLEN: what the service knows, at once.
void service::add_stat_len() {
  auto& t = module_.commands();
  {
    at::command_spec s;
    s.name = "+QFTPSTAT";
    s.test = at::reply({});
    s.exec = [this](const inv_ptr& inv) {
      inv->info("+QFTPSTAT: " + std::string(state_name(state_)));
      inv->ok();
    };
    t.add(std::move(s));
  }
  {
    at::command_spec s;
    s.name = "+QFTPLEN";
    s.test = at::reply({});
    s.exec = [this](const inv_ptr& inv) {
      inv->info("+QFTPLEN: " + std::to_string(last_length_));
      inv->ok();
    };
    t.add(std::move(s));
  }
}

// AT+QFTPRENAME: RNFR then RNTO.
void service::add_rename() {
  auto& t = module_.commands();
  auto alive = std::weak_ptr<bool>(alive_);
  at::command_spec s;
  s.name = "+QFTPRENAME";
  s.params = {param::string(50), param::string(50)};
  s.test = at::reply({"+QFTPRENAME: (\"SOURCE NAME\",\"TARGET NAME\")"});
  s.write = [this, alive](const inv_ptr& inv) {
    const auto from = trimmed(inv->args()[0].text);
    const auto to = trimmed(inv->args()[1].text);
    if (from.empty() || to.empty()) return inv->error(cme::incorrect_parameters);
    if (!begin_session_command(inv, "RENAME")) return;
    client_->rename(from, to, [this, alive](ftp::result r) {
      if (!alive.expired()) finish_operation("RENAME", {r.code, 0});
    });
  };
  t.add(std::move(s));
}

// The one-name commands: SIZE answers the size, DELETE, MKDIR and RMDIR 0.
void service::add_one_name_commands() {
  auto alive = std::weak_ptr<bool>(alive_);
  auto one_name = [this, alive](const std::string& name, std::size_t limit,
                                const std::string& label,
                                void (client::*op)(std::string, client::done), bool value) {
    at::command_spec s;
    s.name = "+QFTP" + name;
    s.params = {param::string(limit)};
    s.test = at::reply({"+QFTP" + name + ": " + in_quotes(label)});
    s.write = [this, alive, name, op, value](const inv_ptr& inv) {
      const auto target = trimmed(inv->args()[0].text);
      if (target.empty()) return inv->error(cme::incorrect_parameters);
      if (!begin_session_command(inv, name)) return;
      ((*client_).*op)(target, [this, alive, name, value](ftp::result r) {
        if (alive.expired()) return;
        if (!value) r.value = 0;
        finish_operation(name, r);
      });
    };
    module_.commands().add(std::move(s));
  };
  one_name("SIZE", 50, "FILE NAME", &client::size, true);
  one_name("DELETE", 50, "FILE NAME", &client::remove, false);
  one_name("MKDIR", 100, "PATH NAME", &client::make_dir, false);
  one_name("RMDIR", 100, "PATH NAME", &client::remove_dir, false);
}

}  // namespace quecsim::ftp
