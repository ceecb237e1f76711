// gen_metrics.cpp: KID, FID and the clustered diversity score on float64
// feature matrices (see gen_metrics.h for the formulas).
#include "trainers/gen_metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "tensor/error.h"
#include "trainers/symmetric_eigen.h"

namespace loom::eval {

// ---- FeatureMatrix --------------------------------------------------------

FeatureMatrix FeatureMatrix::from_tensor(const Tensor& features) {
  LOOM_CHECK(features.defined() && features.dim() == 2, "features: expected a (n, d) tensor, got ",
             features.defined() ? shape_str(features.shape()) : std::string("none"));
  LOOM_CHECK(is_floating(features.dtype()), "features: expected a float tensor, got ", dtype_name(features.dtype()));
  return {.rows = features.size(0), .cols = features.size(1), .values = features.to_vector<double>()};
}

FeatureMatrix FeatureMatrix::select_rows(const std::vector<int64_t>& indices) const {
  FeatureMatrix out{.rows = static_cast<int64_t>(indices.size()), .cols = cols, .values = {}};
  out.values.reserve(static_cast<size_t>(out.rows * cols));
  for (int64_t i : indices) {
    LOOM_CHECK(i >= 0 && i < rows, "features: row ", i, " is outside 0..", rows - 1);
    out.values.insert(out.values.end(), row(i), row(i) + cols);
  }
  return out;
}

void check_finite_features(const FeatureMatrix& features, const std::string& source) {
  for (int64_t i = 0; i < features.rows; ++i)
    for (int64_t j = 0; j < features.cols; ++j)
      LOOM_CHECK(std::isfinite(features.row(i)[j]), "the features of ", source, " hold a non-finite value (image ",
                 i, ", feature ", j, ": ", features.row(i)[j],
                 "); a diverged generator draws NaN images, and KID/FID cannot be computed from them");
}

namespace {

double dot(const double* a, const double* b, int64_t d) {
  double sum = 0;
  for (int64_t k = 0; k < d; ++k) sum += a[k] * b[k];
  return sum;
}

double squared_distance(const double* a, const double* b, int64_t d) {
  double sum = 0;
  for (int64_t k = 0; k < d; ++k) sum += (a[k] - b[k]) * (a[k] - b[k]);
  return sum;
}

// The cubic kernel between the rows of A and B, computed once for every pair
// when the table is small enough (subsets reuse rows), else on demand.
class KernelTable {
 public:
  KernelTable(const FeatureMatrix& a, const FeatureMatrix& b) : a_(a), b_(b) {
    constexpr int64_t kMaxCached = int64_t{1} << 23;  // 8 Mi values = 64 MiB
    if (a.rows * b.rows > kMaxCached) return;
    table_.resize(static_cast<size_t>(a.rows * b.rows));
    for (int64_t i = 0; i < a.rows; ++i)
      for (int64_t j = 0; j < b.rows; ++j) table_[i * b.rows + j] = cubic_kernel(a.row(i), b.row(j), a.cols);
  }
  double operator()(int64_t i, int64_t j) const {
    return table_.empty() ? cubic_kernel(a_.row(i), b_.row(j), a_.cols) : table_[i * b_.rows + j];
  }

