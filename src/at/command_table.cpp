#include "quecsim/at/command_table.hpp"

namespace quecsim::at {

std::string_view cme_text(cme code) {
  switch (code) {
    case cme::operation_not_allowed:
      return "operation not allowed";
    case cme::operation_not_supported:
      return "operation not supported";
    case cme::sim_not_inserted:
      return "SIM not inserted";
    case cme::sim_pin_required:
      return "SIM PIN required";
    case cme::sim_puk_required:
      return "SIM PUK required";
    case cme::incorrect_password:
      return "incorrect password";
    case cme::no_network_service:
      return "no network service";
    case cme::incorrect_parameters:
      return "Incorrect parameters";
    case cme::unknown:
      return "unknown";
    case cme::file_invalid_input:
      return "invalid input value";
    case cme::file_invalid_name:
      return "invalid file name";
    case cme::file_no_space:
      return "not enough space";
    case cme::file_exists:
      return "file already exists";
    case cme::file_too_many_open:
      return "too many open files";
    case cme::file_bad_handle:
      return "invalid file handle";
    case cme::file_read_only:
      return "file is read only";
    case cme::file_busy:
      return "file is in use";
    case cme::file_no_area:
      return "no such storage";
    case cme::file_past_end:
      return "position outside the file";
    case cme::file_not_found:
      return "file not found";
  }
  return "unknown";
}

handler reply(std::vector<std::string> lines) {
  return [lines = std::move(lines)](const std::shared_ptr<invocation>& inv) {
    for (const auto& l : lines) inv->info(l);
    inv->ok();
  };
}

void command_table::add(command_spec spec) {
  auto name = spec.name;
  specs_[name] = std::move(spec);
}

bool command_table::remove(std::string_view name) {
  const auto it = specs_.find(name);
  if (it == specs_.end()) return false;
  specs_.erase(it);
  return true;
}

const command_spec* command_table::find(std::string_view name) const {
  const auto it = specs_.find(name);
  return it == specs_.end() ? nullptr : &it->second;
}

std::vector<const command_spec*> command_table::all() const {
  std::vector<const command_spec*> out;
  out.reserve(specs_.size());
  for (const auto& [name, spec] : specs_) out.push_back(&spec);
  return out;
}

}  // namespace quecsim::at
