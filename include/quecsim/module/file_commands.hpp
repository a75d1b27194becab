#pragma once

#include <cstdint>
#include <memory>

#include "quecsim/module/module.hpp"
#include "quecsim/storage/store.hpp"

namespace quecsim::module {

/// The module's file commands over a store: AT+QFLDS, AT+QFLST, AT+QFDEL, AT+QFUPL,
/// AT+QFDWL, AT+QFOPEN, AT+QFREAD, AT+QFWRITE, AT+QFSEEK, AT+QFPOSITION, AT+QFTUCAT and
/// AT+QFCLOSE. Errors are `+CME ERROR: <4000-series code>` as AT+CMEE asks. A module restart
/// closes every handle and empties RAM. One per module.
class file_commands {
 public:
  /// Adds the commands to `m`'s command table. `s` must outlive this object.
  file_commands(module& m, storage::store& s);
  ~file_commands();
  file_commands(const file_commands&) = delete;
  file_commands& operator=(const file_commands&) = delete;

 private:
  class host_data;
  class sender;

  void add_commands();
  // One command each: its forms, parameters and answers.
  at::command_spec qflds_command();
  at::command_spec qflst_command();
  at::command_spec qfdel_command();
  at::command_spec qfupl_command();
  at::command_spec qfdwl_command();
  at::command_spec qfopen_command();
  at::command_spec qfread_command();
  at::command_spec qfwrite_command();
  at::command_spec qfseek_command();
  at::command_spec qfposition_command();

  module& module_;
  storage::store& store_;
  std::unique_ptr<host_data> upload_;
  std::uint64_t restarts_ = 0;  // a download running across a restart stops
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace quecsim::module
