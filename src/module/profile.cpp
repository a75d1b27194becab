#include "quecsim/module/profile.hpp"

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <vector>

#include "quecsim/core/json_text.hpp"

#ifndef QUECSIM_PROFILE_DIR
#define QUECSIM_PROFILE_DIR "profiles"
#endif

namespace quecsim::module {
namespace {

using json = nlohmann::json;

// Reads one JSON document into a profile, keeping the JSON pointer of every value so that
// an error names exactly where the file is wrong.
class reader {
 public:
  explicit reader(std::string source) : source_(std::move(source)) {}

  [[noreturn]] void fail(const std::string& pointer, const std::string& what) const {
    throw profile_error(source_ + ": " + (pointer.empty() ? "/" : pointer) + ": " + what);
  }
  // A value of the wrong kind or out of range: what was expected, and what was found.
  [[noreturn]] void fail_value(const std::string& pointer, const std::string& what,
                               const json& value) const {
    fail(pointer, what + ", got " + json_text::found(value));
  }
  // An unknown key: the nearest allowed one, when it is close enough to be a typo.
  [[noreturn]] void fail_key(const std::string& pointer, const std::string& key,
                             const std::vector<std::string>& allowed) const {
    const std::string near = json_text::nearest(key, allowed);
    fail(pointer,
         near.empty() ? std::string("unknown key") : "unknown key; did you mean \"" + near + "\"?");
  }

  // An object whose keys are all in `allowed`.
  void object(const json& j, const std::string& pointer, const std::set<std::string>& allowed) {
    if (!j.is_object()) fail_value(pointer, "expected an object", j);
    for (const auto& [key, value] : j.items()) {
      if (allowed.count(key) == 0) {
        std::string at = pointer;
        at += '/';
        at += key;
        fail_key(at, key, std::vector<std::string>(allowed.begin(), allowed.end()));
      }
    }
  }

  // The patterns are string literals, a handful in all: each is compiled once per process.
  static const std::regex& compiled(const char* pattern) {
    static std::mutex guard;
    static std::map<const char*, std::regex> cache;
    const std::lock_guard<std::mutex> lock(guard);
    auto it = cache.find(pattern);
    if (it == cache.end()) it = cache.emplace(pattern, std::regex(pattern)).first;
    return it->second;
  }

  void text(const json& j, const std::string& pointer, const char* key, std::string& out,
            const char* pattern, const char* expected, bool required = false) {
    const auto it = j.find(key);
    const std::string at = pointer + "/" + key;
    if (it == j.end()) {
      if (required) fail(at, "missing (expected " + std::string(expected) + ")");
      return;
    }
    if (!it->is_string() || !std::regex_match(it->get<std::string>(), compiled(pattern))) {
      fail_value(at, "expected " + std::string(expected), *it);
    }
    out = it->get<std::string>();
  }

  void integer(const json& j, const std::string& pointer, const char* key, int& out, int min,
               int max) {
    const auto it = j.find(key);
    if (it == j.end()) return;
    if (!it->is_number_integer() || it->get<long long>() < min || it->get<long long>() > max) {
      fail_value(pointer + "/" + key,
                 "expected an integer from " + std::to_string(min) + " to " + std::to_string(max),
                 *it);
    }
    out = it->get<int>();
  }

  void millis(const json& j, const std::string& pointer, const char* key,
              std::chrono::milliseconds& out) {
    int v = static_cast<int>(out.count());
    integer(j, pointer, key, v, 0, 60000);
    out = std::chrono::milliseconds(v);
  }

  void bytes(const json& j, const std::string& pointer, const char* key, std::uint64_t& out) {
    const auto it = j.find(key);
    if (it == j.end()) return;
    if (!it->is_number_unsigned() || it->get<std::uint64_t>() > (std::uint64_t{1} << 40)) {
      fail_value(pointer + "/" + key, "expected a size in bytes from 0 to 2^40", *it);
    }
    out = it->get<std::uint64_t>();
  }

  void boolean(const json& j, const std::string& pointer, const char* key, bool& out) {
    const auto it = j.find(key);
    if (it == j.end()) return;
    if (!it->is_boolean()) fail_value(pointer + "/" + key, "expected true or false", *it);
    out = it->get<bool>();
  }

