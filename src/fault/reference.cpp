#include "quecsim/fault/reference.hpp"

#include <nlohmann/json.hpp>

#include "quecsim/fault/actions.hpp"
#include "quecsim/fault/scenario.hpp"
#include "quecsim/serial/uart_rates.hpp"

namespace quecsim::fault {
namespace {

using ojson = nlohmann::ordered_json;

// What the definitions do not make: the scenario's own keys (module, server, events, expect).
// The action and trigger definitions and the UART rates are filled in.
constexpr const char* base_schema = R"json({
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "$id": "https://quecsim.invalid/scenarios/schema.json",
  "title": "quecsim fault scenario",
  "type": "object",
  "additionalProperties": false,
  "required": [
    "name",
    "description"
  ],
  "properties": {
    "$schema": {
      "type": "string"
    },
    "name": {
      "type": "string",
      "minLength": 1
    },
    "description": {
      "type": "string",
      "minLength": 1,
      "pattern": "^[^\\n]*$"
    },
    "seed": {
      "type": "integer",
      "minimum": 0
    },
    "modules": {
      "description": "The modules of a quecsim --modules N process the scenario acts on: \"all\" (the default), one module number (0 for the first), or a set of them",
      "oneOf": [
        {
          "const": "all"
        },
        {
          "type": "integer",
          "minimum": 0,
          "maximum": 65535
        },
        {
          "type": "array",
          "items": {
            "type": "integer",
            "minimum": 0,
            "maximum": 65535
          },
          "minItems": 1,
          "uniqueItems": true
        }
      ]
    },
    "module": {
      "type": "object",
      "additionalProperties": false,
      "properties": {
        "model": {
          "type": "string",
          "minLength": 1
        },
        "baud": {
          "enum": []
        },
        "latency_ms": {
          "type": "number",
          "minimum": 0
        },
        "bandwidth": {
          "type": "integer",
          "minimum": 0
        },
        "time_scale": {
          "type": "number",
          "exclusiveMinimum": 0
        },
        "autobaud": {
          "type": "boolean",
          "description": "AT+IPR=0 at power-up: no RDY, nothing sent before the host's first AT"
        }
      }
    },
    "server": {
      "type": "object",
      "additionalProperties": false,
      "properties": {
        "users": {
          "type": "array",
          "items": {
            "type": "object",
            "additionalProperties": false,
            "required": [
              "name",
              "password"
            ],
            "properties": {
              "name": {
                "type": "string",
                "minLength": 1
              },
              "password": {
                "type": "string"
              },
              "home": {
                "type": "string",
                "minLength": 1
              }
            }
          }
        },
        "faults": {
          "type": "array",
          "items": {
            "type": "object",
            "required": [
              "action"
            ],
            "description": "quecsim-ftpd fault rules (README, Fault rules)"
          }
        },
        "files": {
          "type": "array",
          "items": {
            "type": "object",
            "additionalProperties": false,
            "required": [
              "path"
            ],
            "properties": {
              "path": {
                "type": "string",
                "pattern": "^[^/]"
              },
              "text": {
                "type": "string"
              },
              "size": {
                "type": "integer",
                "minimum": 0,
                "maximum": 4294967296
              }
            },
            "oneOf": [
              {
                "required": [
                  "text"
                ]
              },
              {
                "required": [
                  "size"
                ]
              }
            ]
          }
        }
      }
    },
    "events": {
      "type": "array",
      "items": {
        "type": "object",
        "additionalProperties": false,
        "required": [
          "when",
          "do"
        ],
        "properties": {
          "name": {
            "type": "string",
            "minLength": 1
          },
          "when": {
            "$ref": "#/$defs/trigger"
          },
          "if": {
            "type": "object",
            "description": "states that must hold when the trigger matches",
            "additionalProperties": false,
            "properties": {
              "ftp": {},
              "pdp": {},
              "uart": {},
              "module": {}
            }
          },
          "count": {
            "oneOf": [
              {
                "type": "integer",
                "minimum": 1
              },
              {
                "const": "unlimited"
              }
            ],
            "default": 1,
            "description": "how many times it fires"
          },
          "every": {
            "type": "integer",
            "minimum": 1,
            "default": 1,
            "description": "fires on every Nth match"
          },
          "after_ms": {
            "type": "integer",
            "minimum": 0,
            "default": 0,
            "description": "simulated delay between the match and the actions"
          },
          "probability": {
            "type": "number",
            "exclusiveMinimum": 0,
            "maximum": 1,
            "default": 1
          },
          "do": {
            "type": "array",
            "minItems": 1,
            "items": {
              "$ref": "#/$defs/action"
            }
          }
        }
      }
    },
    "expect": {
      "type": "object",
      "additionalProperties": false,
      "properties": {
        "lines": {
          "type": "array",
          "items": {
            "type": "string",
            "minLength": 1
          }
        },
        "ftp_state": {},
        "files": {
          "type": "array",
          "items": {
            "type": "object",
            "additionalProperties": false,
            "required": [
              "path",
              "sha256"
            ],
            "properties": {
              "path": {
                "type": "string"
              },
              "sha256": {
                "type": "string",
                "pattern": "^[0-9a-fA-F]{64}$"
              }
            }
          }
        }
      }
    }
  },
  "$defs": {}
})json";

