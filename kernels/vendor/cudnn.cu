// cudnn.cu: the cuDNN comparison backend of the convolutions (declared in
// cudnn.h): cudnnConvolutionForward / BackwardData / BackwardFilter on NCHW
// float32/float64 descriptors, for measuring loom's kernels against the vendor
// library on the same GPU. Never required: compiled only with LOOM_WITH_CUDNN.
//
// - One cudnnHandle_t per device, created on first use, set to the current
//   stream at every call.
// - The algorithm is picked once per (pass, shape, dtype, precision, device) by
//   cudnnGet*Algorithm_v7 (cuDNN's heuristic ranking, no trial runs) and cached:
//   the first candidate with status success whose determinism is
//   CUDNN_DETERMINISTIC (loom's rule: no run-to-run variation), else the first
//   successful one.
// - Workspace from loom's caching allocator (cuda_rt::malloc_device).
// - Math type: fp32 uses CUDNN_FMA_MATH, not CUDNN_DEFAULT_MATH: on Ampere and
//   later DEFAULT_MATH lets cuDNN run fp32 convolutions in TF32 on tensor cores
//   (PyTorch likewise sets FMA_MATH when allow_tf32 is off), and fp32 must mean
//   fp32 in a comparison. TF32 precision uses CUDNN_TENSOR_OP_MATH (TF32 allowed).
//   BF16 would need bf16 tensors: refused. float64 uses FMA math.
// - Every cuDNN status is checked, naming the call.
#ifdef LOOM_WITH_CUDNN
#include "kernels/vendor/cudnn.h"

#include <cudnn.h>

#include <array>
#include <map>
#include <mutex>

namespace loom::vendor::cudnn {

namespace {

#define LOOM_CUDNN_CHECK(call)                                                                     \
  do {                                                                                             \
    cudnnStatus_t loom_status_ = (call);                                                           \
    if (loom_status_ != CUDNN_STATUS_SUCCESS)                                                      \
      ::loom::detail::throw_error("cuDNN error in ", #call, " at ", __FILE__, ":", __LINE__, ": ", \
                                  cudnnGetErrorString(loom_status_));                              \
  } while (0)

using cuda::gemm::Precision;

std::mutex g_mutex;

cudnnHandle_t handle_for(const Tensor& t) {
  static std::map<int, cudnnHandle_t> handles;  // device index -> handle (kept for the process)
  const int device = t.device().index;
  cudnnHandle_t h = nullptr;
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    auto it = handles.find(device);
    if (it == handles.end()) {
      cuda::set_device_of(t);
      LOOM_CUDNN_CHECK(cudnnCreate(&h));
      handles[device] = h;
    } else {
      h = it->second;
    }
  }
  LOOM_CUDNN_CHECK(cudnnSetStream(h, cuda::stream_of(t)));
  return h;
}

int to_int(int64_t v, const char* what) {
  LOOM_CHECK(v >= 0 && v <= 0x7fffffff, "cudnn conv: ", what, " ", v, " does not fit cuDNN's int");
  return static_cast<int>(v);
}

// The four descriptors of one convolution (RAII).
struct Descriptors {
  cudnnTensorDescriptor_t x = nullptr, y = nullptr;  // (N, C, H, W), (N, OC, OH, OW)
  cudnnFilterDescriptor_t w = nullptr;               // (OC, C, KH, KW)
  cudnnConvolutionDescriptor_t conv = nullptr;

