#include "quecsim/fault/actions.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <utility>

namespace quecsim::fault {
namespace {

using json = nlohmann::json;

// One definition with its type erased: the parameters for the loader and the generator, and
// the functions that make and judge the typed value.
template <class A>
action_spec erase() {
  definition<A> d = A::define();
  action_spec s;
  s.name = d.name;
  s.doc = d.doc;
  s.embedded = d.embedded;
  s.check = d.check;
  for (const auto& f : d.fields) s.params.push_back(f.spec);
  s.build = [fields = d.fields](const json& o, const std::string& source,
                                const std::string& pointer) -> action_value {
    A a;
    for (const auto& f : fields) {
      if (o.contains(f.spec.key)) f.set(a, o[f.spec.key], source, pointer + "/" + f.spec.key);
    }
    return a;
  };
  s.arms = [arms = d.arms](const action_value& v) { return arms ? arms(std::get<A>(v)) : false; };
  return s;
}

template <std::size_t... I>
std::vector<action_spec> erase_all(std::index_sequence<I...>) {
  return {erase<std::variant_alternative_t<I, action_value>>()...};
}

}  // namespace

const std::vector<action_spec>& action_specs() {
  static const std::vector<action_spec> specs =
      erase_all(std::make_index_sequence<std::variant_size_v<action_value>>());
  return specs;
}

ftpd::fault_rule read_server_rule(const json& rule, const std::string& source,
                                  const std::string& pointer) {
  try {
    return ftpd::parse_fault_rule(rule, source, pointer);
  } catch (const ftpd::fault_rule_error& e) {
    throw scenario_error(e.what());
  }
}

void check_verb(const json& action, const std::string& source, const std::string& pointer) {
  const std::string verb = action["command"].get<std::string>();
  if (verb.empty() || verb.size() > 8 || !std::all_of(verb.begin(), verb.end(), [](char c) {
        return std::isalpha(static_cast<unsigned char>(c)) != 0;
      })) {
    fail_at(source, pointer + "/command", "expected an FTP command verb such as \"RETR\"");
  }
}

void check_toxic(const json& action, const std::string& source, const std::string& pointer) {
  static const std::map<std::string, std::vector<std::string>> needs = {
      {"latency", {"latency_ms"}}, {"bandwidth", {"rate"}}, {"slicer", {"average_size"}},
      {"limit_data", {"bytes"}},   {"timeout", {}},
  };
  const std::string type = action["type"].get<std::string>();
  for (const auto& k : needs.at(type)) {
    if (!action.contains(k)) {
      fail_at(source, pointer, "expected \"" + k + "\" for a " + type + " toxic");
    }
  }
}

}  // namespace quecsim::fault
