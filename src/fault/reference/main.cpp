// quecsim-fault-reference: writes scenarios/schema.json and the action and trigger tables of
// docs/faults.md from the fault definitions, or (--check) says which of them drifted.
//   quecsim-fault-reference [--check] SOURCE_DIR

#include <fstream>
#include <iostream>
#include <iterator>
#include <string>

#include "quecsim/fault/reference.hpp"

namespace {

std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

int main(int argc, char** argv) {
  const bool check = argc == 3 && std::string(argv[1]) == "--check";
  if (argc != 2 && !check) {
    std::cerr << "usage: quecsim-fault-reference [--check] SOURCE_DIR\n";
    return 2;
  }
  const std::string root = argv[argc - 1];
  const std::string schema_path = root + "/scenarios/schema.json";
  const std::string docs_path = root + "/docs/faults.md";

  std::string docs = read(docs_path);
  if (!quecsim::fault::replace_generated(docs, "triggers", quecsim::fault::triggers_table()) ||
      !quecsim::fault::replace_generated(docs, "actions", quecsim::fault::actions_table())) {
    std::cerr << docs_path << ": the generated-table markers are missing\n";
    return 2;
  }
  const std::string schema = quecsim::fault::schema_text();

  int drifted = 0;
  for (const auto& [path, text] : {std::pair{schema_path, schema}, std::pair{docs_path, docs}}) {
    if (read(path) == text) continue;
    if (check) {
      std::cerr << path
                << " differs from the fault definitions (include/quecsim/fault/actions.hpp); "
                   "regenerate it: cmake --build build --target fault_reference\n";
      ++drifted;
    } else {
      std::ofstream(path, std::ios::binary) << text;
      std::cout << "wrote " << path << "\n";
    }
  }
  return drifted == 0 ? 0 : 1;
}
