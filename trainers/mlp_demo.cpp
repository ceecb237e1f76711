// mlp_demo.cpp: loom's main job until the models land: a 2-layer MLP learns to
// tell two interleaved spirals apart, trained on the CPU with loom's autograd
// and plain SGD with momentum. It prints the loss every few steps; the loss
// falls from log 2 = 0.693 towards 0 and the accuracy rises towards 100%.
//
//   loom_mlp_demo [--steps N] [--hidden H] [--lr LR] [--seed S] [--points P]
//
// The data is procedural (no files): class c in {0, 1}, radius r = t, angle
// theta = 3 pi t + c pi + noise, point (r cos theta, r sin theta), t in (0, 1].
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "autograd/functions.h"
#include "autograd/grad_mode.h"
#include "tensor/random.h"

using namespace loom;

namespace {

struct Args {
  int steps = 1500;
  int hidden = 64;
  double lr = 0.3;
  uint64_t seed = 0;
  int points = 512;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    auto value = [&](const char* name) -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "loom_mlp_demo: %s needs a value\n", name);
        std::exit(2);
      }
      return argv[++i];
    };
    if (k == "--steps") a.steps = std::atoi(value("--steps"));
    else if (k == "--hidden") a.hidden = std::atoi(value("--hidden"));
    else if (k == "--lr") a.lr = std::atof(value("--lr"));
    else if (k == "--seed") a.seed = std::strtoull(value("--seed"), nullptr, 10);
    else if (k == "--points") a.points = std::atoi(value("--points"));
    else {
      std::fprintf(stderr,
                   "usage: loom_mlp_demo [--steps N] [--hidden H] [--lr LR] [--seed S] [--points P]\n"
                   "unknown argument: %s\n", k.c_str());
      std::exit(2);
    }
  }
  if (a.steps <= 0 || a.hidden <= 0 || a.points < 2 || !(a.lr > 0)) {
    std::fprintf(stderr, "loom_mlp_demo: steps, hidden, lr must be positive and points >= 2\n");
    std::exit(2);
  }
  return a;
}

// Two spirals: x (P, 2) float32, labels (P) int64.
void make_spirals(int points, Generator& g, Tensor& x, Tensor& labels) {
  Tensor t = uniform({points}, 0.05, 1.0, g, DType::Float64);
  Tensor noise = normal({points}, 0.0, 0.15, g, DType::Float64);
  std::vector<double> tv = t.to_vector<double>(), nv = noise.to_vector<double>();
  std::vector<float> xs(points * 2);
  std::vector<int64_t> ls(points);
  for (int i = 0; i < points; ++i) {
    const int c = i % 2;
    const double theta = 3.0 * M_PI * tv[i] + c * M_PI + nv[i];
    xs[2 * i] = static_cast<float>(tv[i] * std::cos(theta));
    xs[2 * i + 1] = static_cast<float>(tv[i] * std::sin(theta));
    ls[i] = c;
  }
  x = Tensor::from_vector(xs, {points, 2});
  labels = Tensor::from_vector(ls, {points});
}

// A parameter initialised like PyTorch's nn.Linear: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
Tensor param(const Shape& shape, int64_t fan_in, Generator& g) {
  const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
  Tensor p = uniform(shape, -bound, bound, g);
  p.requires_grad_();
  return p;
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = parse(argc, argv);
  try {
    Generator g(args.seed);
    Tensor x, labels;
    make_spirals(args.points, g, x, labels);

    // The network: logits = W2 tanh(W1 x + b1) + b2, shapes (H,2) (H) (2,H) (2).
    std::vector<Tensor> params = {param({args.hidden, 2}, 2, g), param({args.hidden}, 2, g),
                                  param({2, args.hidden}, args.hidden, g), param({2}, args.hidden, g)};
    std::vector<Tensor> velocity;
    for (const Tensor& p : params) velocity.push_back(Tensor::zeros(p.shape()));
    const double momentum = 0.9;

    std::printf("loom MLP demo: 2 spirals, %d points, 2-%d-2 MLP (tanh), SGD lr %.3g momentum %.2g, %d steps\n",
                args.points, args.hidden, args.lr, momentum, args.steps);
    const auto start = std::chrono::steady_clock::now();
    double first_loss = 0, last_loss = 0;
    for (int step = 1; step <= args.steps; ++step) {
      Tensor hidden = tanh(linear(x, params[0], params[1]));  // (P, H)
      Tensor logits = linear(hidden, params[2], params[3]);   // (P, 2)
      Tensor loss = cross_entropy(logits, labels);
      for (Tensor& p : params) p.set_grad(Tensor());
      loss.backward();
      {
        // v = momentum v + grad; p = p - lr v
        NoGradGuard no_grad;
        for (size_t i = 0; i < params.size(); ++i) {
          velocity[i] = velocity[i] * momentum + params[i].grad();
          params[i].copy_(params[i] - velocity[i] * args.lr);
        }
      }
      last_loss = loss.item();
      if (step == 1) first_loss = last_loss;
      if (!std::isfinite(last_loss)) {
        std::fprintf(stderr, "loom_mlp_demo: loss became %f at step %d; try a smaller --lr\n", last_loss, step);
        return 1;
      }
      if (step == 1 || step % 100 == 0 || step == args.steps) {
        NoGradGuard no_grad;
        Tensor predicted = argmax(logits, 1);
        const double accuracy = mean(eq(predicted, labels).to(DType::Float32)).item();
        std::printf("step %5d  loss %.4f  accuracy %5.1f%%\n", step, last_loss, 100.0 * accuracy);
        std::fflush(stdout);
      }
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("done: loss %.4f -> %.4f in %.2f s\n", first_loss, last_loss, secs);
  } catch (const Error& e) {
    std::fprintf(stderr, "loom_mlp_demo: %s\n", e.what());
    return 1;
  }
  return 0;
}
