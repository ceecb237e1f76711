// cmd_eval_gen.cpp: `loom eval-gen`, the generation quality of a generator run
// or a folder of generated images against real images (eval_gen.h).
//
//   loom eval-gen --generator RUN --real DIR [--n 500] [--seed 0] [--vgg19 FILE] [--out report.json]
//   loom eval-gen --fake DIR --real DIR [--image S] ...
#include <cstdio>
#include <memory>

#include "trainers/command.h"
#include "trainers/eval_gen.h"

namespace {

loom::cli::CommandRegistration registration{
    "eval-gen", [](CLI::App& app) {
      auto o = std::make_shared<loom::eval::EvalGenOptions>();
      auto* cmd = app.add_subcommand(
          "eval-gen",
          "generation quality against real images: KID, FID and a clustered diversity score on texture features "
          "(the cgan extractor: fixed random network, or VGG19 with --vgg19; not Inception, so not comparable with "
          "published figures)");
      cmd->add_option("--generator", o->generator,
                      "a dcgan or cgan run directory (its newest checkpoint) or checkpoint");
      cmd->add_option("--fake", o->fake_dir, "instead of --generator: a folder of generated images (any depth)");
      cmd->add_option("--real", o->real,
                      "the real images: a folder (any depth), or a dataset in MVTec AD / DAGM / AITEX layout (its "
                      "good images)")
          ->required();
      cmd->add_option("--category", o->category, "datasets: only this category");
      cmd->add_option("--n", o->n, "images drawn from the generator")->capture_default_str();
      cmd->add_option("--seed", o->seed, "seed of the generator's noise, the KID subsets and the k-means seeding")
          ->capture_default_str();
      cmd->add_option("--vgg19", o->vgg19,
                      "VGG19 weights (safetensors, torchvision names) for the features; default: the fixed random "
                      "extractor");
      cmd->add_option("--extractor-seed", o->extractor_seed, "seed of the random extractor's weights")
          ->capture_default_str();
      cmd->add_option("--image", o->image, "with --fake: the image size S (default: the first fake image's height)");
      cmd->add_option("--kid-subset-size", o->kid_subset_size,
                      "images per KID subset (0: half the smaller set, at most 1000)")
          ->capture_default_str();
      cmd->add_option("--kid-subsets", o->kid_subsets, "number of KID subsets")->capture_default_str();
      cmd->add_option("--clusters", o->clusters,
                      "diversity: k-means clusters of the real images (0: each real image is a cluster centre; "
                      "-1: min(10, max(1, real images / 4)))")
          ->capture_default_str();
      cmd->add_option("--batch", o->batch, "images through the generator and the extractor at once")
          ->capture_default_str();
      cmd->add_option("--out", o->out_json, "write the report as JSON here");
      cmd->callback([o] {
        const loom::eval::EvalGenReport report = loom::eval::evaluate_generator(*o);
        std::fputs(report.text.c_str(), stdout);
        if (!o->out_json.empty()) std::printf("wrote %s\n", o->out_json.c_str());
      });
    }};

}  // namespace
