// test_loader.cpp: the DataLoader (data/loader.h) over an in-memory dataset
// whose sample i is an image filled with the value i, so every batch shows
// which samples it holds. Checks: plain order, drop_last, every sample once
// per epoch, same seed same order and different seeds different orders, the
// documented shuffle (randperm of the epoch's Philox stream), the same batches
// with 0, 1 and 4 worker threads, cursor save/restore mid-epoch and across an
// epoch end, cursor text form, errors from samples and from mixed sizes.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <numeric>
#include <thread>

#include "data/loader.h"
#include "tensor/error.h"
#include "tensor/random.h"
#include "tests/test_util.h"

namespace loom::data {
namespace {

using loom::testing::expect_error_containing;

// Sample i: image (1, 2, 3) filled with i; every third sample (i % 3 == 0) is
// defective with a mask marking pixel (i % 2, i % 3). Sample `broken` throws;
// sample `odd_size` is (1, 3, 3). With `uneven` set, loading sample i takes
// (i * 37 % 5) * 0.2 ms, so that worker threads finish batches out of order.
class CountingDataset : public Dataset {
 public:
  explicit CountingDataset(int64_t n, int64_t broken = -1, int64_t odd_size = -1, bool uneven = false)
      : n_(n), broken_(broken), odd_size_(odd_size), uneven_(uneven) {}
  int64_t size() const override { return n_; }
  Sample get(int64_t i) const override {
    if (uneven_) std::this_thread::sleep_for(std::chrono::microseconds(200 * (i * 37 % 5)));
    LOOM_CHECK(i != broken_, "CountingDataset: sample ", i, " is broken");
    Sample s;
    s.path = "sample" + std::to_string(i);
    s.image = Tensor::full({1, i == odd_size_ ? 3 : 2, 3}, static_cast<double>(i));
    s.label = i % 3 == 0 ? 1 : 0;
    s.defect_type = s.label ? "dot" : "good";
    if (s.label) {
      s.mask = Tensor::zeros({1, 2, 3});
      s.mask.data<float>()[(i % 2) * 3 + i % 3] = 1.0f;
    }
    return s;
  }

