// predict.h: `loom predict`: a trained detector's per-pixel output for every
// image of a folder, and the pixel-level scores of a prediction against masks.
//
// For each image below the input folder (any depth, sorted by path; data/
// image_folder.h), resized to the model's S x S and channels:
//   wae   a = the anomaly map (models/anomaly.h: smoothed |x - x_hat|)
//         -> <name>_map.png: a / m as gray, m = the largest value over the
//            folder (so maps of one folder share one scale; m is printed)
//         -> <name>_mask.png where a >= t: t = --threshold, else the threshold
//            stored in the run's checkpoint (mean + k sigma of defect-free
//            validation maps), if any
//   unet  p = sigmoid(mask logits)
//         -> <name>_mask.png: 255 where p > 0.5, else 0
// Maps and masks are resized back to the image's own size (bilinear, masks
// thresholded after it). <name> is the image's path below the folder with
// '/' as '_' and no extension ("hole/003.png" -> "hole_003").
// scores.csv: name,file,score,mask_pixels with score = max of the map at S x S
// (the image-level anomaly score) and mask_pixels the defect pixels of the
// written mask (empty when none is written).
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "tensor/tensor.h"
#include "trainers/inference.h"

namespace loom::train {

struct PredictOptions {
  std::string in_dir;     // the images
  std::string out_dir;    // maps, masks and scores.csv (created)
  double threshold = -1;  // anomaly maps: masks of a >= threshold; < 0: the run's own, if any
  int64_t batch = 16;     // images scored at once
};

struct PredictedImage {
  std::string name;          // the output stem (above)
  std::string path;          // the input file
  double score = 0;          // max of the map
  int64_t mask_pixels = -1;  // defect pixels of the written mask; -1: none written
  Tensor map;                // (1, S, S) float32: the anomaly map or the defect probability
};

struct PredictResult {
  PixelOutput output = PixelOutput::AnomalyMap;
  std::vector<PredictedImage> images;  // in path order
  double map_scale = 1;                // m: the map PNGs show a / m (1 for probabilities)
  double threshold = -1;               // the masks' threshold (0.5 for probabilities; < 0: no masks)
  std::filesystem::path csv;           // out_dir/scores.csv
};

// Runs the trained detector `run_or_checkpoint` over options.in_dir and writes
// the files above. Throws when the run's model does not score pixels.
PredictResult predict_folder(const std::filesystem::path& run_or_checkpoint, const PredictOptions& options);

// The same for an opened run and a scorer already built (the demo scores the
// test split twice: files here, metrics from the tensors).
PredictResult predict_folder(PixelScorer& scorer, const PredictOptions& options);

// 255 where values >= threshold (> threshold when strict), else 0: uint8 of
// the same shape; `pixels` (if given) receives the count of 255s.
Tensor threshold_mask(const Tensor& values, double threshold, bool strict, int64_t* pixels = nullptr);

// Pixel-level agreement of a binary prediction with the ground truth, over
// every pixel given: predicted and target of one shape, a pixel is positive
// where its value > 0.5.
struct PixelCounts {
  int64_t true_positive = 0, false_positive = 0, false_negative = 0, true_negative = 0;
  // IoU = TP / (TP + FP + FN), F1 = 2 TP / (2 TP + FP + FN); both 1 when there
  // is no positive pixel in either.
  double iou() const;
  double f1() const;
  PixelCounts& operator+=(const PixelCounts& other);
};
PixelCounts count_pixels(const Tensor& predicted, const Tensor& target);

}  // namespace loom::train
