// safetensors.cpp: the safetensors reader and atomic writer (format and rules
// in safetensors.h). Reading validates the whole header against the file size
// before allocating any tensor, then reads each tensor's bytes straight into
// its storage; the result is built in a local and returned only when complete.
#include "tensor/safetensors.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <vector>

#include "tensor/file_io.h"

namespace loom {

static_assert(std::endian::native == std::endian::little,
              "safetensors.cpp copies raw little-endian bytes: a big-endian host needs byte swapping here");

namespace {

using json = nlohmann::json;

// The reference implementation refuses headers above 100 MB; so do we, so that
// a corrupt length does not make us allocate gigabytes.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

std::string errno_text() { return std::strerror(errno); }

// A file descriptor closed on scope exit.
struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
};

// Reads exactly `size` bytes at `offset`; false on a short read (errno 0) or
// an error (errno set).
bool read_exact(int fd, void* dst, uint64_t size, uint64_t offset) {
  auto* p = static_cast<char*>(dst);
  while (size > 0) {
    const size_t chunk = static_cast<size_t>(std::min<uint64_t>(size, 1u << 30));
    const ssize_t got = ::pread(fd, p, chunk, static_cast<off_t>(offset));
    if (got < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (got == 0) {
      errno = 0;
      return false;
    }
    p += got;
    size -= static_cast<uint64_t>(got);
    offset += static_cast<uint64_t>(got);
  }
  return true;
}

// safetensors dtype name -> loom dtype. BOOL is read as uint8 (one byte, 0/1).
// Returns false for names that exist in the format but that loom does not
// hold, and throws for names that are not safetensors dtypes at all.
bool parse_dtype(const std::string& name, DType& out) {
  if (name == "F32") { out = DType::Float32; return true; }
  if (name == "F64") { out = DType::Float64; return true; }
  if (name == "I64") { out = DType::Int64; return true; }
  if (name == "U8" || name == "BOOL") { out = DType::UInt8; return true; }
  return false;
}

bool is_known_safetensors_dtype(const std::string& name) {
  static const char* known[] = {"BOOL", "U8",  "I8",  "I16", "U16",     "F16",     "BF16", "I32",
                                "U32",  "F32", "F64", "I64", "U64", "F8_E4M3", "F8_E5M2"};
  for (const char* k : known)
    if (name == k) return true;
  return false;
}

// One tensor entry of the header, validated.
struct Entry {
  std::string name;
  DType dtype;
  Shape shape;
  uint64_t begin = 0, end = 0;  // byte range within the data section
};

uint64_t as_u64(const json& v, const std::string& file, const std::string& name, const char* field) {
  LOOM_CHECK(v.is_number_unsigned() || (v.is_number_integer() && v.get<int64_t>() >= 0),
             "load_safetensors: '", file, "': tensor '", name, "': ", field,
             " must hold non-negative integers, got ", v.dump());
  return v.get<uint64_t>();
}

Entry parse_entry(const std::string& file, const std::string& name, const json& info) {
  const std::string where = "load_safetensors: '" + file + "': tensor '" + name + "': ";
  LOOM_CHECK(info.is_object(), where, "expected an object {dtype, shape, data_offsets}, got ", info.dump());
  for (const char* field : {"dtype", "shape", "data_offsets"})
    LOOM_CHECK(info.contains(field), where, "missing field '", field, "'");
  Entry e;
  e.name = name;

  const json& dt = info["dtype"];
  LOOM_CHECK(dt.is_string(), where, "dtype must be a string, got ", dt.dump());
  const std::string dname = dt.get<std::string>();
  if (!parse_dtype(dname, e.dtype)) {
    LOOM_CHECK(!is_known_safetensors_dtype(dname), where, "dtype ", dname,
               " is not supported by loom (supported: F32, F64, I64, U8, BOOL)");
    detail::throw_error(where, "unknown dtype '", dname, "'");
  }

  const json& shape = info["shape"];
  LOOM_CHECK(shape.is_array(), where, "shape must be an array, got ", shape.dump());
  // numel with an overflow check: the product must stay below 2^62 bytes.
  constexpr uint64_t kLimit = uint64_t{1} << 62;
  uint64_t numel = 1;
  for (const json& s : shape) {
    const uint64_t n = as_u64(s, file, name, "shape");
    LOOM_CHECK(n < kLimit && (n == 0 || numel <= kLimit / n), where, "shape ", shape.dump(), " is too large");
    numel *= n;
    e.shape.push_back(static_cast<int64_t>(n));
  }

  const json& offsets = info["data_offsets"];
  LOOM_CHECK(offsets.is_array() && offsets.size() == 2, where, "data_offsets must be [begin, end], got ",
             offsets.dump());
  e.begin = as_u64(offsets[0], file, name, "data_offsets");
  e.end = as_u64(offsets[1], file, name, "data_offsets");
  LOOM_CHECK(e.begin <= e.end, where, "data_offsets [", e.begin, ", ", e.end, "] end before they begin");
  const uint64_t expected = numel * dtype_size(e.dtype);
  LOOM_CHECK(e.end - e.begin == expected, where, "data_offsets [", e.begin, ", ", e.end, "] span ", e.end - e.begin,
             " bytes but dtype ", dname, " and shape ", shape_str(e.shape), " need ", expected, " bytes");
  return e;
}

}  // namespace

const char* safetensors_dtype_name(DType dtype) {
  switch (dtype) {
    case DType::Float32: return "F32";
    case DType::Float64: return "F64";
    case DType::Int64: return "I64";
    case DType::UInt8: return "U8";
  }
  detail::throw_error("safetensors: unknown dtype");
}

SafeTensors load_safetensors(const std::string& path) {
  const std::string where = "load_safetensors: '" + path + "': ";
  Fd file(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  LOOM_CHECK(file.fd >= 0, where, "cannot open: ", errno_text());
  struct stat st {};
  LOOM_CHECK(::fstat(file.fd, &st) == 0, where, "cannot stat: ", errno_text());
  LOOM_CHECK(S_ISREG(st.st_mode), where, "not a regular file");
  const uint64_t file_size = static_cast<uint64_t>(st.st_size);

  // ---- header length ----
  LOOM_CHECK(file_size >= 8, where, "truncated: the file has ", file_size,
             " bytes, fewer than the 8-byte header length");
  unsigned char len_bytes[8];
  LOOM_CHECK(read_exact(file.fd, len_bytes, 8, 0), where, "cannot read the header length: ",
             errno ? errno_text() : "short read");
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | len_bytes[i];  // little-endian
  LOOM_CHECK(header_len <= kMaxHeaderBytes, where, "header length ", header_len,
             " bytes is implausible (limit ", kMaxHeaderBytes, "): not a safetensors file?");
  LOOM_CHECK(header_len <= file_size - 8, where, "truncated: the header claims ", header_len, " bytes but only ",
             file_size - 8, " bytes follow the length");

  // ---- header JSON ----
  std::string header(header_len, '\0');
  LOOM_CHECK(read_exact(file.fd, header.data(), header_len, 8), where, "cannot read the header: ",
             errno ? errno_text() : "short read");
  json root;
  try {
    root = json::parse(header);
  } catch (const json::exception& e) {
    detail::throw_error(where, "header is not valid JSON: ", e.what());
  }
  LOOM_CHECK(root.is_object(), where, "header must be a JSON object, got ", root.type_name());

  SafeTensors result;
  std::vector<Entry> entries;
  for (auto it = root.begin(); it != root.end(); ++it) {
    if (it.key() == "__metadata__") {
      LOOM_CHECK(it.value().is_object(), where, "__metadata__ must be an object of strings");
      for (auto m = it.value().begin(); m != it.value().end(); ++m) {
        LOOM_CHECK(m.value().is_string(), where, "__metadata__ value of '", m.key(), "' must be a string, got ",
                   m.value().dump());
        result.metadata[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    entries.push_back(parse_entry(path, it.key(), it.value()));
  }

  // ---- byte ranges: in bounds, no overlap, no gap, no trailing bytes ----
  const uint64_t data_start = 8 + header_len;
  const uint64_t data_size = file_size - data_start;
  std::vector<const Entry*> by_offset;
  for (const Entry& e : entries) by_offset.push_back(&e);
  std::sort(by_offset.begin(), by_offset.end(), [](const Entry* a, const Entry* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  uint64_t cursor = 0;  // end of the previous tensor
  const Entry* previous = nullptr;
  for (const Entry* e : by_offset) {
    LOOM_CHECK(e->end <= data_size, where, "truncated: tensor '", e->name, "' ends at data byte ", e->end,
               " but the data section has only ", data_size, " bytes");
    LOOM_CHECK(e->begin >= cursor, where, "tensor '", e->name, "' at data bytes [", e->begin, ", ", e->end,
               ") overlaps tensor '", previous ? previous->name : "", "' which ends at ", cursor);
    LOOM_CHECK(e->begin == cursor, where, "gap in the data section: bytes [", cursor, ", ", e->begin,
               ") before tensor '", e->name, "' belong to no tensor");
    cursor = e->end;
    previous = e;
  }
  LOOM_CHECK(cursor == data_size, where, "the data section has ", data_size, " bytes but the tensors cover only ",
             cursor, " (trailing bytes)");

  // ---- data ----
  for (const Entry& e : entries) {
    Tensor t = Tensor::empty(e.shape, e.dtype, Device::cpu());
    const uint64_t nbytes = e.end - e.begin;
    if (nbytes > 0)
      LOOM_CHECK(read_exact(file.fd, t.raw_data(), nbytes, data_start + e.begin), where,
                 "cannot read tensor '", e.name, "': ", errno ? errno_text() : "short read (file changed?)");
    result.tensors.emplace(e.name, std::move(t));
  }
  return result;
}

void save_safetensors(const std::string& path, const std::map<std::string, Tensor>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  const std::string where = "save_safetensors: '" + path + "': ";

  // ---- dense CPU copies and the header ----
  std::vector<Tensor> dense;  // same order as `tensors`
  json header = json::object();
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    LOOM_CHECK(!name.empty(), where, "tensor names must not be empty");
    LOOM_CHECK(name != "__metadata__", where, "'__metadata__' is reserved and cannot name a tensor");
    LOOM_CHECK(t.defined(), where, "tensor '", name, "' is undefined");
    Tensor d = t.detach().to(Device::cpu()).contiguous();
    const uint64_t nbytes = static_cast<uint64_t>(d.numel()) * dtype_size(d.dtype());
    header[name] = {{"dtype", safetensors_dtype_name(d.dtype())},
                    {"shape", d.shape()},
                    {"data_offsets", {offset, offset + nbytes}}};
    offset += nbytes;
    dense.push_back(std::move(d));
  }
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::string header_text = header.dump();
  // Pad with spaces so that the data section starts 8-byte aligned.
  header_text.append((8 - (8 + header_text.size()) % 8) % 8, ' ');
  unsigned char len_bytes[8];
  uint64_t len = header_text.size();
  for (int i = 0; i < 8; ++i) len_bytes[i] = static_cast<unsigned char>(len >> (8 * i));  // little-endian

  // ---- temp file in the same directory, fsync, rename, fsync the directory ----
  std::vector<ByteSpan> pieces{{len_bytes, 8}, {header_text.data(), header_text.size()}};
  for (const Tensor& d : dense)
    pieces.push_back({d.raw_data(), static_cast<size_t>(d.numel()) * dtype_size(d.dtype())});
  write_file_atomically(path, pieces, "save_safetensors");
}

void save_safetensors(const std::string& path, const SafeTensors& contents) {
  save_safetensors(path, contents.tensors, contents.metadata);
}

}  // namespace loom
