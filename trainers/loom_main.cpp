// loom_main.cpp: the `loom` command line. Subcommands live one per file
// (trainers/cmd_*.cpp) and register themselves (see command.h); this file
// collects them, parses the arguments and turns exceptions into a one-line
// message and exit status 1.
#include <algorithm>
#include <cstdio>
#include <exception>
#include <vector>

#include "trainers/command.h"

namespace loom::cli {
namespace {

std::vector<std::pair<std::string, CommandSetup>>& registry() {
  static std::vector<std::pair<std::string, CommandSetup>> commands;
  return commands;
}

}  // namespace

CommandRegistration::CommandRegistration(std::string name, CommandSetup setup) {
  registry().emplace_back(std::move(name), std::move(setup));
}

}  // namespace loom::cli

int main(int argc, char** argv) {
  CLI::App app{"loom: GAN-based fabric defect synthesis and detection, from scratch"};
  app.require_subcommand(1);
  auto commands = loom::cli::registry();
  std::sort(commands.begin(), commands.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& [name, setup] : commands) setup(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    const auto subs = app.get_subcommands();
    std::fprintf(stderr, "loom %s: %s\n", subs.empty() ? "" : subs.front()->get_name().c_str(), e.what());
    return 1;
  }
  return 0;
}
