// loader.cpp: batching, the per-epoch order, the prefetching workers and the
// cursor (see loader.h).
#include "data/loader.h"

#include <condition_variable>
#include <exception>
#include <functional>
#include <map>
#include <mutex>
#include <numeric>
#include <sstream>
#include <thread>

#include "tensor/error.h"
#include "tensor/random.h"

namespace loom::data {

namespace {

// Philox counter blocks reserved per epoch: epoch e draws from block e * 2^32 on.
constexpr uint64_t kBlocksPerEpoch = uint64_t{1} << 32;

}  // namespace

Batch make_batch(const Dataset& dataset, const std::vector<int64_t>& indices) {
  LOOM_CHECK(!indices.empty(), "make_batch: no indices");
  const int64_t n = static_cast<int64_t>(indices.size());
  std::vector<Sample> samples;
  samples.reserve(indices.size());
  for (int64_t index : indices) samples.push_back(dataset.get(index));
  const Shape& chw = samples[0].image.shape();  // (C, H, W)
  LOOM_CHECK(chw.size() == 3, "make_batch: image ", samples[0].path, " is not (C, H, W) but ", shape_str(chw));
  Batch batch;
  batch.images = Tensor::empty({n, chw[0], chw[1], chw[2]}, DType::Float32);  // (N, C, H, W)
  batch.masks = Tensor::zeros({n, 1, chw[1], chw[2]}, DType::Float32);        // (N, 1, H, W)
  std::vector<int64_t> labels;
  for (int64_t i = 0; i < n; ++i) {
    const Sample& s = samples[static_cast<size_t>(i)];
    LOOM_CHECK(s.image.shape() == chw, "make_batch: cannot stack images of different sizes: ", samples[0].path, " is ",
               shape_str(chw), " (C, H, W) but ", s.path, " is ", shape_str(s.image.shape()),
               "; set DatasetOptions height and width to resize them");
    batch.images.select(0, i).copy_(s.image);
    if (s.mask.defined()) {
      LOOM_CHECK(s.mask.shape() == Shape({1, chw[1], chw[2]}), "make_batch: mask of ", s.path, " is ",
                 shape_str(s.mask.shape()), ", expected ", shape_str({1, chw[1], chw[2]}));
      batch.masks.select(0, i).copy_(s.mask);
    }
    labels.push_back(s.label);
    batch.paths.push_back(s.path);
    batch.defect_types.push_back(s.defect_type);
    batch.categories.push_back(s.category);
  }
  batch.labels = Tensor::from_vector(labels, {n});  // (N) int64
  batch.indices = indices;
  return batch;
}

// ---- LoaderCursor ------------------------------------------------------------

std::string LoaderCursor::to_string() const {
  return "epoch=" + std::to_string(epoch) + " position=" + std::to_string(position) + " seed=" + std::to_string(seed);
}

LoaderCursor LoaderCursor::parse(const std::string& text) {
  std::istringstream in(text);
  LoaderCursor cursor;
  std::string epoch, position, seed, extra;
  in >> epoch >> position >> seed;
  const bool ok =
      epoch.starts_with("epoch=") && position.starts_with("position=") && seed.starts_with("seed=") && !(in >> extra);
  try {
    LOOM_CHECK(ok, "");
    size_t used = 0;
    cursor.epoch = std::stoll(epoch.substr(6), &used);
    LOOM_CHECK(used == epoch.size() - 6 && cursor.epoch >= 0, "");
    cursor.position = std::stoll(position.substr(9), &used);
    LOOM_CHECK(used == position.size() - 9 && cursor.position >= 0, "");
    LOOM_CHECK(seed.size() > 5 && seed[5] != '-', "");
    cursor.seed = std::stoull(seed.substr(5), &used);
    LOOM_CHECK(used == seed.size() - 5, "");
  } catch (const std::exception&) {
    detail::throw_error("LoaderCursor::parse: '", text, "' is not of the form 'epoch=E position=P seed=S' ",
                        "(non-negative integers)");
  }
  return cursor;
}

// ---- the prefetching workers -------------------------------------------------

// Loads batches [first, end) of one epoch on `workers` threads, at most `depth`
// beyond the next one to be taken, and hands them out in order.
class DataLoader::Prefetcher {
 public:
  Prefetcher(std::function<Batch(int64_t)> load, int64_t first, int64_t end, int workers, int64_t depth)
      : load_(std::move(load)), next_claim_(first), next_take_(first), end_(end), depth_(depth) {
    for (int w = 0; w < workers; ++w) threads_.emplace_back([this] { work(); });
  }

  ~Prefetcher() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    changed_.notify_all();
    for (std::thread& t : threads_) t.join();
  }

  // Batch `number`, which must be the next in order; waits until it is loaded
  // and rethrows the error its loading raised.
  Batch take(int64_t number) {
    std::unique_lock lock(mutex_);
    LOOM_CHECK(number == next_take_, "DataLoader: internal error, batch ", number, " asked, ", next_take_, " is next");
    changed_.wait(lock, [&] { return ready_.count(number) > 0; });
    Loaded item = std::move(ready_.at(number));
    ready_.erase(number);
    ++next_take_;
    lock.unlock();
    changed_.notify_all();
    if (item.error) std::rethrow_exception(item.error);
    return std::move(item.batch);
  }

