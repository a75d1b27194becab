// The file commands of GSM_File_ATC, as drivers use them (see BEHAVIOUR.md "Local storage"
// and the table in docs/storage.md): forms, limits, data mode, and the 4000-series errors.

#include "quecsim/module/file_commands.hpp"

#include <boost/asio/steady_timer.hpp>
#include <cctype>
#include <cstdio>
#include <functional>

namespace quecsim::module {

// The store's vocabulary, as the commands speak it.
using storage::area;
using storage::checksum;
using storage::entry;
using storage::errc;
using storage::file_ref;
using storage::open_mode;
using storage::origin;
using storage::space;
using storage::store;

namespace {

using at::cme;
using at::in_quotes;
using at::param;
using inv_ptr = std::shared_ptr<at::invocation>;

// Output queued towards the UART before a download waits for it to drain.
constexpr std::size_t uart_high_water = std::size_t{64} * 1024;
constexpr std::size_t read_chunk = std::size_t{16} * 1024;
// A name parameter is checked against the profile's length itself (4001), so the parser
// takes anything a command line can carry.
constexpr std::size_t name_param_max = 255;
constexpr std::int64_t handle_max = 2147483647;

cme code(errc e) {
  return static_cast<cme>(static_cast<int>(e));
}

std::string hex(std::uint16_t v) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%x", static_cast<unsigned>(v));
  return buf;
}

bool has_wildcard(std::string_view s) {
  return s.find_first_of("*?") != std::string_view::npos;
}

}  // namespace

// ---- host to module: AT+QFUPL and AT+QFWRITE --------------------------------------------------

/// Takes up to `expected` bytes from the host in data mode, each piece handed to `sink` at
/// once. Ends when all came, after `idle` with no byte, or at +++; then `done` runs with
/// the count, the checksum and the first error the sink gave (later bytes are still taken,
/// and dropped, so none is read as a command).
class file_commands::host_data final : public data_mode_handler {
 public:
  using sink_fn = std::function<errc(std::string_view)>;
  using done_fn = std::function<void(std::uint64_t, std::uint16_t, errc)>;

  host_data(file_commands& owner, std::uint64_t expected, std::chrono::seconds idle, sink_fn sink,
            done_fn done)
      : owner_(owner),
        expected_(expected),
        idle_(idle),
        sink_(std::move(sink)),
        done_(std::move(done)),
        timer_(owner.module_.io()) {}

  void start() {
    owner_.module_.enter_data_mode(*this);
    if (expected_ == 0) return end();
    arm();
  }

  std::size_t on_host_data(std::string_view bytes) override {
    if (ended_) return 0;
    const auto n =
        static_cast<std::size_t>(std::min<std::uint64_t>(bytes.size(), expected_ - taken_));
    const std::string_view piece = bytes.substr(0, n);
    if (error_ == errc::ok) {
      error_ = sink_(piece);
      if (error_ == errc::ok) sum_.add(piece);
    }
    taken_ += n;
    if (taken_ == expected_) {
      end();
    } else {
      arm();
    }
    return n;
  }

  void on_escape() override { end(); }

 private:
  void arm() {
    timer_.expires_after(owner_.module_.time().scaled(idle_));
    timer_.async_wait([this, alive = std::weak_ptr<bool>(owner_.alive_)](auto ec) {
      if (ec || alive.expired()) return;
      end();
    });
  }

  void end() {
    if (ended_) return;
    ended_ = true;
    timer_.cancel();
    owner_.module_.leave_data_mode();
    const std::uint64_t stored = error_ == errc::ok ? taken_ : 0;
    done_(stored, sum_.value(), error_);
  }

  file_commands& owner_;
  std::uint64_t expected_;
  std::chrono::seconds idle_;
  sink_fn sink_;
  done_fn done_;
  boost::asio::steady_timer timer_;
  std::uint64_t taken_ = 0;
  checksum sum_;
  errc error_ = errc::ok;
  bool ended_ = false;
};