  Descriptors(const ConvShape& s, DType dtype, Precision precision, const char* op) {
    LOOM_CHECK(precision != Precision::BF16, op, ": the cudnn algorithm does not run bf16 on float32 tensors; "
               "use fp32 or tf32");
    const cudnnDataType_t dt = dtype == DType::Float64 ? CUDNN_DATA_DOUBLE : CUDNN_DATA_FLOAT;
    LOOM_CUDNN_CHECK(cudnnCreateTensorDescriptor(&x));
    LOOM_CUDNN_CHECK(cudnnCreateTensorDescriptor(&y));
    LOOM_CUDNN_CHECK(cudnnCreateFilterDescriptor(&w));
    LOOM_CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&conv));
    LOOM_CUDNN_CHECK(cudnnSetTensor4dDescriptor(x, CUDNN_TENSOR_NCHW, dt, to_int(s.N, "N"), to_int(s.C, "C"),
                                                to_int(s.H, "H"), to_int(s.W, "W")));
    LOOM_CUDNN_CHECK(cudnnSetTensor4dDescriptor(y, CUDNN_TENSOR_NCHW, dt, to_int(s.N, "N"), to_int(s.OC, "OC"),
                                                to_int(s.OH, "OH"), to_int(s.OW, "OW")));
    LOOM_CUDNN_CHECK(cudnnSetFilter4dDescriptor(w, dt, CUDNN_TENSOR_NCHW, to_int(s.OC, "OC"), to_int(s.C, "C"),
                                                to_int(s.KH, "KH"), to_int(s.KW, "KW")));
    LOOM_CUDNN_CHECK(cudnnSetConvolution2dDescriptor(conv, to_int(s.ph, "padding"), to_int(s.pw, "padding"),
                                                     to_int(s.sh, "stride"), to_int(s.sw, "stride"),
                                                     to_int(s.dh, "dilation"), to_int(s.dw, "dilation"),
                                                     CUDNN_CROSS_CORRELATION, dt));
    const bool tf32 = precision == Precision::TF32 && dtype == DType::Float32;
    LOOM_CUDNN_CHECK(cudnnSetConvolutionMathType(conv, tf32 ? CUDNN_TENSOR_OP_MATH : CUDNN_FMA_MATH));
  }
  ~Descriptors() {
    cudnnDestroyConvolutionDescriptor(conv);
    cudnnDestroyFilterDescriptor(w);
    cudnnDestroyTensorDescriptor(y);
    cudnnDestroyTensorDescriptor(x);
  }
  Descriptors(const Descriptors&) = delete;
  Descriptors& operator=(const Descriptors&) = delete;
};

// A workspace block from loom's caching allocator (RAII).
struct Workspace {
  void* ptr = nullptr;
  size_t bytes = 0;
  int device = 0;
  Workspace(size_t n, int dev) : bytes(n), device(dev) {
    if (n > 0) ptr = cuda_rt::malloc_device(n, dev);
  }
  ~Workspace() {
    if (ptr) cuda_rt::free_device(ptr, device);
  }
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;
};

// The cached algorithm of one pass and shape: key -> cuDNN algorithm enum value.
using Key = std::array<int64_t, 20>;
Key key_of(int pass, const ConvShape& s, DType dtype, Precision precision, int device) {
  return {pass,   s.N,    s.C,    s.H,    s.W,    s.OC,   s.KH,           s.KW,                 s.OH,   s.OW,
          s.sh,   s.sw,   s.ph,   s.pw,   s.dh,   s.dw,   int64_t(dtype), int64_t(precision), device, 0};
}

// The first deterministic successful candidate, else the first successful one.
template <class Perf>
int pick(const Perf* perf, int count, const char* op) {
  for (int i = 0; i < count; ++i)
    if (perf[i].status == CUDNN_STATUS_SUCCESS && perf[i].determinism == CUDNN_DETERMINISTIC) return int(perf[i].algo);
  for (int i = 0; i < count; ++i)
    if (perf[i].status == CUDNN_STATUS_SUCCESS) return int(perf[i].algo);
  ::loom::detail::throw_error(op, ": cuDNN offers no algorithm for this shape");
}

// Looks up (or asks cuDNN once for) the algorithm of `key`; choose() runs the _v7 query.
template <class Choose>
int cached_algo(const Key& key, Choose choose) {
  static std::map<Key, int> cache;
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    auto it = cache.find(key);
    if (it != cache.end()) return it->second;
  }
  const int algo = choose();
  std::lock_guard<std::mutex> lock(g_mutex);
  cache[key] = algo;
  return algo;
}

constexpr int kCandidates = 16;

}  // namespace

void conv_forward(const ConvShape& s, const Tensor& x, const Tensor& w, Tensor& y, Precision precision) {
  const char* op = "conv2d (cudnn)";
  if (y.numel() == 0) return;
  cudnnHandle_t h = handle_for(x);
  Descriptors d(s, x.dtype(), precision, op);
  const auto algo = static_cast<cudnnConvolutionFwdAlgo_t>(
      cached_algo(key_of(0, s, x.dtype(), precision, x.device().index), [&] {
        cudnnConvolutionFwdAlgoPerf_t perf[kCandidates];
        int count = 0;
        LOOM_CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(h, d.x, d.w, d.conv, d.y, kCandidates, &count, perf));
        return pick(perf, count, op);
      }));
  size_t bytes = 0;
  LOOM_CUDNN_CHECK(cudnnGetConvolutionForwardWorkspaceSize(h, d.x, d.w, d.conv, d.y, algo, &bytes));
  Workspace ws(bytes, x.device().index);
  const double one64 = 1, zero64 = 0;
  const float one32 = 1, zero32 = 0;
  const bool f64 = x.dtype() == DType::Float64;
  LOOM_CUDNN_CHECK(cudnnConvolutionForward(h, f64 ? (const void*)&one64 : &one32, d.x, x.raw_data(), d.w,
                                           w.raw_data(), d.conv, algo, ws.ptr, ws.bytes,
                                           f64 ? (const void*)&zero64 : &zero32, d.y, y.raw_data()));
}

