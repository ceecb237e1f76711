// image_source.h: the training images of the image models (dcgan, cgan, wae):
// batches of (N, C, S, S) float32 in [-1, 1] (x = 2 p - 1 for pixel p in
// [0, 1]), with a text cursor for checkpoints so a resumed run sees the same
// batches.
//
// Two sources:
//   procedural fabric (no --data): image i of a pool of `fabric_images` is
//     data::fabric::random_fabric(2 S, Generator(seed, offset i 2^32)), shrunk to
//     S x S by area averaging (antialiased), gray by BT.601 luma when C = 1, and
//     rounded to 8 bits. Image i depends only on (seed, i); each is rendered
//     once, when first needed, and kept (as uint8).
//   a dataset folder (--data DIR): the good training images of MVTec AD and
//     DAGM (train split) or AITEX (all its good images) when data::detect_layout recognises the layout,
//     else every image below DIR (data::ImageFolder); each resized to S x S
//     (bilinear).
// Both go through a data::DataLoader (shuffled with the seed, drop_last,
// cycling over epochs), whose cursor ("epoch=3 position=17 seed=42") is the
// source's cursor.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "data/dataset.h"
#include "data/loader.h"
#include "tensor/tensor.h"

namespace loom::train {

struct ImageSourceOptions {
  std::string data_dir;          // empty: procedural fabric
  int64_t image_size = 64;       // S
  int64_t channels = 3;          // C: 1 (gray) or 3 (RGB)
  int64_t batch = 64;            // N
  uint64_t seed = 0;             // fabric rendering and the shuffle
  int64_t fabric_images = 2048;  // the procedural pool's size
};

// The procedural fabric pool described above, as a Dataset (thread-safe).
std::shared_ptr<data::Dataset> make_fabric_pool(int64_t count, int64_t image_size, int64_t channels, uint64_t seed);

class ImageSource {
 public:
  explicit ImageSource(const ImageSourceOptions& options);
  // The next batch: (N, C, S, S) float32 in [-1, 1], on the CPU.
  Tensor next_batch();
  std::string cursor() const { return loader_->cursor().to_string(); }
  void restore(const std::string& cursor) { loader_->restore(data::LoaderCursor::parse(cursor)); }
  // "procedural fabric (2048 images, 64x64 RGB)" or "MVTec AD at DIR (209 images)".
  const std::string& description() const { return description_; }

 private:
  std::shared_ptr<data::Dataset> dataset_;
  std::unique_ptr<data::DataLoader> loader_;
  std::string description_;
};

}  // namespace loom::train
