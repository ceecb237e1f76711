// command.h: how a subcommand of the `loom` command line plugs in. Each
// trainers/cmd_<name>.cpp defines one static CommandRegistration that adds its
// subcommand (options, help and callback) to the CLI11 app; loom_main.cpp
// builds the app from every registration, sorted by name, and runs it.
//
//   static loom::cli::CommandRegistration reg{"fabric", [](CLI::App& app) {
//     auto* cmd = app.add_subcommand("fabric", "write a procedural fabric dataset");
//     ... cmd->callback([=] { ... });
//   }};
//
// A callback reports failure by throwing (loom::Error or std::exception): main
// prints "loom <cmd>: <message>" and exits with status 1.
#pragma once
#include <functional>
#include <string>

#include <CLI/CLI.hpp>

namespace loom::cli {

using CommandSetup = std::function<void(CLI::App& app)>;

struct CommandRegistration {
  CommandRegistration(std::string name, CommandSetup setup);
};

}  // namespace loom::cli
