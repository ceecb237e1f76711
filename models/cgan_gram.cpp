// cgan_gram.cpp: the Gram-conditioned generator and projection discriminator
// of the multistage GAN's stage 1 (math in cgan_gram.h).
#include "models/cgan_gram.h"

#include <sstream>

#include "autograd/functions.h"
#include "nn/nn.h"
#include "tensor/error.h"

namespace loom::models {

namespace {

void check_cgan_options(const CganGramOptions& o) {
  check_dcgan_options(dcgan_options(o));
  LOOM_CHECK(o.gram_dim > 0, "cgan_gram: gram_dim must be positive (TextureFeatures::condition_dim()), got ",
             o.gram_dim);
  LOOM_CHECK(o.condition_dim > 0, "cgan_gram: condition_dim must be positive, got ", o.condition_dim);
}

std::string sizes(const CganGramOptions& o, int64_t width) {
  std::ostringstream s;
  s << "nz=" << o.nz << ", width=" << width << ", channels=" << o.channels << ", image_size=" << o.image_size
    << ", gram_dim=" << o.gram_dim << ", condition_dim=" << o.condition_dim;
  return s.str();
}

// g must be (N, gram_dim) with N = the batch of the other input.
void check_condition(const nn::Module& m, const Tensor& g, int64_t batch, int64_t gram_dim) {
  LOOM_CHECK(g.dim() == 2 && g.size(0) == batch && g.size(1) == gram_dim, nn::repr(m),
             ": the Gram condition must be (N, gram_dim) = [", batch, ", ", gram_dim, "], got ", shape_str(g.shape()));
}

}  // namespace

DcganOptions dcgan_options(const CganGramOptions& o) {
  return {.nz = o.nz,
          .ngf = o.ngf,
          .ndf = o.ndf,
          .channels = o.channels,
          .image_size = o.image_size,
          .d_output = DOutput::Logits,
          .bn_eps = o.bn_eps,
          .bn_momentum = o.bn_momentum};
}

// ---- the condition ----

GramProjection::GramProjection(int64_t gram_dim, int64_t condition_dim, double bn_eps, double bn_momentum,
                               Generator& gen) {
  norm = register_module("norm", nn::make<nn::BatchNorm2d>(
                                     {.features = gram_dim, .eps = bn_eps, .momentum = bn_momentum, .affine = false}));
  linear = register_module("linear", nn::make<nn::Linear>({.in = gram_dim, .out = condition_dim}, gen));
}

Tensor GramProjection::forward(const Tensor& g) {
  LOOM_CHECK(g.dim() == 2, repr(*this), ": g must be (N, gram_dim), got ", shape_str(g.shape()));
  const int64_t n = g.size(0), d = g.size(1);
  const Tensor standardised = (*norm)(g.reshape({n, d, 1, 1})).reshape({n, d});  // norm(g): (N, gram_dim)
  const Tensor projected = (*linear)(standardised);                              // W norm(g) + b: (N, cond)
  return projected / sqrt(mean(projected * projected, {1}, true) + 1e-8);        // c: rms(c) = 1 per sample
}

std::string GramProjection::extra_repr() const {
  return std::to_string(linear->options.in) + " -> " + std::to_string(linear->options.out);
}

// ---- G ----

CganGenerator::CganGenerator(const CganGramOptions& o, Generator& gen) : options(o) {
  check_cgan_options(o);
  condition =
      register_module("condition", nn::make<GramProjection>(o.gram_dim, o.condition_dim, o.bn_eps, o.bn_momentum, gen));
  main = register_module("main", nn::make<nn::Sequential>());
  append_dcgan_generator(*main, o.nz + o.condition_dim, dcgan_options(o), gen);
  nn::dcgan_init_(*main, gen);
}

Tensor CganGenerator::forward(const Tensor& z, const Tensor& g) {
  LOOM_CHECK((z.dim() == 2 || (z.dim() == 4 && z.size(2) == 1 && z.size(3) == 1)) && z.size(1) == options.nz,
             repr(*this), ": the noise must be (N, nz) or (N, nz, 1, 1) with nz = ", options.nz, ", got ",
             shape_str(z.shape()));
  const int64_t n = z.size(0);
  check_condition(*this, g, n, options.gram_dim);
  const Tensor c = (*condition)(g);  // c = unit_rms(W norm(g) + b): (N, cond)
  const Tensor h = cat({z.reshape({n, options.nz, 1, 1}), c.reshape({n, options.condition_dim, 1, 1})}, 1);  // [z, c]
  return (*main)(h);  // x' = G(z, G^phi)
}

Tensor CganGenerator::forward(const Tensor& packed) {
  LOOM_CHECK(packed.dim() == 2 && packed.size(1) == options.nz + options.gram_dim, repr(*this),
             ": the packed input must be [z | g] (N, nz + gram_dim) = (N, ", options.nz + options.gram_dim, "), got ",
             shape_str(packed.shape()), "; or call forward(z, g)");
  return forward(packed.narrow(1, 0, options.nz), packed.narrow(1, options.nz, options.gram_dim));
}

std::string CganGenerator::extra_repr() const { return sizes(options, options.ngf); }

// ---- D ----

CganDiscriminator::CganDiscriminator(const CganGramOptions& o, Generator& gen) : options(o) {
  check_cgan_options(o);
  condition =
      register_module("condition", nn::make<GramProjection>(o.gram_dim, o.condition_dim, o.bn_eps, o.bn_momentum, gen));
  features = register_module("features", nn::make<nn::Sequential>());
  const int64_t cf = append_dcgan_discriminator_features(*features, dcgan_options(o), gen);  // Cf = ndf 2^(k-1)
  head = register_module(
      "head", nn::make<nn::Conv2d>({.in = cf, .out = 1, .kernel = 4, .stride = 1, .padding = 0, .bias = false}, gen));
  embed = register_module("embed", nn::make<nn::Linear>({.in = o.condition_dim, .out = cf, .bias = false}, gen));
  nn::dcgan_init_(*features, gen);
  nn::dcgan_init_(*head, gen);
}

Tensor CganDiscriminator::forward(const Tensor& x, const Tensor& g) {
  nn::check_input_dims(*this, x, 4, "(N, C, H, W)");
  const int64_t n = x.size(0);
  check_condition(*this, g, n, options.gram_dim);
  const Tensor phi = (*features)(x);                        // phi(x): (N, Cf, 4, 4)
  const Tensor unconditional = (*head)(phi);                // psi(phi(x)): (N, 1, 1, 1)
  const Tensor v = (*embed)((*condition)(g));               // V c, c = unit_rms(W norm(g) + b): (N, Cf)
  const Tensor pooled = mean(phi, {2, 3});                  // mean_{h,w} phi(x): (N, Cf)
  const Tensor projection = sum(v * pooled, {1});           // <V c, mean_hw phi(x)>: (N)
  return unconditional + projection.reshape({n, 1, 1, 1});  // Miyato eq. 3: logits (N, 1, 1, 1)
}

Tensor CganDiscriminator::forward(const Tensor& x) {
  detail::throw_error(repr(*this),
                      ": the discriminator judges (image, condition) pairs; call forward(x, g) with g (N, ",
                      options.gram_dim, "), got only an image of shape ", shape_str(x.shape()));
}

std::string CganDiscriminator::extra_repr() const { return sizes(options, options.ndf); }

}  // namespace loom::models