 private:
  struct Loaded {
    Batch batch;
    std::exception_ptr error;
  };

  void work() {
    std::unique_lock lock(mutex_);
    for (;;) {
      changed_.wait(lock, [&] { return stop_ || next_claim_ >= end_ || next_claim_ < next_take_ + depth_; });
      if (stop_ || next_claim_ >= end_) return;
      const int64_t number = next_claim_++;
      lock.unlock();
      Loaded item;
      try {
        item.batch = load_(number);
      } catch (...) {
        item.error = std::current_exception();
      }
      lock.lock();
      ready_.emplace(number, std::move(item));
      changed_.notify_all();
    }
  }

  std::function<Batch(int64_t)> load_;
  std::mutex mutex_;
  std::condition_variable changed_;
  int64_t next_claim_, next_take_;  // the next batch a worker loads / next() takes
  const int64_t end_, depth_;
  bool stop_ = false;
  std::map<int64_t, Loaded> ready_;  // loaded, not yet taken
  std::vector<std::thread> threads_;
};

// ---- DataLoader --------------------------------------------------------------

DataLoader::DataLoader(std::shared_ptr<const Dataset> dataset, LoaderOptions options)
    : dataset_(std::move(dataset)), options_(options) {
  LOOM_CHECK(dataset_ != nullptr, "DataLoader: no dataset");
  LOOM_CHECK(options_.batch_size >= 1, "DataLoader: batch_size must be >= 1, got ", options_.batch_size);
  LOOM_CHECK(options_.num_workers >= 0, "DataLoader: num_workers must be >= 0, got ", options_.num_workers);
  LOOM_CHECK(options_.prefetch >= 1, "DataLoader: prefetch must be >= 1, got ", options_.prefetch);
  const int64_t n = dataset_->size();
  LOOM_CHECK(n < static_cast<int64_t>(kBlocksPerEpoch), "DataLoader: dataset of ", n, " samples is too large");
  batches_per_epoch_ =
      options_.drop_last ? n / options_.batch_size : (n + options_.batch_size - 1) / options_.batch_size;
  LOOM_CHECK(batches_per_epoch_ > 0, "DataLoader: a dataset of ", n, " samples gives no batch of ", options_.batch_size,
             options_.drop_last ? " with drop_last" : "");
  cursor_ = {options_.seed, 0, 0};
  order_ = epoch_order(0);
}

DataLoader::~DataLoader() = default;

std::vector<int64_t> DataLoader::epoch_order(int64_t epoch) const {
  LOOM_CHECK(epoch >= 0, "DataLoader: epoch must be >= 0, got ", epoch);
  const int64_t n = dataset_->size();
  if (!options_.shuffle) {
    std::vector<int64_t> order(static_cast<size_t>(n));
    std::iota(order.begin(), order.end(), 0);
    return order;
  }
  Generator gen(cursor_.seed);
  gen.set_state({cursor_.seed, static_cast<uint64_t>(epoch) * kBlocksPerEpoch});
  return randperm(n, gen).to_vector<int64_t>();
}

std::vector<int64_t> DataLoader::batch_indices(int64_t batch) const {
  const int64_t bs = options_.batch_size, n = static_cast<int64_t>(order_.size());
  const int64_t begin = batch * bs, end = std::min(n, begin + bs);
  return std::vector<int64_t>(order_.begin() + begin, order_.begin() + end);
}

void DataLoader::start_epoch_prefetch() {
  prefetcher_ = std::make_unique<Prefetcher>([this](int64_t b) { return make_batch(*dataset_, batch_indices(b)); },
                                             cursor_.position, batches_per_epoch_, options_.num_workers,
                                             int64_t{options_.num_workers} * options_.prefetch);
}

std::optional<Batch> DataLoader::next() {
  if (cursor_.position >= batches_per_epoch_) {
    prefetcher_.reset();  // before order_ changes: the workers read it
    cursor_ = {cursor_.seed, cursor_.epoch + 1, 0};
    order_ = epoch_order(cursor_.epoch);
    return std::nullopt;
  }
  Batch batch;
  if (options_.num_workers == 0) {
    batch = make_batch(*dataset_, batch_indices(cursor_.position));
  } else {
    if (!prefetcher_) start_epoch_prefetch();
    try {
      batch = prefetcher_->take(cursor_.position);
    } catch (...) {
      prefetcher_.reset();  // the next call starts over at this batch
      throw;
    }
  }
  ++cursor_.position;
  return batch;
}

Batch DataLoader::next_cycling() {
  if (std::optional<Batch> batch = next()) return std::move(*batch);
  return std::move(*next());  // a fresh epoch has at least one batch
}

void DataLoader::restore(const LoaderCursor& cursor) {
  LOOM_CHECK(cursor.epoch >= 0 && cursor.position >= 0 && cursor.position <= batches_per_epoch_,
             "DataLoader::restore: cursor '", cursor.to_string(), "' is outside this loader's epochs of ",
             batches_per_epoch_, " batches (a different dataset or batch size?)");
  prefetcher_.reset();
  cursor_ = cursor;
  order_ = epoch_order(cursor_.epoch);
}

}  // namespace loom::data
