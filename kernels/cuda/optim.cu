// optim.cu: the fused optimizer updates on CUDA (ops::adam_update,
// ops::sgd_update): one pass over param, grad and the moments of every
// parameter, in place. The element update is optim_update::adam_element /
// sgd_element (kernels/optim_update.h), the same code the CPU reference
// (kernels/cpu/optim.cpp) runs; with --fmad=false both give the same bits.
//
// Kernel versions (LOOM_CUDA_OPTIM=v1 or v2 picks one; v2 is the default):
//   v1_per_tensor    one grid-stride launch per parameter. Simple, and fine for
//                    a few large parameters; for a network of many small
//                    tensors (biases, norm weights) the launch overhead (a few
//                    microseconds each) dominates the microseconds of work.
//   v2_multi_tensor  many parameters per launch (PyTorch's multi_tensor_apply):
//                    the host cuts every parameter into chunks of kChunkSize
//                    elements and passes, BY VALUE as the kernel argument, a
//                    struct of pointer lists, sizes and per-parameter
//                    coefficients for up to kMaxTensors parameters and a
//                    block -> (parameter, chunk) table for up to kMaxBlocks
//                    blocks; each block updates one chunk. The struct stays
//                    under the classic 4 KiB kernel-parameter limit. This is
//                    the default: one launch per ~320 chunks instead of one
//                    per parameter, and still deterministic (no reductions).
// One dtype per launch group: parameters are grouped by dtype (float32,
// float64), each group launched on its own.
#include <cstdlib>
#include <cstring>
#include <string>

#include "kernels/cuda/cuda.h"
#include "kernels/cuda/cuda_util.cuh"
#include "kernels/optim_update.h"

