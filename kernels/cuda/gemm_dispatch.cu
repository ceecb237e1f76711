// gemm_dispatch.cu: gemm::run, the one entry to every GEMM version
// (kernels/cuda/gemm_v*.cu) and the cuBLAS comparison backend. It validates the
// arguments, resolves the version (argument, else LOOM_GEMM, else cuBLAS when
// vendor::use_cublas(), else the default table below), checks that the version
// runs the precision asked for, and launches on the current stream.
//
// Default table (TO BE RE-TUNED from bench/results on an H100: written without
// a GPU, from the structure of the kernels only):
//   FP32, min(M, N) < 64 ...... 3_smem      (a 128 x 128 tile would leave most
//                                            of its threads idle on thin shapes)
//   FP32, otherwise ........... 6_warptile  (the SIMT peak version)
//   TF32 ...................... 7_mma_tf32
//   BF16 ...................... 7_mma_bf16
// With vendor::use_cublas(): FP32 -> cublas, TF32 -> cublas_tf32, BF16 -> cublas_bf16.
// float64 (ArgsF64) has one kernel: version 3's shared-memory tiling on doubles.
#include <cstdint>
#include <cstdlib>
#include <sstream>

#include "kernels/cuda/check.cuh"
#include "kernels/cuda/gemm_common.cuh"
#include "kernels/vendor/backend.h"
#include "kernels/vendor/cublas.h"
#include "tensor/cuda_runtime.h"
#include "tensor/error.h"

