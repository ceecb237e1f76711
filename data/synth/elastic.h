// elastic.h: elastic deformation (Simard, Steinkraus, Platt, "Best practices
// for convolutional neural networks applied to visual document analysis",
// ICDAR 2003): a random displacement field, smoothed by a Gaussian so that
// neighbouring pixels move together,
//   d = alpha * (G_sigma * U),  U(i, j) ~ U[-1, 1] independently for dy and dx,
// applied by bilinear resampling (warp.h). Smoothing white noise of variance
// 1/3 with a normalised 2-D Gaussian leaves a variance of about 1/3 / (4 pi sigma^2),
// so the field's RMS displacement is about alpha / (2 sqrt(3 pi) sigma)
// (sigma >= 1 px). Used to bend a mask or a shape
// (elastic_region) and, as the "elastic" method, to distort the weave inside a
// region: a local fabric distortion whose mask is exactly the changed pixels.
#pragma once
#include <cstdint>

#include "data/synth/shapes.h"
#include "data/synth/synth.h"

namespace loom::data::synth {

// (2, H, W) float32: dy then dx, in pixels. alpha = 0 gives the zero field.
Tensor elastic_displacement(int64_t height, int64_t width, double alpha, double sigma, Generator& gen);
// The alpha whose field has about `rms` pixels RMS displacement at this sigma.
double elastic_alpha_for_rms(double rms, double sigma);

// The region moved by the field: pixel p is inside when the bilinear sample of
// the 0/1 region at p + d(p) is above 1/2. A zero field returns the region.
Region elastic_region(const Region& region, const Tensor& displacement);

// A random ellipse (random_ellipse in shapes.h) with its outline bent by a
// field of sigma = bend_sigma * b and RMS displacement bend_rms * b, where b
// is the minor semi-axis: an irregular blob. The unbent ellipse comes along.
// Never empty: when the bend leaves no pixel, the pixel nearest the centre is set.
struct BentEllipse {
  Ellipse ellipse;
  Region region;
};
BentEllipse random_bent_ellipse(int64_t height, int64_t width, Generator& gen, double axis_min, double axis_max,
                                double bend_rms, double bend_sigma = 0.35);

// The "elastic" method: a bent ellipse (semi-axes U[axis_min, axis_max) of the
// shorter image side, bend_rms as above); inside it the image is
// resampled through a second field with alpha ~ U[alpha_min, alpha_max) and
// sigma ~ U[sigma_min, sigma_max) (about 1 to 4 px RMS with the defaults). A
// hard paste: the mask is exactly the pixels whose value changed.
struct ElasticParams {
  double axis_min = 0.08, axis_max = 0.22;
  double bend_rms = 0.2;
  double alpha_min = 30.0, alpha_max = 80.0;
  double sigma_min = 3.0, sigma_max = 5.0;
};
SynthResult elastic_distortion(const Tensor& image, Generator& gen, const ElasticParams& params = {});

}  // namespace loom::data::synth
