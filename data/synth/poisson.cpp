// poisson.cpp: the discrete Poisson equation over a region, solved by
// conjugate gradients, and the seamless foreign-texture method (see poisson.h).
#include "data/synth/poisson.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

#include "autograd/functions.h"
#include "data/random_draws.h"
#include "data/synth/elastic.h"
#include "tensor/error.h"

namespace loom::data::synth {
namespace {

// The unknowns (the region's pixels, row-major) and, for each, its 4-neighbours
// inside the image: the index of a neighbour that is an unknown, or -1 - pixel
// for one outside the region (a Dirichlet value).
struct PoissonSystem {
  std::vector<int64_t> pixel;                     // unknown -> pixel index
  std::vector<std::array<int64_t, 4>> neighbour;  // the first degree[p] entries are used
  std::vector<int> degree;                        // |N(p)|
};

PoissonSystem build_system(const Region& region) {
  const int64_t h = region.height, w = region.width;
  std::vector<int64_t> unknown(static_cast<size_t>(h * w), -1);
  PoissonSystem sys;
  for (int64_t k = 0; k < h * w; ++k)
    if (region.inside[static_cast<size_t>(k)]) {
      unknown[static_cast<size_t>(k)] = static_cast<int64_t>(sys.pixel.size());
      sys.pixel.push_back(k);
    }
  for (int64_t k : sys.pixel) {
    const int64_t i = k / w, j = k % w;
    std::array<int64_t, 4> nb{};
    int d = 0;
    for (auto [di, dj] : {std::pair{-1, 0}, std::pair{1, 0}, std::pair{0, -1}, std::pair{0, 1}}) {
      const int64_t ni = i + di, nj = j + dj;
      if (ni < 0 || nj < 0 || ni >= h || nj >= w) continue;
      const int64_t q = ni * w + nj;
      const int64_t u = unknown[static_cast<size_t>(q)];
      nb[static_cast<size_t>(d++)] = u >= 0 ? u : -1 - q;
    }
    sys.neighbour.push_back(nb);
    sys.degree.push_back(d);
  }
  return sys;
}

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (size_t k = 0; k < a.size(); ++k) s += a[k] * b[k];
  return s;
}

// (A x)_p = |N(p)| x_p - sum over neighbours q in the region of x_q.
void apply_laplacian(const PoissonSystem& sys, const std::vector<double>& x, std::vector<double>& out) {
  for (size_t p = 0; p < x.size(); ++p) {
    double v = sys.degree[p] * x[p];
    for (int e = 0; e < sys.degree[p]; ++e) {
      const int64_t q = sys.neighbour[p][static_cast<size_t>(e)];
      if (q >= 0) v -= x[static_cast<size_t>(q)];
    }
    out[p] = v;
  }
}

}  // namespace

Tensor poisson_blend(const Tensor& background, const Tensor& source, const Region& region,
                     const PoissonOptions& options, PoissonReport* report) {
  LOOM_CHECK(background.dim() == 3 && background.dtype() == DType::Float32 && background.shape() == source.shape() &&
                 source.dtype() == DType::Float32,
             "poisson_blend: background ", shape_str(background.shape()), " and source ", shape_str(source.shape()),
             " must be float32 (C, H, W) of the same shape");
  const int64_t c = background.size(0), h = background.size(1), w = background.size(2), plane = h * w;
  LOOM_CHECK(region.height == h && region.width == w, "poisson_blend: region ", region.height, "x", region.width,
             " does not match the images ", shape_str(background.shape()));
  const int64_t n = region.count();
  LOOM_CHECK(n > 0, "poisson_blend: the region is empty");
  LOOM_CHECK(n < plane, "poisson_blend: the region covers the whole image, so there is no boundary to blend into");
  const Tensor bg = background.contiguous(), src = source.contiguous();
  const PoissonSystem sys = build_system(region);
  Tensor out = bg.clone();  // (C, H, W)
  PoissonReport total;

  std::vector<double> x(static_cast<size_t>(n)), b(x.size()), r(x.size()), dir(x.size()), a_dir(x.size());
  for (int64_t ch = 0; ch < c; ++ch) {
    const float* f_star = bg.data<float>() + ch * plane;
    const float* g = src.data<float>() + ch * plane;
    // b_p = sum_q (g_p - g_q) + sum over q outside the region of f*_q; x starts at f*.
    for (size_t p = 0; p < x.size(); ++p) {
      const int64_t k = sys.pixel[p];
      double v = 0;
      for (int e = 0; e < sys.degree[p]; ++e) {
        const int64_t q = sys.neighbour[p][static_cast<size_t>(e)];
        const int64_t q_pixel = q >= 0 ? sys.pixel[static_cast<size_t>(q)] : -1 - q;
        v += static_cast<double>(g[k]) - g[q_pixel];
        if (q < 0) v += f_star[q_pixel];
      }
      b[p] = v;
      x[p] = f_star[k];
    }
    // Conjugate gradients on A x = b.
    apply_laplacian(sys, x, a_dir);
    for (size_t p = 0; p < x.size(); ++p) r[p] = b[p] - a_dir[p];
    dir = r;
    double rr = dot(r, r);
    // ||b|| is floored so that a (near) zero right-hand side still has a reachable target.
    const double b_norm = std::max(std::sqrt(dot(b, b)), 1e-3 * std::sqrt(static_cast<double>(n)));
    const double target = options.tolerance * b_norm;
    int iter = 0;
    while (std::sqrt(rr) > target && iter < options.max_iterations) {
      apply_laplacian(sys, dir, a_dir);
      const double step = rr / dot(dir, a_dir);
      for (size_t p = 0; p < x.size(); ++p) x[p] += step * dir[p], r[p] -= step * a_dir[p];
      const double rr_next = dot(r, r);
      for (size_t p = 0; p < x.size(); ++p) dir[p] = r[p] + (rr_next / rr) * dir[p];
      rr = rr_next;
      ++iter;
    }
    const double residual = std::sqrt(rr) / b_norm;
    LOOM_CHECK(std::sqrt(rr) <= target, "poisson_blend: conjugate gradients stopped at relative residual ", residual,
               " after ", iter, " iterations (tolerance ", options.tolerance, "); raise max_iterations");
    total.iterations = std::max(total.iterations, iter);
    total.relative_residual = std::max(total.relative_residual, residual);
    float* o = out.data<float>() + ch * plane;
    for (size_t p = 0; p < x.size(); ++p) o[sys.pixel[p]] = static_cast<float>(x[p]);
  }
  if (report) *report = total;
  return out;
}

SynthResult poisson_synth(const Tensor& image_in, const Tensor& texture, Generator& gen,
                          const PoissonSynthParams& params) {
  const Tensor image = checked_image(image_in, "poisson");
  LOOM_CHECK(params.contrast_min > 0 && params.contrast_min <= params.contrast_max,
             "poisson: contrast range must satisfy 0 < min <= max");
  const int64_t c = image.size(0), h = image.size(1), w = image.size(2);
  const Region region = random_bent_ellipse(h, w, gen, params.axis_min, params.axis_max, params.bend_rms).region;
  // Only the source's gradients matter, so scaling it scales its contrast.
  const double contrast = draw_uniform(gen, params.contrast_min, params.contrast_max);
  const Tensor source = (match_texture(texture, c, h, w) * contrast).contiguous();
  Tensor blended = poisson_blend(image, source, region, params.solver);
  float* v = blended.data<float>();
  for (int64_t k = 0; k < blended.numel(); ++k) v[k] = std::clamp(v[k], 0.0f, 1.0f);
  return {blended, region.to_mask()};
}

}  // namespace loom::data::synth