 private:
  std::string source_;
};

using section_reader = std::function<void(reader&, const json&, const std::string&, profile&)>;

// One reader per top-level section: a new section is one more entry here.
const std::map<std::string, section_reader>& sections() {
  static const std::map<std::string, section_reader> table = {
      {"$schema",
       [](reader& r, const json& j, const std::string& at, profile&) {
         if (!j.is_string()) r.fail_value(at, "expected a string", j);
       }},
      {"model",
       [](reader& r, const json& j, const std::string& at, profile& p) {
         if (!j.is_string() || j.get<std::string>().empty() || j.get<std::string>().size() > 20) {
           r.fail(at, "expected a model name of 1 to 20 characters");
         }
         p.model = j.get<std::string>();
       }},
      {"identity",
       [](reader& r, const json& j, const std::string& at, profile& p) {
         r.object(j, at, {"manufacturer", "model", "revision", "imei", "imsi", "iccid"});
         r.text(j, at, "manufacturer", p.manufacturer, ".+", "a non-empty string", true);
         r.text(j, at, "model", p.model_name, ".+", "a non-empty string", true);
         r.text(j, at, "revision", p.revision, ".+", "a non-empty string", true);
         r.text(j, at, "imei", p.imei, "[0-9]{15}", "15 digits", true);
         r.text(j, at, "imsi", p.imsi, "[0-9]{6,15}", "6 to 15 digits");
         r.text(j, at, "iccid", p.iccid, "[0-9A-F]{19,20}", "19 or 20 digits");
       }},
      {"power",
       [](reader& r, const json& j, const std::string& at, profile& p) {
         r.object(j, at, {"boot_delay_ms", "restart_ms"});
         r.millis(j, at, "boot_delay_ms", p.boot_delay);
         r.millis(j, at, "restart_ms", p.restart);
       }},
      {"sim",
       [](reader& r, const json& j, const std::string& at, profile& p) {
         r.object(j, at, {"state", "pin", "puk"});
         r.text(j, at, "state", p.sim_state, "ready|pin|puk|removed",
                "one of \"ready\", \"pin\", \"puk\", \"removed\"");
         r.text(j, at, "pin", p.pin, "[0-9]{4,8}", "4 to 8 digits");
         r.text(j, at, "puk", p.puk, "[0-9]{8}", "8 digits");
       }},
      {"network",
       [](reader& r, const json& j, const std::string& at, profile& p) {
         r.object(
             j, at,
             {"operator_long", "operator_short", "operator_numeric", "lac", "cell", "rssi", "ber"});
         r.text(j, at, "operator_long", p.operator_long, "[^\"]{1,16}",
                "1 to 16 characters without '\"'");
         r.text(j, at, "operator_short", p.operator_short, "[^\"]{1,8}",
                "1 to 8 characters without '\"'");
         r.text(j, at, "operator_numeric", p.operator_numeric, "[0-9]{5,6}", "5 or 6 digits");
         r.text(j, at, "lac", p.lac, "[0-9A-F]{4}", "4 upper-case hex digits");
         r.text(j, at, "cell", p.cell, "[0-9A-F]{4}", "4 upper-case hex digits");
         r.integer(j, at, "rssi", p.rssi, 0, 99);
         r.integer(j, at, "ber", p.ber, 0, 99);
       }},
      {"battery",
       [](reader& r, const json& j, const std::string& at, profile& p) {
         r.object(j, at, {"percent", "millivolts"});
         r.integer(j, at, "percent", p.battery_percent, 0, 100);
         r.integer(j, at, "millivolts", p.battery_millivolts, 0, 6000);
       }},
      {"storage",
       [](reader& r, const json& j, const std::string& at, profile& p) {
         auto& s = p.storage;
         r.object(j, at,
                  {"ram", "sd", "ufs_capacity", "ram_capacity", "sd_capacity", "name_max",
                   "name_forbidden", "ram_get_reserve", "ram_default_reserve", "ram_prefix",
                   "sd_prefix", "sd_folder", "max_open"});
         r.boolean(j, at, "ram", s.has_ram);
         r.boolean(j, at, "sd", s.has_sd);
         r.bytes(j, at, "ufs_capacity", s.ufs_capacity);
         r.bytes(j, at, "ram_capacity", s.ram_capacity);
         r.bytes(j, at, "sd_capacity", s.sd_capacity);
         int name_max = static_cast<int>(s.name_max);
         r.integer(j, at, "name_max", name_max, 1, 255);
         s.name_max = static_cast<std::size_t>(name_max);
         r.text(j, at, "name_forbidden", s.name_forbidden, "[^\\x00-\\x1f]*",
                "a string of printable characters");
         r.bytes(j, at, "ram_get_reserve", s.ram_get_reserve);
         r.bytes(j, at, "ram_default_reserve", s.ram_default_reserve);
         r.text(j, at, "ram_prefix", s.ram_prefix, "[A-Za-z]{1,8}:", "letters and a colon");
         r.text(j, at, "sd_prefix", s.sd_prefix, "[A-Za-z]{1,8}:", "letters and a colon");
         r.text(j, at, "sd_folder", s.sd_folder, "[A-Za-z0-9_]{1,32}",
                "a folder name of letters, digits and '_'");
         r.integer(j, at, "max_open", s.max_open, 1, 64);
       }},
      {"ftp",
       [](reader& r, const json& j, const std::string& at, profile& p) {
         r.object(j, at, {"cfg_types"});
         r.integer(j, at, "cfg_types", p.ftp_cfg_types, 4, 6);
       }},
      {"commands",
       [](reader& r, const json& j, const std::string& at, profile& p) {
         if (!j.is_object()) r.fail_value(at, "expected an object", j);
         static const std::regex name("[+&][A-Z]+|[A-Z]|S[0-9]{1,2}");
         for (const auto& [key, value] : j.items()) {
           const std::string here = at + "/" + json_text::pointer_escape(key);
           if (!std::regex_match(key, name)) {
             r.fail(here, "expected a command name such as \"+CIMI\", \"&W\", \"I\" or \"S0\"");
           }
           command_entry entry;
           if (value.is_boolean()) {
             entry.supported = value.get<bool>();
           } else if (value.is_object() && !value.empty()) {
             r.object(value, here, {"test", "read", "write", "exec"});
             fixed_command texts;
             for (auto [form, slot] :
                  {std::pair{"test", &texts.test}, std::pair{"read", &texts.read},
                   std::pair{"write", &texts.write}, std::pair{"exec", &texts.exec}}) {
               const auto it = value.find(form);
               if (it == value.end()) continue;
               const std::string there = here + "/" + form;
               if (!it->is_array()) r.fail_value(there, "expected an array of strings", *it);
               std::vector<std::string> lines;
               for (std::size_t i = 0; i < it->size(); ++i) {
                 if (!(*it)[i].is_string()) {
                   r.fail_value(there + "/" + std::to_string(i), "expected a string", (*it)[i]);
                 }
                 lines.push_back((*it)[i].get<std::string>());
               }
               *slot = std::move(lines);
             }
             entry.texts = std::move(texts);
           } else {
             r.fail_value(here,
                          "expected true, false or an object of \"test\", \"read\", "
                          "\"write\", \"exec\" line arrays",
                          value);
           }
           p.commands[key] = std::move(entry);
         }
       }},
  };
  return table;
}

bool looks_like_file(std::string_view s) {
  return s.find('/') != std::string_view::npos ||
         (s.size() > 5 && s.substr(s.size() - 5) == ".json");
}

}  // namespace

profile profile::parse(std::string_view text, const std::string& source) {
  reader r(source);
  json_text::failure why;
  auto parsed = json_text::parse(text, why);
  // A syntax error, or a number too large for a double (1e400): with its line and pointer.
  if (!parsed) throw profile_error(json_text::describe(source, why));
  const json doc = std::move(*parsed);
  if (!doc.is_object()) r.fail_value("", "expected an object", doc);
  for (const char* required : {"model", "identity"}) {
    if (!doc.contains(required)) r.fail(std::string("/") + required, "missing");
  }
  profile p;
  p.commands.clear();
  const auto& table = sections();
  for (const auto& [key, value] : doc.items()) {
    const auto it = table.find(key);
    const std::string at = "/" + json_text::pointer_escape(key);
    if (it == table.end()) {
      std::vector<std::string> known;
      for (const auto& [name, read] : table) known.push_back(name);
      r.fail_key(at, key, known);
    }
    it->second(r, value, at, p);
  }
  return p;
}

profile profile::load(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw profile_error(file.string() + ": cannot be read");
  std::ostringstream text;
  text << in.rdbuf();
  return parse(text.str(), file.string());
}

std::vector<std::filesystem::path> profile::search_path() {
  std::vector<std::filesystem::path> dirs;
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) dirs.push_back(exe.parent_path().parent_path() / "share" / "quecsim" / "profiles");
  dirs.emplace_back(QUECSIM_PROFILE_DIR);
  return dirs;
}

std::vector<std::string> profile::names() {
  std::set<std::string> found;
  for (const auto& dir : search_path()) {
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
      const auto& path = entry.path();
      if (path.extension() == ".json" && path.stem() != "schema") found.insert(path.stem());
    }
  }
  return {found.begin(), found.end()};
}

profile profile::find(std::string_view name_or_file) {
  if (looks_like_file(name_or_file)) return load(std::filesystem::path(name_or_file));
  for (const auto& dir : search_path()) {
    const auto file = dir / (std::string(name_or_file) + ".json");
    std::error_code ec;
    if (std::filesystem::is_regular_file(file, ec)) return load(file);
  }
  std::string known;
  for (const auto& n : names()) known += (known.empty() ? "" : ", ") + n;
  throw profile_error("unknown model '" + std::string(name_or_file) + "' (one of " +
                      (known.empty() ? std::string("none: no profiles found") : known) +
                      ", or a profile file)");
}

}  // namespace quecsim::module
