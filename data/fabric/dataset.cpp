// dataset.cpp: the procedural fabric dataset writer and sample sheet (dataset.h).
#include "data/fabric/dataset.h"

#include <algorithm>
#include <exception>
#include <filesystem>
#include <string>

#include "data/fabric/presets.h"
#include "data/grid.h"
#include "data/image.h"
#include "data/mvtec.h"
#include "tensor/error.h"

namespace loom::data::fabric {

namespace {

namespace fs = std::filesystem;

constexpr int kPartTrainGood = 0, kPartTestGood = 1, kPartFirstDefect = 2;

int64_t category_index(const std::string& category) {
  const auto& names = fabric_categories();
  const auto it = std::find(names.begin(), names.end(), category);
  if (it == names.end()) {
    Generator probe(0);
    preset_params(category, probe);  // throws, listing the known categories
  }
  return static_cast<int64_t>(it - names.begin());
}

void check_size(int64_t size, const char* where) {
  LOOM_CHECK(size >= kMinFabricSize && size <= kMaxFabricSize, where, ": image size must be in ", kMinFabricSize, "..",
             kMaxFabricSize, " px, got ", size);
}

int defect_part(DefectKind kind) {
  const auto& kinds = defect_kinds();
  return kPartFirstDefect + static_cast<int>(std::find(kinds.begin(), kinds.end(), kind) - kinds.begin());
}

// The mask grown by r pixels (a square neighbourhood): (H, W) 0/1.
std::vector<uint8_t> dilate(const uint8_t* mask, int64_t h, int64_t w, int64_t r) {
  std::vector<uint8_t> rows(static_cast<size_t>(h * w), 0), out(static_cast<size_t>(h * w), 0);
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x)
      for (int64_t xx = std::max<int64_t>(0, x - r); xx <= std::min(w - 1, x + r); ++xx)
        if (mask[y * w + xx]) {
          rows[static_cast<size_t>(y * w + x)] = 1;
          break;
        }
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x)
      for (int64_t yy = std::max<int64_t>(0, y - r); yy <= std::min(h - 1, y + r); ++yy)
        if (rows[static_cast<size_t>(yy * w + x)]) {
          out[static_cast<size_t>(y * w + x)] = 1;
          break;
        }
  return out;
}

// The image with a one-pixel magenta ring two pixels outside the mask (the
// mask grown by 3 minus the mask grown by 2), so thin defects stay visible
// inside their outline.
Tensor outline_mask(const Tensor& image, const Tensor& mask) {
  Tensor out = image.contiguous().clone();  // (3, H, W)
  const int64_t h = out.size(1), w = out.size(2), plane = h * w;
  float* o = out.data<float>();
  const Tensor m = mask.contiguous();  // (1, H, W) uint8
  const std::vector<uint8_t> outer = dilate(m.data<uint8_t>(), h, w, 3), inner = dilate(m.data<uint8_t>(), h, w, 2);
  for (int64_t i = 0; i < plane; ++i)
    if (outer[static_cast<size_t>(i)] && !inner[static_cast<size_t>(i)]) {
      o[i] = 1.0f;
      o[plane + i] = 0.0f;
      o[2 * plane + i] = 1.0f;
    }
  return out;
}

}  // namespace

Generator fabric_sample_generator(uint64_t seed, const std::string& category, int part, int64_t k) {
  LOOM_CHECK(part >= 0 && part < 16, "fabric_sample_generator: part ", part, " is outside [0, 16)");
  LOOM_CHECK(k >= 0 && k < (int64_t{1} << 20), "fabric_sample_generator: image number ", k, " is outside [0, 2^20)");
  const uint64_t stream = ((static_cast<uint64_t>(category_index(category)) * 16 + static_cast<uint64_t>(part)) << 20) +
                          static_cast<uint64_t>(k);
  Generator gen(seed);
  gen.set_state({seed, stream << 32});
  return gen;
}

FabricSample make_fabric_sample(const std::string& category, std::optional<DefectKind> defect, int64_t size,
                                bool tileable, Generator& gen) {
  check_size(size, "fabric sample");
  FabricParams params = preset_params(category, gen);
  params.tileable = tileable;
  const Fabric fabric(params, size, size, gen);
  if (!defect) return {fabric.render(), Tensor()};
  DefectSample d = render_defect(fabric, *defect, gen);
  return {std::move(d.image), std::move(d.mask)};
}

