// image_source.cpp: procedural fabric or a dataset folder as batches in [-1, 1]
// (see image_source.h).
#include "trainers/image_source.h"

#include <mutex>
#include <vector>

#include "autograd/functions.h"
#include "data/fabric/presets.h"
#include "data/image.h"
#include "data/image_folder.h"
#include "data/layout.h"
#include "data/transforms.h"
#include "tensor/error.h"
#include "tensor/random.h"

namespace loom::train {
namespace {

// Image i of the pool: Philox stream (seed, offset i 2^32), rendered at 2S and
// area-shrunk to S, gray when C = 1, kept as uint8 (C, S, S).
class FabricPool : public data::Dataset {
 public:
  FabricPool(int64_t count, int64_t size, int64_t channels, uint64_t seed)
      : size_(size), channels_(channels), seed_(seed), images_(static_cast<size_t>(count)) {}

  int64_t size() const override { return static_cast<int64_t>(images_.size()); }

  data::Sample get(int64_t index) const override {
    LOOM_CHECK(index >= 0 && index < size(), "fabric pool: index ", index, " outside [0, ", size(), ")");
    Tensor image;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      image = images_[static_cast<size_t>(index)];
    }
    if (!image.defined()) {
      image = render(index);
      std::lock_guard<std::mutex> lock(mutex_);
      images_[static_cast<size_t>(index)] = image;
    }
    data::Sample sample;
    sample.image = data::to_float01(image);  // (C, S, S) in [0, 1]
    sample.label = 0;
    sample.defect_type = "good";
    sample.category = "fabric";
    sample.path = "fabric:" + std::to_string(index);
    return sample;
  }

 private:
  Tensor render(int64_t index) const {
    Generator gen(seed_);
    gen.set_state({seed_, static_cast<uint64_t>(index) << 32});
    Tensor rgb = data::resize_area(data::fabric::random_fabric(2 * size_, gen), size_, size_);  // (3, S, S)
    if (channels_ == 1) {
      // BT.601 luma: 0.299 R + 0.587 G + 0.114 B
      rgb = (rgb.select(0, 0) * 0.299 + rgb.select(0, 1) * 0.587 + rgb.select(0, 2) * 0.114).unsqueeze(0);
    }
    return data::to_uint8(rgb);
  }

  int64_t size_, channels_;
  uint64_t seed_;
  mutable std::mutex mutex_;
  mutable std::vector<Tensor> images_;  // (C, S, S) uint8, undefined until rendered
};

}  // namespace

std::shared_ptr<data::Dataset> make_fabric_pool(int64_t count, int64_t image_size, int64_t channels, uint64_t seed) {
  LOOM_CHECK(count >= 1, "fabric pool: the number of images must be positive, got ", count);
  LOOM_CHECK(image_size >= 4, "fabric pool: image size must be at least 4, got ", image_size);
  LOOM_CHECK(channels == 1 || channels == 3, "fabric pool: channels must be 1 or 3, got ", channels);
  return std::make_shared<FabricPool>(count, image_size, channels, seed);
}

ImageSource::ImageSource(const ImageSourceOptions& options) {
  LOOM_CHECK(options.batch >= 1, "--batch must be positive, got ", options.batch);
  const std::string shape = std::to_string(options.image_size) + "x" + std::to_string(options.image_size) +
                            (options.channels == 1 ? " gray" : " RGB");
  if (options.data_dir.empty()) {
    dataset_ = make_fabric_pool(options.fabric_images, options.image_size, options.channels, options.seed);
    description_ = "procedural fabric (" + std::to_string(options.fabric_images) + " images, " + shape + ")";
  } else {
    LOOM_CHECK(options.channels == 1 || options.channels == 3, "channels must be 1 or 3, got ", options.channels);
    const data::DatasetOptions read{.color = options.channels == 1 ? data::ColorMode::Gray : data::ColorMode::RGB,
                                    .height = options.image_size,
                                    .width = options.image_size};
    std::string layout = "ImageFolder";
    try {
      layout = data::layout_name(data::detect_layout(options.data_dir));
    } catch (const Error&) {
      // no known layout: a plain folder of images
    }
    if (layout == "ImageFolder") {
      dataset_ = std::make_shared<data::ImageFolder>(options.data_dir, read);
    } else {
      // MVTec AD and DAGM: the train split's good images (the test split stays unseen); AITEX: every good image.
      const data::Split split = layout == "AITEX" ? data::Split::All : data::Split::Train;
      const data::Selection good{.split = split, .labels = data::LabelFilter::Good};
      dataset_ = data::open_dataset(options.data_dir, good, read);
    }
    description_ = layout + " at " + options.data_dir + " (" + std::to_string(dataset_->size()) + " images, " + shape + ")";
  }
  LOOM_CHECK(dataset_->size() >= options.batch, "the training images (", description_, ") are fewer than one batch of ",
             options.batch, "; lower --batch");
  loader_ = std::make_unique<data::DataLoader>(
      dataset_, data::LoaderOptions{.batch_size = options.batch, .shuffle = true, .drop_last = true,
                                    .seed = options.seed, .num_workers = 1});
}

Tensor ImageSource::next_batch() { return data::normalize_to_pm1(loader_->next_cycling().images); }

}  // namespace loom::train