// ---- module to host: AT+QFDWL and AT+QFREAD ---------------------------------------------------

/// Streams `length` bytes from `source` to the UART, waiting for it to drain when it fills,
/// then calls `done` with their checksum.
class file_commands::sender : public std::enable_shared_from_this<file_commands::sender> {
 public:
  using source_fn = std::function<errc(std::size_t, std::string&)>;
  using done_fn = std::function<void(std::uint64_t, std::uint16_t)>;

  sender(file_commands& owner, std::uint64_t length, source_fn source, done_fn done)
      : module_(owner.module_),
        owner_(owner),
        alive_(owner.alive_),
        restarts_(owner.restarts_),
        left_(length),
        source_(std::move(source)),
        done_(std::move(done)) {}

  void run() {
    // A restart (or the end of the module) ends the download: nothing more is sent.
    if (alive_.expired() || owner_.restarts_ != restarts_) return;
    auto& port = module_.port();
    std::string piece;
    while (left_ > 0) {
      const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(left_, read_chunk));
      if (source_(n, piece) != errc::ok || piece.empty()) break;
      port.write(piece);
      sum_.add(piece);
      sent_ += piece.size();
      left_ -= piece.size();
      if (port.queued() > uart_high_water) {
        port.when_drained([self = shared_from_this()] { self->run(); });
        return;
      }
    }
    left_ = 0;
    if (!finished_) {
      finished_ = true;
      done_(sent_, sum_.value());
    }
  }

 private:
  module& module_;
  file_commands& owner_;
  std::weak_ptr<bool> alive_;
  std::uint64_t restarts_;
  std::uint64_t left_;
  source_fn source_;
  done_fn done_;
  checksum sum_;
  std::uint64_t sent_ = 0;
  bool finished_ = false;
};

// ---- the commands -----------------------------------------------------------------------------

file_commands::file_commands(module& m, storage::store& s) : module_(m), store_(s) {
  module_.on_restart([this] {
    ++restarts_;
    upload_.reset();
    store_.restart();
  });
  add_commands();
}

file_commands::~file_commands() {
  *alive_ = false;
}

at::command_spec file_commands::qflds_command() {
  const auto& lim = store_.limits();
  // The areas by the names AT+QFLDS takes.
  std::string areas = "\"UFS\"";
  if (lim.has_ram) areas += ",\"RAM\"";
  if (lim.has_sd) areas += ",\"SD\"";
  at::command_spec s;
  s.name = "+QFLDS";
  s.params = {param::string(16)};
  s.test = at::reply({"+QFLDS: (" + areas + ")"});
  auto answer = [this](const inv_ptr& inv, area a) {
    const space sp = store_.usage(a);
    inv->info("+QFLDS: " + std::to_string(sp.free) + "," + std::to_string(sp.total));
    inv->ok();
  };
  s.exec = [answer](const inv_ptr& inv) { answer(inv, area::ufs); };
  s.write = [this, answer](const inv_ptr& inv) {
    std::string which = inv->args()[0].text;
    for (auto& c : which) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    area a = area::ufs;
    if (which == "RAM") {
      a = area::ram;
    } else if (which == "SD") {
      a = area::sd;
    } else if (which != "UFS") {
      return inv->error(cme::file_invalid_input);
    }
    if (!store_.has(a)) return inv->error(cme::file_no_area);
    answer(inv, a);
  };
  return s;
}

