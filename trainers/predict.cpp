// predict.cpp: `loom predict` (see predict.h).
#include "trainers/predict.h"

#include <algorithm>
#include <fstream>

#include "autograd/functions.h"
#include "autograd/grad_mode.h"
#include "data/image.h"
#include "data/image_folder.h"
#include "data/transforms.h"
#include "tensor/error.h"

namespace loom::train {
namespace fs = std::filesystem;
namespace {

// "hole/003.png" below the folder -> "hole_003".
std::string output_stem(const data::Sample& sample) {
  std::string name = sample.category.empty() ? "" : sample.category + "_";
  name += fs::path(sample.path).stem().string();
  std::replace(name.begin(), name.end(), '/', '_');
  return name;
}

// (1, S, S) values times `gain`, resized to the file's height x width: float32 (1, H, W).
Tensor scaled_to_image_size(const Tensor& map, double gain, const std::string& image_path) {
  std::vector<float> values = map.contiguous().to_vector<float>();
  for (float& v : values) v = static_cast<float>(v * gain);
  const Tensor scaled = Tensor::from_vector(values, map.shape());
  const data::ImageInfo info = data::read_image_info(image_path);
  if (info.height == map.size(1) && info.width == map.size(2)) return scaled;
  return data::resize_bilinear(scaled, info.height, info.width);
}

}  // namespace

PredictResult predict_folder(PixelScorer& scorer, const PredictOptions& options) {
  LOOM_CHECK(!options.in_dir.empty() && !options.out_dir.empty(), "loom predict needs --in DIR and --out DIR");
  LOOM_CHECK(options.batch >= 1, "--batch must be positive, got ", options.batch);
  const int64_t size = scorer.image_size();
  const data::ImageFolder folder(
      options.in_dir,
      {.color = scorer.channels() == 1 ? data::ColorMode::Gray : data::ColorMode::RGB, .height = size, .width = size});
  PredictResult result;
  result.output = scorer.output();
  for (int64_t first = 0; first < folder.size(); first += options.batch) {
    const int64_t count = std::min(options.batch, folder.size() - first);
    std::vector<Tensor> images;
    for (int64_t i = 0; i < count; ++i) {
      const data::Sample sample = folder.get(first + i);
      images.push_back(sample.image);  // (C, S, S) in [0, 1]
      PredictedImage image;
      image.name = output_stem(sample);
      image.path = sample.path;
      result.images.push_back(image);
    }
    Tensor maps;
    {
      NoGradGuard no_grad;
      maps = scorer.score(stack(images, 0));  // (count, 1, S, S)
    }
    for (int64_t i = 0; i < count; ++i) {
      PredictedImage& image = result.images[static_cast<size_t>(first + i)];
      image.map = maps.select(0, i).clone();  // (1, S, S)
      const std::vector<float> v = image.map.to_vector<float>();
      image.score = *std::max_element(v.begin(), v.end());
    }
  }

  const bool probability = result.output == PixelOutput::DefectProbability;
  result.map_scale = 1;
  if (!probability) {
    double largest = 0;
    for (const PredictedImage& image : result.images) largest = std::max(largest, image.score);
    result.map_scale = largest > 0 ? largest : 1;
  }
  const double threshold = options.threshold >= 0 ? options.threshold : scorer.threshold();
  result.threshold = probability ? 0.5 : threshold;
  const fs::path out(options.out_dir);
  fs::create_directories(out);
  for (PredictedImage& image : result.images) {
    if (probability) {
      const Tensor p = scaled_to_image_size(image.map, 1.0, image.path);  // (1, H, W)
      data::save_png((out / (image.name + "_mask.png")).string(), threshold_mask(p, 0.5, true, &image.mask_pixels));
    } else {
      data::save_png((out / (image.name + "_map.png")).string(),
                     scaled_to_image_size(image.map, 1.0 / result.map_scale, image.path));
      if (threshold >= 0) {
        const Tensor a = scaled_to_image_size(image.map, 1.0, image.path);
        data::save_png((out / (image.name + "_mask.png")).string(),
                       threshold_mask(a, threshold, false, &image.mask_pixels));
      }
    }
  }
  result.csv = out / "scores.csv";
  std::ofstream csv(result.csv);
  LOOM_CHECK(csv.good(), "cannot write ", result.csv.string());
  csv << "name,file,score,mask_pixels\n";
  for (const PredictedImage& image : result.images) {
    csv << image.name << ',' << image.path << ',' << image.score << ',';
    if (image.mask_pixels >= 0) csv << image.mask_pixels;
    csv << '\n';
  }
  LOOM_CHECK(csv.good(), "writing ", result.csv.string(), " failed");
  return result;
}

PredictResult predict_folder(const fs::path& run_or_checkpoint, const PredictOptions& options) {
  const TrainedRun run = open_trained_run(run_or_checkpoint);
  const ModelInference& entry = inference_of(run.model);
  LOOM_CHECK(entry.scorer != nullptr, run.checkpoint.string(), " is a ", run.model,
             " run, which does not score pixels (loom predict takes wae and unet runs; use loom sample)");
  return predict_folder(*entry.scorer(run), options);
}

Tensor threshold_mask(const Tensor& values, double threshold, bool strict, int64_t* pixels) {
  const std::vector<float> v = values.contiguous().to(DType::Float32).to_vector<float>();
  std::vector<uint8_t> mask(v.size());
  int64_t count = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    const bool on = strict ? v[i] > threshold : v[i] >= threshold;
    mask[i] = on ? 255 : 0;
    count += on;
  }
  if (pixels) *pixels = count;
  return Tensor::from_vector(mask, values.shape());
}

double PixelCounts::iou() const {
  const int64_t union_ = true_positive + false_positive + false_negative;
  return union_ == 0 ? 1.0 : static_cast<double>(true_positive) / static_cast<double>(union_);
}

double PixelCounts::f1() const {
  const int64_t denominator = 2 * true_positive + false_positive + false_negative;
  return denominator == 0 ? 1.0 : 2.0 * static_cast<double>(true_positive) / static_cast<double>(denominator);
}

PixelCounts& PixelCounts::operator+=(const PixelCounts& o) {
  true_positive += o.true_positive;
  false_positive += o.false_positive;
  false_negative += o.false_negative;
  true_negative += o.true_negative;
  return *this;
}

PixelCounts count_pixels(const Tensor& predicted, const Tensor& target) {
  LOOM_CHECK(predicted.shape() == target.shape(), "count_pixels: the prediction has shape ",
             shape_str(predicted.shape()), ", the ground truth ", shape_str(target.shape()));
  const std::vector<float> p = predicted.contiguous().to(DType::Float32).to_vector<float>();
  const std::vector<float> t = target.contiguous().to(DType::Float32).to_vector<float>();
  PixelCounts counts;
  for (size_t i = 0; i < p.size(); ++i) {
    const bool positive = p[i] > 0.5f, defect = t[i] > 0.5f;
    if (positive && defect)
      ++counts.true_positive;
    else if (positive)
      ++counts.false_positive;
    else if (defect)
      ++counts.false_negative;
    else
      ++counts.true_negative;
  }
  return counts;
}

}  // namespace loom::train
