// test_tensor.cpp: Tensor metadata, factories, views, copies, printing and errors.
#include <gtest/gtest.h>

#include "autograd/functions.h"
#include "tensor/tensor.h"

using namespace loom;

TEST(Tensor, FactoriesAndMetadata) {
  Tensor t = Tensor::zeros({2, 3, 4});
  EXPECT_EQ(t.shape(), (Shape{2, 3, 4}));
  EXPECT_EQ(t.strides(), (Shape{12, 4, 1}));
  EXPECT_EQ(t.numel(), 24);
  EXPECT_TRUE(t.is_contiguous());
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.raw_data()) % 64, 0u) << "CPU memory must be 64-byte aligned";
  Tensor f = Tensor::full({3}, 2.5, DType::Float64);
  EXPECT_EQ(f.to_vector<double>(), (std::vector<double>{2.5, 2.5, 2.5}));
  EXPECT_EQ(Tensor::arange(4, DType::Int64).to_vector<int64_t>(), (std::vector<int64_t>{0, 1, 2, 3}));
  EXPECT_DOUBLE_EQ(Tensor::scalar(7.0).item(), 7.0);
}

TEST(Tensor, ViewsShareStorage) {
  Tensor t = Tensor::arange(24).reshape({2, 3, 4});
  Tensor p = t.permute({2, 0, 1});
  EXPECT_EQ(p.shape(), (Shape{4, 2, 3}));
  EXPECT_FALSE(p.is_contiguous());
  EXPECT_EQ(p.storage(), t.storage());
  EXPECT_DOUBLE_EQ(p.at({3, 1, 2}), t.at({1, 2, 3}));
  Tensor s = t.slice(2, 1, 4, 2);  // columns 1 and 3
  EXPECT_EQ(s.shape(), (Shape{2, 3, 2}));
  EXPECT_DOUBLE_EQ(s.at({1, 2, 1}), 23.0);
  Tensor e = Tensor::arange(3).reshape({3, 1}).expand({3, 4});
  EXPECT_EQ(e.strides()[1], 0);
  EXPECT_DOUBLE_EQ(e.at({2, 3}), 2.0);
  Tensor c = p.contiguous();
  EXPECT_TRUE(c.is_contiguous());
  EXPECT_DOUBLE_EQ(c.at({3, 1, 2}), 23.0);
  EXPECT_EQ(t.unsqueeze(1).shape(), (Shape{2, 1, 3, 4}));
  EXPECT_EQ(t.unsqueeze(1).squeeze(1).shape(), (Shape{2, 3, 4}));
  EXPECT_EQ(t.flatten(1).shape(), (Shape{2, 12}));
  EXPECT_EQ(t.select(1, 2).shape(), (Shape{2, 4}));
  EXPECT_DOUBLE_EQ(t.select(1, 2).at({1, 0}), 20.0);
  EXPECT_EQ(t.transpose(0, 2).shape(), (Shape{4, 3, 2}));
  // view of a permuted tensor fails (needs a copy), reshape copies
  EXPECT_THROW(p.view({8, 3}), Error);
  EXPECT_EQ(p.reshape({8, 3}).shape(), (Shape{8, 3}));
  EXPECT_DOUBLE_EQ(p.reshape({8, 3}).at({7, 2}), 23.0);
  EXPECT_EQ(t.view({-1, 4}).shape(), (Shape{6, 4}));
}

TEST(Tensor, DtypeConversionAndCopy) {
  Tensor t = Tensor::from_vector<float>({1.5f, -2.0f, 3.25f}, {3});
  EXPECT_EQ(t.to(DType::Float64).to_vector<double>(), (std::vector<double>{1.5, -2.0, 3.25}));
  EXPECT_EQ(t.to(DType::Int64).to_vector<int64_t>(), (std::vector<int64_t>{1, -2, 3}));
  Tensor d = Tensor::zeros({2, 3});
  d.copy_(t);  // broadcast over rows
  EXPECT_DOUBLE_EQ(d.at({1, 2}), 3.25);
  d.fill_(4.0);
  EXPECT_DOUBLE_EQ(d.at({0, 1}), 4.0);
  EXPECT_THROW(d.copy_(Tensor::zeros({4})), Error);
}

TEST(Tensor, PrintingIsReadable) {
  Tensor t = Tensor::arange(6).reshape({2, 3});
  std::string s = t.to_string();
  EXPECT_NE(s.find("shape=[2, 3]"), std::string::npos) << s;
  EXPECT_NE(s.find("dtype=float32"), std::string::npos) << s;
  EXPECT_NE(s.find("5.0000"), std::string::npos) << s;
  Tensor big = Tensor::arange(100);
  EXPECT_NE(big.to_string().find("..."), std::string::npos) << "long tensors are summarised";
}

TEST(Tensor, ErrorsNameTheOpAndShapes) {
  Tensor a = Tensor::zeros({2, 3}), b = Tensor::zeros({4, 5});
  try {
    (void)(a + b);
    FAIL() << "expected an exception";
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("add"), std::string::npos) << m;
    EXPECT_NE(m.find("[2, 3]"), std::string::npos) << m;
    EXPECT_NE(m.find("[4, 5]"), std::string::npos) << m;
  }
  EXPECT_THROW(a.permute({0, 0}), Error);
  EXPECT_THROW(a.slice(5, 0, 1), Error);
  EXPECT_THROW(a + Tensor::zeros({2, 3}, DType::Float64), Error);
  EXPECT_THROW(Tensor::zeros({2}).to(Device::cuda(0)), Error);
}
