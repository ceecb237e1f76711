// gen_metrics.h: generation-quality metrics on feature vectors, in float64:
// KID, FID and a clustered diversity score. Pure math: the features come from
// elsewhere (eval_gen.h extracts them from images).
//
// X = real features (n_x, d), Y = generated features (n_y, d); rows are images.
//
// KID (Binkowski et al., "Demystifying MMD GANs", ICLR 2018; as torch-fidelity's
// kid_features_to_metric): the unbiased estimate of the squared MMD with the
// cubic polynomial kernel
//   k(x, y) = (x . y / d + 1)^3
//   MMD^2_u(X, Y) = sum_{i != j} k(x_i, x_j) / (m (m - 1)) + sum_{i != j} k(y_i, y_j) / (m (m - 1))
//                 - 2 sum_{i, j} k(x_i, y_j) / m^2
// on `subsets` pairs of random subsets of m rows each (drawn without
// replacement, independently for X and Y and for every pair, from a loom
// Generator), reported as the mean and the standard deviation (population,
// ddof 0, as torch-fidelity) over the subsets. Its expectation is the true
// MMD^2, 0 for identical distributions, whatever m; it can be negative.
//
// FID (Heusel et al., NeurIPS 2017; as pytorch-fid's calculate_frechet_distance):
// the Frechet distance of the Gaussians fitted to X and Y,
//   FID = ||mu_x - mu_y||^2 + Tr(S_x + S_y - 2 (S_x S_y)^{1/2})
// with mu the mean and S the covariance with divisor n - 1 (numpy.cov). The
// estimate is biased upwards by O(d / n). Tr((S_x S_y)^{1/2}) is computed on
// the smaller of two equivalent matrices:
// - d x d (when both sets have more than d rows): the eigenvalues of
//   S_x^{1/2} S_y S_x^{1/2} (symmetric_eigen.h: trace_sqrt_product);
// - r x r, r = min(n_x, n_y) - 1 (fewer rows than d + 1, e.g. VGG's 896 dims):
//   write S = A^T A with A = H X / sqrt(n - 1), H the (n - 1) x n Helmert matrix
//   (orthonormal rows orthogonal to (1, ..., 1), so H^T H = I - 1 1^T / n and A^T A
//   is the centred scatter / (n - 1)). Then S_x S_y = A_x^T (A_x A_y^T) A_y and its
//   nonzero eigenvalues are those of C C^T with C = A_x A_y^T (n_x - 1, n_y - 1), i.e.
//   the squared singular values of C:  Tr((S_x S_y)^{1/2}) = ||C||_* = sum_i sigma_i(C),
//   from the eigenvalues of C C^T or C^T C, whichever is smaller. No d x d
//   matrix is formed, and none of the d - r zero eigenvalues enters the sum.
//
// Diversity (in the spirit of IC-LPIPS, Ojha et al., "Few-shot Image Generation
// via Cross-domain Correspondence", CVPR 2021, which clusters generated images
// to their nearest training image and averages the LPIPS distance of pairs
// inside each cluster). This is NOT LPIPS: it uses the feature vectors and a
// plain standardised Euclidean distance:
//   z(f)_k  = (f_k - mean_k(X)) / std_k(X)   per dimension k, with the real
//             set's mean and std (ddof 0); dimensions whose std_k(X) is below
//             1e-9 of the largest std (constant ones: dead ReLU channels) are dropped
//   dist(a, b) = sqrt( sum_k (z(a)_k - z(b)_k)^2 / d' ),  d' = the dimensions kept
//   centres: K > 0: k-means (k-means++ seeding from the Generator, then Lloyd
//            iterations) of the real z-features into K clusters;
//            K = 0: every real image is a centre (IC-LPIPS's choice)
//   each generated image joins its nearest centre (Euclidean in z; ties: lowest index)
//   score = mean over the clusters with >= 2 members of the mean dist over all
//           pairs of members
// Identical generated images score 0 (mode collapse); the real images,
// clustered to the same centres, give the score to aim for.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "tensor/random.h"
#include "tensor/tensor.h"

namespace loom::eval {

// n feature vectors of d values, row-major, float64.
struct FeatureMatrix {
  int64_t rows = 0, cols = 0;
  std::vector<double> values;  // (rows, cols)