 private:
  int64_t n_, broken_, odd_size_;
  bool uneven_;
};

std::shared_ptr<const Dataset> counting(int64_t n) { return std::make_shared<CountingDataset>(n); }

// What a batch holds, in a comparable form: its indices, and the image values
// read back from the tensor (which must agree with the indices).
std::vector<int64_t> rows_of(const Batch& batch) {
  const int64_t n = batch.images.size(0);
  std::vector<int64_t> rows;
  for (int64_t i = 0; i < n; ++i) {
    const double v = batch.images.at({i, 0, 0, 0});
    EXPECT_EQ(static_cast<double>(batch.indices[static_cast<size_t>(i)]), v) << "row " << i;
    rows.push_back(static_cast<int64_t>(v));
  }
  return rows;
}

// The rows of the next `count` batches, crossing epoch ends.
std::vector<std::vector<int64_t>> take_cycling(DataLoader& loader, int count) {
  std::vector<std::vector<int64_t>> batches;
  for (int k = 0; k < count; ++k) batches.push_back(rows_of(loader.next_cycling()));
  return batches;
}

// The rows of every batch of the current epoch.
std::vector<std::vector<int64_t>> take_epoch(DataLoader& loader) {
  std::vector<std::vector<int64_t>> batches;
  while (std::optional<Batch> batch = loader.next()) batches.push_back(rows_of(*batch));
  return batches;
}

std::vector<int64_t> flatten(const std::vector<std::vector<int64_t>>& batches) {
  std::vector<int64_t> all;
  for (const auto& b : batches) all.insert(all.end(), b.begin(), b.end());
  return all;
}

TEST(DataLoader, WithoutShuffleBatchesFollowTheDataset) {
  DataLoader loader(counting(10), {.batch_size = 3});
  EXPECT_EQ(loader.batches_per_epoch(), 4);
  EXPECT_EQ(take_epoch(loader), (std::vector<std::vector<int64_t>>{{0, 1, 2}, {3, 4, 5}, {6, 7, 8}, {9}}));
  EXPECT_EQ(loader.cursor(), (LoaderCursor{0, 1, 0}));
  EXPECT_EQ(take_epoch(loader).size(), 4u);  // the next epoch starts over
}

TEST(DataLoader, BatchTensorsHoldImagesMasksAndLabels) {
  DataLoader loader(counting(6), {.batch_size = 6});
  const Batch batch = *loader.next();
  EXPECT_EQ(batch.images.shape(), Shape({6, 1, 2, 3}));
  EXPECT_EQ(batch.masks.shape(), Shape({6, 1, 2, 3}));
  EXPECT_EQ(batch.labels.dtype(), DType::Int64);
  EXPECT_EQ(batch.labels.to_vector<int64_t>(), (std::vector<int64_t>{1, 0, 0, 1, 0, 0}));
  for (int64_t i = 0; i < 6; ++i)
    for (int64_t y = 0; y < 2; ++y)
      for (int64_t x = 0; x < 3; ++x) {
        EXPECT_EQ(batch.images.at({i, 0, y, x}), static_cast<double>(i));
        const bool marked = i % 3 == 0 && y == i % 2 && x == i % 3;
        EXPECT_EQ(batch.masks.at({i, 0, y, x}), marked ? 1.0 : 0.0) << i << " " << y << " " << x;
      }
  EXPECT_EQ(batch.paths[4], "sample4");
  EXPECT_EQ(batch.defect_types[3], "dot");
}

TEST(DataLoader, DropLastDropsTheShortBatch) {
  DataLoader loader(counting(10), {.batch_size = 3, .drop_last = true});
  EXPECT_EQ(loader.batches_per_epoch(), 3);
  EXPECT_EQ(take_epoch(loader), (std::vector<std::vector<int64_t>>{{0, 1, 2}, {3, 4, 5}, {6, 7, 8}}));
  expect_error_containing([] { DataLoader(counting(2), {.batch_size = 3, .drop_last = true}); },
                          "a dataset of 2 samples gives no batch of 3 with drop_last");
  expect_error_containing([] { DataLoader(counting(2), {.batch_size = 0}); }, "batch_size must be >= 1");
}

TEST(DataLoader, ShuffleVisitsEverySampleOncePerEpoch) {
  DataLoader loader(counting(23), {.batch_size = 4, .shuffle = true, .seed = 5});
  std::vector<std::vector<int64_t>> epochs;
  std::vector<int64_t> all(23);
  std::iota(all.begin(), all.end(), 0);
  for (int e = 0; e < 3; ++e) {
    const auto batches = take_epoch(loader);
    ASSERT_EQ(batches.size(), 6u);
    EXPECT_EQ(batches.back().size(), 3u);  // 23 = 5 * 4 + 3
    std::vector<int64_t> order = flatten(batches), sorted = order;
    std::sort(sorted.begin(), sorted.end());
    EXPECT_EQ(sorted, all) << "epoch " << e;
    epochs.push_back(order);
  }
  EXPECT_NE(epochs[0], all);  // shuffled (23! orders; identity has chance 1/23!)
  EXPECT_NE(epochs[0], epochs[1]);
  EXPECT_NE(epochs[1], epochs[2]);
}

TEST(DataLoader, SameSeedSameOrderDifferentSeedsDiffer) {
  auto order = [](uint64_t seed) {
    DataLoader loader(counting(40), {.batch_size = 8, .shuffle = true, .seed = seed});
    return take_cycling(loader, 12);  // 2.4 epochs
  };
  EXPECT_EQ(order(7), order(7));
  EXPECT_NE(order(7), order(8));
}

TEST(DataLoader, ShuffleIsRandpermOfTheEpochsPhiloxStream) {
  // loader.h: epoch e is randperm(n) drawn from (seed, counter block e * 2^32).
  const uint64_t seed = 1234;
  DataLoader loader(counting(17), {.batch_size = 5, .shuffle = true, .seed = seed});
  for (int64_t e : {0, 1, 5}) {
    Generator gen(seed);
    gen.set_state({seed, static_cast<uint64_t>(e) << 32});
    EXPECT_EQ(loader.epoch_order(e), randperm(17, gen).to_vector<int64_t>()) << "epoch " << e;
  }
  // and the batches follow that order
  DataLoader fresh(counting(17), {.batch_size = 5, .shuffle = true, .seed = seed});
  EXPECT_EQ(flatten(take_epoch(fresh)), loader.epoch_order(0));
  EXPECT_EQ(flatten(take_epoch(fresh)), loader.epoch_order(1));
}

TEST(DataLoader, WorkerThreadsDoNotChangeTheBatches) {
  auto run = [](int workers, int prefetch) {
    auto uneven = std::make_shared<CountingDataset>(37, -1, -1, /*uneven=*/true);
    DataLoader loader(uneven,
                      {.batch_size = 5, .shuffle = true, .seed = 3, .num_workers = workers, .prefetch = prefetch});
    return take_cycling(loader, 20);  // 2.5 epochs of 8 batches
  };
  const auto serial = run(0, 1);
  EXPECT_EQ(run(1, 1), serial);
  EXPECT_EQ(run(1, 3), serial);
  EXPECT_EQ(run(4, 2), serial);
  EXPECT_EQ(run(4, 1), serial);
}

TEST(DataLoader, StoppingMidEpochWithWorkersIsClean) {
  // Destroying a loader whose workers are still prefetching must not hang.
  for (int k = 0; k < 5; ++k) {
    DataLoader loader(counting(64), {.batch_size = 2, .num_workers = 4, .prefetch = 4});
    loader.next();
  }
  SUCCEED();
}

TEST(DataLoader, RestoredCursorGivesTheSameRemainingBatches) {
  const LoaderOptions options{.batch_size = 4, .shuffle = true, .seed = 99, .num_workers = 2};
  DataLoader first(counting(30), options);  // 8 batches per epoch, the last of 2
  take_cycling(first, 8 + 3);               // one epoch and 3 batches
  const std::string saved = first.cursor().to_string();
  EXPECT_EQ(first.cursor(), (LoaderCursor{99, 1, 3}));
  const auto remaining = take_cycling(first, 10);  // crosses the end of epoch 1

  for (int workers : {0, 1, 4}) {
    LoaderOptions other = options;
    other.num_workers = workers;
    other.seed = 0;  // the cursor brings the seed
    DataLoader resumed(counting(30), other);
    resumed.restore(LoaderCursor::parse(saved));
    EXPECT_EQ(take_cycling(resumed, 10), remaining) << workers << " workers";
  }
}

TEST(DataLoader, CursorAtTheEndOfAnEpochResumesWithTheNextEpoch) {
  DataLoader first(counting(12), {.batch_size = 4, .shuffle = true, .seed = 1});
  take_cycling(first, 3);
  const LoaderCursor end = first.cursor();
  EXPECT_EQ(end, (LoaderCursor{1, 0, 3}));
  const auto next_epoch = take_cycling(first, 3);
  DataLoader resumed(counting(12), {.batch_size = 4, .shuffle = true, .seed = 1});
  resumed.restore(end);
  EXPECT_FALSE(resumed.next().has_value());  // epoch 0 is over
  EXPECT_EQ(resumed.cursor(), (LoaderCursor{1, 1, 0}));
  EXPECT_EQ(take_cycling(resumed, 3), next_epoch);
  expect_error_containing([&] { resumed.restore({1, 0, 4}); }, "cursor 'epoch=0 position=4 seed=1' is outside");
}

TEST(LoaderCursor, TextFormRoundTrips) {
  const LoaderCursor cursor{42, 3, 17};
  EXPECT_EQ(cursor.to_string(), "epoch=3 position=17 seed=42");
  EXPECT_EQ(LoaderCursor::parse("epoch=3 position=17 seed=42"), cursor);
  const LoaderCursor big{18446744073709551615ull, 0, 0};
  EXPECT_EQ(LoaderCursor::parse(big.to_string()), big);
  for (const std::string bad : {"", "epoch=3 position=17", "epoch=3 position=x seed=1", "epoch=-1 position=0 seed=1",
                                "position=1 epoch=3 seed=1", "epoch=3 position=17 seed=42 extra",
                                "epoch=3 position=17 seed=-5", "epoch=3 position=17 seed=4x"})
    expect_error_containing([&] { LoaderCursor::parse(bad); }, "'" + bad + "' is not of the form");
}

TEST(DataLoader, SampleErrorsReachTheCallerAndTheBatchIsRetried) {
  for (int workers : {0, 3}) {
    auto dataset = std::make_shared<CountingDataset>(12, /*broken=*/6);
    DataLoader loader(dataset, {.batch_size = 4, .num_workers = workers});
    EXPECT_EQ(rows_of(*loader.next()), (std::vector<int64_t>{0, 1, 2, 3}));
    for (int attempt = 0; attempt < 2; ++attempt) {
      expect_error_containing([&] { loader.next(); }, "CountingDataset: sample 6 is broken");
      EXPECT_EQ(loader.cursor(), (LoaderCursor{0, 0, 1})) << workers << " workers";
    }
    // Past the broken batch (as a resumed run that skips it would be).
    loader.restore({0, 0, 2});
    EXPECT_EQ(rows_of(*loader.next()), (std::vector<int64_t>{8, 9, 10, 11}));
  }
}

TEST(DataLoader, ImagesOfDifferentSizesNameBothSamples) {
  auto dataset = std::make_shared<CountingDataset>(4, -1, /*odd_size=*/2);
  DataLoader loader(dataset, {.batch_size = 4});
  expect_error_containing([&] { loader.next(); }, "sample0 is [1, 2, 3] (C, H, W) but sample2 is [1, 3, 3]");
}

}  // namespace
}  // namespace loom::data