 private:
  const FeatureMatrix& a_;
  const FeatureMatrix& b_;
  std::vector<double> table_;  // (a.rows, b.rows) or empty
};

// MMD^2_u of the rows ix of X and iy of Y (m each, distinct within each set).
double mmd2_of(const KernelTable& kxx, const KernelTable& kyy, const KernelTable& kxy, const std::vector<int64_t>& ix,
               const std::vector<int64_t>& iy) {
  const auto m = static_cast<int64_t>(ix.size());
  double sum_xx = 0, sum_yy = 0, sum_xy = 0;
  for (int64_t a = 0; a < m; ++a)
    for (int64_t b = a + 1; b < m; ++b) {  // k is symmetric: sum_{i != j} = 2 sum_{i < j}
      sum_xx += kxx(ix[a], ix[b]);
      sum_yy += kyy(iy[a], iy[b]);
    }
  for (int64_t a = 0; a < m; ++a)
    for (int64_t b = 0; b < m; ++b) sum_xy += kxy(ix[a], iy[b]);
  const double md = static_cast<double>(m);
  return 2 * (sum_xx + sum_yy) / (md * (md - 1)) - 2 * sum_xy / (md * md);
}

void check_same_dim(const FeatureMatrix& x, const FeatureMatrix& y, const char* what) {
  LOOM_CHECK(x.cols == y.cols, what, ": the real features have ", x.cols, " dimensions but the generated ones have ",
             y.cols);
}

}  // namespace

// ---- KID ------------------------------------------------------------------

double cubic_kernel(const double* a, const double* b, int64_t d) {
  const double u = dot(a, b, d) / static_cast<double>(d) + 1;
  return u * u * u;
}

double mmd2_unbiased(const FeatureMatrix& x, const FeatureMatrix& y) {
  check_same_dim(x, y, "MMD");
  LOOM_CHECK(x.rows == y.rows && x.rows >= 2, "MMD: expected two sets of m >= 2 rows, got ", x.rows, " and ", y.rows);
  std::vector<int64_t> all(static_cast<size_t>(x.rows));
  std::iota(all.begin(), all.end(), 0);
  return mmd2_of(KernelTable(x, x), KernelTable(y, y), KernelTable(x, y), all, all);
}

std::vector<SubsetPair> kid_subsets(int64_t n_x, int64_t n_y, const KidOptions& options, Generator& gen) {
  const int64_t m = options.subset_size;
  const auto first_m = [m](Tensor permutation) {
    std::vector<int64_t> indices = permutation.to_vector<int64_t>();
    indices.resize(static_cast<size_t>(m));
    return indices;
  };
  std::vector<SubsetPair> pairs;
  for (int64_t s = 0; s < options.subsets; ++s) {
    SubsetPair pair;
    pair.x = first_m(randperm(n_x, gen));
    pair.y = first_m(randperm(n_y, gen));
    pairs.push_back(std::move(pair));
  }
  return pairs;
}

void check_kid_counts(int64_t n_x, int64_t n_y, const KidOptions& options) {
  const int64_t m = options.subset_size;
  LOOM_CHECK(m >= 2, "KID: the subset size must be at least 2, got ", m);
  LOOM_CHECK(options.subsets >= 1, "KID: the number of subsets must be at least 1, got ", options.subsets);
  LOOM_CHECK(n_x >= m, "KID: subsets of ", m, " images need at least ", m, " real images, but there are ", n_x,
             " (lower the KID subset size or give more real images)");
  LOOM_CHECK(n_y >= m, "KID: subsets of ", m, " images need at least ", m, " generated images, but there are ", n_y,
             " (lower the KID subset size or generate more images)");
}

KidResult kernel_inception_distance(const FeatureMatrix& x, const FeatureMatrix& y, const KidOptions& options,
                                    Generator& gen) {
  check_same_dim(x, y, "KID");
  check_kid_counts(x.rows, y.rows, options);
  const int64_t m = options.subset_size;
  const KernelTable kxx(x, x), kyy(y, y), kxy(x, y);
  KidResult result{.mean = 0, .std = 0, .subset_size = m, .subsets = options.subsets, .per_subset = {}};
  for (const SubsetPair& pair : kid_subsets(x.rows, y.rows, options, gen))
    result.per_subset.push_back(mmd2_of(kxx, kyy, kxy, pair.x, pair.y));
  const double count = static_cast<double>(result.per_subset.size());
  result.mean = std::accumulate(result.per_subset.begin(), result.per_subset.end(), 0.0) / count;
  double variance = 0;
  for (double v : result.per_subset) variance += (v - result.mean) * (v - result.mean);
  result.std = std::sqrt(variance / count);
  return result;
}

// ---- FID ------------------------------------------------------------------

GaussianMoments gaussian_moments(const FeatureMatrix& features) {
  const int64_t n = features.rows, d = features.cols;
  LOOM_CHECK(n >= 2, "FID: a covariance needs at least 2 feature vectors, got ", n);
  GaussianMoments moments{.dim = d,
                          .count = n,
                          .mean = std::vector<double>(static_cast<size_t>(d), 0.0),
                          .covariance = std::vector<double>(static_cast<size_t>(d * d), 0.0)};
  for (int64_t i = 0; i < n; ++i)
    for (int64_t k = 0; k < d; ++k) moments.mean[k] += features.row(i)[k];
  for (double& v : moments.mean) v /= static_cast<double>(n);
  // S = sum_i (f_i - mu)(f_i - mu)^T / (n - 1), upper triangle then mirrored (exactly symmetric)
  std::vector<double> centred(static_cast<size_t>(d));
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t k = 0; k < d; ++k) centred[k] = features.row(i)[k] - moments.mean[k];
    for (int64_t k = 0; k < d; ++k)
      for (int64_t l = k; l < d; ++l) moments.covariance[k * d + l] += centred[k] * centred[l];
  }
  for (int64_t k = 0; k < d; ++k)
    for (int64_t l = k; l < d; ++l) {
      moments.covariance[k * d + l] /= static_cast<double>(n - 1);
      moments.covariance[l * d + k] = moments.covariance[k * d + l];
    }
  return moments;
}

