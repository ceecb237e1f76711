// test_safetensors.cpp: the safetensors reader and writer: bit-exact round
// trips of every dtype with metadata, reading files written byte by byte here
// (independently of the writer), every corrupt-file error, and the atomic save
// that leaves the old file intact when writing fails.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

#include "autograd/functions.h"
#include "tensor/random.h"
#include "tensor/safetensors.h"
#include "test_util.h"

using namespace loom;
namespace fs = std::filesystem;

namespace {

// A fresh temporary directory per test, removed afterwards.
class SafeTensorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("loom_safetensors_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::permissions(dir_, fs::perms::owner_all, fs::perm_options::add, ec);
    fs::remove_all(dir_, ec);
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  fs::path dir_;
};

std::string read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// 8-byte little-endian length + header + data, built by hand.
std::string file_of(const std::string& header, const std::string& data) {
  std::string out(8, '\0');
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return out + header + data;
}

template <class T>
std::string bytes_of(const std::vector<T>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}

// Expects load_safetensors(path) to throw a loom::Error whose message names
// the file and contains `fragment`.
void expect_load_error(const std::string& path, const std::string& fragment) {
  try {
    load_safetensors(path);
    ADD_FAILURE() << "expected an error containing '" << fragment << "' for " << path;
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(path), std::string::npos) << "message does not name the file: " << msg;
    EXPECT_NE(msg.find(fragment), std::string::npos) << "expected '" << fragment << "' in: " << msg;
  }
}

// Same bytes, shape and dtype.
void expect_bit_equal(const Tensor& got, const Tensor& want) {
  ASSERT_EQ(got.dtype(), want.dtype());
  ASSERT_EQ(got.shape(), want.shape());
  ASSERT_TRUE(got.is_contiguous());
  Tensor w = want.contiguous();
  const size_t nbytes = static_cast<size_t>(w.numel()) * dtype_size(w.dtype());
  EXPECT_EQ(std::memcmp(got.raw_data(), w.raw_data(), nbytes), 0);
}

}  // namespace

TEST_F(SafeTensorsTest, RoundTripEveryDtypeBitExactWithMetadata) {
  Generator g(7);
  std::map<std::string, Tensor> tensors;
  // float32 with the awkward values: -0, denormal, inf, NaN payload
  std::vector<float> f32 = {0.0f, -0.0f, 1e-45f, std::numeric_limits<float>::infinity(),
                            std::numeric_limits<float>::quiet_NaN(), 3.14159f};
  tensors["a.f32"] = Tensor::from_vector<float>(f32, {2, 3});
  tensors["b.f64"] = randn({3, 5, 2}, g, DType::Float64);
  tensors["c.i64"] = Tensor::from_vector<int64_t>({std::numeric_limits<int64_t>::min(), -1, 0, 42,
                                                   std::numeric_limits<int64_t>::max()}, {5});
  tensors["d.u8"] = Tensor::from_vector<uint8_t>({0, 1, 127, 128, 255, 7}, {3, 2});
  tensors["e.scalar"] = Tensor::scalar(2.5, DType::Float32);
  tensors["f.empty"] = Tensor::zeros({0, 4}, DType::Float32);
  // a non-contiguous view is saved as its dense row-major values
  tensors["g.transposed"] = randn({4, 3}, g, DType::Float32).transpose(0, 1);
  std::map<std::string, std::string> metadata = {{"format", "pt"}, {"step", "123"}, {"note", "a \"quoted\" value"}};

  const std::string file = path("all.safetensors");
  save_safetensors(file, tensors, metadata);
  // the data section starts 8-byte aligned
  const std::string bytes = read_bytes(file);
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | static_cast<unsigned char>(bytes[i]);
  EXPECT_EQ((8 + header_len) % 8, 0u);

  SafeTensors loaded = load_safetensors(file);
  EXPECT_EQ(loaded.metadata, metadata);
  ASSERT_EQ(loaded.tensors.size(), tensors.size());
  for (const auto& [name, t] : tensors) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(loaded.tensors.count(name));
    expect_bit_equal(loaded.tensors.at(name), t);
  }
  // no temporary file is left behind
  int files = 0;
  for (const auto& entry : fs::directory_iterator(dir_)) files += entry.is_regular_file();
  EXPECT_EQ(files, 1);
}

