// golden.h: the pieces shared by the golden runner (golden_main.cpp) and its
// op table (golden_ops.cpp): typed access to a case's string attributes that
// remembers which were read, the tensors of one case, and the op table entry.
//
// A case is one safetensors file of ../shared/golden (format in its README):
// inputs named by the metadata key "inputs", the reference "output",
// "grad_output" and "grad_<input>", and attributes as strings.
#pragma once
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "tensor/safetensors.h"

namespace loom::golden {

// The case's "__metadata__" map with typed getters. Every key an op reads is
// marked used; keys nobody read make the case fail (an attribute the runner
// does not understand would otherwise be silently ignored).
class Attributes {
 public:
  explicit Attributes(std::map<std::string, std::string> values) : values_(std::move(values)) {}

  bool has(const std::string& key) const { return values_.count(key) > 0; }
  std::string str(const std::string& key);  // required
  std::string str(const std::string& key, const std::string& fallback);
  int64_t integer(const std::string& key);
  int64_t integer(const std::string& key, int64_t fallback);
  double real(const std::string& key);
  double real(const std::string& key, double fallback);
  bool boolean(const std::string& key, bool fallback);  // "0"/"1"/"true"/"false"
  // "0,2,3" -> {0, 2, 3}; "" -> {}
  std::vector<int64_t> integers(const std::string& key);
  std::vector<int64_t> integers(const std::string& key, const std::vector<int64_t>& fallback);
  std::vector<double> reals(const std::string& key, const std::vector<double>& fallback);
  std::vector<std::string> strings(const std::string& key);  // comma-separated
  // Marks a key as read without interpreting it (documentation such as "formula").
  void ignore(const std::string& key) { used_.insert(key); }
  // Keys present but never read.
  std::vector<std::string> unused() const;

 private:
  const std::string& raw(const std::string& key);
  std::map<std::string, std::string> values_;
  std::set<std::string> used_;
};

// One case while it runs: its attributes, its leaves (in the run dtype, on the
// run device, with requires_grad for floating inputs), and the extra tensors
// an op consumed or produced.
struct Case {
  std::string file;
  SafeTensors data;
  Attributes attrs;
  DType run_dtype = DType::Float32;
  Device device = Device::cpu();         // where the inputs live and the op runs (--device)
  std::vector<std::string> input_names;  // from "inputs", in order
  std::map<std::string, Tensor> inputs;  // name -> leaf
  std::set<std::string> consumed;        // file tensors the op read besides the inputs
  std::map<std::string, Tensor> extra_results;  // reference name -> computed (e.g. running_mean_out)

  Case(std::string f, SafeTensors d) : file(std::move(f)), data(std::move(d)), attrs(data.metadata) {}

  // The named input (throws naming it when the case has none).
  const Tensor& in(const std::string& name) const;
  // The i-th input of the "inputs" list.
  const Tensor& in(size_t i) const;
  // An optional input: undefined when "inputs" does not list it.
  Tensor optional_in(const std::string& name) const;
  // A non-input tensor of the file (e.g. running_mean_in), converted to the run
  // dtype, moved to the run device and marked consumed; undefined when absent.
  Tensor file_tensor(const std::string& name);
  // "a,b" for messages.
  std::string input_list() const;
};

// An op of the table: computes the output (undefined when the case has none,
// as batch_norm_stats) from the case's inputs and attributes.
struct OpSpec {
  std::function<Tensor(Case&)> run;
  double tolerance;  // on ||out - ref|| / ||ref||
};

// op name -> spec, for every op the golden cases of this issue use.
const std::map<std::string, OpSpec>& op_table();

// Ops whose cases belong to later issues' golden tests: op -> which test.
const std::map<std::string, std::string>& later_ops();

}  // namespace loom::golden