int64_t write_fabric_dataset(const FabricDatasetOptions& options,
                             const std::function<void(const std::string&)>& progress) {
  LOOM_CHECK(!options.out_dir.empty(), "fabric dataset: the output folder is empty");
  LOOM_CHECK(options.n_train >= 0 && options.n_test >= 0 && options.n_train <= kMaxFabricImages &&
                 options.n_test <= kMaxFabricImages,
             "fabric dataset: image counts must be in 0..", kMaxFabricImages, ", got n_train ", options.n_train,
             ", n_test ", options.n_test);
  LOOM_CHECK(options.n_train + options.n_test > 0, "fabric dataset: n_train and n_test are both 0, nothing to write");
  check_size(options.size, "fabric dataset");
  const fs::path root(options.out_dir);
  if (fs::exists(root)) {
    LOOM_CHECK(fs::is_directory(root), "fabric dataset: ", root.string(), " exists and is not a folder");
    LOOM_CHECK(options.force || fs::is_empty(root), "fabric dataset: ", root.string(),
               " is not empty; choose an empty folder, or set force (loom fabric --force) to write into it: files "
               "of the same names are overwritten, others are kept");
  }
  const std::vector<std::string> categories = options.categories.empty() ? fabric_categories() : options.categories;
  const std::vector<DefectKind> defects = options.defects.empty() ? defect_kinds() : options.defects;
  for (const std::string& c : categories) category_index(c);  // unknown names fail before anything is written
  if (progress)
    progress(std::to_string(categories.size()) + " categories x (" + std::to_string(options.n_train) + " train + " +
             std::to_string(options.n_test) + " test good + " + std::to_string(defects.size()) + " defects x " +
             std::to_string(options.n_test) + ") images of " + std::to_string(options.size) + "x" +
             std::to_string(options.size) + ", seed " + std::to_string(options.seed) +
             (options.tileable ? ", tileable" : "") + " -> " + root.string());

  int64_t written = 0;
  auto write_part = [&](const std::string& category, int part, std::optional<DefectKind> defect, int64_t count,
                        const fs::path& image_dir, const fs::path& mask_dir) {
    // The images are independent (one Philox stream each), so they are made
    // in parallel (the renderer's own row loop then runs on one thread); the
    // error of the lowest-numbered failing image is the one reported.
    std::vector<std::exception_ptr> errors(static_cast<size_t>(count));
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t k = 0; k < count; ++k) {
      try {
        Generator gen = fabric_sample_generator(options.seed, category, part, k);
        const FabricSample s = make_fabric_sample(category, defect, options.size, options.tileable, gen);
        const std::string name = numbered_stem(k, count);
        save_png((image_dir / (name + ".png")).string(), s.image);
        if (defect) save_png((mask_dir / (name + "_mask.png")).string(), s.mask);
      } catch (...) {
        errors[static_cast<size_t>(k)] = std::current_exception();
      }
    }
    for (const std::exception_ptr& error : errors)
      if (error) std::rethrow_exception(error);
    written += count;
    if (progress && count > 0)
      progress(fs::relative(image_dir, root).string() + ": " + std::to_string(count) +
               (count == 1 ? " image" : " images"));
  };
  for (const std::string& category : categories) {
    const fs::path dir = root / category;
    write_part(category, kPartTrainGood, std::nullopt, options.n_train, dir / "train" / "good", {});
    write_part(category, kPartTestGood, std::nullopt, options.n_test, dir / "test" / "good", {});
    for (DefectKind kind : defects) {
      const std::string name = defect_name(kind);
      write_part(category, defect_part(kind), kind, options.n_test, dir / "test" / name, dir / "ground_truth" / name);
    }
  }
  return written;
}

Tensor fabric_sample_sheet(int64_t size, uint64_t seed) {
  check_size(size, "fabric sample sheet");
  std::vector<Tensor> cells;
  GridOptions grid;
  for (const std::string& category : fabric_categories()) {
    // One fabric per row (test/good image 0), so the columns differ only by
    // their defect (and the sheet compresses well).
    Generator gen = fabric_sample_generator(seed, category, kPartTestGood, 0);
    const Fabric fabric(preset_params(category, gen), size, size, gen);
    cells.push_back(fabric.render());
    grid.captions.push_back(category);
    for (DefectKind kind : defect_kinds()) {
      Generator defect_gen = fabric_sample_generator(seed, category, defect_part(kind), 0);
      const DefectSample s = render_defect(fabric, kind, defect_gen);
      cells.push_back(outline_mask(s.image, s.mask));
      grid.captions.push_back(defect_name(kind));
    }
  }
  grid.nrow = 1 + static_cast<int64_t>(defect_kinds().size());
  grid.padding = 2;
  grid.pad_value = 0.15;
  return make_grid(cells, grid);
}

}  // namespace loom::data::fabric
