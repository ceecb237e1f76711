// texture_features.cpp: the fixed texture feature extractors (VGG19 from a
// safetensors file, or seeded random convolutions) and the Gram condition
// (math in texture_features.h).
#include "models/texture_features.h"

#include <cmath>
#include <sstream>

#include "autograd/functions.h"
#include "nn/nn.h"
#include "tensor/error.h"
#include "tensor/safetensors.h"

namespace loom::models {

// ---- FixedConv2d ----

FixedConv2d::FixedConv2d(Tensor w, Tensor b, int64_t pad) : padding(pad) {
  LOOM_CHECK(w.dim() == 4 && b.dim() == 1 && b.size(0) == w.size(0), "FixedConv2d: weight ", shape_str(w.shape()),
             " and bias ", shape_str(b.shape()), " do not form a convolution (weight (out, in, k, k), bias (out))");
  weight = register_buffer("weight", w);
  bias = register_buffer("bias", b);
}

Tensor FixedConv2d::forward(const Tensor& x) {
  nn::check_input_dims(*this, x, 4, "(N, C, H, W)");
  nn::check_input_size(*this, x, 1, weight.size(1), "channels", weight);
  return conv2d(x, weight, bias, 1, padding);
}

std::string FixedConv2d::extra_repr() const {
  std::ostringstream s;
  s << weight.size(1) << ", " << weight.size(0) << ", kernel_size=" << weight.size(2) << ", padding=" << padding;
  return s.str();
}

// ---- the Gram condition ----

Tensor upper_triangle(const Tensor& g) {
  LOOM_CHECK(g.dim() == 3 && g.size(1) == g.size(2), "upper_triangle: expected (N, C, C), got ", shape_str(g.shape()));
  const int64_t c = g.size(1);
  std::vector<Tensor> rows;  // row i: G[:, i, i:], (N, C - i)
  rows.reserve(static_cast<size_t>(c));
  for (int64_t i = 0; i < c; ++i) rows.push_back(g.select(1, i).slice(1, i, c));
  return cat(rows, 1);  // (N, C (C + 1) / 2)
}

int64_t TextureFeatures::condition_dim() const {
  int64_t d = 0;
  for (int64_t c : tap_channels_) d += c * (c + 1) / 2;
  return d;
}

Tensor TextureFeatures::prepare_input(const Tensor& x) const {
  nn::check_input_dims(*this, x, 4, "(N, C, H, W)");
  nn::check_input_size(*this, x, 1, in_channels_, "channels");
  if (!imagenet_input_) return x;
  Tensor rgb = in_channels_ == 1 ? cat({x, x, x}, 1) : x;                             // (N, 3, H, W)
  return ((rgb + 1.0) * 0.5 - input_mean_.to(x.dtype())) / input_std_.to(x.dtype());  // [-1,1] -> [0,1] -> ImageNet
}

std::vector<Tensor> TextureFeatures::features(const Tensor& x) {
  Tensor h = prepare_input(x);
  std::vector<Tensor> psi;
  const auto& modules = layers_->modules();
  const size_t last = taps_.back();
  for (size_t i = 0; i <= last; ++i) {  // layers after the deepest tap are not run
    h = (*modules[i])(h);
    for (size_t t : taps_)
      if (t == i) psi.push_back(h);  // (N, C_l, H_l, W_l)
  }
  return psi;
}

std::vector<Tensor> TextureFeatures::grams(const Tensor& x) {
  std::vector<Tensor> g;
  for (const Tensor& psi : features(x)) g.push_back(gram(psi));  // psi psi^T / (C H W): (N, C_l, C_l)
  return g;
}

Tensor TextureFeatures::forward(const Tensor& x) {
  std::vector<Tensor> parts;
  for (const Tensor& g : grams(x)) parts.push_back(upper_triangle(g));
  return cat(parts, 1);  // g = [triu(G_1), triu(G_2), ...]: (N, condition_dim)
}

// ---- the random extractor ----

std::shared_ptr<TextureFeatures> TextureFeatures::random(const RandomTextureOptions& o) {
  LOOM_CHECK(o.in_channels > 0, "random texture features: in_channels must be positive, got ", o.in_channels);
  LOOM_CHECK(!o.channels.empty() && o.channels.size() == o.kernels.size(),
             "random texture features: need one kernel size per stage, got ", o.channels.size(), " channel counts and ",
             o.kernels.size(), " kernel sizes");
  std::shared_ptr<TextureFeatures> tf(new TextureFeatures());
  tf->in_channels_ = o.in_channels;
  tf->layers_ = tf->register_module("features", nn::make<nn::Sequential>());
  Generator gen(o.seed);
  std::ostringstream desc;
  desc << "random multi-scale conv features (fixed, seed " << o.seed << "; not VGG):";
  int64_t in = o.in_channels;
  for (size_t l = 0; l < o.channels.size(); ++l) {
    const int64_t c = o.channels[l], k = o.kernels[l];
    LOOM_CHECK(c > 0 && k > 0 && k % 2 == 1, "random texture features: stage ", l,
               " needs channels > 0 and an odd kernel, got ", c, " channels, kernel ", k);
    if (l > 0) tf->layers_->add(nn::make<nn::AvgPool2d>({.kernel = 2}));
    // He init: N(0, 2 / fan_in), fan_in = in k k; bias 0.
    Tensor w = randn({c, in, k, k}, gen) * std::sqrt(2.0 / static_cast<double>(in * k * k));  // (c, in, k, k)
    tf->layers_->add(nn::make<FixedConv2d>(w, Tensor::zeros({c}), k / 2));
    tf->layers_->add(nn::make<nn::ReLU>());
    tf->taps_.push_back(tf->layers_->size() - 1);
    tf->tap_channels_.push_back(c);
    desc << (l > 0 ? ", avg-pool 2," : "") << " conv" << k << "x" << k << " " << c << " + ReLU";
    in = c;
  }
  tf->description_ = desc.str();
  return tf;
}

// ---- VGG19 ----

namespace {

// torchvision's VGG19 `features` (configuration "E"): 0 for max-pool, else
// a 3x3 conv with that many output channels followed by ReLU.
const std::vector<int64_t> kVgg19 = {64,  64,  0,   128, 128, 0,   256, 256, 256, 256, 0,
                                     512, 512, 512, 512, 0,   512, 512, 512, 512, 0};

struct VggLayer {
  std::string name;  // conv1_1, relu1_1, pool1, ...
  int64_t out = 0;   // conv: output channels
  int64_t in = 0;    // conv: input channels
};

// Every layer of torchvision's vgg19().features, by index.
std::vector<VggLayer> vgg19_layers() {
  std::vector<VggLayer> layers;
  int64_t block = 1, conv = 1, in = 3;
  for (int64_t v : kVgg19) {
    if (v == 0) {
      layers.push_back({"pool" + std::to_string(block)});
      ++block, conv = 1;
      continue;
    }
    const std::string id = std::to_string(block) + "_" + std::to_string(conv++);
    layers.push_back({"conv" + id, v, in});
    layers.push_back({"relu" + id, v, in});
    in = v;
  }
  return layers;
}

// The file's tensor `key` as float32, checked against `shape`.
Tensor vgg_tensor(const SafeTensors& file, const std::string& path, const std::string& key, const Shape& shape) {
  auto it = file.tensors.find(key);
  LOOM_CHECK(it != file.tensors.end(), "VGG19 weights '", path, "': no tensor '", key, "' (expected shape ",
             shape_str(shape), "; the file must use torchvision's names, features.N.weight / features.N.bias)");
  LOOM_CHECK(it->second.shape() == shape, "VGG19 weights '", path, "': '", key, "' has shape ",
             shape_str(it->second.shape()), ", VGG19 expects ", shape_str(shape));
  LOOM_CHECK(is_floating(it->second.dtype()), "VGG19 weights '", path, "': '", key, "' is ",
             dtype_name(it->second.dtype()), ", expected floating point");
  return it->second.to(DType::Float32).clone();
}

}  // namespace

size_t vgg19_layer_index(const std::string& name) {
  const std::vector<VggLayer> table = vgg19_layers();
  for (size_t i = 0; i < table.size(); ++i)
    if (table[i].name == name) return i;
  std::string known;
  for (const VggLayer& l : table) known += (known.empty() ? "" : ", ") + l.name;
  detail::throw_error("VGG19 texture features: no layer '", name, "' (layers: ", known, ")");
}

std::shared_ptr<TextureFeatures> TextureFeatures::vgg19(const Vgg19TextureOptions& o) {
  LOOM_CHECK(o.in_channels == 1 || o.in_channels == 3, "VGG19 texture features: images must have 1 or 3 channels, got ",
             o.in_channels);
  LOOM_CHECK(!o.layers.empty(), "VGG19 texture features: no layers chosen (e.g. relu1_1, relu2_1, relu3_1)");
  const std::vector<VggLayer> table = vgg19_layers();
  std::vector<size_t> taps;
  for (const std::string& name : o.layers) taps.push_back(vgg19_layer_index(name));
  for (size_t t = 1; t < taps.size(); ++t)
    LOOM_CHECK(taps[t] > taps[t - 1],
               "VGG19 texture features: layers must be given shallow to deep, without repeats; '", o.layers[t],
               "' comes after '", o.layers[t - 1], "'");

  const SafeTensors file = load_safetensors(o.path);
  std::shared_ptr<TextureFeatures> tf(new TextureFeatures());
  tf->in_channels_ = o.in_channels;
  tf->imagenet_input_ = true;
  tf->input_mean_ =
      tf->register_buffer("input_mean", Tensor::from_vector<float>({0.485f, 0.456f, 0.406f}, {1, 3, 1, 1}));
  tf->input_std_ = tf->register_buffer("input_std", Tensor::from_vector<float>({0.229f, 0.224f, 0.225f}, {1, 3, 1, 1}));
  tf->layers_ = tf->register_module("features", nn::make<nn::Sequential>());
  for (size_t i = 0; i <= taps.back(); ++i) {  // torchvision's indices: child i is features.i
    const VggLayer& l = table[i];
    const std::string key = "features." + std::to_string(i);
    if (l.name.starts_with("conv")) {
      tf->layers_->add(nn::make<FixedConv2d>(vgg_tensor(file, o.path, key + ".weight", {l.out, l.in, 3, 3}),
                                             vgg_tensor(file, o.path, key + ".bias", {l.out}), 1));
    } else if (l.name.starts_with("relu")) {
      tf->layers_->add(nn::make<nn::ReLU>());
    } else {
      tf->layers_->add(nn::make<nn::MaxPool2d>({.kernel = 2}));
    }
  }
  tf->taps_ = taps;
  std::ostringstream desc;
  desc << "VGG19 features from '" << o.path << "' (";
  for (size_t t = 0; t < taps.size(); ++t) {
    tf->tap_channels_.push_back(table[taps[t]].out > 0 ? table[taps[t]].out : table[taps[t] - 1].out);
    desc << (t ? ", " : "") << o.layers[t];
  }
  desc << "; ImageNet normalisation)";
  tf->description_ = desc.str();
  return tf;
}

}  // namespace loom::models
