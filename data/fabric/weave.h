// weave.h: weave patterns as interlacing matrices. A weave repeat is a
// (rows, cols) matrix over weft threads (rows, running horizontally) and warp
// threads (cols, running vertically): entry (r, c) is 1 where warp c lies over
// weft r, 0 where the weft is on top. The fabric repeats the matrix in both
// directions, so warp thread i and weft thread j cross as entry
// (j mod rows, i mod cols).
//
//   plain            2x2, over 1 under 1 in both directions
//   twill(o, u)      (o+u)x(o+u): each warp floats over o wefts and under u,
//                    shifted by one thread per row: the diagonal twill line
//   satin(n, step)   n x n, warp-faced: each row has one weft crossing over
//                    the warp, moved `step` columns per row (step coprime to n,
//                    1 < step < n-1, so no two crossings touch)
//   basket(k)        plain weave with each thread doubled k times (2k x 2k)
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace loom::data::fabric {

struct Weave {
  std::string name;
  int64_t rows = 0, cols = 0;    // repeat size in weft and warp threads
  std::vector<uint8_t> warp_up;  // (rows, cols), 1 = warp over weft

  // Warp thread i over weft thread j? Any integers (negative too) wrap.
  bool warp_over(int64_t weft_j, int64_t warp_i) const {
    int64_t r = weft_j % rows, c = warp_i % cols;
    if (r < 0) r += rows;
    if (c < 0) c += cols;
    return warp_up[static_cast<size_t>(r * cols + c)] != 0;
  }
};

Weave plain_weave();
Weave twill_weave(int64_t over, int64_t under);
Weave satin_weave(int64_t n, int64_t step);
Weave basket_weave(int64_t k);

// A weave from its name: "plain", "twill2/1", "twill3/1", "twill2/2",
// "satin5", "satin8", "basket2".
Weave weave_by_name(const std::string& name);

}  // namespace loom::data::fabric