double frechet_distance(const GaussianMoments& a, const GaussianMoments& b) {
  LOOM_CHECK(a.dim == b.dim, "FID: the real features have ", a.dim, " dimensions but the generated ones have ", b.dim);
  const int64_t d = a.dim;
  double mean_term = 0, trace_sum = 0;
  for (int64_t k = 0; k < d; ++k) {
    mean_term += (a.mean[k] - b.mean[k]) * (a.mean[k] - b.mean[k]);
    trace_sum += a.covariance[k * d + k] + b.covariance[k * d + k];
  }
  return mean_term + trace_sum - 2 * trace_sqrt_product(a.covariance, b.covariance, d);
}

namespace {

// A = H X / sqrt(n - 1): (n - 1, d) with A^T A = the covariance of X. Row k - 1
// of the Helmert matrix (k = 1..n-1) is (1, ..., 1, -k, 0, ..., 0) / sqrt(k (k + 1))
// with k ones, so row k - 1 of A is (sum_{j<k} x_j - k x_k) / sqrt(k (k + 1) (n - 1)).
FeatureMatrix helmert_factor(const FeatureMatrix& x) {
  const int64_t n = x.rows, d = x.cols;
  FeatureMatrix a{.rows = n - 1, .cols = d, .values = std::vector<double>(static_cast<size_t>((n - 1) * d))};
  std::vector<double> prefix(x.row(0), x.row(0) + d);  // sum_{j<k} x_j
  for (int64_t k = 1; k < n; ++k) {
    const double scale =
        1 / std::sqrt(static_cast<double>(k) * static_cast<double>(k + 1) * static_cast<double>(n - 1));
    for (int64_t j = 0; j < d; ++j) {
      a.values[(k - 1) * d + j] = (prefix[j] - static_cast<double>(k) * x.row(k)[j]) * scale;
      prefix[j] += x.row(k)[j];
    }
  }
  return a;
}

}  // namespace

double trace_sqrt_product_of_samples(const FeatureMatrix& x, const FeatureMatrix& y) {
  check_same_dim(x, y, "FID");
  LOOM_CHECK(x.rows >= 2 && y.rows >= 2, "FID: a covariance needs at least 2 feature vectors, got ", x.rows, " and ",
             y.rows);
  // the smaller side first: G = C C^T with C = A_small A_large^T, r x r
  const bool x_smaller = x.rows <= y.rows;
  const FeatureMatrix small = helmert_factor(x_smaller ? x : y), large = helmert_factor(x_smaller ? y : x);
  const int64_t r = small.rows, d = small.cols;
  std::vector<double> c(static_cast<size_t>(r * large.rows));  // (r, large.rows)
  for (int64_t i = 0; i < r; ++i)
    for (int64_t j = 0; j < large.rows; ++j) c[i * large.rows + j] = dot(small.row(i), large.row(j), d);
  std::vector<double> g(static_cast<size_t>(r * r));  // (r, r) C C^T, exactly symmetric
  for (int64_t i = 0; i < r; ++i)
    for (int64_t j = i; j < r; ++j)
      g[i * r + j] = g[j * r + i] = dot(c.data() + i * large.rows, c.data() + j * large.rows, large.rows);
  const SymmetricEigen eig = symmetric_eigen(g, r, /*want_vectors=*/false);
  const double floor = eigenvalue_noise_floor(eig.values);
  double trace = 0;
  for (double lambda : eig.values)
    if (lambda > floor) trace += std::sqrt(lambda);  // sigma_i(C)
  return trace;
}

