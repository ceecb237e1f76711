// unet.cpp: the U-Net segmenter, its focal / BCE + Dice losses and the mask IoU
// (see unet.h for the architecture and the math).
#include "models/unet.h"

#include "autograd/functions.h"
#include "autograd/grad_mode.h"

namespace loom::models {

namespace {

void check_options(const UNetOptions& o) {
  LOOM_CHECK(o.in_channels >= 1 && o.out_channels >= 1, "UNet: in_channels and out_channels must be >= 1, got ",
             o.in_channels, " and ", o.out_channels);
  LOOM_CHECK(o.base_width >= 1, "UNet: base_width must be >= 1, got ", o.base_width);
  LOOM_CHECK(o.depth >= 1 && o.depth <= 8, "UNet: depth (the number of max-pool downs) must be 1 .. 8, got ", o.depth);
}

}  // namespace

std::shared_ptr<nn::Sequential> make_double_conv(int64_t in, int64_t out, Generator& gen) {
  auto block = nn::make<nn::Sequential>();
  for (int64_t c : {in, out}) {  // conv 3x3 pad 1 + BN + ReLU, twice
    block->add(nn::make<nn::Conv2d>({.in = c, .out = out, .kernel = 3, .padding = 1, .bias = false}, gen));
    block->add(nn::make<nn::BatchNorm2d>({.features = out}));
    block->add(nn::make<nn::ReLU>());
  }
  return block;
}

// ---- one decoder step ---------------------------------------------------------------
UNetUp::UNetUp(int64_t in, int64_t out, UpMode mode, Generator& gen) {
  up = register_module("up", nn::make<nn::Sequential>());
  if (mode == UpMode::TransposedConv) {  // the paper's 2x2 up-convolution: in -> out channels, x2 size
    up->add(nn::make<nn::ConvTranspose2d>({.in = in, .out = out, .kernel = 2, .stride = 2}, gen));
  } else {  // bilinear x2, then a 1x1 conv halves the channels
    up->add(nn::make<nn::Upsample>({.scale_factor = 2.0, .mode = nn::UpsampleMode::Bilinear}));
    up->add(nn::make<nn::Conv2d>({.in = in, .out = out, .kernel = 1}, gen));
  }
  conv = register_module("conv", make_double_conv(2 * out, out, gen));
}

Tensor UNetUp::merge(const Tensor& x, const Tensor& skip) {
  Tensor upsampled = (*up)(x);  // (N, out, 2h, 2w)
  LOOM_CHECK(upsampled.shape() == skip.shape(), "UNetUp: upsampled shape ", shape_str(upsampled.shape()),
             " does not match the skip connection's ", shape_str(skip.shape()));
  return (*conv)(cat({skip, upsampled}, 1));  // DoubleConv(cat[e, u]) (N, out, 2h, 2w)
}

Tensor UNetUp::forward(const Tensor&) {
  detail::throw_error("UNetUp: an up step needs its skip connection; call merge(x, skip)");
}

// ---- the network ----------------------------------------------------------------------
UNet::UNet(const UNetOptions& o, Generator& gen) : options(o) {
  check_options(o);
  const int64_t w = o.base_width;
  inc = register_module("inc", make_double_conv(o.in_channels, w, gen));
  for (int64_t i = 1; i <= o.depth; ++i) {  // e_i: (N, w 2^i, H / 2^i, W / 2^i)
    auto down =
        nn::make<nn::Sequential>(nn::make<nn::MaxPool2d>({.kernel = 2}), make_double_conv(w << (i - 1), w << i, gen));
    downs.push_back(register_module("down" + std::to_string(i), down));
  }
  for (int64_t i = 1; i <= o.depth; ++i) {  // w 2^(D-i+1) -> w 2^(D-i)
    const int64_t in = w << (o.depth - i + 1), out = w << (o.depth - i);
    ups.push_back(register_module("up" + std::to_string(i), std::make_shared<UNetUp>(in, out, o.up_mode, gen)));
  }
  outc = register_module("outc", nn::make<nn::Conv2d>({.in = w, .out = o.out_channels, .kernel = 1}, gen));
  if (o.class_head) {
    classifier = register_module("classifier",
                                 nn::make<nn::Sequential>(nn::make<nn::AdaptiveAvgPool2d>(1), nn::make<nn::Flatten>(),
                                                          nn::make<nn::Linear>({.in = w << o.depth, .out = 1}, gen)));
  }
}

UNetOutput UNet::run(const Tensor& x) {
  nn::check_input_dims(*this, x, 4, "(N, C, H, W)");
  nn::check_input_size(*this, x, 1, options.in_channels, "channels");
  const int64_t factor = int64_t{1} << options.depth;
  LOOM_CHECK(x.size(2) % factor == 0 && x.size(3) % factor == 0,
             "UNet: height and width must be divisible by 2^depth = ", factor, " (depth ", options.depth,
             "), got shape ", shape_str(x.shape()));
  std::vector<Tensor> skips{(*inc)(x)};  // e_0 .. e_D
  for (auto& down : downs) skips.push_back((*down)(skips.back()));
  UNetOutput out;
  Tensor h = skips.back();  // the bottleneck e_D (N, w 2^D, H / 2^D, W / 2^D)
  for (size_t i = 0; i < ups.size(); ++i) h = ups[i]->merge(h, skips[skips.size() - 2 - i]);
  out.mask_logits = (*outc)(h);                                    // (N, out_channels, H, W)
  if (classifier) out.class_logits = (*classifier)(skips.back());  // (N, 1)
  return out;
}

Tensor UNet::forward(const Tensor& x) { return run(x).mask_logits; }

std::string UNet::extra_repr() const {
  return "in_channels=" + std::to_string(options.in_channels) +
         ", out_channels=" + std::to_string(options.out_channels) +
         ", base_width=" + std::to_string(options.base_width) + ", depth=" + std::to_string(options.depth) +
         ", up=" + (options.up_mode == UpMode::TransposedConv ? "transposed_conv" : "bilinear") +
         ", class_head=" + (options.class_head ? "true" : "false");
}

// ---- losses -----------------------------------------------------------------------------
Tensor focal_loss_with_logits(const Tensor& logits, const Tensor& target, double alpha, double gamma) {
  LOOM_CHECK(gamma >= 0, "focal_loss_with_logits: gamma must be >= 0, got ", gamma);
  LOOM_CHECK(alpha <= 1, "focal_loss_with_logits: alpha must be <= 1 (or < 0 for no weighting), got ", alpha);
  Tensor minus_log_pt = bce_with_logits(logits, target, Reduction::None);  // -log p_t
  Tensor loss = minus_log_pt;
  if (gamma > 0) {  // (1 - p_t)^gamma; skipped at gamma = 0, where pow's gradient at p_t = 1 is 0 * inf
    Tensor p = sigmoid(logits);
    Tensor p_t = p * target + (1.0 - p) * (1.0 - target);
    loss = pow(1.0 - p_t, gamma) * loss;
  }
  if (alpha >= 0) loss = (target * alpha + (1.0 - target) * (1.0 - alpha)) * loss;  // alpha_t
  return mean(loss);
}

Tensor image_labels_from_masks(const Tensor& masks) {
  LOOM_CHECK(masks.defined() && masks.dim() == 4, "image_labels_from_masks: masks must be (N, C, H, W), got ",
             masks.defined() ? shape_str(masks.shape()) : "undefined");
  NoGradGuard no_grad;
  Tensor any_defect = amax(masks.reshape({masks.size(0), -1}), {1}, true);  // (N, 1) the largest mask value
  return gt(any_defect, Tensor::scalar(0.5, masks.dtype(), masks.device())).to(masks.dtype());  // 1 where > 0.5
}

SegmentationLoss segmentation_loss(const UNetOutput& output, const Tensor& masks, const SegmentationLossOptions& o) {
  SegmentationLoss loss;
  loss.pixel = o.use_focal ? focal_loss_with_logits(output.mask_logits, masks, o.focal_alpha, o.focal_gamma)
                           : bce_with_logits(output.mask_logits, masks);
  loss.dice = dice_loss(output.mask_logits, masks, o.dice_eps);
  loss.total = loss.pixel * o.bce_weight + loss.dice * o.dice_weight;
  if (output.class_logits.defined()) {
    loss.image = bce_with_logits(output.class_logits, image_labels_from_masks(masks));
    loss.total = loss.total + loss.image * o.class_weight;
  }
  return loss;
}

double mask_iou(const Tensor& logits, const Tensor& target) {
  LOOM_CHECK(logits.defined() && target.defined() && logits.numel() == target.numel(),
             "mask_iou: logits and target must have the same number of elements, got ",
             logits.defined() ? shape_str(logits.shape()) : "undefined", " and ",
             target.defined() ? shape_str(target.shape()) : "undefined");
  const std::vector<double> x = logits.to_vector<double>(), t = target.to_vector<double>();
  int64_t intersection = 0, union_count = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const bool predicted = x[i] > 0.0, actual = t[i] > 0.5;  // sigmoid(x) > 0.5  <=>  x > 0
    intersection += predicted && actual;
    union_count += predicted || actual;
  }
  return union_count == 0 ? 1.0 : static_cast<double>(intersection) / static_cast<double>(union_count);
}

}  // namespace loom::models