at::command_spec file_commands::qflst_command() {
  at::command_spec s;
  s.name = "+QFLST";
  s.params = {param::string(name_param_max)};
  s.test = at::reply({"+QFLST: <filename>"});
  auto listing = [this](const inv_ptr& inv, const file_ref& pattern, bool wildcard) {
    const auto files = store_.list(pattern.where, pattern.name);
    if (files.empty() && !wildcard) return inv->error(cme::file_not_found);
    std::string lines;
    for (const auto& e : files) {
      if (!lines.empty()) lines += "\r\n";
      lines += "+QFLST: " + in_quotes(store_.display({pattern.where, e.name})) + "," +
               std::to_string(e.size);
      // A RAM file also shows the space it holds (BEHAVIOUR.md: "RAM:test.txt",1379,10240).
      if (pattern.where == area::ram) lines += "," + std::to_string(e.reserved);
    }
    // Every file line is its own information line.
    std::size_t from = 0;
    while (!lines.empty() && from <= lines.size()) {
      const auto to = lines.find("\r\n", from);
      inv->info(lines.substr(from, to == std::string::npos ? std::string::npos : to - from));
      if (to == std::string::npos) break;
      from = to + 2;
    }
    inv->ok();
  };
  s.exec = [listing](const inv_ptr& inv) { listing(inv, {area::ufs, "*"}, true); };
  s.write = [this, listing](const inv_ptr& inv) {
    file_ref pattern;
    if (const errc e = store_.parse(inv->args()[0].text, pattern, true); e != errc::ok) {
      return inv->error(code(e));
    }
    listing(inv, pattern, has_wildcard(pattern.name));
  };
  return s;
}

at::command_spec file_commands::qfdel_command() {
  at::command_spec s;
  s.name = "+QFDEL";
  s.params = {param::string(name_param_max)};
  s.test = at::reply({"+QFDEL: <filename>"});
  s.write = [this](const inv_ptr& inv) {
    file_ref pattern;
    if (const errc e = store_.parse(inv->args()[0].text, pattern, true); e != errc::ok) {
      return inv->error(code(e));
    }
    const errc e = store_.remove(pattern.where, pattern.name);
    // "*" on an empty area has nothing to do, and that is no error.
    if (e == errc::not_found && has_wildcard(pattern.name)) return inv->ok();
    if (e != errc::ok) return inv->error(code(e));
    inv->ok();
  };
  return s;
}

at::command_spec file_commands::qfupl_command() {
  const auto& lim = store_.limits();
  at::command_spec s;
  s.name = "+QFUPL";
  s.params = {param::string(name_param_max), param::integer(1, 2147483647, true),
              param::integer(1, 65535, true)};
  s.test = at::reply({"+QFUPL: <filename>,(1-" + std::to_string(lim.ufs_capacity) + "),(1-65535)"});
  s.write = [this](const inv_ptr& inv) {
    const auto& a = inv->args();
    file_ref f;
    if (const errc e = store_.parse(a[0].text, f); e != errc::ok) return inv->error(code(e));
    const std::uint64_t expected = a[1].omitted() ? store_.limits().ram_default_reserve
                                                  : static_cast<std::uint64_t>(a[1].number);
    const auto idle = std::chrono::seconds(a[2].omitted() ? 5 : a[2].number);
    if (store_.size(f)) return inv->error(cme::file_exists);
    if (store_.locked(f) || store_.is_open(f)) return inv->error(cme::file_busy);
    // In RAM the size is the space the file holds; elsewhere it must fit the free space.
    if (f.where == area::ram) {
      if (const errc e = store_.create(f, expected); e != errc::ok) return inv->error(code(e));
    } else {
      if (expected > store_.usage(f.where).free) return inv->error(cme::file_no_space);
      if (const errc e = store_.create(f); e != errc::ok) return inv->error(code(e));
    }
    auto offset = std::make_shared<std::uint64_t>(0);
    upload_ = std::make_unique<host_data>(
        *this, expected, idle,
        [this, f, offset](std::string_view piece) {
          const errc e = store_.write(f, *offset, piece);
          if (e == errc::ok) *offset += piece.size();
          return e;
        },
        [this, f, inv](std::uint64_t n, std::uint16_t sum, errc e) {
          if (e != errc::ok) {
            // Never leave a partial file that looks whole.
            store_.remove(f.where, f.name);
            return inv->error(code(e));
          }
          inv->info("+QFUPL: " + std::to_string(n) + "," + hex(sum));
          inv->ok();
        });
    upload_->start();
  };
  return s;
}