double frechet_distance(const FeatureMatrix& x, const FeatureMatrix& y) {
  check_same_dim(x, y, "FID");
  const GaussianMoments mx = gaussian_moments(x), my = gaussian_moments(y);
  if (std::min(x.rows, y.rows) - 1 >= x.cols) return frechet_distance(mx, my);  // the d x d route
  const int64_t d = x.cols;
  double mean_term = 0, trace_sum = 0;
  for (int64_t k = 0; k < d; ++k) {
    mean_term += (mx.mean[k] - my.mean[k]) * (mx.mean[k] - my.mean[k]);
    trace_sum += mx.covariance[k * d + k] + my.covariance[k * d + k];
  }
  return mean_term + trace_sum - 2 * trace_sqrt_product_of_samples(x, y);
}

// ---- diversity ------------------------------------------------------------

FeatureMatrix kmeans(const FeatureMatrix& points, int64_t k, int64_t iterations, Generator& gen) {
  const int64_t n = points.rows, d = points.cols;
  LOOM_CHECK(k >= 1 && k <= n, "k-means: ", k, " clusters need 1..", n, " points (there are ", n, ")");
  // k-means++ seeding
  std::vector<int64_t> chosen = {randint(0, n, {1}, gen).to_vector<int64_t>()[0]};
  std::vector<double> nearest(static_cast<size_t>(n), std::numeric_limits<double>::infinity());
  while (static_cast<int64_t>(chosen.size()) < k) {
    double total = 0;
    for (int64_t i = 0; i < n; ++i) {
      nearest[i] = std::min(nearest[i], squared_distance(points.row(i), points.row(chosen.back()), d));
      total += nearest[i];
    }
    const double r = rand({1}, gen, DType::Float64).item() * total;
    int64_t pick = n - 1;  // total == 0 (every point on a centre) or rounding: the last point
    double cumulative = 0;
    for (int64_t i = 0; i < n; ++i) {
      cumulative += nearest[i];
      if (nearest[i] > 0 && cumulative > r) {
        pick = i;
        break;
      }
    }
    chosen.push_back(pick);
  }
  FeatureMatrix centres = points.select_rows(chosen);  // (k, d)
  // Lloyd iterations
  std::vector<int64_t> assignment(static_cast<size_t>(n), -1);
  for (int64_t iteration = 0; iteration < iterations; ++iteration) {
    bool changed = false;
    for (int64_t i = 0; i < n; ++i) {
      int64_t best = 0;
      double best_distance = std::numeric_limits<double>::infinity();
      for (int64_t c = 0; c < k; ++c) {
        const double dist = squared_distance(points.row(i), centres.row(c), d);
        if (dist < best_distance) best = c, best_distance = dist;
      }
      changed |= assignment[i] != best;
      assignment[i] = best;
    }
    if (!changed) break;
    std::vector<double> sums(static_cast<size_t>(k * d), 0.0);
    std::vector<int64_t> counts(static_cast<size_t>(k), 0);
    for (int64_t i = 0; i < n; ++i) {
      ++counts[assignment[i]];
      for (int64_t j = 0; j < d; ++j) sums[assignment[i] * d + j] += points.row(i)[j];
    }
    for (int64_t c = 0; c < k; ++c)
      if (counts[c] > 0)  // an empty cluster keeps its centre
        for (int64_t j = 0; j < d; ++j) centres.values[c * d + j] = sums[c * d + j] / static_cast<double>(counts[c]);
  }
  return centres;
}

