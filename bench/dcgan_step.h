// dcgan_step.h: one full DCGAN training iteration written directly against
// loom's autograd functions (the nn library will wrap this in Modules later),
// used by bench_dcgan_step.cpp. The loop is the classic PyTorch one:
//   D step: errD = BCE(D(real), 1) + BCE(D(G(z).detach()), 0), one backward, Adam on D
//   G step: errG = BCE(D(G(z)), 1) through the updated D, Adam on G
// Architecture (Radford et al. 2015, as in the PyTorch example): G is
// ConvTranspose-BN-ReLU blocks then Tanh; D is Conv-LeakyReLU(0.2), then
// Conv-BN-LeakyReLU blocks, then a 4x4 conv and a sigmoid.
#pragma once
#include <cmath>
#include <vector>

#include "autograd/functions.h"
#include "autograd/grad_mode.h"
#include "tensor/random.h"

namespace loom::bench {

struct Param {
  Tensor value, m, v;  // Adam moments
};

struct BatchNormState {
  Param weight, bias;
  Tensor running_mean, running_var;
};

struct Dcgan {
  int64_t nz = 100, width = 64, nc = 3, image = 64;
  std::vector<Param> g_conv, d_conv;       // conv weights, in layer order
  std::vector<BatchNormState> g_bn, d_bn;  // batch norms after all but the last G layer / first and last D layer
  int64_t step = 0;
};

inline Param make_param(Tensor v) {
  v.requires_grad_();
  return Param{v, Tensor::zeros(v.shape()), Tensor::zeros(v.shape())};
}

inline BatchNormState make_bn(int64_t c, Generator& g) {
  return BatchNormState{make_param(normal({c}, 1.0, 0.02, g)), make_param(Tensor::zeros({c})), Tensor::zeros({c}),
                        Tensor::ones({c})};
}

// image 32: 3 up-sampling layers after the first; image 64: 4.
inline Dcgan make_dcgan(int64_t image, Generator& g) {
  Dcgan m;
  m.image = image;
  const int64_t levels = image == 64 ? 4 : 3;  // channel multipliers 8,4,2,1 (64) or 4,2,1 (32)
  int64_t mult = int64_t{1} << (levels - 1);
  // G: nz -> width*mult (4x4), then halve the channels each layer, last -> nc.
  int64_t in = m.nz;
  for (int64_t l = 0; l < levels; ++l, mult /= 2) {
    const int64_t out = m.width * mult;
    m.g_conv.push_back(make_param(normal({in, out, 4, 4}, 0.0, 0.02, g)));
    m.g_bn.push_back(make_bn(out, g));
    in = out;
  }
  m.g_conv.push_back(make_param(normal({in, m.nc, 4, 4}, 0.0, 0.02, g)));
  // D: nc -> width, doubling, then -> 1.
  in = m.nc;
  for (int64_t l = 0; l < levels; ++l) {
    const int64_t out = m.width << l;
    m.d_conv.push_back(make_param(normal({out, in, 4, 4}, 0.0, 0.02, g)));
    if (l > 0) m.d_bn.push_back(make_bn(out, g));
    in = out;
  }
  m.d_conv.push_back(make_param(normal({1, in, 4, 4}, 0.0, 0.02, g)));
  return m;
}

inline Tensor generator_forward(Dcgan& m, const Tensor& z) {
  Tensor h = z;
  for (size_t l = 0; l + 1 < m.g_conv.size(); ++l) {
    h = conv_transpose2d(h, m.g_conv[l].value, Tensor(), 1 + (l > 0), l == 0 ? 0 : 1);
    BatchNormState& bn = m.g_bn[l];
    h = relu(batch_norm(h, bn.weight.value, bn.bias.value, bn.running_mean, bn.running_var, true));
  }
  return tanh(conv_transpose2d(h, m.g_conv.back().value, Tensor(), 2, 1));
}

inline Tensor discriminator_forward(Dcgan& m, const Tensor& x) {
  Tensor h = x;
  for (size_t l = 0; l + 1 < m.d_conv.size(); ++l) {
    h = conv2d(h, m.d_conv[l].value, Tensor(), 2, 1);
    if (l > 0) {
      BatchNormState& bn = m.d_bn[l - 1];
      h = batch_norm(h, bn.weight.value, bn.bias.value, bn.running_mean, bn.running_var, true);
    }
    h = leaky_relu(h, 0.2);
  }
  return sigmoid(conv2d(h, m.d_conv.back().value, Tensor(), 1, 0)).reshape({-1});
}

// torch.optim.Adam (no weight decay): m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
// p -= lr (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps). Clears the gradient.
inline void adam_step(std::vector<Param*> params, int64_t t, double lr = 2e-4, double b1 = 0.5, double b2 = 0.999,
                      double eps = 1e-8) {
  NoGradGuard no_grad;
  const double c1 = 1.0 - std::pow(b1, static_cast<double>(t)), c2 = 1.0 - std::pow(b2, static_cast<double>(t));
  for (Param* p : params) {
    Tensor g = p->value.grad();
    if (!g.defined()) continue;
    p->m = p->m * b1 + g * (1.0 - b1);
    p->v = p->v * b2 + g * g * (1.0 - b2);
    p->value.copy_(p->value - (p->m / c1) / (sqrt(p->v / c2) + eps) * lr);
    p->value.set_grad(Tensor());
  }
}

inline std::vector<Param*> params_of(std::vector<Param>& conv, std::vector<BatchNormState>& bns) {
  std::vector<Param*> out;
  for (Param& p : conv) out.push_back(&p);
  for (BatchNormState& b : bns) {
    out.push_back(&b.weight);
    out.push_back(&b.bias);
  }
  return out;
}

// One iteration; returns errD + errG (so the work cannot be optimised away).
inline double dcgan_iteration(Dcgan& m, const Tensor& real, Generator& g) {
  const int64_t batch = real.size(0);
  ++m.step;
  Tensor z = randn({batch, m.nz, 1, 1}, g);
  Tensor ones = Tensor::ones({batch}), zeros = Tensor::zeros({batch});
  // D step
  Tensor fake = generator_forward(m, z);
  Tensor err_d = bce(discriminator_forward(m, real), ones) + bce(discriminator_forward(m, fake.detach()), zeros);
  err_d.backward();
  adam_step(params_of(m.d_conv, m.d_bn), m.step);
  // G step (the generator's gradients from the D step were never computed: fake was detached)
  Tensor err_g = bce(discriminator_forward(m, fake), ones);
  err_g.backward();
  adam_step(params_of(m.g_conv, m.g_bn), m.step);
  for (Param* p : params_of(m.d_conv, m.d_bn)) p->value.set_grad(Tensor());  // D grads from the G step are discarded
  return err_d.item() + err_g.item();
}

}  // namespace loom::bench