at::command_spec file_commands::qfdwl_command() {
  at::command_spec s;
  s.name = "+QFDWL";
  s.params = {param::string(name_param_max)};
  s.test = at::reply({"+QFDWL: <filename>"});
  s.write = [this](const inv_ptr& inv) {
    file_ref f;
    if (const errc e = store_.parse(inv->args()[0].text, f); e != errc::ok) {
      return inv->error(code(e));
    }
    const auto sz = store_.size(f);
    if (!sz) return inv->error(cme::file_not_found);
    if (store_.locked(f)) return inv->error(cme::file_busy);
    inv->info("CONNECT");
    auto offset = std::make_shared<std::uint64_t>(0);
    auto run = std::make_shared<sender>(
        *this, *sz,
        [this, f, offset](std::size_t n, std::string& out) {
          const errc e = store_.read(f, *offset, n, out);
          *offset += out.size();
          return e;
        },
        [inv](std::uint64_t n, std::uint16_t sum) {
          inv->info("+QFDWL: " + std::to_string(n) + "," + hex(sum));
          inv->ok();
        });
    run->run();
  };
  return s;
}

at::command_spec file_commands::qfopen_command() {
  at::command_spec s;
  s.name = "+QFOPEN";
  s.params = {param::string(name_param_max), param::integer(0, 2, true),
              param::integer(1, 2147483647, true)};
  s.test = at::reply({"+QFOPEN: <filename>,(0-2)"});
  s.write = [this](const inv_ptr& inv) {
    const auto& a = inv->args();
    file_ref f;
    if (const errc e = store_.parse(a[0].text, f); e != errc::ok) return inv->error(code(e));
    const auto mode = static_cast<open_mode>(a[1].omitted() ? 0 : a[1].number);
    const std::uint64_t reserve = a[2].omitted() ? 0 : static_cast<std::uint64_t>(a[2].number);
    int handle = 0;
    if (const errc e = store_.open(f, mode, reserve, handle); e != errc::ok) {
      return inv->error(code(e));
    }
    inv->info("+QFOPEN: " + std::to_string(handle));
    inv->ok();
  };
  return s;
}

at::command_spec file_commands::qfread_command() {
  at::command_spec s;
  s.name = "+QFREAD";
  s.params = {param::integer(0, handle_max), param::integer(0, 2147483647, true)};
  s.test = at::reply({"+QFREAD: <filehandle>,<length>"});
  s.write = [this](const inv_ptr& inv) {
    const auto& a = inv->args();
    const int handle = static_cast<int>(a[0].number);
    const file_ref* f = store_.file_of(handle);
    if (f == nullptr) return inv->error(cme::file_bad_handle);
    std::uint64_t pos = 0;
    store_.position(handle, pos);
    const std::uint64_t sz = store_.size(*f).value_or(0);
    const std::uint64_t rest = sz > pos ? sz - pos : 0;
    // Without a length the rest of the file is read.
    const std::uint64_t n =
        a[1].omitted() ? rest
                       : std::min<std::uint64_t>(rest, static_cast<std::uint64_t>(a[1].number));
    inv->info("CONNECT " + std::to_string(n));
    auto run = std::make_shared<sender>(
        *this, n,
        [this, handle](std::size_t k, std::string& out) { return store_.read(handle, k, out); },
        [inv](std::uint64_t, std::uint16_t) { inv->ok(); });
    run->run();
  };
  return s;
}

