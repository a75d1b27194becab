#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace quecsim::fault {

/// A scenario file or value that cannot be used. `what()` names the source, then the JSON
/// pointer (or line and column for a syntax error), then what was expected:
/// `scenarios/x.json: /events/2/when/bytes: expected an integer of at least 1`.
class scenario_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Throws the scenario_error `source: pointer: what` ("/" for the document itself).
[[noreturn]] void fail_at(const std::string& source, const std::string& pointer,
                          const std::string& what);

/// How a parameter is written in a scenario.
enum class param_type {
  integer,  ///< a JSON integer within [min, max]
  string,   ///< any JSON string
  boolean,  ///< true or false
  choice,   ///< one of `choices`
  lines,    ///< a non-empty string or a non-empty array of strings (reply lines)
  object,   ///< a JSON object (checked by its own parser)
};

/// One parameter of an action: its key, JSON type, range, default and meaning. The loader
/// checks it, the schema and the docs' tables are generated from it.
struct param_spec {
  std::string key;
  param_type type = param_type::integer;
  bool required = false;
  nlohmann::json fallback;  ///< filled in when absent (null: stays absent)
  std::int64_t min = 0;
  std::int64_t max = INT64_MAX;
  std::vector<std::string> choices;  ///< for `choice`, in the order messages list them
  std::string doc;                   ///< a phrase for the schema (may be empty)
};

/// The names a `choice` parameter accepts and the value each stands for.
template <class E>
using choices = std::vector<std::pair<std::string, E>>;

/// The name of `value` in `table` (empty when it has none).
template <class E>
std::string name_of(const choices<E>& table, E value) {
  for (const auto& [n, v] : table)
    if (v == value) return n;
  return {};
}

/// A parameter bound to a member of the typed action `A`: `set` stores a checked value.
template <class A>
struct field {
  param_spec spec;
  /// Stores the (already checked) JSON value; `source` and `pointer` are for a nested
  /// parser's messages.
  std::function<void(A&, const nlohmann::json&, const std::string& source,
                     const std::string& pointer)>
      set;

  /// The parameter must be given.
  field& required() {
    spec.required = true;
    return *this;
  }
  /// The value filled in when the parameter is absent.
  field& fallback(nlohmann::json v) {
    spec.fallback = std::move(v);
    return *this;
  }
  /// The largest value an integer takes.
  field& at_most(std::int64_t max) {
    spec.max = max;
    return *this;
  }
  /// A phrase describing the parameter in the schema.
  field& doc(std::string text) {
    spec.doc = std::move(text);
    return *this;
  }
};

/// A parameter of type `type` named `key`, not yet bound.
template <class A>
field<A> make_field(const char* key, param_type type) {
  field<A> f;
  f.spec.key = key;
  f.spec.type = type;
  return f;
}

/// An integer parameter of at least `min`, stored in an integral member.
template <class A, class T>
field<A> integer(const char* key, T A::*member, std::int64_t min) {
  auto f = make_field<A>(key, param_type::integer);
  f.spec.min = min;
  f.set = [member](A& a, const nlohmann::json& v, const std::string&, const std::string&) {
    a.*member = v.get<T>();
  };
  return f;
}

/// A duration in simulated milliseconds of at least `min`.
template <class A>
field<A> duration(const char* key, std::chrono::milliseconds A::*member, std::int64_t min) {
  auto f = make_field<A>(key, param_type::integer);
  f.spec.min = min;
  f.set = [member](A& a, const nlohmann::json& v, const std::string&, const std::string&) {
    a.*member = std::chrono::milliseconds(v.get<std::int64_t>());
  };
  return f;
}

/// A string parameter.
template <class A>
field<A> text(const char* key, std::string A::*member) {
  auto f = make_field<A>(key, param_type::string);
  f.set = [member](A& a, const nlohmann::json& v, const std::string&, const std::string&) {
    a.*member = v.get<std::string>();
  };
  return f;
}

/// A boolean parameter.
template <class A>
field<A> flag(const char* key, bool A::*member) {
  auto f = make_field<A>(key, param_type::boolean);
  f.set = [member](A& a, const nlohmann::json& v, const std::string&, const std::string&) {
    a.*member = v.get<bool>();
  };
  return f;
}

/// One of the names of `table`, stored as the value it stands for.
template <class A, class E>
field<A> choice(const char* key, E A::*member, const choices<E>& table) {
  auto f = make_field<A>(key, param_type::choice);
  for (const auto& [n, v] : table) f.spec.choices.push_back(n);
  f.set = [member, table](A& a, const nlohmann::json& v, const std::string&, const std::string&) {
    for (const auto& [n, e] : table)
      if (v == n) a.*member = e;
  };
  return f;
}

/// Reply lines: a string (CRLF added when missing) or an array of lines, stored as the
/// bytes sent, every line ending in CRLF.
template <class A>
field<A> lines(const char* key, std::string A::*member) {
  auto f = make_field<A>(key, param_type::lines);
  f.set = [member](A& a, const nlohmann::json& v, const std::string&, const std::string&) {
    std::string out;
    if (v.is_string()) {
      out = v.get<std::string>();
      if (out.size() < 2 || out.compare(out.size() - 2, 2, "\r\n") != 0) out += "\r\n";
    } else {
      for (const auto& l : v) out += l.get<std::string>() + "\r\n";
    }
    a.*member = out;
  };
  return f;
}

/// A JSON object, read by `read` (which throws scenario_error naming source and pointer).
template <class A, class T>
field<A> object(
    const char* key, T A::*member,
    std::function<T(const nlohmann::json&, const std::string& source, const std::string& pointer)>
        read) {
  auto f = make_field<A>(key, param_type::object);
  f.set = [member, read](A& a, const nlohmann::json& v, const std::string& source,
                         const std::string& pointer) { a.*member = read(v, source, pointer); };
  return f;
}

/// Everything about one fault action `A` in one place: its name, the line the docs' table
/// shows, its parameters bound to `A`'s members, and its traits.
template <class A>
struct definition {
  std::string name;
  std::string doc;  ///< the effect, and what the host sees (Markdown, one line)
  std::vector<field<A>> fields;
  bool embedded = false;  ///< acts through the embedded FTP server's fault rules
  /// Whether the typed action only arms something (see arms_only); null: never.
  std::function<bool(const A&)> arms;
  /// Checks across parameters, after each one fits (throws scenario_error).
  std::function<void(const nlohmann::json& object, const std::string& source,
                     const std::string& pointer)>
      check;

  /// Starts the definition of the action `name`, documented by `doc_line`.
  definition(std::string name_, std::string doc_line)
      : name(std::move(name_)), doc(std::move(doc_line)) {}
  /// Adds a parameter (in the order messages list them).
  definition&& param(field<A> f) && {
    fields.push_back(std::move(f));
    return std::move(*this);
  }
  /// The action acts through the embedded FTP server.
  definition&& through_server() && {
    embedded = true;
    return std::move(*this);
  }
  /// The action only arms something, always.
  definition&& arming() && {
    arms = [](const A&) { return true; };
    return std::move(*this);
  }
  /// The action only arms something when `when` says so.
  definition&& arming_when(std::function<bool(const A&)> when) && {
    arms = std::move(when);
    return std::move(*this);
  }
  /// A check across the parameters.
  definition&& checked(
      std::function<void(const nlohmann::json&, const std::string&, const std::string&)> c) && {
    check = std::move(c);
    return std::move(*this);
  }
};

}  // namespace quecsim::fault