// A parameter as a JSON Schema property.
ojson property(const param_spec& p) {
  ojson out;
  switch (p.type) {
    case param_type::integer:
      out["type"] = "integer";
      out["minimum"] = p.min;
      if (p.max != INT64_MAX) out["maximum"] = p.max;
      break;
    case param_type::string:
      out["type"] = "string";
      break;
    case param_type::boolean:
      out["type"] = "boolean";
      break;
    case param_type::choice:
      out["enum"] = p.choices;
      break;
    case param_type::lines:
      out["oneOf"] =
          ojson::array({{{"type", "string"}, {"minLength", 1}},
                        {{"type", "array"}, {"minItems", 1}, {"items", {{"type", "string"}}}}});
      break;
    case param_type::object:
      out["type"] = "object";
      break;
  }
  if (!p.fallback.is_null()) out["default"] = ojson::parse(p.fallback.dump());
  if (!p.doc.empty()) out["description"] = p.doc;
  return out;
}

ojson action_schema(const action_spec& a) {
  ojson props;
  props["action"] = {{"const", a.name}};
  std::vector<std::string> required = {"action"};
  for (const auto& p : a.params) {
    props[p.key] = property(p);
    if (p.required) required.push_back(p.key);
  }
  return {{"type", "object"},
          {"description", a.doc},
          {"properties", props},
          {"required", required},
          {"additionalProperties", false}};
}

ojson trigger_schema() {
  ojson forms = ojson::array();
  for (const auto& t : trigger_specs()) {
    ojson props = ojson::object();
    for (const auto& [k, v] : t.keys) props[k] = ojson::parse(v.dump());
    forms.push_back(
        {{"type", "object"},
         {"properties", props},
         {"required", t.required.empty() ? std::vector<std::string>{t.key} : t.required},
         {"additionalProperties", false}});
  }
  return {{"description", "What makes the event fire: exactly one kind."}, {"oneOf", forms}};
}

// A parameter as the docs' table lists it: `key`, its choices, its default.
std::string param_cell(const param_spec& p) {
  std::string out = "`" + p.key + "`";
  std::string extra;
  if (p.type == param_type::choice) {
    for (const auto& c : p.choices) extra += (extra.empty() ? "" : ", ") + ("`" + c + "`");
  }
  if (!p.fallback.is_null()) {
    // An empty string shows as "" (an empty code span would not show at all).
    const std::string d = !p.fallback.is_string() ? p.fallback.dump()
                          : p.fallback.get<std::string>().empty()
                              ? "`\"\"`"
                              : "`" + p.fallback.get<std::string>() + "`";
    if (p.type != param_type::choice) {
      extra = d;
    } else {
      extra += "; default " + d;
    }
  }
  return extra.empty() ? out : out + " (" + extra + ")";
}

}  // namespace

std::string schema_text() {
  ojson doc = ojson::parse(base_schema);
  doc["properties"]["module"]["properties"]["baud"]["enum"] = serial::line_rates();
  // The states a trigger's "if" and the expected FTP state may name.
  ojson& states = doc["properties"]["events"]["items"]["properties"]["if"]["properties"];
  for (const auto& [machine, names] : machine_states()) states[machine]["enum"] = names;
  doc["properties"]["expect"]["properties"]["ftp_state"]["enum"] = machine_states().at("ftp");
  ojson& defs = doc["$defs"];
  std::vector<std::string> names = action_names();
  ojson refs = ojson::array();
  for (const auto& n : names) refs.push_back({{"$ref", "#/$defs/action_" + n}});
  defs["action"] = {{"description", "One action; \"action\" names it."},
                    {"type", "object"},
                    {"required", {"action"}},
                    {"properties", {{"action", {{"enum", names}}}}},
                    {"oneOf", refs}};
  for (const auto& a : action_specs()) defs["action_" + a.name] = action_schema(a);
  defs["trigger"] = trigger_schema();
  return doc.dump(2) + "\n";
}

std::string actions_table() {
  std::string out =
      "| action | parameters | effect, and what the host sees |\n| --- | --- | --- |\n";
  for (const auto& a : action_specs()) {
    std::string params;
    for (const auto& p : a.params) params += (params.empty() ? "" : ", ") + param_cell(p);
    out += "| `" + a.name + "` | " + params + " | " + a.doc + " |\n";
  }
  return out;
}

std::string triggers_table() {
  std::string out = "| trigger | fires when |\n| --- | --- |\n";
  for (const auto& t : trigger_specs()) out += "| " + t.example + " | " + t.doc + " |\n";
  return out;
}

bool replace_generated(std::string& document, const std::string& name, const std::string& content) {
  const std::string begin = "<!-- generated: " + name + " -->\n";
  const std::string end = "<!-- end generated -->";
  const auto b = document.find(begin);
  if (b == std::string::npos) return false;
  const auto from = b + begin.size();
  const auto e = document.find(end, from);
  if (e == std::string::npos) return false;
  document.replace(from, e - from, content);
  return true;
}

}  // namespace quecsim::fault