namespace loom::cuda {

namespace {

using optim_update::AdamScalars;
using optim_update::SgdScalars;

// ---- v2 launch geometry ----
constexpr int kMaxTensors = 36;      // parameters per launch
constexpr int kMaxBlocks = 320;      // chunks (= blocks) per launch
constexpr int64_t kChunkSize = 65536;  // elements per chunk
constexpr int kOptimThreads = 256;

// Per-parameter scalars of one launch, in double (cast to T in the kernel, as
// the CPU op casts them): Adam's step_size and sqrt(1 - beta2^t); SGD's
// first-step flag (as 0/1).
struct PerTensorScalars {
  double a = 0, b = 0;
};

// The multi-tensor argument: Depth pointer lists (param, grad, moments...).
template <int Depth>
struct TensorListMeta {
  void* ptrs[Depth][kMaxTensors];
  int64_t sizes[kMaxTensors];
  PerTensorScalars scalars[kMaxTensors];
  unsigned char block_to_tensor[kMaxBlocks];
  int block_to_chunk[kMaxBlocks];
};
// Depth 5 (Adam with amsgrad) is the largest; with the op's scalars it must
// fit the 4096-byte kernel parameter space of every CUDA version.
static_assert(sizeof(TensorListMeta<5>) + sizeof(AdamScalars<double>) <= 4000,
              "multi-tensor kernel argument over the 4 KiB parameter limit");
static_assert(kMaxTensors <= 255, "block_to_tensor is an unsigned char");

// One parameter's pointers for v1.
template <int Depth>
struct TensorPointers {
  void* ptrs[Depth];
};

// ---- element functors: apply the update to element i of one parameter ----
// ptrs: [param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq (Depth 5: amsgrad)].
template <class T, int Depth>
struct AdamFunctor {
  AdamScalars<T> s;
  __device__ void operator()(void* const* ptrs, int64_t i, const PerTensorScalars& pt) const {
    T* p = static_cast<T*>(ptrs[0]);
    const T* g = static_cast<const T*>(ptrs[1]);
    T* m = static_cast<T*>(ptrs[2]);
    T* v = static_cast<T*>(ptrs[3]);
    T v_max_unused = 0;
    T* v_max = &v_max_unused;
    if constexpr (Depth == 5) v_max = static_cast<T*>(ptrs[4]) + i;
    optim_update::adam_element(p[i], g[i], m[i], v[i], *v_max, s, static_cast<T>(pt.a), static_cast<T>(pt.b));
  }
};

// ptrs: [param, grad, momentum_buffer (Depth 3: momentum != 0)]; pt.a != 0 on the first step.
template <class T, int Depth>
struct SgdFunctor {
  SgdScalars<T> s;
  __device__ void operator()(void* const* ptrs, int64_t i, const PerTensorScalars& pt) const {
    T* p = static_cast<T*>(ptrs[0]);
    const T* g = static_cast<const T*>(ptrs[1]);
    T buffer_unused = 0;
    T* b = &buffer_unused;
    if constexpr (Depth == 3) b = static_cast<T*>(ptrs[2]) + i;
    optim_update::sgd_element(p[i], g[i], *b, pt.a != 0, s);
  }
};

// ---- v1: one launch per parameter, grid-stride over its n elements ----
template <int Depth, class F>
__global__ void optim_v1_per_tensor(TensorPointers<Depth> t, int64_t n, PerTensorScalars pt, F f) {
  const int64_t stride = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride)
    f(t.ptrs, i, pt);
}

// ---- v2: block b updates chunk block_to_chunk[b] of parameter block_to_tensor[b] ----
template <int Depth, class F>
__global__ void optim_v2_multi_tensor(TensorListMeta<Depth> meta, F f) {
  const int tensor = meta.block_to_tensor[blockIdx.x];
  const int64_t begin = static_cast<int64_t>(meta.block_to_chunk[blockIdx.x]) * kChunkSize;
  const int64_t n = meta.sizes[tensor];
  const int64_t end = begin + kChunkSize < n ? begin + kChunkSize : n;
  void* ptrs[Depth];
#pragma unroll
  for (int d = 0; d < Depth; ++d) ptrs[d] = meta.ptrs[d][tensor];
  const PerTensorScalars pt = meta.scalars[tensor];
  for (int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) f(ptrs, i, pt);
}

// ---- host side ----

enum class OptimKernel { V1PerTensor, V2MultiTensor };

// LOOM_CUDA_OPTIM=v1 | v2 (default v2), read at every call so tests can switch.
OptimKernel chosen_kernel(const char* op) {
  const char* env = std::getenv("LOOM_CUDA_OPTIM");
  if (env == nullptr || *env == '\0' || std::strcmp(env, "v2") == 0) return OptimKernel::V2MultiTensor;
  if (std::strcmp(env, "v1") == 0) return OptimKernel::V1PerTensor;
  detail::throw_error(op, ": LOOM_CUDA_OPTIM must be v1 (one launch per parameter) or v2 (multi-tensor), got '",
                      env, "'");
}

// One parameter of a launch group: its Depth dense device pointers, size and scalars.
template <int Depth>
struct TensorJob {
  void* ptrs[Depth];
  int64_t n;
  PerTensorScalars scalars;
};

template <int Depth, class F>
void launch_v1(const std::vector<TensorJob<Depth>>& jobs, const F& f, cudaStream_t stream) {
  for (const TensorJob<Depth>& job : jobs) {
    TensorPointers<Depth> t;
    for (int d = 0; d < Depth; ++d) t.ptrs[d] = job.ptrs[d];
    optim_v1_per_tensor<Depth><<<blocks_for(job.n), kThreads, 0, stream>>>(t, job.n, job.scalars, f);
    LOOM_CUDA_CHECK_LAUNCH("optim_v1_per_tensor");
  }
}

// Fills TensorListMeta with parameters and their chunks, launching whenever the
// block table or the parameter list is full; a parameter whose chunks do not
// all fit continues in the next launch (it becomes slot 0 there).
template <int Depth, class F>
void launch_v2(const std::vector<TensorJob<Depth>>& jobs, const F& f, cudaStream_t stream) {
  TensorListMeta<Depth> meta{};  // all zero
  int tensors = 0, blocks = 0;
  auto put = [&](int slot, const TensorJob<Depth>& job) {
    for (int d = 0; d < Depth; ++d) meta.ptrs[d][slot] = job.ptrs[d];
    meta.sizes[slot] = job.n;
    meta.scalars[slot] = job.scalars;
  };
  for (size_t k = 0; k < jobs.size(); ++k) {
    const TensorJob<Depth>& job = jobs[k];
    const int64_t chunks = (job.n + kChunkSize - 1) / kChunkSize;
    LOOM_CHECK(chunks <= INT32_MAX, "optim_v2_multi_tensor: a parameter of ", job.n, " elements has too many chunks");
    put(tensors, job);
    ++tensors;
    for (int64_t c = 0; c < chunks; ++c) {
      meta.block_to_tensor[blocks] = static_cast<unsigned char>(tensors - 1);
      meta.block_to_chunk[blocks] = static_cast<int>(c);
      ++blocks;
      const bool last_chunk = c == chunks - 1;
      const bool full = blocks == kMaxBlocks || (tensors == kMaxTensors && last_chunk);
      if (full || (last_chunk && k + 1 == jobs.size())) {
        optim_v2_multi_tensor<Depth><<<blocks, kOptimThreads, 0, stream>>>(meta, f);
        LOOM_CUDA_CHECK_LAUNCH("optim_v2_multi_tensor");
        blocks = 0;
        if (last_chunk) {
          tensors = 0;
        } else {  // the rest of this parameter's chunks go with the next launch
          put(0, job);
          tensors = 1;
        }
      }
    }
  }
}

template <int Depth, class F>
void launch(const std::vector<TensorJob<Depth>>& jobs, const F& f, cudaStream_t stream, OptimKernel kernel) {
  if (jobs.empty()) return;
  if (kernel == OptimKernel::V1PerTensor)
    launch_v1(jobs, f, stream);
  else
    launch_v2(jobs, f, stream);
}

// A dense device tensor to update in place for `t`, written back when it was a copy.
struct InPlace {
  Tensor target, work;
  explicit InPlace(const Tensor& t) : target(t), work(dense(t)) {}
  void write_back() {
    if (!work.is_same(target)) target.copy_(work);
  }
};

// The parameters of one call: dense work tensors kept alive until every launch
// is queued, then written back where they were copies.
struct WorkTensors {
  std::vector<InPlace> updated;  // param and moments
  std::vector<Tensor> read;      // dense grads
  void* in_place(const Tensor& t) {
    updated.emplace_back(t);
    return updated.back().work.raw_data();
  }
  void* readonly(const Tensor& t) {
    read.push_back(dense(t));
    return read.back().raw_data();
  }
  void write_back() {
    for (InPlace& u : updated) u.write_back();
  }
};

}  // namespace

