// texture_features.h: the texture descriptor of the multistage GAN's stage 1
// (Liu et al., "Multistage GAN for Fabric Defect Detection", IEEE TIP 2020):
// feature maps psi_l of a defect-free texture patch and their Gram matrices
//   G_l = psi_l psi_l^T / (C_l H_l W_l),   psi_l = phi_l(x) as (C_l, H_l W_l)     (paper: G^phi(x))
// whose upper triangles (the matrices are symmetric), flattened and
// concatenated over the layers l, are the condition vector g of cgan_gram:
//   g = [triu(G_1), triu(G_2), ...]    (N, sum_l C_l (C_l + 1) / 2)
// with triu(G) = G[0,0], G[0,1], ..., G[0,C-1], G[1,1], ..., G[C-1,C-1] (row-major).
//
// Two extractors, both with FIXED weights (buffers, not parameters: no
// optimizer sees them and no gradient is kept for them; gradients do flow
// through them to the input, so a Gram loss on a generated image works):
//
// 1. VGG19 (the paper's choice): TextureFeatures::vgg19({.path = ...}) reads a
//    safetensors file with torchvision's names, features.N.weight (out, in, 3, 3)
//    and features.N.bias (out), for every conv up to the deepest chosen layer
//    (other entries, e.g. classifier.*, are ignored). Layers are named as in the
//    style-transfer literature, with torchvision's `features` indices:
//      conv1_1 0  relu1_1 1  conv1_2 2  relu1_2 3  pool1 4
//      conv2_1 5  relu2_1 6  conv2_2 7  relu2_2 8  pool2 9
//      conv3_1 10 relu3_1 11 ... relu3_4 17  pool3 18
//      conv4_1 19 relu4_1 20 ... relu4_4 26  pool4 27
//      conv5_1 28 relu5_1 29 ... relu5_4 35  pool5 36
//    Default layers relu1_1, relu2_1, relu3_1 (g has 2080 + 8256 + 32896 =
//    43232 entries; adding relu4_1 adds 131328). The input, an image in
//    [-1, 1], is mapped to [0, 1] and normalised with ImageNet's mean
//    (0.485, 0.456, 0.406) and std (0.229, 0.224, 0.225); a grey image is
//    repeated to three channels. State names: "features.0.weight", ... as torchvision's.
//
// 2. Random (when no VGG19 file is given): TextureFeatures::random({...}) is a
//    fixed multi-scale convolutional network with weights drawn once from
//    Generator(seed): stage l = (avg-pool 2 for l > 0) conv k_l x k_l, padding
//    k_l / 2, weights N(0, 2 / fan_in) (He), bias 0, then ReLU; every stage's
//    ReLU output is a psi_l. Default channels 16, 32, 64 with kernels 3, 5, 7
//    (receptive fields 3, 11 and 35 pixels; g has 136 + 528 + 2080 = 2744
//    entries). Gram statistics of random convolutional features are a known
//    texture descriptor (Ustyuzhaninov et al., "What does it take to generate
//    natural textures?", ICLR 2017), weaker than VGG's but needing no download.
//    The input is used as it is (images in [-1, 1], any channel count).
//
// description() says which one this is (for logs, run settings and docs).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nn/container.h"
#include "nn/module.h"

namespace loom::models {

struct RandomTextureOptions {
  int64_t in_channels = 3;
  std::vector<int64_t> channels = {16, 32, 64};  // C_l per stage
  std::vector<int64_t> kernels = {3, 5, 7};      // k_l per stage (odd)
  uint64_t seed = 0;
};

struct Vgg19TextureOptions {
  std::string path;  // safetensors with torchvision's VGG19 names (features.N.weight / bias)
  std::vector<std::string> layers = {"relu1_1", "relu2_1", "relu3_1"};
  int64_t in_channels = 3;  // 3, or 1 (repeated to RGB)
};

// A 2-d convolution with fixed weights, kept as buffers (stride 1).
class FixedConv2d : public nn::Module {
 public:
  FixedConv2d(Tensor weight, Tensor bias, int64_t padding);
  Tensor forward(const Tensor& x) override;  // (N, in, H, W) -> (N, out, H', W')
  std::string type_name() const override { return "FixedConv2d"; }
  std::string extra_repr() const override;
  Tensor weight;  // (out, in, k, k), buffer
  Tensor bias;    // (out), buffer
  const int64_t padding;
};

class TextureFeatures : public nn::Module {
 public:
  static std::shared_ptr<TextureFeatures> random(const RandomTextureOptions& options);
  // Throws naming the file and the tensor when an entry is missing, has the
  // wrong shape or is not floating point, and naming a layer that VGG19 lacks.
  static std::shared_ptr<TextureFeatures> vgg19(const Vgg19TextureOptions& options);

  // psi_l for every chosen layer, each (N, C_l, H_l, W_l). x (N, in_channels, H, W) in [-1, 1].
  std::vector<Tensor> features(const Tensor& x);
  // G_l = psi_l psi_l^T / (C_l H_l W_l), each (N, C_l, C_l).
  std::vector<Tensor> grams(const Tensor& x);
  // g: the upper triangles of every G_l, concatenated: (N, condition_dim()).
  Tensor forward(const Tensor& x) override;

  int64_t in_channels() const { return in_channels_; }
  const std::vector<int64_t>& feature_channels() const { return tap_channels_; }  // C_l
  int64_t condition_dim() const;                                                  // sum_l C_l (C_l + 1) / 2
  const std::string& description() const { return description_; }
  std::string type_name() const override { return "TextureFeatures"; }
  std::string extra_repr() const override { return description_; }

 private:
  TextureFeatures() = default;
  Tensor prepare_input(const Tensor& x) const;  // checks; VGG: [-1,1] -> ImageNet-normalised RGB

  std::shared_ptr<nn::Sequential> layers_;  // child "features"
  std::vector<size_t> taps_;                // indices into layers_ whose outputs are psi_l
  std::vector<int64_t> tap_channels_;       // C_l
  int64_t in_channels_ = 3;
  bool imagenet_input_ = false;    // VGG: map to [0,1], normalise, grey -> RGB
  Tensor input_mean_, input_std_;  // (1, 3, 1, 1) buffers (VGG only)
  std::string description_;
};

// torchvision's index in vgg19().features of a layer named "conv3_1",
// "relu4_1", "pool2", ...; throws listing the names when there is none.
size_t vgg19_layer_index(const std::string& name);

// The upper triangle (diagonal included) of each (C, C) matrix of `g` (N, C, C),
// row-major: (N, C (C + 1) / 2).
Tensor upper_triangle(const Tensor& g);

}  // namespace loom::models
