// settings.cpp: options as CLI flags and JSON settings (see settings.h).
#include "trainers/settings.h"

#include "tensor/error.h"

namespace loom::train {

std::string SettingsBinder::key_of(const std::string& flag) {
  std::string key = flag.substr(flag.find_first_not_of('-'));
  for (char& c : key)
    if (c == '-') c = '_';
  return key;
}

nlohmann::ordered_json SettingsBinder::to_json() const {
  nlohmann::ordered_json settings = nlohmann::ordered_json::object();
  for (const Entry& entry : entries_) settings[entry.key] = entry.get();
  return settings;
}

void SettingsBinder::restore_from(const nlohmann::json& saved) {
  std::string conflicts;
  for (const Entry& entry : entries_) {
    if (entry.rule == Resume::Local || !saved.contains(entry.key)) continue;
    const nlohmann::json& saved_value = saved.at(entry.key);
    const bool given = entry.option->count() > 0;
    if (given && entry.rule == Resume::Override) continue;
    if (given && entry.get() != saved_value) {
      conflicts += (conflicts.empty() ? "" : "; ") + entry.flag + " " + entry.get().dump() + " (the run has " +
                   saved_value.dump() + ")";
      continue;
    }
    try {
      entry.set(saved_value);
    } catch (const nlohmann::json::exception& e) {
      detail::throw_error("--resume: the saved setting ", entry.key, " = ", saved_value.dump(),
                          " has the wrong type: ", e.what());
    }
  }
  LOOM_CHECK(conflicts.empty(), "--resume: these options cannot change when a run is resumed: ", conflicts,
             ". Leave them out to continue the run as it was, or start a new run");
}

}  // namespace loom::train
