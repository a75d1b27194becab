// The module's UART on an existing tty: --device (a USB-UART adapter wired to a real MCU: the
// line is set from the flags and follows AT+IPR and AT+IFC) and --attach-pty (the pty an
// emulator such as Zephyr's native_sim created for its UART).

#include <fcntl.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>

#include "endpoint_kinds.hpp"

namespace quecsim::serial::detail {
namespace {

speed_t speed_of(unsigned baud) {
  switch (baud) {
    case 300:
      return B300;
    case 600:
      return B600;
    case 1200:
      return B1200;
    case 2400:
      return B2400;
    case 4800:
      return B4800;
    case 9600:
      return B9600;
    case 19200:
      return B19200;
    case 38400:
      return B38400;
    case 57600:
      return B57600;
    case 230400:
      return B230400;
    case 460800:
      return B460800;
    case 921600:
      return B921600;
    default:
      // 0 (no pacing, or autobaud) and 14400/28800, which termios cannot name: the default.
      return B115200;
  }
}

class device final : public endpoint {
 public:
  device(boost::asio::io_context& io, events::bus& bus, int module_id, unsigned baud,
         const endpoint_options& opts)
      : endpoint(io, bus, module_id, baud),
        opts_(opts),
        flag_(std::string(flag_name(opts.type)) + " " + opts.path),
        timer_(io) {
    if (opts_.data_bits < 5 || opts_.data_bits > 8) {
      throw endpoint_usage_error("--data-bits " + std::to_string(opts_.data_bits) +
                                 ": must be 5, 6, 7 or 8");
    }
    if (opts_.parity != 'N' && opts_.parity != 'E' && opts_.parity != 'O') {
      throw endpoint_usage_error(std::string("--parity ") + opts_.parity +
                                 ": must be N (none), E (even) or O (odd)");
    }
    if (opts_.stop_bits != 1 && opts_.stop_bits != 2) {
      throw endpoint_usage_error("--stop-bits " + std::to_string(opts_.stop_bits) +
                                 ": must be 1 or 2");
    }
    fd_ = open_device(true);
    // The module's line settings as the host changes them: AT+IFC=2,2 asks for RTS/CTS,
    // AT+ICF for another frame; data mode raises DCD (AT&C1, the module's default).
    bus.subscribe([this, alive = std::weak_ptr<bool>(alive_)](const events::event& e) {
      if (alive.expired() || e.what != events::kind::state || e.module != module_id_) return;
      if (e.source == "flow_control") {
        rtscts_ = e.data == "rts/cts";
        apply_line();
      } else if (e.source == "uart" && e.data.substr(0, 6) == "frame ") {
        // Published before the OK is written: the new frame applies after it has gone.
        const std::string frame(e.data.substr(6));
        boost::asio::post(io_, [this, frame, alive = std::weak_ptr<bool>(alive_)] {
          if (!alive.expired()) set_frame(frame);
        });
      } else if (e.source == "uart" && (e.data == "data" || e.data == "command")) {
        dcd_ = e.data == "data";
        apply_dcd();
      }
    });
  }

  ~device() override { close_device(); }

  void start(callbacks cb) override {
    cb_ = std::move(cb);
    // The device is there from the start: its host (the MCU) is wired to it already.
    attach(fd_);
    if (cb_.on_attached) cb_.on_attached();
  }

  nlohmann::json describe() const override {
    nlohmann::json d{
        {"kind", opts_.type == endpoint_options::kind::device ? "device" : "attach-pty"},
        {"path", opts_.path},
        {"open", fd_ >= 0}};
    if (opts_.type == endpoint_options::kind::device) {
      d["format"] =
          std::to_string(opts_.data_bits) + opts_.parity + std::to_string(opts_.stop_bits);
      d["baud"] = line_baud();
      d["flow_control"] = rtscts_ ? "rts/cts" : "none";
      d["dcd"] = dcd_;
    }
    return d;
  }

  std::string name() const override { return opts_.path; }

  void set_baud(unsigned baud) override {
    endpoint::set_baud(baud);
    apply_line();
  }

 private:
  unsigned line_baud() const { return baud_ == 0 ? 115200 : baud_; }

