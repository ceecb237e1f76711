// test_golden_detection_metrics.cpp: trainers/detection_metrics.h against
// every golden case whose op is "detection_metrics" (../shared/golden, or
// $LOOM_GOLDEN_DIR; format in its README). A case holds `scores` and `masks`
// (N, H, W) float32 and float64 references `auroc_pixel`, `auroc_image`,
// `aupro_0.3` and `f1_max_pixel`, computed with ties sharing one threshold.
//
// The metrics are sums of exact integer counts (the PRO of fractions 1/|R|), so
// they match the float64 references to rounding: relative tolerance 1e-6.
// A case fails on a metadata key or file tensor this test does not
// understand, or when anything throws; the test fails when the directory
// holds no detection_metrics case at all.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>

#include "tests/nn/golden_support.h"
#include "trainers/detection_metrics.h"

using namespace loom;
using namespace loom::golden_test;

namespace {

constexpr double kTolerance = 1e-6;

// Checks one case; returns the problems (empty: pass) and fills `line`.
std::vector<std::string> run_case(const GoldenCase& c, std::string& line) {
  std::vector<std::string> problems;
  std::string summary;
  try {
    Metadata md(c.data.metadata);
    LOOM_CHECK(md.str("op") == "detection_metrics", "op is '", md.str("op"), "'");
    LOOM_CHECK(md.str("inputs") == "scores,masks", "metadata 'inputs' is '", md.str("inputs"),
               "', expected 'scores,masks'");
    LOOM_CHECK(md.integer("connectivity") == 8, "metadata 'connectivity' is ", md.str("connectivity"),
               ": only 8-connected regions are implemented");
    const double max_fpr = md.real("fpr_limit");
    for (const std::string& key : md.unused()) problems.push_back("metadata key '" + key + "' is not understood");

    // the reference names the limit: aupro_0.3 for fpr_limit 0.3
    char aupro_name[32];
    std::snprintf(aupro_name, sizeof aupro_name, "aupro_%g", max_fpr);
    const std::vector<std::string> known = {"scores", "masks", "auroc_pixel", "auroc_image", aupro_name,
                                            "f1_max_pixel"};
    for (const auto& [name, t] : c.data.tensors)
      if (std::find(known.begin(), known.end(), name) == known.end())
        problems.push_back("file tensor '" + name + "' is not understood");

    const Tensor& scores = c.data.tensors.at("scores");
    const Tensor& masks = c.data.tensors.at("masks");
    const eval::DetectionMetrics m = eval::detection_metrics(scores, masks, 0.5, max_fpr);
    auto compare = [&](const std::string& name, double got) {
      const double ref = c.data.tensors.at(name).item();
      const double err = std::abs(got - ref) / std::max(std::abs(ref), 1e-12);
      summary += " " + name + " " + std::to_string(got) + " (ref " + std::to_string(ref) + ", rel " + sci(err) + ")";
      if (!(err <= kTolerance)) problems.push_back(name + " rel err " + sci(err) + " > " + sci(kTolerance));
    };
    compare("auroc_pixel", m.pixel_auroc);
    compare("auroc_image", m.image_auroc);
    compare(aupro_name, m.aupro);
    compare("f1_max_pixel", m.best.f1);
  } catch (const std::exception& e) {
    problems.push_back(std::string("threw: ") + e.what());
  }
  line = c.name + (problems.empty() ? " PASS" : " FAIL") + summary;
  return problems;
}

TEST(GoldenDetectionMetrics, EveryCaseMatchesThePyTorchReference) {
  const std::vector<GoldenCase> cases = cases_with_op({"detection_metrics"});
  ASSERT_FALSE(cases.empty()) << "no golden case with op detection_metrics in " << golden_dir().string()
                              << " (set LOOM_GOLDEN_DIR)";
  for (const GoldenCase& c : cases) {
    std::string line;
    const std::vector<std::string> problems = run_case(c, line);
    std::cout << line << "\n";
    for (const std::string& p : problems) ADD_FAILURE() << c.name << ": " << p;
  }
}

}  // namespace
