// pipeline_inputs.h: the checks `loom pipeline` (pipeline.h) runs on its
// source and target datasets before any stage, so that a bad input fails at
// once with an error naming the dataset and what is wrong, not after minutes
// of training:
//   source   MVTec AD layout; defective test images, each with a mask of its
//            image's size (stage 1 cuts its defect crops from them, stage 2
//            its fusion pairs); train/good images (the conditions' texture)
//   target   MVTec AD layout; the chosen categories exist and each has
//            train/good images (stage 3 pastes defects into them); defective
//            test images with masks of the right size (the evaluation)
//   both     (given datasets) different folders without a shared category:
//            the target's defects must stay unseen until the evaluation
// Mask sizes are read from the PNG headers (no image is decoded).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace loom::eval {

// Returns the number of defective test images. Throws naming `root` (as
// "--source ROOT") and the problem.
int64_t check_pipeline_source(const std::string& root);

// The target's categories: `wanted` (each checked to exist), or all of them.
// Throws naming `root` (as "--target ROOT") and the problem.
std::vector<std::string> check_pipeline_target(const std::string& root, const std::vector<std::string>& wanted);

// Refuses a target whose defects stages 1 and 2 could have seen: `target` is
// the same folder as `source` (std::filesystem::equivalent), or one of
// `target_categories` is also a category of the source. Names both datasets
// (and the shared categories).
void check_pipeline_disjoint(const std::string& source, const std::string& target,
                             const std::vector<std::string>& target_categories);

// "a,b,c" -> {"a", "b", "c"} (empty names dropped).
std::vector<std::string> split_names(const std::string& text);

}  // namespace loom::eval
