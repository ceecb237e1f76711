// checkpoint.h: model files and resumable training checkpoints, both
// safetensors files (tensor/safetensors.h: strict reader, atomic writer).
//
// Model files (save_model / load_model): the model's state dict under exactly
// PyTorch's names ("0.weight", "1.running_var", "1.num_batches_tracked"), no
// prefix, with the caller's metadata. Such a file loads in Python with
//   model.load_state_dict(safetensors.torch.load_file(path))
// and a file written by safetensors.torch.save_file(model.state_dict(), path)
// loads here.
//
// Training checkpoints (save_checkpoint / load_checkpoint): one file with
//   tensors
//     "<model>.<state dict name>"          each model, e.g. "G.0.weight", "D.3.running_var"
//                                          (the convention of shared/golden/100_dcgan_iteration)
//     "optim.<optimizer>.<state name>"     each optimizer's Optimizer::state(), e.g.
//                                          "optim.G.0.weight.exp_avg", "optim.G.0.weight.step"
//     "extra.<name>"                       caller's tensors (a fixed noise batch, say)
//   metadata (all strings)
//     "format" = "loom.training_checkpoint", "format_version" = "1"
//     "step"                               the training step, decimal int64
//     "data_cursor"                        the caller's opaque data position
//     "settings"                           the run's settings, a JSON text
//     "optim.<optimizer>.type"             Optimizer::type_name(), e.g. "Adam"; marks the optimizer
//                                          as present (its state may have no tensors before step 1)
//     "optim.<optimizer>.lr"               the learning rate when saved (recorded, not restored:
//                                          the lr is not optimizer state, schedules set it)
//     "rng.<generator>.seed", "rng.<generator>.offset"   Generator::State, decimal uint64
//     "user.<key>"                         the caller's metadata
// Model and optimizer names: non-empty, no dots, and no model may be named
// "optim" or "extra" (their tensors would collide).
//
// Loading a training checkpoint is all or nothing: the file is read whole
// (refused if truncated or malformed), then every model, optimizer and
// generator is checked against it, and only then does anything change. A
// failure leaves every model, optimizer, generator and field as it was. Strict
// by default: every model, optimizer and generator in the TrainingCheckpoint
// must be in the file and everything in the file must be claimed by one (the
// error lists what is missing and what is unexpected). Non-strict loading
// loads what matches and returns the lists; shape and dtype mismatches are
// errors in both modes.
//
// Writes are atomic (temporary file, fsync, rename): an interrupted or failed
// save leaves the previous file intact.
#pragma once
#include <cstdint>
#include <map>
#include <string>

#include "nn/optimizer.h"
#include "nn/state_dict.h"
#include "tensor/random.h"

namespace loom::nn {

// ---- model files ----

void save_model(const std::string& path, const Module& model, const std::map<std::string, std::string>& metadata = {});
// Returns the report (empty when strict). Throws naming `path` and every
// problem; on error the model is unchanged. `metadata`, when given, receives
// the file's metadata.
LoadReport load_model(const std::string& path, Module& model, bool strict = true,
                      std::map<std::string, std::string>* metadata = nullptr);

// One model out of a file that holds several: the tensors named
// "<prefix><name>" load as "<name>" (prefix "G." takes the generator out of a
// training checkpoint or a golden file); tensors without the prefix are
// ignored. Strictness and errors as load_model, with the prefix shown in
// key names.
LoadReport load_submodel(const std::string& path, const std::string& prefix, Module& model, bool strict = true);

// ---- training checkpoints ----

inline constexpr const char* kCheckpointFormat = "loom.training_checkpoint";
inline constexpr int kCheckpointFormatVersion = 1;

// What a training checkpoint holds. The pointers name the live objects that
// save_checkpoint reads and load_checkpoint restores in place; the plain
// fields are written by save and overwritten by load.
struct TrainingCheckpoint {
  std::map<std::string, Module*> models;         // "G", "D"
  std::map<std::string, Optimizer*> optimizers;  // "G", "D" (any names)
  std::map<std::string, Generator*> generators;  // "noise", "data", ...
  int64_t step = 0;
  std::string data_cursor;                      // opaque to loom (an index, a file name, JSON, ...)
  std::string settings = "{}";                  // the run's settings as JSON (checked on save)
  std::map<std::string, Tensor> extra_tensors;  // saved as "extra.<name>"; replaced on load
  std::map<std::string, std::string> metadata;  // saved as "user.<key>"; replaced on load
};

void save_checkpoint(const std::string& path, const TrainingCheckpoint& checkpoint);

// Restores `checkpoint` from `path` as described above. The report lists, with
// their names in the file ("G.0.weight", "optim.G", "rng.noise"), what was
// missing or unexpected; both lists are empty after a strict load.
LoadReport load_checkpoint(const std::string& path, TrainingCheckpoint& checkpoint, bool strict = true);

}  // namespace loom::nn