TEST_F(SafeTensorsTest, SaveOverwritesAndTakesTheStructForm) {
  const std::string file = path("x.safetensors");
  save_safetensors(file, {{"w", Tensor::ones({2}, DType::Float64)}});
  SafeTensors st;
  st.tensors["w"] = Tensor::full({3}, 5.0, DType::Float64);
  save_safetensors(file, st);  // no metadata: no __metadata__ key
  SafeTensors loaded = load_safetensors(file);
  EXPECT_TRUE(loaded.metadata.empty());
  EXPECT_EQ(loaded.tensors.at("w").to_vector<double>(), (std::vector<double>{5, 5, 5}));
  EXPECT_EQ(read_bytes(file).find("__metadata__"), std::string::npos);
}

TEST_F(SafeTensorsTest, ReadsHandWrittenFileWithPaddingAndBool) {
  // Written independently of save_safetensors: tensors in reverse offset order,
  // header padded with spaces, a BOOL tensor.
  std::vector<double> d = {1.5, -2.25};
  std::vector<uint8_t> flags = {1, 0, 1};
  const std::string header =
      R"({"flags":{"dtype":"BOOL","shape":[3],"data_offsets":[16,19]},)"
      R"("d":{"dtype":"F64","shape":[2,1],"data_offsets":[0,16]},"__metadata__":{"k":"v"}}    )";
  const std::string file = path("hand.safetensors");
  write_bytes(file, file_of(header, bytes_of(d) + bytes_of(flags)));
  SafeTensors st = load_safetensors(file);
  EXPECT_EQ(st.metadata.at("k"), "v");
  EXPECT_EQ(st.tensors.at("d").shape(), (Shape{2, 1}));
  EXPECT_EQ(st.tensors.at("d").to_vector<double>(), d);
  EXPECT_EQ(st.tensors.at("flags").dtype(), DType::UInt8);
  EXPECT_EQ(st.tensors.at("flags").to_vector<uint8_t>(), flags);
}

TEST_F(SafeTensorsTest, CorruptFilesGiveClearErrors) {
  const std::string f32_4 = bytes_of(std::vector<float>{1, 2, 3, 4});  // 16 bytes
  const std::string good_header = R"({"x":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}})";

  // missing file
  expect_load_error(path("nope.safetensors"), "cannot open");
  // a directory
  expect_load_error(dir_.string(), "not a regular file");
  // shorter than the 8-byte length
  write_bytes(path("tiny"), "abc");
  expect_load_error(path("tiny"), "truncated");
  // shorter than the header it announces
  write_bytes(path("short_header"), file_of(good_header, f32_4).substr(0, 20));
  expect_load_error(path("short_header"), "truncated");
  // an absurd header length
  write_bytes(path("huge_len"), std::string(8, '\xff') + "{}");
  expect_load_error(path("huge_len"), "implausible");
  // shorter than the data
  write_bytes(path("short_data"), file_of(good_header, f32_4.substr(0, 12)));
  expect_load_error(path("short_data"), "truncated");
  // header that is not JSON
  write_bytes(path("bad_json"), file_of(R"({"x": {"dtype": "F32", )", f32_4));
  expect_load_error(path("bad_json"), "not valid JSON");
  // JSON but not an object
  write_bytes(path("array"), file_of("[1,2]", ""));
  expect_load_error(path("array"), "must be a JSON object");
  // unknown dtype, named
  write_bytes(path("unknown_dtype"),
              file_of(R"({"x":{"dtype":"Q7","shape":[4],"data_offsets":[0,16]}})", f32_4));
  expect_load_error(path("unknown_dtype"), "unknown dtype 'Q7'");
  // a real safetensors dtype that loom does not hold, named
  write_bytes(path("f16"), file_of(R"({"x":{"dtype":"F16","shape":[8],"data_offsets":[0,16]}})", f32_4));
  expect_load_error(path("f16"), "dtype F16 is not supported");
  // offsets inconsistent with dtype * shape
  write_bytes(path("size_mismatch"),
              file_of(R"({"x":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}})", f32_4));
  expect_load_error(path("size_mismatch"), "need 12 bytes");
  // offsets outside the data
  write_bytes(path("outside"),
              file_of(R"({"x":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}})", f32_4));
  expect_load_error(path("outside"), "truncated: tensor 'x' ends at data byte 24");
  // end before begin
  write_bytes(path("reversed"), file_of(R"({"x":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}})", f32_4));
  expect_load_error(path("reversed"), "end before they begin");
  // overlapping tensors
  write_bytes(path("overlap"),
              file_of(R"({"x":{"dtype":"F32","shape":[3],"data_offsets":[0,12]},)"
                      R"("y":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})",
                      f32_4));
  expect_load_error(path("overlap"), "overlaps tensor 'x'");
  // a gap no tensor covers
  write_bytes(path("gap"), file_of(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})", f32_4));
  expect_load_error(path("gap"), "gap in the data section");
  // trailing bytes after the last tensor
  write_bytes(path("trailing"), file_of(good_header, f32_4 + "xx"));
  expect_load_error(path("trailing"), "trailing bytes");
  // negative or fractional shape
  write_bytes(path("neg_shape"), file_of(R"({"x":{"dtype":"F32","shape":[-4],"data_offsets":[0,16]}})", f32_4));
  expect_load_error(path("neg_shape"), "non-negative integers");
  write_bytes(path("frac_shape"), file_of(R"({"x":{"dtype":"F32","shape":[4.0],"data_offsets":[0,16]}})", f32_4));
  expect_load_error(path("frac_shape"), "non-negative integers");
  // missing field
  write_bytes(path("no_shape"), file_of(R"({"x":{"dtype":"F32","data_offsets":[0,16]}})", f32_4));
  expect_load_error(path("no_shape"), "missing field 'shape'");
  // metadata values must be strings
  write_bytes(path("meta_num"), file_of(R"({"__metadata__":{"step":3}})", ""));
  expect_load_error(path("meta_num"), "must be a string");

  // and the good file itself loads
  write_bytes(path("good"), file_of(good_header, f32_4));
  EXPECT_EQ(load_safetensors(path("good")).tensors.at("x").to_vector<float>(), (std::vector<float>{1, 2, 3, 4}));
}

