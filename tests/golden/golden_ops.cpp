// golden_ops.cpp: the golden runner's op table: each op name that appears in a
// case's metadata, mapped to loom's differentiable functions, with its
// attributes read from the metadata strings (never hard-coded per file) and
// its tolerance on the relative error ||out - ref|| / ||ref||:
//   1e-5 for single elementwise ops and pure data movement (one rounding per
//        element in float32 against a float64 reference),
//   1e-4 for reductions, softmax, matmul, convolution, normalisation,
//        pooling, resampling and the losses (sums of many float32 terms).
// Also the Attributes and Case helpers of golden.h.
#include <cmath>
#include <limits>
#include <sstream>

#include "autograd/functions.h"
#include "golden.h"

namespace loom::golden {

// ---- Attributes ------------------------------------------------------------
namespace {

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> parts;
  if (s.empty()) return parts;
  std::stringstream in(s);
  std::string part;
  while (std::getline(in, part, ',')) parts.push_back(part);
  if (s.back() == ',') parts.push_back("");
  return parts;
}

std::string trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t"), e = s.find_last_not_of(" \t");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

int64_t parse_int(const std::string& key, const std::string& text) {
  const std::string t = trim(text);
  size_t used = 0;
  int64_t v = 0;
  try {
    v = std::stoll(t, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  LOOM_CHECK(!t.empty() && used == t.size(), "attribute '", key, "' = '", text, "' is not an integer");
  return v;
}

double parse_real(const std::string& key, const std::string& text) {
  const std::string t = trim(text);
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(t, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  LOOM_CHECK(!t.empty() && used == t.size(), "attribute '", key, "' = '", text, "' is not a number");
  return v;
}

}  // namespace

const std::string& Attributes::raw(const std::string& key) {
  auto it = values_.find(key);
  LOOM_CHECK(it != values_.end(), "missing attribute '", key, "'");
  used_.insert(key);
  return it->second;
}

std::string Attributes::str(const std::string& key) { return raw(key); }
std::string Attributes::str(const std::string& key, const std::string& fallback) {
  return has(key) ? raw(key) : fallback;
}
int64_t Attributes::integer(const std::string& key) { return parse_int(key, raw(key)); }
int64_t Attributes::integer(const std::string& key, int64_t fallback) {
  return has(key) ? integer(key) : fallback;
}
double Attributes::real(const std::string& key) { return parse_real(key, raw(key)); }
double Attributes::real(const std::string& key, double fallback) { return has(key) ? real(key) : fallback; }
bool Attributes::boolean(const std::string& key, bool fallback) {
  if (!has(key)) return fallback;
  const std::string v = trim(raw(key));
  if (v == "1" || v == "true" || v == "True") return true;
  if (v == "0" || v == "false" || v == "False") return false;
  detail::throw_error("attribute '", key, "' = '", v, "' is not a boolean (0/1/true/false)");
}
std::vector<int64_t> Attributes::integers(const std::string& key) {
  std::vector<int64_t> out;
  for (const std::string& p : split_commas(raw(key))) out.push_back(parse_int(key, p));
  return out;
}
std::vector<int64_t> Attributes::integers(const std::string& key, const std::vector<int64_t>& fallback) {
  return has(key) ? integers(key) : fallback;
}
std::vector<double> Attributes::reals(const std::string& key, const std::vector<double>& fallback) {
  if (!has(key)) return fallback;
  std::vector<double> out;
  for (const std::string& p : split_commas(raw(key))) out.push_back(parse_real(key, p));
  return out;
}
std::vector<std::string> Attributes::strings(const std::string& key) {
  std::vector<std::string> out;
  for (const std::string& p : split_commas(raw(key))) out.push_back(trim(p));
  return out;
}
std::vector<std::string> Attributes::unused() const {
  std::vector<std::string> out;
  for (const auto& [k, v] : values_)
    if (!used_.count(k)) out.push_back(k);
  return out;
}

// ---- Case --------------------------------------------------------------------
const Tensor& Case::in(const std::string& name) const {
  auto it = inputs.find(name);
  LOOM_CHECK(it != inputs.end(), "the case has no input '", name, "' (inputs: ", input_list(), ")");
  return it->second;
}

const Tensor& Case::in(size_t i) const {
  LOOM_CHECK(i < input_names.size(), "the op needs at least ", i + 1, " inputs, the case lists ",
             input_names.size());
  return in(input_names[i]);
}

Tensor Case::optional_in(const std::string& name) const {
  auto it = inputs.find(name);
  return it == inputs.end() ? Tensor() : it->second;
}

Tensor Case::file_tensor(const std::string& name) {
  auto it = data.tensors.find(name);
  if (it == data.tensors.end()) return Tensor();
  consumed.insert(name);
  const Tensor& t = it->second;
  return (is_floating(t.dtype()) ? t.to(run_dtype) : t).to(device).clone();
}

std::string Case::input_list() const {
  std::string s;
  for (const std::string& n : input_names) s += (s.empty() ? "" : ",") + n;
  return s;
}

// ---- the op table -------------------------------------------------------------
namespace {

constexpr double kElementwise = 1e-5;
constexpr double kReduction = 1e-4;
constexpr double kInf = std::numeric_limits<double>::infinity();

// "2" -> {2, 2}; "2,1" -> {2, 1}
Pair pair_attr(Attributes& a, const std::string& key, int64_t fallback) {
  if (!a.has(key)) return {fallback, fallback};
  std::vector<int64_t> v = a.integers(key);
  LOOM_CHECK(v.size() == 1 || v.size() == 2, "attribute '", key, "' must be one or two integers, got ", v.size());
  return v.size() == 1 ? Pair{v[0], v[0]} : Pair{v[0], v[1]};
}

// An attribute loom supports only at one value (e.g. groups 1): others fail.
void require_value(Attributes& a, const std::string& key, const std::string& expected) {
  if (!a.has(key)) return;
  const std::string v = a.str(key);
  LOOM_CHECK(v == expected, "attribute ", key, " = '", v, "' is not supported (only '", expected, "')");
}

Reduction reduction_attr(Attributes& a) {
  const std::string r = a.str("reduction", "mean");
  if (r == "mean") return Reduction::Mean;
  if (r == "sum") return Reduction::Sum;
  if (r == "none") return Reduction::None;
  detail::throw_error("attribute reduction = '", r, "' is not mean, sum or none");
}

using UnaryFn = Tensor (*)(const Tensor&);
using BinaryFn = Tensor (*)(const Tensor&, const Tensor&);

OpSpec unary(UnaryFn f) {
  return {[f](Case& c) { return f(c.in(size_t{0})); }, kElementwise};
}
OpSpec binary(BinaryFn f) {
  return {[f](Case& c) { return f(c.in(size_t{0}), c.in(size_t{1})); }, kElementwise};
}

// batch_norm / batch_norm_stats: running statistics from running_mean_in /
// running_var_in when the case has them; after a training pass they are
// compared with running_mean_out / running_var_out when the case has those.
Tensor run_batch_norm(Case& c, bool stats_only) {
  Attributes& a = c.attrs;
  const bool training = stats_only ? true : a.boolean("training", true);
  const double momentum = a.real("momentum", 0.1);
  const double eps = a.real("eps", 1e-5);
  Tensor running_mean = c.file_tensor("running_mean_in");
  Tensor running_var = c.file_tensor("running_var_in");
  Tensor y = batch_norm(c.in("x"), c.optional_in("weight"), c.optional_in("bias"), running_mean, running_var,
                        training, momentum, eps);
  if (c.data.tensors.count("running_mean_out")) c.extra_results["running_mean_out"] = running_mean;
  if (c.data.tensors.count("running_var_out")) c.extra_results["running_var_out"] = running_var;
  return stats_only ? Tensor() : y;
}

std::map<std::string, OpSpec> make_table() {
  std::map<std::string, OpSpec> t;

  // ---- elementwise ----
  t["neg"] = unary(neg);
  t["exp"] = unary(exp);
  t["log"] = unary(log);
  t["sqrt"] = unary(sqrt);
  t["tanh"] = unary(tanh);
  t["sigmoid"] = unary(sigmoid);
  t["relu"] = unary(relu);
  t["abs"] = unary(abs);
  t["add"] = binary(add);
  t["sub"] = binary(sub);
  t["mul"] = binary(mul);
  t["div"] = binary(div);
  t["maximum"] = binary(maximum);
  t["minimum"] = binary(minimum);
  t["leaky_relu"] = {[](Case& c) { return leaky_relu(c.in(size_t{0}), c.attrs.real("negative_slope", 0.01)); },
                     kElementwise};
  t["pow"] = {[](Case& c) { return pow(c.in(size_t{0}), c.attrs.real("exponent")); }, kElementwise};
  t["clamp"] = {[](Case& c) {
                  return clamp(c.in(size_t{0}), c.attrs.real("min", -kInf), c.attrs.real("max", kInf));
                },
                kElementwise};

  // ---- reductions ----
  t["sum"] = {[](Case& c) {
                return sum(c.in(size_t{0}), c.attrs.integers("dims", {}), c.attrs.boolean("keepdim", false));
              },
              kReduction};
  t["mean"] = {[](Case& c) {
                 return mean(c.in(size_t{0}), c.attrs.integers("dims", {}), c.attrs.boolean("keepdim", false));
               },
               kReduction};
  // torch.max(x, dim).values, or torch.max(x) (all dims) without "dim"
  t["max"] = {[](Case& c) {
                const bool keepdim = c.attrs.boolean("keepdim", false);
                if (!c.attrs.has("dim")) return amax(c.in(size_t{0}), {}, keepdim);
                return max(c.in(size_t{0}), c.attrs.integer("dim"), keepdim);
              },
              kReduction};
  t["softmax"] = {[](Case& c) { return softmax(c.in(size_t{0}), c.attrs.integer("dim")); }, kReduction};
  t["log_softmax"] = {[](Case& c) { return log_softmax(c.in(size_t{0}), c.attrs.integer("dim")); }, kReduction};

  // ---- linear algebra and convolution ----
  t["matmul"] = {[](Case& c) { return matmul(c.in(size_t{0}), c.in(size_t{1})); }, kReduction};
  t["linear"] = {[](Case& c) { return linear(c.in("x"), c.in("weight"), c.optional_in("bias")); }, kReduction};
  t["conv2d"] = {[](Case& c) {
                   require_value(c.attrs, "groups", "1");
                   Conv2dOptions opt;
                   opt.stride = pair_attr(c.attrs, "stride", 1);
                   opt.padding = pair_attr(c.attrs, "padding", 0);
                   opt.dilation = pair_attr(c.attrs, "dilation", 1);
                   return conv2d(c.in("x"), c.in("weight"), c.optional_in("bias"), opt);
                 },
                 kReduction};
  t["conv_transpose2d"] = {[](Case& c) {
                             require_value(c.attrs, "groups", "1");
                             Conv2dOptions opt;
                             opt.stride = pair_attr(c.attrs, "stride", 1);
                             opt.padding = pair_attr(c.attrs, "padding", 0);
                             opt.output_padding = pair_attr(c.attrs, "output_padding", 0);
                             opt.dilation = pair_attr(c.attrs, "dilation", 1);
                             return conv_transpose2d(c.in("x"), c.in("weight"), c.optional_in("bias"), opt);
                           },
                           kReduction};

  // ---- normalisation ----
  t["batch_norm"] = {[](Case& c) { return run_batch_norm(c, false); }, kReduction};
  t["batch_norm_stats"] = {[](Case& c) { return run_batch_norm(c, true); }, kReduction};
  t["instance_norm"] = {[](Case& c) {
                          return instance_norm(c.in("x"), c.optional_in("weight"), c.optional_in("bias"),
                                               c.attrs.real("eps", 1e-5));
                        },
                        kReduction};

  // ---- pooling and resampling ----
  t["max_pool2d"] = {[](Case& c) {
                       require_value(c.attrs, "dilation", "1");
                       require_value(c.attrs, "ceil_mode", "0");
                       const int64_t k = c.attrs.integer("kernel");
                       return max_pool2d(c.in(size_t{0}), k, c.attrs.integer("stride", k),
                                         c.attrs.integer("padding", 0));
                     },
                     kReduction};
  t["avg_pool2d"] = {[](Case& c) {
                       require_value(c.attrs, "ceil_mode", "0");
                       const int64_t k = c.attrs.integer("kernel");
                       return avg_pool2d(c.in(size_t{0}), k, c.attrs.integer("stride", k),
                                         c.attrs.integer("padding", 0), c.attrs.boolean("count_include_pad", true));
                     },
                     kReduction};
  t["adaptive_avg_pool2d"] = {[](Case& c) { return adaptive_avg_pool2d(c.in(size_t{0}), c.attrs.integer("output")); },
                              kReduction};
  // F.interpolate(x, scale_factor=scale | size=(h,w), mode=...)
  t["upsample"] = {[](Case& c) {
                     const Tensor& x = c.in(size_t{0});
                     LOOM_CHECK(x.dim() == 4, "upsample: x must be (N, C, H, W)");
                     int64_t out_h = 0, out_w = 0;
                     if (c.attrs.has("size")) {
                       Pair s = pair_attr(c.attrs, "size", 0);
                       out_h = s[0];
                       out_w = s[1];
                     } else {
                       std::vector<double> scale = c.attrs.reals("scale", {});
                       LOOM_CHECK(scale.size() == 1 || scale.size() == 2, "upsample: needs 'scale' or 'size'");
                       const double sh = scale[0], sw = scale.size() == 2 ? scale[1] : scale[0];
                       out_h = static_cast<int64_t>(std::floor(static_cast<double>(x.size(2)) * sh));
                       out_w = static_cast<int64_t>(std::floor(static_cast<double>(x.size(3)) * sw));
                     }
                     const std::string mode = c.attrs.str("mode");
                     if (mode == "nearest") return upsample_nearest(x, out_h, out_w);
                     if (mode == "bilinear") return upsample_bilinear(x, out_h, out_w, c.attrs.boolean("align_corners", false));
                     detail::throw_error("upsample: mode '", mode, "' is not nearest or bilinear");
                   },
                   kReduction};

  // ---- shape ops (pure data movement) ----
  t["cat"] = {[](Case& c) {
                std::vector<Tensor> xs;
                for (const std::string& n : c.input_names) xs.push_back(c.in(n));
                return cat(xs, c.attrs.integer("dim"));
              },
              kElementwise};
  t["permute"] = {[](Case& c) { return c.in(size_t{0}).permute(c.attrs.integers("dims")); }, kElementwise};
  t["slice"] = {[](Case& c) {
                  const Tensor& x = c.in(size_t{0});
                  const int64_t dim = c.attrs.integer("dim");
                  return x.slice(dim, c.attrs.integer("start", 0),
                                 c.attrs.integer("end", std::numeric_limits<int64_t>::max()),
                                 c.attrs.integer("step", 1));
                },
                kElementwise};

  // ---- losses and statistics ----
  t["bce_with_logits"] = {[](Case& c) { return bce_with_logits(c.in(size_t{0}), c.in(size_t{1}), reduction_attr(c.attrs)); },
                          kReduction};
  t["bce"] = {[](Case& c) { return bce(c.in(size_t{0}), c.in(size_t{1}), reduction_attr(c.attrs)); }, kReduction};
  t["l1_loss"] = {[](Case& c) { return l1_loss(c.in(size_t{0}), c.in(size_t{1}), reduction_attr(c.attrs)); },
                  kReduction};
  t["mse_loss"] = {[](Case& c) { return mse_loss(c.in(size_t{0}), c.in(size_t{1}), reduction_attr(c.attrs)); },
                   kReduction};
  t["cross_entropy"] = {[](Case& c) {
                          return cross_entropy(c.in(size_t{0}), c.in(size_t{1}), reduction_attr(c.attrs));
                        },
                        kReduction};
  t["dice_loss"] = {[](Case& c) {
                      c.attrs.ignore("formula");
                      return dice_loss(c.in(size_t{0}), c.in(size_t{1}), c.attrs.real("eps", 1.0));
                    },
                    kReduction};
  t["ssim"] = {[](Case& c) {
                 require_value(c.attrs, "padding", "valid");
                 require_value(c.attrs, "reduction", "mean");
                 return ssim(c.in(size_t{0}), c.in(size_t{1}), c.attrs.integer("window", 11), c.attrs.real("sigma", 1.5),
                             c.attrs.real("C1", 1e-4), c.attrs.real("C2", 9e-4));
               },
               kReduction};
  t["gram"] = {[](Case& c) {
                 c.attrs.ignore("formula");
                 return gram(c.in(size_t{0}));
               },
               kReduction};
  t["mmd_imq"] = {[](Case& c) {
                    c.attrs.ignore("formula");
                    return mmd_imq(c.in(size_t{0}), c.in(size_t{1}), c.attrs.real("sigma2", 1.0),
                                   c.attrs.reals("scales", {0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0}));
                  },
                  kReduction};
  return t;
}

}  // namespace

const std::map<std::string, OpSpec>& op_table() {
  static const std::map<std::string, OpSpec> table = make_table();
  return table;
}

const std::map<std::string, std::string>& later_ops() {
  static const std::map<std::string, std::string> later = {
      {"adam", "tests/nn/test_golden_optimizers.cpp (CTest golden.GoldenOptimizers.*)"},
      {"adamw", "tests/nn/test_golden_optimizers.cpp (CTest golden.GoldenOptimizers.*)"},
      {"sgd", "tests/nn/test_golden_optimizers.cpp (CTest golden.GoldenOptimizers.*)"},
      {"dcgan_iteration", "tests/nn/test_golden_dcgan.cpp (CTest golden.GoldenDcgan.*)"},
      {"detection_metrics",
       "tests/trainers/test_golden_detection_metrics.cpp (CTest golden.GoldenDetectionMetrics.*)"},
  };
  return later;
}

}  // namespace loom::golden