  const double* row(int64_t i) const { return values.data() + i * cols; }
  // A (n, d) tensor of any floating dtype, copied to float64.
  static FeatureMatrix from_tensor(const Tensor& features);
  // The rows `indices`, in that order.
  FeatureMatrix select_rows(const std::vector<int64_t>& indices) const;
};

// Throws unless every value is finite, naming `source` (e.g. "--generator RUN"),
// the first bad row (image) and column: a diverged generator gives NaN images,
// and NaN features would give a silent NaN KID or an eigen-solver error.
void check_finite_features(const FeatureMatrix& features, const std::string& source);

// ---- KID ----------------------------------------------------------------
// k(a, b) = (a . b / d + 1)^3 for two feature vectors of d values.
double cubic_kernel(const double* a, const double* b, int64_t d);

// MMD^2_u(X, Y) with the cubic kernel over every row: X and Y have the same
// number m >= 2 of rows and the same d.
double mmd2_unbiased(const FeatureMatrix& x, const FeatureMatrix& y);

struct KidOptions {
  int64_t subset_size = 1000;  // m; torch-fidelity's default
  int64_t subsets = 100;       // torch-fidelity's default
};

struct KidResult {
  double mean = 0, std = 0;  // over the subsets (std: ddof 0)
  int64_t subset_size = 0, subsets = 0;
  std::vector<double> per_subset;  // MMD^2_u of each subset pair
};

// The row indices of subset pair s: for s = 0, 1, ...: the first m entries of
// randperm(n_x, gen), then the first m of randperm(n_y, gen).
struct SubsetPair {
  std::vector<int64_t> x, y;
};
std::vector<SubsetPair> kid_subsets(int64_t n_x, int64_t n_y, const KidOptions& options, Generator& gen);

// Throws unless m >= 2, subsets >= 1 and both sets have at least m rows (the
// message says how many each has and what to change).
void check_kid_counts(int64_t n_x, int64_t n_y, const KidOptions& options);

// KID of X (real) against Y (generated). Throws when either set has fewer rows
// than options.subset_size (saying how many it has), when m < 2, or when the
// dimensions differ.
KidResult kernel_inception_distance(const FeatureMatrix& x, const FeatureMatrix& y, const KidOptions& options,
                                    Generator& gen);

// ---- FID ----------------------------------------------------------------
struct GaussianMoments {
  int64_t dim = 0, count = 0;
  std::vector<double> mean;        // (d)
  std::vector<double> covariance;  // (d, d), divisor count - 1
};
// Throws when there are fewer than 2 rows.
GaussianMoments gaussian_moments(const FeatureMatrix& features);

// ||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^{1/2}).
double frechet_distance(const GaussianMoments& a, const GaussianMoments& b);
// FID of X and Y, by whichever route above is smaller. Throws when either has
// fewer than 2 rows or the dimensions differ.
double frechet_distance(const FeatureMatrix& x, const FeatureMatrix& y);
// The r x r route: sum of the singular values of A_x A_y^T.
double trace_sqrt_product_of_samples(const FeatureMatrix& x, const FeatureMatrix& y);

// ---- diversity ----------------------------------------------------------
struct DiversityOptions {
  int64_t clusters = 10;  // K; 0: every real image is a centre
  int64_t kmeans_iterations = 100;
};

struct ClusterScore {
  int64_t members = 0;
  double mean_distance = 0;  // over the members' pairs; 0 with fewer than 2 members
};

struct DiversityResult {
  double score = 0;                    // mean over the clusters with >= 2 members; NaN when none has
  int64_t clusters_scored = 0;         // clusters with >= 2 members
  int64_t dims_kept = 0;               // d'
  std::vector<ClusterScore> clusters;  // per centre
};

// The standardisation and centres of the real set, shared by the generated
// set's score and the real set's own score.
class DiversityReference {
 public:
  // Throws when X has no rows, K > n_x, or no dimension of X varies.
  DiversityReference(const FeatureMatrix& x, const DiversityOptions& options, Generator& gen);
  // dist(a, b) above, for raw (unstandardised) feature vectors.
  double distance(const double* a, const double* b) const;
  // The score of a set of feature vectors (NaN if no cluster has 2 members).
  DiversityResult score(const FeatureMatrix& features) const;
  int64_t centres() const { return centres_.rows; }
  int64_t dims_kept() const { return static_cast<int64_t>(kept_.size()); }

 private:
  std::vector<double> standardise(const double* f) const;  // (d') z(f) over the kept dimensions
  int64_t nearest_centre(const std::vector<double>& z) const;

  std::vector<int64_t> kept_;           // the dimensions kept (std above the floor)
  std::vector<double> mean_, inv_std_;  // (d)
  FeatureMatrix centres_;               // (K, d') in z-space
};

// K-means (Lloyd) of the rows of `points` into k clusters: centres seeded by
// k-means++ (the first uniform, each next one with probability proportional to
// the squared distance to the nearest chosen centre, draws from gen), then at
// most `iterations` rounds of assign (nearest centre, ties to the lowest index)
// and re-centre (mean of the members; an empty cluster keeps its centre),
// stopping when no assignment changes. Returns the centres (k, d).
FeatureMatrix kmeans(const FeatureMatrix& points, int64_t k, int64_t iterations, Generator& gen);

}  // namespace loom::eval