void conv_backward_data(const ConvShape& s, const Tensor& dy, const Tensor& w, Tensor& dx, Precision precision) {
  const char* op = "conv2d_backward_input (cudnn)";
  if (dx.numel() == 0) return;
  // PyTorch allows output_padding up to the dilation, even >= stride; then
  // the forward formula does not map dx's size back to dy's, and cuDNN's
  // descriptors cannot describe the pair.
  const int64_t fh = (s.H + 2 * s.ph - s.dh * (s.KH - 1) - 1) / s.sh + 1;
  const int64_t fw = (s.W + 2 * s.pw - s.dw * (s.KW - 1) - 1) / s.sw + 1;
  LOOM_CHECK(fh == s.OH && fw == s.OW, op, ": cuDNN cannot express this output_padding (>= stride): the input ",
             s.H, "x", s.W, " maps to ", fh, "x", fw, ", not the gradient's ", s.OH, "x", s.OW,
             "; use LOOM_CONV=implicit");
  cudnnHandle_t h = handle_for(dy);
  Descriptors d(s, dy.dtype(), precision, op);
  const auto algo = static_cast<cudnnConvolutionBwdDataAlgo_t>(
      cached_algo(key_of(1, s, dy.dtype(), precision, dy.device().index), [&] {
        cudnnConvolutionBwdDataAlgoPerf_t perf[kCandidates];
        int count = 0;
        LOOM_CUDNN_CHECK(
            cudnnGetConvolutionBackwardDataAlgorithm_v7(h, d.w, d.y, d.conv, d.x, kCandidates, &count, perf));
        return pick(perf, count, op);
      }));
  size_t bytes = 0;
  LOOM_CUDNN_CHECK(cudnnGetConvolutionBackwardDataWorkspaceSize(h, d.w, d.y, d.conv, d.x, algo, &bytes));
  Workspace ws(bytes, dy.device().index);
  const double one64 = 1, zero64 = 0;
  const float one32 = 1, zero32 = 0;
  const bool f64 = dy.dtype() == DType::Float64;
  LOOM_CUDNN_CHECK(cudnnConvolutionBackwardData(h, f64 ? (const void*)&one64 : &one32, d.w, w.raw_data(), d.y,
                                                dy.raw_data(), d.conv, algo, ws.ptr, ws.bytes,
                                                f64 ? (const void*)&zero64 : &zero32, d.x, dx.raw_data()));
}

void conv_backward_filter(const ConvShape& s, const Tensor& dy, const Tensor& x, Tensor& dw, Precision precision) {
  const char* op = "conv2d_backward_weight (cudnn)";
  if (dw.numel() == 0) return;
  if (s.N == 0 || s.L() == 0) {  // nothing to sum (cuDNN refuses empty descriptors)
    const size_t elem = x.dtype() == DType::Float64 ? sizeof(double) : sizeof(float);
    LOOM_CUDA_CHECK(cudaMemsetAsync(dw.raw_data(), 0, size_t(dw.numel()) * elem, cuda::stream_of(x)));
    return;
  }
  cudnnHandle_t h = handle_for(x);
  Descriptors d(s, x.dtype(), precision, op);
  const auto algo = static_cast<cudnnConvolutionBwdFilterAlgo_t>(
      cached_algo(key_of(2, s, x.dtype(), precision, x.device().index), [&] {
        cudnnConvolutionBwdFilterAlgoPerf_t perf[kCandidates];
        int count = 0;
        LOOM_CUDNN_CHECK(
            cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, d.x, d.y, d.conv, d.w, kCandidates, &count, perf));
        return pick(perf, count, op);
      }));
  size_t bytes = 0;
  LOOM_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterWorkspaceSize(h, d.x, d.y, d.conv, d.w, algo, &bytes));
  Workspace ws(bytes, x.device().index);
  const double one64 = 1, zero64 = 0;
  const float one32 = 1, zero32 = 0;
  const bool f64 = x.dtype() == DType::Float64;
  LOOM_CUDNN_CHECK(cudnnConvolutionBackwardFilter(h, f64 ? (const void*)&one64 : &one32, d.x, x.raw_data(), d.y,
                                                  dy.raw_data(), d.conv, algo, ws.ptr, ws.bytes,
                                                  f64 ? (const void*)&zero64 : &zero32, d.w, dw.raw_data()));
}

}  // namespace loom::vendor::cudnn
#endif  // LOOM_WITH_CUDNN
