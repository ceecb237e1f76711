// cmd_synth.cpp: `loom synth`, synthesized defects with exact masks in the
// MVTec AD layout, from a folder of good images (data/synth).
//
//   loom synth --method M --in DIR --out DIR [--n 100] [--seed 0] [--size 256]
//              [--source DIR] [--category synth] [--no-train-good] [--gray]
//              [--sheet FILE.png] [--force]
//
// Writes, for each method M (a name, a comma-separated list, or "all"):
//   OUT/<category>/test/<M>/NNN.png              the defective image
//   OUT/<category>/ground_truth/<M>/NNN_mask.png its mask (0 or 255)
//   OUT/<category>/train/good/NNN.png            the prepared inputs (unless --no-train-good)
// so that OUT is a complete MVTec AD dataset. Every input (and every --source
// image) is checked before anything is written, so a corrupt file stops the
// run with nothing written. A run whose output folders (test/<M>,
// ground_truth/<M>, train/good) already hold files is refused before it writes
// anything, unless --force, which empties those folders first (so older
// samples never mix with new ones); --force never empties a folder that holds
// --in or --source, and no output folder may lie inside --in (whose images are
// all taken as good). A run that fails part way removes the folders it wrote.
// Sample k of method M uses input image k mod (number of inputs) (sorted by
// path) and the Philox stream (seed, offset (index of M in the registry * 2^20
// + k) * 2^32), so a sample does not depend on --n or on the other methods.
// Inputs are loaded as RGB (or gray), centre-cropped to a square and resized
// to --size (0 keeps each image as it is), then rounded to 8 bits, the values
// a PNG can hold. For the hard-paste methods the mask written is exactly the
// pixels whose 8-bit value changed; for the soft blends it is the region the
// defect was drawn into (every pixel outside it is unchanged).
// --sheet also writes a sample sheet: one row per method, its first three
// samples as (image, mask) pairs, captioned with the method's name.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "autograd/functions.h"
#include "data/dataset_scan.h"
#include "data/grid.h"
#include "data/image.h"
#include "data/mvtec.h"
#include "data/pixel_math.h"
#include "data/synth/sources.h"
#include "data/synth/synth.h"
#include "data/transforms.h"
#include "tensor/error.h"
#include "trainers/command.h"