at::command_spec file_commands::qfwrite_command() {
  at::command_spec s;
  s.name = "+QFWRITE";
  s.params = {param::integer(0, handle_max), param::integer(0, 2147483647, true),
              param::integer(1, 65535, true)};
  s.test = at::reply({"+QFWRITE: <filehandle>,<length>,<timeout>"});
  s.write = [this](const inv_ptr& inv) {
    const auto& a = inv->args();
    const int handle = static_cast<int>(a[0].number);
    const file_ref* f = store_.file_of(handle);
    if (f == nullptr) return inv->error(cme::file_bad_handle);
    const std::uint64_t n = a[1].omitted() ? store_.limits().ram_default_reserve
                                           : static_cast<std::uint64_t>(a[1].number);
    const auto idle = std::chrono::seconds(a[2].omitted() ? 5 : a[2].number);
    std::uint64_t pos = 0;
    store_.position(handle, pos);
    // A read-only handle is refused before CONNECT, and so is data that cannot fit.
    if (const errc e = store_.write(handle, std::string_view()); e != errc::ok) {
      return inv->error(code(e));
    }
    if (const errc e = store_.room(*f, pos, n); e != errc::ok) return inv->error(code(e));
    const file_ref file = *f;
    const std::uint64_t before = store_.size(file).value_or(0);
    upload_ = std::make_unique<host_data>(
        *this, n, idle,
        [this, handle](std::string_view piece) { return store_.write(handle, piece); },
        [this, handle, file, inv, pos, before](std::uint64_t written, std::uint16_t, errc e) {
          if (e != errc::ok) {
            // The host's bytes did not all fit: the file is cut back to its old size.
            store_.truncate(file, before);
            store_.seek(handle, static_cast<std::int64_t>(pos), origin::start);
            return inv->error(code(e));
          }
          inv->info("+QFWRITE: " + std::to_string(written) + "," +
                    std::to_string(store_.size(file).value_or(0)));
          inv->ok();
        });
    upload_->start();
  };
  return s;
}

at::command_spec file_commands::qfseek_command() {
  at::command_spec s;
  s.name = "+QFSEEK";
  s.params = {param::integer(0, handle_max), param::integer(-2147483647, 2147483647),
              param::integer(0, 2, true)};
  s.test = at::reply({"+QFSEEK: <filehandle>,<offset>,(0-2)"});
  s.write = [this](const inv_ptr& inv) {
    const auto& a = inv->args();
    const auto from = static_cast<origin>(a[2].omitted() ? 0 : a[2].number);
    const errc e = store_.seek(static_cast<int>(a[0].number), a[1].number, from);
    if (e != errc::ok) return inv->error(code(e));
    inv->ok();
  };
  return s;
}

at::command_spec file_commands::qfposition_command() {
  at::command_spec s;
  s.name = "+QFPOSITION";
  s.params = {param::integer(0, handle_max)};
  s.test = at::reply({"+QFPOSITION: <filehandle>"});
  s.write = [this](const inv_ptr& inv) {
    std::uint64_t pos = 0;
    const errc e = store_.position(static_cast<int>(inv->args()[0].number), pos);
    if (e != errc::ok) return inv->error(code(e));
    inv->info("+QFPOSITION: " + std::to_string(pos));
    inv->ok();
  };
  return s;
}

void file_commands::add_commands() {
  auto& t = module_.commands();
  t.add(qflds_command());
  t.add(qflst_command());
  t.add(qfdel_command());
  t.add(qfupl_command());
  t.add(qfdwl_command());
  t.add(qfopen_command());
  t.add(qfread_command());
  t.add(qfwrite_command());
  t.add(qfseek_command());
  t.add(qfposition_command());
  auto by_handle = [this](const std::string& name, errc (store::*op)(int)) {
    at::command_spec s;
    s.name = name;
    s.params = {param::integer(0, handle_max)};
    s.test = at::reply({name + ": <filehandle>"});
    s.write = [this, op](const inv_ptr& inv) {
      const errc e = (store_.*op)(static_cast<int>(inv->args()[0].number));
      if (e != errc::ok) return inv->error(code(e));
      inv->ok();
    };
    module_.commands().add(std::move(s));
  };
  by_handle("+QFTUCAT", static_cast<errc (store::*)(int)>(&store::truncate));
  by_handle("+QFCLOSE", &store::close);
}

}  // namespace quecsim::module
