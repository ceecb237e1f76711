// cuda_layers.h: the convolution layers of loom's models whose shapes the GPU
// benchmarks use (bench_cuda_conv times them, bench_cuda_gemm times the matrix
// products they turn into), with their flop counts and GEMM forms. Square
// images and kernels throughout. Sources (the models' own definitions):
//   DCGAN 64x64, nz 100, ngf = ndf = 64 (models/dcgan.h; train_dcgan batch 64,
//     and 128 as in the DCGAN paper):
//     G: ConvTranspose2d 100->512 k4 s1 p0 (1->4), then k4 s2 p1: 512->256 (4->8),
//        256->128 (8->16), 128->64 (16->32), 64->3 (32->64)
//     D: Conv2d k4 s2 p1: 3->64 (64->32), 64->128 (32->16), 128->256 (16->8),
//        256->512 (8->4), then 512->1 k4 s1 p0 (4->1)
//   WAE 64x64x3, width 64, latent 64, batch 64 (models/wae.h, train_wae defaults):
//     its encoder convs are D1..D4 above and its decoder's transposed convs G2..G5,
//     so only its two Linear layers add GEMM shapes: 8192->64 and 64->8192.
//   U-Net 64x64x3, width 64, depth 4, transposed-conv up, batch 64 (models/unet.h,
//     train_unet defaults): 3x3 pad 1 convs (DoubleConv) at 64, 32, 16, 8, 4 px,
//     ConvTranspose2d k2 s2 ups, a 1x1 output conv; a representative subset below.
//
// GEMM forms (row-major, C (M, N) = A (M, K) B (K, N)):
//   conv2d forward, implicit GEMM:   M = N*OH*OW, N = OC, K = C*KH*KW
//   conv_transpose2d forward, the GEMM before col2im (cols = x^T W):
//                                    M = N*H*W,  N = OC*KH*KW, K = IC
//   (both count 2*M*N*K flops, which equals the layer's flops below).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace loom::cuda_bench {

struct ConvLayer {
  std::string name;  // e.g. "dcgan_b64_G2_512x4x4_to_256x8x8"
  bool transposed;   // ConvTranspose2d (weight (IC, OC, K, K)) or Conv2d (weight (OC, IC, K, K))
  int64_t batch, in_ch, out_ch, in_size, kernel, stride, pad;

  int64_t out_size() const {
    return transposed ? (in_size - 1) * stride - 2 * pad + kernel : (in_size + 2 * pad - kernel) / stride + 1;
  }
  // 2 flops per multiply-add over every kernel tap:
  //   conv2d            2 N OC OH OW C K K
  //   conv_transpose2d  2 N IC H W OC K K   (each input pixel spreads the kernel)
  // Backward-input and backward-weight do the same number of multiply-adds.
  double flops() const {
    const double taps = static_cast<double>(in_ch) * out_ch * kernel * kernel;
    const double pixels = transposed ? static_cast<double>(in_size) * in_size
                                     : static_cast<double>(out_size()) * out_size();
    return 2.0 * batch * pixels * taps;
  }
  struct Gemm {
    int64_t m, n, k;
  };
  Gemm forward_gemm() const {
    const int64_t o = out_size();
    if (transposed) return {batch * in_size * in_size, out_ch * kernel * kernel, in_ch};
    return {batch * o * o, out_ch, in_ch * kernel * kernel};
  }
};

// "<model>_b<batch>_<tag>_<C>x<H>x<H>_to_<OC>x<OH>x<OH>"
inline ConvLayer make_layer(const std::string& model, const std::string& tag, bool transposed, int64_t batch,
                            int64_t in_ch, int64_t out_ch, int64_t in_size, int64_t kernel, int64_t stride,
                            int64_t pad) {
  ConvLayer L{"", transposed, batch, in_ch, out_ch, in_size, kernel, stride, pad};
  const int64_t o = L.out_size();
  L.name = model + "_b" + std::to_string(batch) + "_" + tag + "_" + std::to_string(in_ch) + "x" +
           std::to_string(in_size) + "x" + std::to_string(in_size) + "_to_" + std::to_string(out_ch) + "x" +
           std::to_string(o) + "x" + std::to_string(o);
  return L;
}

// DCGAN 64px generator and discriminator at one batch size.
inline std::vector<ConvLayer> dcgan_layers(int64_t b) {
  return {
      make_layer("dcgan", "G1", true, b, 100, 512, 1, 4, 1, 0),
      make_layer("dcgan", "G2", true, b, 512, 256, 4, 4, 2, 1),
      make_layer("dcgan", "G3", true, b, 256, 128, 8, 4, 2, 1),
      make_layer("dcgan", "G4", true, b, 128, 64, 16, 4, 2, 1),
      make_layer("dcgan", "G5", true, b, 64, 3, 32, 4, 2, 1),
      make_layer("dcgan", "D1", false, b, 3, 64, 64, 4, 2, 1),
      make_layer("dcgan", "D2", false, b, 64, 128, 32, 4, 2, 1),
      make_layer("dcgan", "D3", false, b, 128, 256, 16, 4, 2, 1),
      make_layer("dcgan", "D4", false, b, 256, 512, 8, 4, 2, 1),
      make_layer("dcgan", "D5", false, b, 512, 1, 4, 4, 1, 0),
  };
}

// U-Net 64px, width 64, depth 4, batch b: the first and widest-image convs,
// a middle one, the deepest, an up-convolution and the decoder conv after it,
// and the 1x1 output.
inline std::vector<ConvLayer> unet_layers(int64_t b) {
  return {
      make_layer("unet", "inc0", false, b, 3, 64, 64, 3, 1, 1),
      make_layer("unet", "inc1", false, b, 64, 64, 64, 3, 1, 1),
      make_layer("unet", "down2_0", false, b, 128, 256, 16, 3, 1, 1),
      make_layer("unet", "down4_1", false, b, 1024, 1024, 4, 3, 1, 1),
      make_layer("unet", "up1_up", true, b, 1024, 512, 4, 2, 2, 0),
      make_layer("unet", "up4_up", true, b, 128, 64, 32, 2, 2, 0),
      make_layer("unet", "up4_conv0", false, b, 128, 64, 64, 3, 1, 1),
      make_layer("unet", "outc", false, b, 64, 1, 64, 1, 1, 0),
  };
}

// Every layer the conv benchmark times: DCGAN at batch 64 and 128, U-Net at 64.
inline std::vector<ConvLayer> benchmark_conv_layers() {
  std::vector<ConvLayer> all = dcgan_layers(64);
  for (const ConvLayer& L : dcgan_layers(128)) all.push_back(L);
  for (const ConvLayer& L : unet_layers(64)) all.push_back(L);
  return all;
}

}  // namespace loom::cuda_bench