namespace {

namespace fs = std::filesystem;
namespace synth = loom::data::synth;
using loom::Generator;
using loom::Tensor;

// --size from 16 px (the methods' shapes need room) to 4096 px (a (3, 4096,
// 4096) float image is 192 MiB, and the methods hold a few of them).
constexpr int64_t kMinSize = 16, kMaxSize = 4096;

struct Args {
  std::string method, in_dir, out_dir, source_dir, category = "synth", sheet;
  int64_t n = 100, size = 256;
  uint64_t seed = 0;
  bool no_train_good = false, gray = false, force = false;
};

// The registry indices of the methods named by `spec` ("all", or names joined by commas).
std::vector<size_t> parse_methods(const std::string& spec) {
  const auto& methods = synth::synth_methods();
  std::vector<size_t> picked;
  if (spec == "all") {
    for (size_t i = 0; i < methods.size(); ++i) picked.push_back(i);
    return picked;
  }
  std::stringstream parts(spec);
  for (std::string name; std::getline(parts, name, ',');) {
    const auto it = std::find_if(methods.begin(), methods.end(), [&](const auto& m) { return m.name == name; });
    if (it == methods.end()) synth::make_synth_method(name, {});  // throws, listing the names
    const auto index = static_cast<size_t>(it - methods.begin());
    if (std::find(picked.begin(), picked.end(), index) == picked.end()) picked.push_back(index);
  }
  LOOM_CHECK(!picked.empty(), "--method is empty; give a method name, a comma-separated list or 'all'");
  return picked;
}

// Reads the header and checks the structure of every file (data/image_check.h:
// truncated or corrupt PNG chunks, JPEG segments, BMP pixel data, zero sizes,
// unconvertible PNGs), so that a bad file stops the run before it writes.
// Images used at their own size (--size 0) must be at least min_side a side.
void check_readable(const std::vector<fs::path>& files, int64_t min_side = 0) {
  for (const fs::path& file : files) {
    const loom::data::ImageInfo info = loom::data::read_image_info(file.string());
    LOOM_CHECK(std::min(info.width, info.height) >= min_side, "image ", file.string(), " is ", info.width, "x",
               info.height, "; with --size 0 every input must be at least ", min_side, "x", min_side,
               " (or give --size)");
  }
}

// True when `path` is `folder` or lies below it.
bool is_inside(const fs::path& path, const fs::path& folder) {
  const fs::path p = fs::weakly_canonical(fs::absolute(path)), f = fs::weakly_canonical(fs::absolute(folder));
  const auto [f_end, p_at] = std::mismatch(f.begin(), f.end(), p.begin(), p.end());
  return f_end == f.end();
}

// Load, centre-crop to a square, resize to `size` (0: as is), round to 8 bits.
Tensor prepare_input(const fs::path& path, const Args& args) {
  using namespace loom::data;
  Tensor image = load_image(path.string(), args.gray ? ColorMode::Gray : ColorMode::RGB);
  if (args.size > 0) {
    const int64_t h = image.size(1), w = image.size(2), side = std::min(h, w);
    image = crop(image, center_crop_box(h, w, side, side));
    if (side > args.size) image = resize_area(image, args.size, args.size);
    if (side < args.size) image = resize_bilinear(image, args.size, args.size);
  }
  return to_float01(to_uint8(image));
}

// For a hard paste: keep only the mask pixels whose 8-bit value changed.
Tensor exact_8bit_mask(const Tensor& before, const Tensor& after, const Tensor& mask) {
  using namespace loom::data;
  // changed_pixels is 0/255; / 255 makes it 0/1, and mask * it keeps the changed mask pixels.
  return mask * to_float01(changed_pixels(to_uint8(before), to_uint8(after)));
}

// The sample sheet's cells: (image, mask) pairs, the mask shown with the image's channels.
struct SheetCells {
  static constexpr int64_t kPairsPerRow = 3;
  std::vector<Tensor> cells;
  std::vector<std::string> captions;
  void add(const std::string& method, int64_t k, const Tensor& image, const Tensor& mask) {
    if (k >= kPairsPerRow) return;
    cells.push_back(image);
    cells.push_back(mask.expand(image.shape()).contiguous());
    captions.push_back(k == 0 ? method : "");
    captions.push_back("");
  }
  void save(const std::string& path) const {
    loom::data::GridOptions options;
    options.nrow = 2 * kPairsPerRow;
    options.captions = captions;
    options.pad_value = 0.25;
    loom::data::save_grid(path, loom::stack(cells, 0), options);
  }
};

// The folders this run writes; refuses them all before writing anything when
// one holds files (unless --force) or holds the inputs, then empties them.
std::vector<fs::path> prepare_output_folders(const fs::path& root, const std::vector<size_t>& methods,
                                             const Args& args) {
  std::vector<fs::path> dirs;
  if (!args.no_train_good) dirs.push_back(root / "train" / "good");
  for (size_t index : methods) {
    dirs.push_back(root / "test" / synth::synth_methods()[index].name);
    dirs.push_back(root / "ground_truth" / synth::synth_methods()[index].name);
  }
  for (const fs::path& dir : dirs) {
    LOOM_CHECK(!fs::exists(dir) || fs::is_directory(dir), dir.string(), " exists and is not a folder");
    LOOM_CHECK(args.force || !fs::is_directory(dir) || fs::is_empty(dir), dir.string(),
               " already holds files; pass --force to replace them");
    for (const std::string& input : {args.in_dir, args.source_dir})
      LOOM_CHECK(input.empty() || !is_inside(input, dir), "output folder ", dir.string(), " holds the input folder ",
                 input, "; choose another --out or --category");
    // --in is read recursively: defects written below it would be read as good images next time.
    LOOM_CHECK(!is_inside(dir, args.in_dir), "output folder ", dir.string(), " lies inside the --in folder ",
               args.in_dir, ", whose images are all taken as good; choose another --out");
  }
  for (const fs::path& dir : dirs) fs::remove_all(dir);
  return dirs;
}

// Writes the train/good copies, the samples and the sheet into the emptied folders.
void write_samples(const Args& args, const std::vector<size_t>& methods, const std::vector<fs::path>& inputs,
                   const synth::SynthSources& sources, const fs::path& root) {
  if (!args.no_train_good) {
    const auto count = static_cast<int64_t>(inputs.size());
    for (int64_t k = 0; k < count; ++k) {
      const fs::path path = root / "train" / "good" / (loom::data::numbered_stem(k, count) + ".png");
      loom::data::save_png(path.string(), prepare_input(inputs[static_cast<size_t>(k)], args));
    }
    std::cout << "  train/good: " << inputs.size() << " images\n";
  }
  SheetCells sheet;
  for (size_t index : methods) {
    const synth::SynthMethodInfo& info = synth::synth_methods()[index];
    const synth::SynthMethod method = synth::make_synth_method(info.name, sources);
    const fs::path image_dir = root / "test" / info.name, mask_dir = root / "ground_truth" / info.name;
    const int64_t report_every = std::max<int64_t>(1, args.n / 10);
    for (int64_t k = 0; k < args.n; ++k) {
      const fs::path& input = inputs[static_cast<size_t>(k) % inputs.size()];
      const Tensor image = prepare_input(input, args);
      Generator gen(args.seed);
      gen.set_state({args.seed, ((static_cast<uint64_t>(index) << 20) + static_cast<uint64_t>(k)) << 32});
      synth::SynthResult result;
      try {
        result = method(image, gen);
      } catch (const loom::Error& e) {
        LOOM_CHECK(false, info.name, " on ", input.string(), ": ", e.what());
      }
      const Tensor mask = info.exact_mask ? exact_8bit_mask(image, result.image, result.mask) : result.mask;
      const std::string name = loom::data::numbered_stem(k, args.n);
      loom::data::save_png((image_dir / (name + ".png")).string(), result.image);
      loom::data::save_png((mask_dir / (name + "_mask.png")).string(), mask);
      if (!args.sheet.empty()) sheet.add(info.name, k, result.image, mask);
      if ((k + 1) % report_every == 0 || k + 1 == args.n)
        std::cout << "  " << info.name << ": " << (k + 1) << "/" << args.n << "\n" << std::flush;
    }
  }
  if (!args.sheet.empty()) {
    const bool uniform_size = std::all_of(sheet.cells.begin(), sheet.cells.end(),
                                          [&](const Tensor& t) { return t.shape() == sheet.cells.front().shape(); });
    LOOM_CHECK(uniform_size, "--sheet needs images of one size; give --size");
    sheet.save(args.sheet);
    std::cout << "sample sheet: " << args.sheet << "\n";
  }
}

void run(const Args& args) {
  LOOM_CHECK(args.n >= 1 && args.n <= (int64_t{1} << 20), "--n must be in 1..1048576 (each method has 2^20 ",
             "separate Philox streams, one per sample), got ", args.n);
  LOOM_CHECK(args.size == 0 || (args.size >= kMinSize && args.size <= kMaxSize), "--size must be 0 (keep) or in ",
             kMinSize, "..", kMaxSize, ", got ", args.size);
  LOOM_CHECK(!args.category.empty() && args.category.find('/') == std::string::npos,
             "--category must be a plain folder name, got '", args.category, "'");
  const std::vector<size_t> methods = parse_methods(args.method);
  const std::vector<fs::path> inputs = loom::data::list_images_required(args.in_dir, "--in");
  check_readable(inputs, args.size == 0 ? kMinSize : 0);
  synth::SynthSources sources;
  sources.paste = synth::folder_texture_source(args.in_dir);
  if (args.source_dir.empty()) {
    sources.texture = synth::fabric_texture_source();
  } else {
    check_readable(loom::data::list_images_required(args.source_dir, "--source"));
    sources.texture = synth::folder_texture_source(args.source_dir);
  }
  const fs::path root = fs::path(args.out_dir) / args.category;
  const std::vector<fs::path> written = prepare_output_folders(root, methods, args);
  std::cout << "loom synth: " << inputs.size() << " good images from " << args.in_dir << ", anomaly textures from "
            << (args.source_dir.empty() ? "the procedural fabric" : args.source_dir) << ", writing to " << root.string()
            << "\n";
  try {
    write_samples(args, methods, inputs, sources, root);
  } catch (...) {
    // No half-written dataset: remove what this run wrote, and the folders
    // above it that are left empty (error codes ignored: they may hold other files).
    std::error_code ignored;
    for (const fs::path& dir : written) {
      fs::remove_all(dir, ignored);
      for (fs::path up = dir.parent_path(); !up.empty() && up != fs::path(args.out_dir).parent_path();
           up = up.parent_path())
        if (!fs::remove(up, ignored)) break;  // fs::remove deletes only an empty folder
    }
    throw;
  }
  std::cout << "done: " << root.string() << "\n";
}

std::string method_help() {
  std::string s = "a method, a comma-separated list, or 'all':";
  for (const auto& m : synth::synth_methods()) s += "\n  " + m.name + ": " + m.summary;
  return s;
}

loom::cli::CommandRegistration registration{
    "synth", [](CLI::App& app) {
      auto args = std::make_shared<Args>();
      auto* cmd = app.add_subcommand(
          "synth",
          "write synthesized defects with their masks in the MVTec AD layout: "
          "OUT/<category>/test/<method>/NNN.png and OUT/<category>/ground_truth/<method>/NNN_mask.png");
      cmd->add_option("--method", args->method, method_help())->required();
      cmd->add_option("--in", args->in_dir, "folder of good images (searched recursively)")->required();
      cmd->add_option("--out", args->out_dir, "output root")->required();
      cmd->add_option("--n", args->n, "defect images per method")->capture_default_str();
      cmd->add_option("--seed", args->seed, "Philox seed")->capture_default_str();
      cmd->add_option("--size", args->size,
                      "square side after a centre crop, 16..4096 (0: keep each input's size, at least 16 px)")
          ->capture_default_str();
      cmd->add_option("--source", args->source_dir,
                      "folder of anomaly-source textures for draem and poisson (default: procedural fabric)");
      cmd->add_option("--category", args->category, "the category folder under OUT")->capture_default_str();
      cmd->add_flag("--no-train-good", args->no_train_good,
                    "write only the defects: no copies of the prepared inputs in train/good (written by default, so "
                    "that OUT is a complete MVTec AD dataset)");
      cmd->add_flag("--gray", args->gray, "work in gray (1 channel) instead of RGB");
      cmd->add_flag("--force", args->force,
                    "empty this run's output folders (test/<method>, ground_truth/<method>, train/good) if they hold "
                    "files; never one that holds --in or --source");
      cmd->add_option("--sheet", args->sheet, "also write a sample sheet PNG: per method, 3 (image, mask) pairs");
      cmd->callback([args] { run(*args); });
    }};

}  // namespace
