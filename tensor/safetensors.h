// safetensors.h: reading and writing tensors in the safetensors format
// (https://github.com/huggingface/safetensors), the file format of loom's
// checkpoints and of the golden reference cases.
//
// Layout of a file:
//   bytes [0, 8)          N, the header length, unsigned 64-bit little-endian
//   bytes [8, 8 + N)      the header: a UTF-8 JSON object
//                           { "<name>": {"dtype": "F32", "shape": [2, 3],
//                                        "data_offsets": [begin, end]}, ...,
//                             "__metadata__": {"<key>": "<string>", ...} }   (optional)
//                         possibly padded with trailing spaces
//   bytes [8 + N, end)    the data section: each tensor's elements, row-major,
//                         little-endian, at [begin, end) relative to 8 + N
//
// dtypes: F32, F64, I64 and U8 are read and written (float32, float64, int64,
// uint8); BOOL is read as uint8. Any other dtype is refused, named.
//
// Loading is strict, like the reference implementation: a file is refused
// with a loom::Error that names the file and the problem when it is missing or
// not a regular file; shorter than 8 bytes, than its header or than its data;
// when the header is not valid JSON or not of the shape above; when a dtype is
// unknown or unsupported; when a tensor's byte range does not equal
// numel * element size, lies outside the data section, overlaps another, or
// the tensors leave a gap or trailing bytes in the data section. Nothing is
// returned unless the whole file loaded.
//
// Saving is atomic: the bytes go to a temporary file in the target's
// directory, which is fsync'ed and then renamed over the target (and the
// directory fsync'ed), so a crash or an error leaves either the old file or the
// new one, never a torn mix (tensor/file_io.h; missing parent directories are
// created). The header is padded with spaces so that the data
// section starts at a multiple of 8 bytes.
#pragma once
#include <map>
#include <string>

#include "tensor/tensor.h"

namespace loom {

struct SafeTensors {
  std::map<std::string, Tensor> tensors;            // name -> dense CPU tensor
  std::map<std::string, std::string> metadata;      // the "__metadata__" map (may be empty)
};

// Reads a whole safetensors file into dense CPU tensors. Throws loom::Error
// naming `path` on any problem listed above.
SafeTensors load_safetensors(const std::string& path);

// Writes `tensors` (any device and strides: they are copied to dense CPU
// bytes) and `metadata` to `path`, atomically. Names must be non-empty and not
// "__metadata__". Throws loom::Error naming `path` on failure, leaving any
// existing file at `path` untouched.
void save_safetensors(const std::string& path, const std::map<std::string, Tensor>& tensors,
                      const std::map<std::string, std::string>& metadata = {});
void save_safetensors(const std::string& path, const SafeTensors& contents);

// The safetensors dtype name of a loom dtype ("F32", "F64", "I64", "U8").
const char* safetensors_dtype_name(DType dtype);

}  // namespace loom
