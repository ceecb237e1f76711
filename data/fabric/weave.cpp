// weave.cpp: the interlacing matrices of weave.h.
#include "data/fabric/weave.h"

#include <numeric>

#include "tensor/error.h"

namespace loom::data::fabric {

namespace {

Weave make_weave(std::string name, int64_t rows, int64_t cols) {
  Weave w;
  w.name = std::move(name);
  w.rows = rows;
  w.cols = cols;
  w.warp_up.assign(static_cast<size_t>(rows * cols), 0);
  return w;
}

}  // namespace

Weave plain_weave() {
  Weave w = make_weave("plain", 2, 2);
  for (int64_t r = 0; r < 2; ++r)
    for (int64_t c = 0; c < 2; ++c) w.warp_up[r * 2 + c] = (r + c) % 2 == 0;
  return w;
}

Weave twill_weave(int64_t over, int64_t under) {
  LOOM_CHECK(over >= 1 && under >= 1, "twill_weave: over and under must be >= 1, got ", over, "/", under);
  const int64_t n = over + under;
  Weave w = make_weave("twill" + std::to_string(over) + "/" + std::to_string(under), n, n);
  // Warp c is over weft r when (r - c) mod n < over: along a column the warp
  // floats over `over` consecutive wefts; the float starts one row later in
  // each next column, which draws the diagonal.
  for (int64_t r = 0; r < n; ++r)
    for (int64_t c = 0; c < n; ++c) w.warp_up[r * n + c] = ((r - c) % n + n) % n < over;
  return w;
}

Weave satin_weave(int64_t n, int64_t step) {
  LOOM_CHECK(n >= 5, "satin_weave: a satin needs at least 5 threads per repeat, got ", n);
  LOOM_CHECK(step > 1 && step < n - 1 && std::gcd(n, step) == 1, "satin_weave: step ", step, " must be coprime to ", n,
             " and in [2, ", n - 2, "]");
  Weave w = make_weave("satin" + std::to_string(n), n, n);
  // Warp-faced: every warp is over every weft except at one crossing per row,
  // at column (r * step) mod n.
  for (int64_t r = 0; r < n; ++r)
    for (int64_t c = 0; c < n; ++c) w.warp_up[r * n + c] = c != (r * step) % n;
  return w;
}

Weave basket_weave(int64_t k) {
  LOOM_CHECK(k >= 1, "basket_weave: k must be >= 1, got ", k);
  Weave w = make_weave("basket" + std::to_string(k), 2 * k, 2 * k);
  for (int64_t r = 0; r < 2 * k; ++r)
    for (int64_t c = 0; c < 2 * k; ++c) w.warp_up[r * 2 * k + c] = (r / k + c / k) % 2 == 0;
  return w;
}

Weave weave_by_name(const std::string& name) {
  if (name == "plain") return plain_weave();
  if (name == "twill2/1") return twill_weave(2, 1);
  if (name == "twill3/1") return twill_weave(3, 1);
  if (name == "twill2/2") return twill_weave(2, 2);
  if (name == "satin5") return satin_weave(5, 2);
  if (name == "satin8") return satin_weave(8, 3);
  if (name == "basket2") return basket_weave(2);
  LOOM_CHECK(false, "weave_by_name: unknown weave '", name,
             "' (known: plain, twill2/1, twill3/1, twill2/2, satin5, satin8, basket2)");
  return {};
}

}  // namespace loom::data::fabric
