// loader.h: the DataLoader, which turns a Dataset into batches.
//
// Order. Epoch e visits the dataset in the order epoch_order(e): 0..n-1, or
// with shuffle a random permutation drawn by randperm from the Philox stream
// of `seed` starting at counter block e * 2^32. Each epoch's order therefore
// depends only on (seed, epoch): the same seed gives the same batches on every
// machine, and any epoch can be entered directly (no replay of earlier ones).
// Batch b of an epoch holds order[b*B .. (b+1)*B); the last, shorter batch is
// dropped when drop_last.
//
// Threads. With num_workers > 0, worker threads load batches ahead of the
// consumer: a worker claims the next batch number not yet taken and loads all
// of it, and next() hands the batches out strictly by number. What a batch
// holds is fixed by its number alone, so the sequence of batches is the same
// for 0, 1 or 16 workers. At most num_workers * prefetch batches wait loaded.
// The workers stop at the end of an epoch; the next epoch's first batches
// start loading when next() first asks for one of them.
//
// Resuming. cursor() is (seed, epoch, position = batches of the epoch already
// handed out); restore(cursor) makes the loader hand out exactly the batches a
// run that had not stopped would have. LoaderCursor::to_string/parse give it a
// one-line text form for checkpoints ("epoch=3 position=17 seed=42").
//
// Errors. A sample that cannot be loaded (a corrupt image, a missing mask, a
// size mismatch) makes next() throw the reader's error; the cursor stays
// before that batch, so a later next() tries it again.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "data/dataset.h"

namespace loom::data {

struct Batch {
  Tensor images;                                             // (N, C, H, W) float32 in [0, 1]
  Tensor masks;                                              // (N, 1, H, W) float32 0/1; all zero for good images
  Tensor labels;                                             // (N) int64, 0 good, 1 defective
  std::vector<int64_t> indices;                              // (N) the dataset index of each row
  std::vector<std::string> paths, defect_types, categories;  // (N) each
};

// Loads samples `indices` of `dataset` and stacks them. All images must have
// the same size (else an error naming two paths that differ).
Batch make_batch(const Dataset& dataset, const std::vector<int64_t>& indices);

struct LoaderOptions {
  int64_t batch_size = 1;
  bool shuffle = false;
  bool drop_last = false;
  uint64_t seed = 0;    // the shuffle's Philox seed
  int num_workers = 0;  // 0: load in the calling thread, inside next()
  int prefetch = 2;     // batches loaded ahead per worker
};

struct LoaderCursor {
  uint64_t seed = 0;
  int64_t epoch = 0;
  int64_t position = 0;  // batches of `epoch` already handed out
  bool operator==(const LoaderCursor&) const = default;
  std::string to_string() const;  // "epoch=3 position=17 seed=42"
  // Parses to_string's form; throws naming the text when it is not that.
  static LoaderCursor parse(const std::string& text);
};

class DataLoader {
 public:
  // Throws when batch_size < 1, num_workers < 0, prefetch < 1, or when the
  // dataset gives no batch at all (empty, or smaller than one batch with drop_last).
  DataLoader(std::shared_ptr<const Dataset> dataset, LoaderOptions options);
  ~DataLoader();
  DataLoader(const DataLoader&) = delete;
  DataLoader& operator=(const DataLoader&) = delete;

  int64_t batches_per_epoch() const { return batches_per_epoch_; }
  const LoaderOptions& options() const { return options_; }
  // The order in which epoch `epoch` visits the dataset indices.
  std::vector<int64_t> epoch_order(int64_t epoch) const;

  // The next batch of the current epoch, or nullopt when the epoch is over; the
  // cursor then moves to the start of the next epoch. One epoch:
  //   while (auto batch = loader.next()) { ... }
  std::optional<Batch> next();
  // The next batch, entering the next epoch when the current one is over
  // (for training loops counted in steps).
  Batch next_cycling();

  LoaderCursor cursor() const { return cursor_; }
  // Continues from `cursor` (its seed replaces options().seed). Throws when the
  // position is outside [0, batches_per_epoch()].
  void restore(const LoaderCursor& cursor);

 private:
  class Prefetcher;
  std::vector<int64_t> batch_indices(int64_t batch) const;  // of the current epoch
  void start_epoch_prefetch();

  std::shared_ptr<const Dataset> dataset_;
  LoaderOptions options_;
  int64_t batches_per_epoch_ = 0;
  LoaderCursor cursor_;
  std::vector<int64_t> order_;              // (n) the current epoch's order
  std::unique_ptr<Prefetcher> prefetcher_;  // null without workers or until needed
};

}  // namespace loom::data