DiversityReference::DiversityReference(const FeatureMatrix& x, const DiversityOptions& options, Generator& gen) {
  const int64_t n = x.rows, d = x.cols;
  LOOM_CHECK(n >= 1, "diversity: there are no real feature vectors");
  LOOM_CHECK(options.clusters >= 0 && options.clusters <= n, "diversity: ", options.clusters,
             " clusters need at least as many real images, but there are ", n);
  mean_.assign(static_cast<size_t>(d), 0.0);
  inv_std_.assign(static_cast<size_t>(d), 0.0);
  std::vector<double> stds(static_cast<size_t>(d), 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t k = 0; k < d; ++k) mean_[k] += x.row(i)[k] / static_cast<double>(n);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t k = 0; k < d; ++k) stds[k] += (x.row(i)[k] - mean_[k]) * (x.row(i)[k] - mean_[k]);
  double largest = 0;
  for (double& s : stds) largest = std::max(largest, s = std::sqrt(s / static_cast<double>(n)));
  for (int64_t k = 0; k < d; ++k)
    if (largest > 0 && stds[k] > 1e-9 * largest) {
      kept_.push_back(k);
      inv_std_[k] = 1 / stds[k];
    }
  LOOM_CHECK(!kept_.empty(), "diversity: no feature dimension varies over the ", n,
             " real images (are they all the same image?)");
  FeatureMatrix z{.rows = n, .cols = dims_kept(), .values = {}};  // (n, d') the real set standardised
  for (int64_t i = 0; i < n; ++i) {
    const std::vector<double> zi = standardise(x.row(i));
    z.values.insert(z.values.end(), zi.begin(), zi.end());
  }
  centres_ = options.clusters == 0 ? std::move(z) : kmeans(z, options.clusters, options.kmeans_iterations, gen);
}

std::vector<double> DiversityReference::standardise(const double* f) const {
  std::vector<double> z;
  z.reserve(kept_.size());
  for (int64_t k : kept_) z.push_back((f[k] - mean_[k]) * inv_std_[k]);
  return z;
}

int64_t DiversityReference::nearest_centre(const std::vector<double>& z) const {
  int64_t best = 0;
  double best_distance = std::numeric_limits<double>::infinity();
  for (int64_t c = 0; c < centres_.rows; ++c) {
    const double dist = squared_distance(z.data(), centres_.row(c), centres_.cols);
    if (dist < best_distance) best = c, best_distance = dist;
  }
  return best;
}

double DiversityReference::distance(const double* a, const double* b) const {
  const std::vector<double> za = standardise(a), zb = standardise(b);
  return std::sqrt(squared_distance(za.data(), zb.data(), dims_kept()) / static_cast<double>(dims_kept()));
}

DiversityResult DiversityReference::score(const FeatureMatrix& features) const {
  LOOM_CHECK(features.cols == static_cast<int64_t>(mean_.size()), "diversity: the features have ", features.cols,
             " dimensions but the real ones have ", mean_.size());
  std::vector<std::vector<double>> z;  // (n, d') the features standardised
  std::vector<std::vector<int64_t>> members(static_cast<size_t>(centres()));
  for (int64_t i = 0; i < features.rows; ++i) {
    z.push_back(standardise(features.row(i)));
    members[nearest_centre(z.back())].push_back(i);
  }
  const auto z_distance = [&](int64_t a, int64_t b) {
    return std::sqrt(squared_distance(z[a].data(), z[b].data(), dims_kept()) / static_cast<double>(dims_kept()));
  };
  DiversityResult result{.score = 0, .clusters_scored = 0, .dims_kept = dims_kept(), .clusters = {}};
  double sum = 0;
  for (const std::vector<int64_t>& cluster : members) {
    ClusterScore cs{.members = static_cast<int64_t>(cluster.size()), .mean_distance = 0};
    if (cluster.size() >= 2) {
      double total = 0;
      int64_t pairs = 0;
      for (size_t a = 0; a < cluster.size(); ++a)
        for (size_t b = a + 1; b < cluster.size(); ++b, ++pairs) total += z_distance(cluster[a], cluster[b]);
      cs.mean_distance = total / static_cast<double>(pairs);
      sum += cs.mean_distance;
      ++result.clusters_scored;
    }
    result.clusters.push_back(cs);
  }
  result.score = result.clusters_scored > 0 ? sum / static_cast<double>(result.clusters_scored)
                                            : std::numeric_limits<double>::quiet_NaN();
  return result;
}

}  // namespace loom::eval