  // Opens the device and sets its line; `first`: errors throw, naming the device (later
  // reopens are quiet and return -1).
  int open_device(bool first) {
    const int fd = ::open(opts_.path.c_str(), O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
      if (!first) return -1;
      const int e = errno;
      switch (e) {
        case ENOENT:
          throw std::runtime_error(flag_ + ": no such device");
        case EACCES:
        case EPERM:
          throw std::runtime_error(flag_ +
                                   ": permission denied (quecsim needs to read and write it: "
                                   "add the user to its group, e.g. dialout)");
        case EBUSY:
          throw std::runtime_error(flag_ + ": busy: another program has it open exclusively");
        default:
          throw std::runtime_error(flag_ + ": cannot open: " + std::strerror(e));
      }
    }
    const auto refuse = [&](const std::string& why) {
      ::close(fd);
      if (first) throw std::runtime_error(flag_ + ": " + why);
      return -1;
    };
    termios t{};
    if (::tcgetattr(fd, &t) != 0) return refuse("not a serial device (it is not a terminal)");
    // flock is the lock serial programs agree on (pyserial's exclusive=True, another quecsim);
    // TIOCEXCL makes every later open(2) of the device fail with EBUSY.
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      return refuse("busy: another program holds a lock on it");
    }
    ::ioctl(fd, TIOCEXCL);
    fd_ = fd;
    apply_line();
    // RTS up: the module takes bytes (the kernel drives it itself under RTS/CTS). The
    // adapter's DTR is the module's DCD (docs/attach.md); a pty has no modem lines and
    // refuses quietly.
    int rts = TIOCM_RTS;
    ::ioctl(fd, TIOCMBIS, &rts);
    apply_dcd();
    return fd;
  }

  // AT&C1: DCD on while the module is in data mode, off in command mode, on the adapter's DTR
  // output, which the wiring takes to the MCU's DCD input.
  void apply_dcd() {
    if (fd_ < 0 || opts_.type != endpoint_options::kind::device) return;
    int dtr = TIOCM_DTR;
    ::ioctl(fd_, dcd_ ? TIOCMBIS : TIOCMBIC, &dtr);
  }

  // AT+ICF=<format>,<parity> (3GPP TS 27.007): formats 1-6 are 8/2, 8/P/1, 8/1, 7/2, 7/P/1,
  // 7/1 (data bits / parity / stop bits); parity 0-3 is odd, even, mark, space.
  void set_frame(const std::string& frame) {
    const auto comma = frame.find(',');
    if (comma == std::string::npos) return;
    const long format = std::strtol(frame.c_str(), nullptr, 10);
    const long parity = std::strtol(frame.c_str() + comma + 1, nullptr, 10);
    if (format < 1 || format > 6 || parity < 0 || parity > 3) return;
    opts_.data_bits = format <= 3 ? 8 : 7;
    opts_.stop_bits = format == 1 || format == 4 ? 2 : 1;
    opts_.parity = format == 2 || format == 5 ? "OEMS"[parity] : 'N';
    apply_line();
  }

  // Raw mode, and for a device the speed and frame of the flags and AT+IPR, RTS/CTS per AT+IFC.
  void apply_line() {
    if (fd_ < 0) return;
    termios t{};
    if (::tcgetattr(fd_, &t) != 0) return;
    ::cfmakeraw(&t);
    t.c_cflag |= CLOCAL | CREAD;
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
    if (opts_.type == endpoint_options::kind::device) {
      t.c_cflag &= ~(CSIZE | PARENB | PARODD | CMSPAR | CSTOPB | CRTSCTS);
      t.c_cflag |= opts_.data_bits == 5   ? CS5
                   : opts_.data_bits == 6 ? CS6
                   : opts_.data_bits == 7 ? CS7
                                          : CS8;
      if (opts_.parity != 'N') t.c_cflag |= PARENB;
      if (opts_.parity == 'O' || opts_.parity == 'M') t.c_cflag |= PARODD;
      if (opts_.parity == 'M' || opts_.parity == 'S') t.c_cflag |= CMSPAR;
      if (opts_.stop_bits == 2) t.c_cflag |= CSTOPB;
      if (rtscts_) t.c_cflag |= CRTSCTS;
      ::cfsetispeed(&t, speed_of(line_baud()));
      ::cfsetospeed(&t, speed_of(line_baud()));
    }
    // TCSADRAIN: the OK of AT+IPR already handed to the device leaves at the old rate.
    ::tcsetattr(fd_, TCSADRAIN, &t);
  }

  void host_gone() override {
    // The other end hung up: an emulator that exited, a socat that ended, an adapter pulled.
    log(flag_ + ": the line hung up; opening it again every " + std::to_string(opts_.reconnect_ms) +
        " ms");
    close_device();
    if (cb_.on_detached) cb_.on_detached();
    reopen();
  }

  void reopen() {
    timer_.expires_after(std::chrono::milliseconds(opts_.reconnect_ms));
    timer_.async_wait([this, alive = std::weak_ptr<bool>(alive_)](auto ec) {
      if (ec || alive.expired()) return;
      if (open_device(false) < 0) return reopen();
      log(flag_ + ": open again");
      attach(fd_);
      if (cb_.on_attached) cb_.on_attached();
    });
  }

  void close_device() {
    detach();
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  endpoint_options opts_;
  std::string flag_;  // "--device PATH", the start of every message
  boost::asio::steady_timer timer_;
  int fd_ = -1;
  bool rtscts_ = false;
  bool dcd_ = false;  // the module is in data mode
};

}  // namespace

std::unique_ptr<endpoint> make_device(boost::asio::io_context& io, events::bus& bus, int module_id,
                                      unsigned baud, const endpoint_options& opts) {
  return std::make_unique<device>(io, bus, module_id, baud, opts);
}

}  // namespace quecsim::serial::detail