void adam_update(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                 const std::vector<Tensor>& exp_avgs, const std::vector<Tensor>& exp_avg_sqs,
                 const std::vector<Tensor>& max_exp_avg_sqs, const std::vector<int64_t>& steps,
                 const AdamUpdateOptions& opt) {
  optim_update::check_adam_args(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps, opt, true);
  if (params.empty()) return;
  const OptimKernel kernel = chosen_kernel("adam_update");
  set_device_of(params[0]);
  const cudaStream_t stream = stream_of(params[0]);
  WorkTensors work;
  work.updated.reserve(params.size() * 4);
  work.read.reserve(params.size());
  for (DType dtype : {DType::Float32, DType::Float64}) {
    LOOM_DISPATCH_FLOATING(dtype, "adam_update", [&] {
      const AdamScalars<scalar_t> s = optim_update::adam_scalars<scalar_t>(opt);
      auto run = [&]<int Depth>() {
        std::vector<TensorJob<Depth>> jobs;
        for (size_t k = 0; k < params.size(); ++k) {
          if (params[k].dtype() != dtype || params[k].numel() == 0) continue;
          TensorJob<Depth> job;
          job.ptrs[0] = work.in_place(params[k]);
          job.ptrs[1] = work.readonly(grads[k]);
          job.ptrs[2] = work.in_place(exp_avgs[k]);
          job.ptrs[3] = work.in_place(exp_avg_sqs[k]);
          if constexpr (Depth == 5) job.ptrs[4] = work.in_place(max_exp_avg_sqs[k]);
          job.n = params[k].numel();
          const optim_update::AdamStepCoefficients c = optim_update::adam_step_coefficients(opt, steps[k]);
          job.scalars = {c.step_size, c.bias_correction2_sqrt};
          jobs.push_back(job);
        }
        launch(jobs, AdamFunctor<scalar_t, Depth>{s}, stream, kernel);
      };
      if (opt.amsgrad)
        run.template operator()<5>();
      else
        run.template operator()<4>();
    });
  }
  work.write_back();
}

void sgd_update(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                const std::vector<Tensor>& momentum_buffers, const std::vector<uint8_t>& first_step,
                const SgdUpdateOptions& opt) {
  optim_update::check_sgd_args(params, grads, momentum_buffers, first_step, opt, true);
  if (params.empty()) return;
  const OptimKernel kernel = chosen_kernel("sgd_update");
  set_device_of(params[0]);
  const cudaStream_t stream = stream_of(params[0]);
  const bool use_momentum = opt.momentum != 0;
  WorkTensors work;
  work.updated.reserve(params.size() * 2);
  work.read.reserve(params.size());
  for (DType dtype : {DType::Float32, DType::Float64}) {
    LOOM_DISPATCH_FLOATING(dtype, "sgd_update", [&] {
      const SgdScalars<scalar_t> s = optim_update::sgd_scalars<scalar_t>(opt);
      auto run = [&]<int Depth>() {
        std::vector<TensorJob<Depth>> jobs;
        for (size_t k = 0; k < params.size(); ++k) {
          if (params[k].dtype() != dtype || params[k].numel() == 0) continue;
          TensorJob<Depth> job;
          job.ptrs[0] = work.in_place(params[k]);
          job.ptrs[1] = work.readonly(grads[k]);
          if constexpr (Depth == 3) job.ptrs[2] = work.in_place(momentum_buffers[k]);
          job.n = params[k].numel();
          job.scalars = {use_momentum && first_step[k] != 0 ? 1.0 : 0.0, 0.0};
          jobs.push_back(job);
        }
        launch(jobs, SgdFunctor<scalar_t, Depth>{s}, stream, kernel);
      };
      if (use_momentum)
        run.template operator()<3>();
      else
        run.template operator()<2>();
    });
  }
  work.write_back();
}

}  // namespace loom::cuda
