// checkpoint.cpp: model files and training checkpoints over safetensors
// (format, names and error behaviour in checkpoint.h).
#include "nn/checkpoint.h"

#include <charconv>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <type_traits>
#include <vector>

#include "tensor/error.h"
#include "tensor/safetensors.h"

namespace loom::nn {

namespace {

constexpr const char* kOptimPrefix = "optim";
constexpr const char* kExtraPrefix = "extra";
constexpr const char* kRngPrefix = "rng";
constexpr const char* kUserPrefix = "user";

// Splits "a.rest" into ("a", "rest"); false when there is no dot.
bool split_first(const std::string& key, std::string& head, std::string& rest) {
  const size_t dot = key.find('.');
  if (dot == std::string::npos) return false;
  head = key.substr(0, dot);
  rest = key.substr(dot + 1);
  return true;
}

void check_part_name(const std::string& where, const char* what, const std::string& name) {
  LOOM_CHECK(!name.empty() && name.find('.') == std::string::npos, where, what, " name '", name,
             "' must be non-empty and contain no dot");
}

void check_names(const std::string& where, const TrainingCheckpoint& c) {
  for (const auto& [name, model] : c.models) {
    check_part_name(where, "model", name);
    LOOM_CHECK(name != kOptimPrefix && name != kExtraPrefix, where, "a model cannot be named '", name,
               "' (reserved for the ", name, ".* tensors)");
    LOOM_CHECK(model != nullptr, where, "model '", name, "' is null");
  }
  for (const auto& [name, optimizer] : c.optimizers) {
    check_part_name(where, "optimizer", name);
    LOOM_CHECK(optimizer != nullptr, where, "optimizer '", name, "' is null");
  }
  for (const auto& [name, generator] : c.generators) {
    check_part_name(where, "generator", name);
    LOOM_CHECK(generator != nullptr, where, "generator '", name, "' is null");
  }
}

template <class Int>
Int parse_integer(const std::string& where, const std::string& key, const std::string& text) {
  Int value{};
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  LOOM_CHECK(!text.empty() && ec == std::errc() && ptr == end, where, "metadata '", key, "' = '", text,
             "' is not a valid ", std::is_signed_v<Int> ? "int64" : "uint64");
  return value;
}

const std::string& required_metadata(const std::string& where, const SafeTensors& file, const std::string& key) {
  const auto it = file.metadata.find(key);
  LOOM_CHECK(it != file.metadata.end(), where, "metadata '", key, "' is missing (a damaged or foreign checkpoint)");
  return it->second;
}

// A training checkpoint's tensors, sorted by owner.
struct Sections {
  std::map<std::string, std::map<std::string, Tensor>> models;      // model -> state dict
  std::map<std::string, std::map<std::string, Tensor>> optimizers;  // optimizer -> state
  std::map<std::string, Tensor> extra;
  std::vector<std::string> unowned;  // tensor names with no dot
};

Sections split_tensors(const std::map<std::string, Tensor>& tensors) {
  Sections s;
  for (const auto& [key, t] : tensors) {
    std::string head, rest;
    if (!split_first(key, head, rest)) {
      s.unowned.push_back(key);
    } else if (head == kOptimPrefix) {
      std::string optimizer, name;
      if (split_first(rest, optimizer, name))
        s.optimizers[optimizer][name] = t;
      else
        s.unowned.push_back(key);
    } else if (head == kExtraPrefix) {
      s.extra[rest] = t;
    } else {
      s.models[head][rest] = t;
    }
  }
  return s;
}

// An optimizer's state as load_checkpoint will load it.
struct OptimizerLoad {
  std::string name;
  Optimizer* optimizer;
  std::map<std::string, Tensor> state;  // "0.weight.exp_avg" -> tensor (may be empty)
};

// Everything load_checkpoint is going to change, read and checked without
// touching any live object.
struct LoadPlan {
  int64_t step = 0;
  std::string data_cursor, settings;
  std::map<std::string, std::string> user_metadata;
  std::map<std::string, Tensor> extra_tensors;
  std::vector<std::pair<Generator*, Generator::State>> generators;
  std::vector<OptimizerLoad> optimizers;
  std::vector<ValidatedStateDict> models;
  LoadReport report;  // missing and unexpected, with their names in the file
};

// format, format_version, step, data_cursor, settings and the "user." keys.
void plan_fields(const std::string& where, const SafeTensors& file, LoadPlan& plan) {
  const std::string& format = required_metadata(where, file, "format");
  LOOM_CHECK(format == kCheckpointFormat, where, "metadata 'format' is '", format, "', expected '", kCheckpointFormat,
             "' (a plain model file loads with load_model)");
  const int version = parse_integer<int>(where, "format_version", required_metadata(where, file, "format_version"));
  LOOM_CHECK(version == kCheckpointFormatVersion, where, "format_version ", version,
             " is not supported (this loom reads version ", kCheckpointFormatVersion, ")");
  plan.step = parse_integer<int64_t>(where, "step", required_metadata(where, file, "step"));
  plan.data_cursor = required_metadata(where, file, "data_cursor");
  plan.settings = required_metadata(where, file, "settings");
  const std::string user = std::string(kUserPrefix) + ".";
  for (const auto& [key, value] : file.metadata)
    if (key.starts_with(user)) plan.user_metadata[key.substr(user.size())] = value;
}

// "rng.<name>.seed" and "rng.<name>.offset" for every generator asked for.
void plan_generators(const std::string& where, const SafeTensors& file, const TrainingCheckpoint& c, LoadPlan& plan) {
  for (const auto& [name, generator] : c.generators) {
    const std::string prefix = std::string(kRngPrefix) + "." + name + ".";
    const auto seed = file.metadata.find(prefix + "seed");
    const auto offset = file.metadata.find(prefix + "offset");
    if (seed == file.metadata.end() && offset == file.metadata.end()) {
      plan.report.missing_keys.push_back(std::string(kRngPrefix) + "." + name);
      continue;
    }
    LOOM_CHECK(seed != file.metadata.end() && offset != file.metadata.end(), where, "generator '", name,
               "' needs both metadata '", prefix, "seed' and '", prefix, "offset'");
    Generator::State state;
    state.seed = parse_integer<uint64_t>(where, seed->first, seed->second);
    state.offset = parse_integer<uint64_t>(where, offset->first, offset->second);
    plan.generators.emplace_back(generator, state);
  }
}

// Every optimizer asked for: present when "optim.<name>.type" is, which must
// name the same optimizer type. Its state is checked when it is loaded.
void plan_optimizers(const std::string& where, const SafeTensors& file, const Sections& sections,
                     const TrainingCheckpoint& c, LoadPlan& plan) {
  for (const auto& [name, optimizer] : c.optimizers) {
    const std::string prefix = std::string(kOptimPrefix) + "." + name + ".";
    const auto type = file.metadata.find(prefix + "type");
    const auto state = sections.optimizers.find(name);
    if (type == file.metadata.end()) {
      LOOM_CHECK(state == sections.optimizers.end(), where, "tensors 'optim.", name, ".*' have no metadata '", prefix,
                 "type' (a damaged checkpoint)");
      plan.report.missing_keys.push_back(std::string(kOptimPrefix) + "." + name);
      continue;
    }
    LOOM_CHECK(type->second == optimizer->type_name(), where, "optimizer '", name, "' is ", type->second,
               " in the checkpoint but ", optimizer->type_name(), " here");
    plan.optimizers.push_back(
        {name, optimizer, state == sections.optimizers.end() ? std::map<std::string, Tensor>{} : state->second});
  }
}

// Every model asked for, validated (shapes and dtypes are errors here); keys
// missing or unexpected go to the report. Models in the file that nobody asked
// for are unexpected, key by key.
void plan_models(const std::string& where, const Sections& sections, const TrainingCheckpoint& c, LoadPlan& plan) {
  static const std::map<std::string, Tensor> kNothing;
  LoadReport& report = plan.report;
  for (const auto& [name, model] : c.models) {
    const auto state = sections.models.find(name);
    const std::map<std::string, Tensor>& values = state == sections.models.end() ? kNothing : state->second;
    plan.models.push_back(
        validate_state_dict(*model, values, /*strict=*/false, where + "model '" + name + "': ", name + "."));
    const LoadReport& r = plan.models.back().report();
    report.missing_keys.insert(report.missing_keys.end(), r.missing_keys.begin(), r.missing_keys.end());
    report.unexpected_keys.insert(report.unexpected_keys.end(), r.unexpected_keys.begin(), r.unexpected_keys.end());
  }
  for (const auto& [name, state] : sections.models)
    if (!c.models.count(name))
      for (const auto& [key, t] : state) report.unexpected_keys.push_back(name + "." + key);
  for (const std::string& key : sections.unowned) report.unexpected_keys.push_back(key);
}

// What the file holds that nobody asked for, apart from model tensors:
// optimizers and generators by name ("optim.G", "rng.noise"), other metadata
// by key.
void report_unclaimed(const SafeTensors& file, const Sections& sections, const TrainingCheckpoint& c, LoadPlan& plan) {
  static const std::set<std::string> kFields = {"format", "format_version", "step", "data_cursor", "settings"};
  std::set<std::string> unclaimed;
  for (const auto& [name, state] : sections.optimizers)
    if (!c.optimizers.count(name)) unclaimed.insert(std::string(kOptimPrefix) + "." + name);
  for (const auto& [key, value] : file.metadata) {
    std::string head, rest, owner, field;
    if (kFields.count(key) || key.starts_with(std::string(kUserPrefix) + ".")) continue;
    const bool owned = split_first(key, head, rest) && split_first(rest, owner, field);
    if (owned && head == kOptimPrefix && c.optimizers.count(owner) && (field == "type" || field == "lr")) continue;
    if (owned && head == kRngPrefix && c.generators.count(owner) && (field == "seed" || field == "offset")) continue;
    if (owned && (head == kOptimPrefix || head == kRngPrefix))
      unclaimed.insert(head + "." + owner);
    else
      unclaimed.insert("metadata '" + key + "'");
  }
  plan.report.unexpected_keys.insert(plan.report.unexpected_keys.end(), unclaimed.begin(), unclaimed.end());
}

void throw_if_incomplete(const std::string& where, const LoadReport& report) {
  if (report.complete()) return;
  std::ostringstream msg;
  msg << where << "the checkpoint does not match the models, optimizers and generators given; nothing was loaded.";
  if (!report.missing_keys.empty())
    msg << "\n  missing (" << report.missing_keys.size() << "): " << list_keys(report.missing_keys);
  if (!report.unexpected_keys.empty())
    msg << "\n  unexpected (" << report.unexpected_keys.size() << "): " << list_keys(report.unexpected_keys);
  msg << "\n  (load with strict = false to load what matches and get these lists back)";
  throw Error(msg.str());
}

// Optimizer::load_state checks a whole state before changing anything, but
// only its own: when a later optimizer refuses, the earlier ones get the state
// they had before (kept as copies) back, and the error is rethrown.
void load_optimizers_or_roll_back(const std::string& where, const std::vector<OptimizerLoad>& loads) {
  std::vector<std::map<std::string, Tensor>> previous;
  for (const OptimizerLoad& load : loads) {
    previous.emplace_back();
    for (auto& [name, t] : load.optimizer->state()) previous.back().emplace(name, t);
  }
  for (size_t i = 0; i < loads.size(); ++i) {
    try {
      loads[i].optimizer->load_state(loads[i].state);
    } catch (const Error& e) {
      for (size_t j = 0; j < i; ++j) loads[j].optimizer->load_state(previous[j]);
      detail::throw_error(where, "optimizer '", loads[i].name, "' (tensors 'optim.", loads[i].name, ".*'): ", e.what());
    }
  }
}

}  // namespace

// ---- model files ----

void save_model(const std::string& path, const Module& model, const std::map<std::string, std::string>& metadata) {
  save_safetensors(path, state_dict_map(model), metadata);
}

LoadReport load_model(const std::string& path, Module& model, bool strict,
                      std::map<std::string, std::string>* metadata) {
  const std::string where = "load_model: '" + path + "': ";
  SafeTensors file = load_safetensors(path);
  const auto format = file.metadata.find("format");
  LOOM_CHECK(format == file.metadata.end() || format->second != kCheckpointFormat, where,
             "this is a training checkpoint (models under prefixes such as 'G.'), not a model file: "
             "use load_checkpoint, or load_submodel(path, \"G.\", model) for one of its models");
  ValidatedStateDict validated = validate_state_dict(model, file.tensors, strict, where);
  validated.apply();
  if (metadata != nullptr) *metadata = std::move(file.metadata);
  return validated.report();
}

LoadReport load_submodel(const std::string& path, const std::string& prefix, Module& model, bool strict) {
  const std::string where = "load_submodel: '" + path + "', prefix '" + prefix + "': ";
  const SafeTensors file = load_safetensors(path);
  const std::map<std::string, Tensor> state = select_prefix(file.tensors, prefix);
  LOOM_CHECK(!state.empty() || model.state_dict().empty(), where, "no tensor name starts with '", prefix, "'");
  ValidatedStateDict validated = validate_state_dict(model, state, strict, where, prefix);
  validated.apply();
  return validated.report();
}

// ---- training checkpoints ----

void save_checkpoint(const std::string& path, const TrainingCheckpoint& c) {
  const std::string where = "save_checkpoint: '" + path + "': ";
  check_names(where, c);
  try {
    const nlohmann::json parsed = nlohmann::json::parse(c.settings);
    (void)parsed;
  } catch (const nlohmann::json::exception& e) {
    detail::throw_error(where, "settings must be a JSON text: ", e.what());
  }

  std::map<std::string, Tensor> tensors;
  std::map<std::string, std::string> meta;
  meta["format"] = kCheckpointFormat;
  meta["format_version"] = std::to_string(kCheckpointFormatVersion);
  meta["step"] = std::to_string(c.step);
  meta["data_cursor"] = c.data_cursor;
  meta["settings"] = c.settings;
  for (const auto& [name, model] : c.models)
    for (auto& [key, t] : model->state_dict()) tensors.emplace(name + "." + key, t);
  for (const auto& [name, optimizer] : c.optimizers) {
    const std::string prefix = std::string(kOptimPrefix) + "." + name + ".";
    meta[prefix + "type"] = optimizer->type_name();
    char lr[32];  // shortest text that reads back as the same double
    const auto written = std::to_chars(lr, lr + sizeof lr, optimizer->lr());
    meta[prefix + "lr"] = std::string(lr, written.ptr);
    for (auto& [key, t] : optimizer->state()) tensors.emplace(prefix + key, t);
  }
  for (const auto& [name, t] : c.extra_tensors) {
    LOOM_CHECK(!name.empty(), where, "an extra tensor has an empty name");
    tensors.emplace(std::string(kExtraPrefix) + "." + name, t);
  }
  for (const auto& [name, generator] : c.generators) {
    const std::string prefix = std::string(kRngPrefix) + "." + name + ".";
    meta[prefix + "seed"] = std::to_string(generator->state().seed);
    meta[prefix + "offset"] = std::to_string(generator->state().offset);
  }
  for (const auto& [key, value] : c.metadata) meta[std::string(kUserPrefix) + "." + key] = value;
  save_safetensors(path, tensors, meta);
}

LoadReport load_checkpoint(const std::string& path, TrainingCheckpoint& c, bool strict) {
  const std::string where = "load_checkpoint: '" + path + "': ";
  check_names(where, c);
  const SafeTensors file = load_safetensors(path);  // strict: refuses truncated or malformed files
  const Sections sections = split_tensors(file.tensors);

  // ---- read and check everything; nothing live changes here ----
  LoadPlan plan;
  plan_fields(where, file, plan);
  plan_generators(where, file, c, plan);
  plan_optimizers(where, file, sections, c, plan);
  report_unclaimed(file, sections, c, plan);
  plan_models(where, sections, c, plan);
  plan.extra_tensors = sections.extra;
  if (strict) throw_if_incomplete(where, plan.report);

  // ---- load: the optimizers (which may still refuse), then what cannot fail ----
  load_optimizers_or_roll_back(where, plan.optimizers);
  for (const ValidatedStateDict& model : plan.models) model.apply();
  for (const auto& [generator, state] : plan.generators) generator->set_state(state);
  c.step = plan.step;
  c.data_cursor = std::move(plan.data_cursor);
  c.settings = std::move(plan.settings);
  c.extra_tensors = std::move(plan.extra_tensors);
  c.metadata = std::move(plan.user_metadata);
  return plan.report;
}

}  // namespace loom::nn
