// A firmware-style test against a simulated M95: AT over the pty, a download from the embedded
// FTP server, and a fault applied through the control handle.
#define CATCH_CONFIG_MAIN
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <quecsim/station/fixture.hpp>
#include <string>

namespace {

// The host's end of the UART: what a driver would write and read.
class uart {
 public:
  explicit uart(const std::string& path) : fd_(::open(path.c_str(), O_RDWR | O_NOCTTY)) {
    REQUIRE(fd_ >= 0);
  }
  ~uart() { ::close(fd_); }
  uart(const uart&) = delete;
  uart& operator=(const uart&) = delete;

  void send(const std::string& line) {
    REQUIRE(::write(fd_, line.data(), line.size()) == static_cast<ssize_t>(line.size()));
  }
  // Exactly as many bytes as the expected answer holds, within ten seconds.
  std::string read(const std::string& expected) {
    std::string got;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (got.size() < expected.size() && std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      char buf[256];
      const auto n = ::read(fd_, buf, std::min(sizeof buf, expected.size() - got.size()));
      if (n <= 0) break;
      got.append(buf, static_cast<std::size_t>(n));
    }
    return got;
  }

 private:
  int fd_;
};

}  // namespace

TEST_CASE("The modem powers up, answers AT, downloads a file and reports a dropped context") {
  quecsim::station::fixture_options options;
  options.time_scale = 0.02;  // a 300 ms network round trip takes 6 ms
  options.boot_delay_ms = 0;
  quecsim::station::fixture modem(options);
  { std::ofstream(modem.ftp_root() / "config.txt", std::ios::binary) << "interval=60\n"; }

  uart port(modem.pty_path());  // the first open brings the power-up lines
  const std::string power_up =
      "\r\nRDY\r\n\r\n+CFUN: 1\r\n\r\n+CPIN: READY\r\n\r\nCall Ready\r\n\r\nSMS Ready\r\n";
  REQUIRE(port.read(power_up) == power_up);

  port.send("AT\r");  // echo is on after power-up
  REQUIRE(port.read("AT\r\r\nOK\r\n") == "AT\r\r\nOK\r\n");
  port.send("ATE0\r");
  REQUIRE(port.read("ATE0\r\r\nOK\r\n") == "ATE0\r\r\nOK\r\n");

  // Any host name reaches the embedded server.
  port.send("AT+QFTPOPEN=\"ftp.example.com\",21\r");
  REQUIRE(port.read("\r\nOK\r\n\r\n+QFTPOPEN:0\r\n") == "\r\nOK\r\n\r\n+QFTPOPEN:0\r\n");
  port.send("AT+QFTPGET=\"config.txt\"\r");
  const std::string download = "\r\nOK\r\n\r\nCONNECT\r\ninterval=60\n\r\n+QFTPGET:12\r\n";
  REQUIRE(port.read(download) == download);

  // The network drops the PDP context: the module says so, unprompted.
  modem.control().apply({{"action", "pdp_deact"}});
  REQUIRE(port.read("\r\n+PDP DEACT\r\n") == "\r\n+PDP DEACT\r\n");
}
