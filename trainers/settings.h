// settings.h: one place that knows a trainer's options three ways: as CLI11
// options of its `loom train X` command, as the JSON object saved in
// settings.json and in every checkpoint, and how each may change on --resume.
//
//   SettingsBinder binder(cmd);
//   binder.add("--steps", options.steps, "training steps", Resume::Override);
//   binder.add("--width", options.width, "ngf = ndf");           // Resume::Restore
//   ...after parsing:  binder.to_json()  ->  {"steps": 1000, "width": 64, ...}
//
// The JSON key is the flag without its dashes, '-' becoming '_' ("--log-every"
// -> "log_every"). On resume, restore_from(saved) applies the saved run's
// settings according to each option's Resume rule:
//   Restore   the saved value (the model's shape, the seed, the data): an
//             explicitly given, different value is refused with a message
//   Override  the value given on this command line, else the saved one
//             (--steps to train longer, the logging intervals, the device)
//   Local     never taken from the saved run (--resume, --run-dir)
#pragma once
#include <functional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

namespace loom::train {

enum class Resume { Restore, Override, Local };

class SettingsBinder {
 public:
  explicit SettingsBinder(CLI::App* command) : command_(command) {}

  // Adds `flag` to the command, bound to `variable` (whose current value is
  // the default shown in --help). T: int64_t, uint64_t, double, bool (a flag)
  // or std::string.
  template <class T>
  CLI::Option* add(const std::string& flag, T& variable, const std::string& help, Resume rule = Resume::Restore) {
    CLI::Option* option;
    if constexpr (std::is_same_v<T, bool>)
      option = command_->add_flag(flag, variable, help);
    else
      option = command_->add_option(flag, variable, help)
                   ->capture_default_str()
                   ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);  // a later repeat wins
    entries_.push_back({key_of(flag), flag, option, rule, [&variable] { return nlohmann::json(variable); },
                        [&variable](const nlohmann::json& value) { variable = value.get<T>(); }});
    return option;
  }

  CLI::App* command() const { return command_; }
  // Every bound option's current value, by key, in the order added (an
  // ordered_json so settings.json lists them as --help does).
  nlohmann::ordered_json to_json() const;
  // Applies a saved run's settings by the Resume rules (see above). Throws
  // naming every option that was given with a value the saved run forbids
  // changing. Keys of `saved` that are not bound here are ignored.
  void restore_from(const nlohmann::json& saved);

  static std::string key_of(const std::string& flag);  // "--log-every" -> "log_every"

 private:
  struct Entry {
    std::string key, flag;
    CLI::Option* option;
    Resume rule;
    std::function<nlohmann::json()> get;
    std::function<void(const nlohmann::json&)> set;
  };
  CLI::App* command_;
  std::vector<Entry> entries_;
};

}  // namespace loom::train