namespace loom::cuda::gemm {

const char* precision_name(Precision p) {
  switch (p) {
    case Precision::FP32: return "FP32";
    case Precision::TF32: return "TF32";
    case Precision::BF16: return "BF16";
  }
  return "?";
}

namespace {

using Launcher = void (*)(const Args&, Precision, cudaStream_t);

struct Version {
  const char* name;
  std::vector<Precision> precisions;
  const char* summary;
  Launcher launch;
  bool vendor;  // a cuBLAS route (only listed in a build with cuBLAS)
};

template <void (*F)(const Args&, cudaStream_t)>
void fp32_only(const Args& args, Precision, cudaStream_t stream) {
  F(args, stream);
}

#ifdef LOOM_WITH_CUBLAS
template <vendor::cublas::Api api>
void via_cublas(const Args& args, Precision precision, cudaStream_t stream) {
  vendor::cublas::gemm(args, precision, api, stream);
}
constexpr Launcher kCublasSgemm = via_cublas<vendor::cublas::Api::Sgemm>;
constexpr Launcher kCublasEx = via_cublas<vendor::cublas::Api::GemmEx>;
constexpr Launcher kCublasLt = via_cublas<vendor::cublas::Api::Lt>;
#else
constexpr Launcher kCublasSgemm = nullptr, kCublasEx = nullptr, kCublasLt = nullptr;
#endif

const std::vector<Version>& table() {
  using P = Precision;
  static const std::vector<Version> t = {
      {"1_naive", {P::FP32}, "one thread per C element, threads along rows (uncoalesced)", fp32_only<launch_v1_naive>,
       false},
      {"2_coalesce", {P::FP32}, "threads along columns: coalesced B loads and C stores", fp32_only<launch_v2_coalesce>,
       false},
      {"3_smem", {P::FP32}, "32 x 32 tiles of A and B staged in shared memory", fp32_only<launch_v3_smem>, false},
      {"4a_blocktile1d", {P::FP32}, "8 outputs per thread in a column: B value reused from a register",
       fp32_only<launch_v4a_blocktile1d>, false},
      {"4b_blocktile2d", {P::FP32}, "8 x 8 outputs per thread: register outer products, 128 x 128 tiles",
       fp32_only<launch_v4b_blocktile2d>, false},
      {"5_vectorize", {P::FP32}, "16-byte global loads, transposed A tile, 16-byte shared loads",
       fp32_only<launch_v5_vectorize>, false},
      {"6_warptile", {P::FP32}, "warp tiles and double-buffered shared memory (SIMT peak)",
       fp32_only<launch_v6_warptile>, false},
      {"7_mma_tf32", {P::TF32}, "tensor cores, mma.sync m16n8k8 tf32, fp32 accumulate", launch_v7_mma, false},
      {"7_mma_bf16", {P::BF16}, "tensor cores, mma.sync m16n8k16 bf16, fp32 accumulate", launch_v7_mma, false},
      {"cublas", {P::FP32}, "cuBLAS cublasSgemmStridedBatched (comparison)", kCublasSgemm, true},
      {"cublas_tf32", {P::TF32}, "cuBLAS GemmStridedBatchedEx, COMPUTE_32F_FAST_TF32 (comparison)", kCublasEx, true},
      {"cublas_bf16", {P::BF16}, "cuBLAS GemmStridedBatchedEx, COMPUTE_32F_FAST_16BF (comparison)", kCublasEx, true},
      {"cublaslt", {P::FP32, P::TF32, P::BF16}, "cublasLtMatmul, compute type from the precision (comparison)",
       kCublasLt, true},
  };
  return t;
}

std::string known_names() {
  std::string s;
  for (const Version& v : table()) {
    if (v.vendor && !vendor::cublas_built()) continue;
    s += s.empty() ? "" : ", ";
    s += v.name;
  }
  return s;
}

std::string precisions_str(const std::vector<Precision>& ps) {
  std::string s;
  for (Precision p : ps) s += (s.empty() ? "" : ", ") + std::string(precision_name(p));
  return s;
}

// LOOM_GEMM, read once ("" when unset).
const std::string& forced_by_environment() {
  static const std::string name = [] {
    const char* env = std::getenv("LOOM_GEMM");
    return std::string(env == nullptr ? "" : env);
  }();
  return name;
}

const char* default_name(const Args& args, Precision precision) {
  if (vendor::use_cublas()) {
    return precision == Precision::FP32 ? "cublas" : precision == Precision::TF32 ? "cublas_tf32" : "cublas_bf16";
  }
  if (precision == Precision::TF32) return "7_mma_tf32";
  if (precision == Precision::BF16) return "7_mma_bf16";
  return std::min(args.m, args.n) < 64 ? "3_smem" : "6_warptile";
}

// The version to run, checked against the precision (throws naming both).
const Version& resolve(const Args& args, Precision precision, const std::string& asked) {
  const std::string& name = !asked.empty() ? asked : forced_by_environment();
  const std::string chosen = name.empty() ? default_name(args, precision) : name;
  const char* source = !asked.empty() ? "" : !name.empty() ? " (from LOOM_GEMM)" : "";
  for (const Version& v : table()) {
    if (chosen != v.name) continue;
    LOOM_CHECK(!v.vendor || v.launch != nullptr, "gemm: version '", chosen, "'", source,
               " needs cuBLAS, but loom was built without it (no LOOM_WITH_CUBLAS); known: ", known_names());
    bool runs = false;
    for (Precision p : v.precisions) runs = runs || p == precision;
    LOOM_CHECK(runs, "gemm: version '", chosen, "'", source, " does not run ", precision_name(precision),
               " (it runs ", precisions_str(v.precisions), ")");
    return v;
  }
  detail::throw_error("gemm: unknown version '", chosen, "'", source, "; known: ", known_names());
}

template <class A>
void check_args(const A& a) {
  LOOM_CHECK(a.m >= 0 && a.n >= 0 && a.k >= 0 && a.batch >= 0, "gemm: negative size (m ", a.m, ", n ", a.n,
             ", k ", a.k, ", batch ", a.batch, ")");
  const int64_t a_cols = a.trans_a ? a.m : a.k, b_cols = a.trans_b ? a.k : a.n;
  LOOM_CHECK(a.lda >= a_cols && a.ldb >= b_cols && a.ldc >= a.n, "gemm: leading dimension too small (lda ", a.lda,
             " for ", a_cols, " stored columns, ldb ", a.ldb, " for ", b_cols, ", ldc ", a.ldc, " for ", a.n, ")");
  LOOM_CHECK(a.stride_a >= 0 && a.stride_b >= 0 && a.stride_c >= 0, "gemm: negative batch stride");
}

bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

cudaStream_t current_device_stream() {
  int device = 0;
  LOOM_CUDA_CHECK(cudaGetDevice(&device));
  return static_cast<cudaStream_t>(cuda_rt::current_stream(device));
}

}  // namespace

Params<float> to_params(const Args& a) {
  Params<float> p{a.m,       a.n,        a.k,   a.alpha, a.beta,      a.a,       a.lda,     a.stride_a,
                  a.b,       a.ldb,      a.stride_b, a.c,  a.ldc,       a.stride_c, a.batch, a.trans_a,
                  a.trans_b, false,      false};
  p.vec_a = aligned16(a.a) && a.lda % 4 == 0 && a.stride_a % 4 == 0;
  p.vec_b = aligned16(a.b) && a.ldb % 4 == 0 && a.stride_b % 4 == 0;
  return p;
}

Params<double> to_params(const ArgsF64& a) {
  return {a.m,   a.n,   a.k,        a.alpha, a.beta,   a.a,       a.lda,   a.stride_a, a.b,     a.ldb,
          a.stride_b, a.c, a.ldc, a.stride_c, a.batch, a.trans_a, a.trans_b, false,    false};
}

dim3 tile_grid(int64_t m, int64_t n, int64_t batch, int bm, int bn, const char* version) {
  const int64_t rows = (m + bm - 1) / bm, cols = (n + bn - 1) / bn;
  LOOM_CHECK(rows <= 65535 && cols <= INT32_MAX, "gemm ", version, ": ", m, " x ", n,
             " needs more than 65535 x 2^31 tiles of ", bm, " x ", bn);
  return dim3(static_cast<unsigned>(cols), static_cast<unsigned>(rows),
              static_cast<unsigned>(std::min<int64_t>(batch, 65535)));
}

dim3 tile_grid(const Args& args, int bm, int bn, const char* version) {
  return tile_grid(args.m, args.n, args.batch, bm, bn, version);
}

namespace {

// The kernels put row tiles on grid.y, which holds at most 65535 blocks; with
// the smallest row tile (16) that is ~1M rows. Taller products run as row
// chunks: rows [r, r + kMaxRowsPerLaunch) of C come from the same rows of
// op(A) (row r starts at a + r*lda, or at a + r when A is stored transposed).
constexpr int64_t kMaxRowsPerLaunch = int64_t(65535) * 16;

template <class A, class Launch>
void in_row_chunks(const A& args, Launch launch) {
  if (args.m <= kMaxRowsPerLaunch) return launch(args);
  for (int64_t r = 0; r < args.m; r += kMaxRowsPerLaunch) {
    A chunk = args;
    chunk.m = std::min(kMaxRowsPerLaunch, args.m - r);
    chunk.a = args.a + (args.trans_a ? r : r * args.lda);
    chunk.c = args.c + r * args.ldc;
    launch(chunk);
  }
}

}  // namespace

void run(const Args& args, Precision precision, const std::string& version) {
  const Version& v = resolve(args, precision, version);  // first: a bad name fails even on empty shapes
  check_args(args);
  if (args.m == 0 || args.n == 0 || args.batch == 0) return;
  in_row_chunks(args, [&](const Args& chunk) { v.launch(chunk, precision, current_device_stream()); });
}

void run(const ArgsF64& args) {
  check_args(args);
  if (args.m == 0 || args.n == 0 || args.batch == 0) return;
  in_row_chunks(args, [&](const ArgsF64& chunk) { launch_v3_smem_f64(chunk, current_device_stream()); });
}

std::vector<VersionInfo> versions() {
  std::vector<VersionInfo> out;
  for (const Version& v : table())
    if (!v.vendor || v.launch != nullptr) out.push_back({v.name, v.precisions, v.summary});
  return out;
}

}  // namespace loom::cuda::gemm