TEST_F(SafeTensorsTest, FailedSaveLeavesOldFileIntact) {
  // Target directory missing: it is created, like `mkdir -p`.
  const std::string nested = path("no_such_dir/model.safetensors");
  save_safetensors(nested, {{"w", Tensor::ones({2})}});
  EXPECT_EQ(load_safetensors(nested).tensors.at("w").numel(), 2);
  fs::remove_all(dir_ / "no_such_dir");

  // An existing checkpoint in a directory that becomes read-only: the save
  // fails and the old bytes are still there, with no temp file left.
  const std::string file = path("ckpt.safetensors");
  save_safetensors(file, {{"w", Tensor::full({4}, 1.0)}}, {{"step", "1"}});
  const std::string before = read_bytes(file);
  fs::permissions(dir_, fs::perms::owner_read | fs::perms::owner_exec, fs::perm_options::replace);
  const bool write_refused = ::access(dir_.c_str(), W_OK) != 0;  // root ignores permissions
  if (write_refused) {
    EXPECT_THROW(save_safetensors(file, {{"w", Tensor::full({4}, 2.0)}}, {{"step", "2"}}), Error);
  }
  fs::permissions(dir_, fs::perms::owner_all, fs::perm_options::replace);
  if (write_refused) {
    EXPECT_EQ(read_bytes(file), before);
    int files = 0;
    for (const auto& entry : fs::directory_iterator(dir_)) files += entry.is_regular_file();
    EXPECT_EQ(files, 1);
  }

  // A target that is a directory (refused also as root): a clear error, the
  // directory intact and no temp file left.
  const std::string occupied = path("occupied.safetensors");
  fs::create_directories(occupied);
  loom::testing::expect_error_containing([&] { save_safetensors(occupied, {{"w", Tensor::ones({2})}}); }, "is a directory");
  EXPECT_TRUE(fs::is_directory(occupied));
  int entries = 0;
  for (auto it = fs::directory_iterator(dir_); it != fs::directory_iterator(); ++it) ++entries;
  EXPECT_EQ(entries, 2) << "only ckpt.safetensors and the directory: no temp file left";

  // Bad input is refused before any byte is written: the old file survives.
  EXPECT_THROW(save_safetensors(file, {{"__metadata__", Tensor::ones({1})}}), Error);
  EXPECT_THROW(save_safetensors(file, {{"", Tensor::ones({1})}}), Error);
  EXPECT_THROW(save_safetensors(file, {{"u", Tensor()}}), Error);
  EXPECT_EQ(read_bytes(file), before);
  EXPECT_EQ(load_safetensors(file).metadata.at("step"), "1");
}

TEST_F(SafeTensorsTest, SavingDoesNotRecordOnTheTape) {
  Tensor w = Tensor::ones({2, 3}, DType::Float64);
  w.requires_grad_();
  Tensor y = w * 3.0;  // a non-leaf
  const std::string file = path("y.safetensors");
  save_safetensors(file, {{"y", y.transpose(0, 1)}});
  EXPECT_EQ(load_safetensors(file).tensors.at("y").to_vector<double>(), std::vector<double>(6, 3.0));
}
