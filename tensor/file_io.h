// file_io.h: whole-file reads and atomic whole-file writes, shared by the
// checkpoint files (safetensors.cpp) and the data layer (images, sample sheets). Every error is a loom::Error that names the
// path and the operation, and says what went wrong (errno text included).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace loom {

// The bytes of a regular file. Refuses a missing path, a directory or other
// non-regular file, and an empty file; `op` prefixes the messages.
std::vector<uint8_t> read_file_bytes(const std::string& path, const char* op);

// Writes `bytes` to `path` atomically: a temporary file in the same directory,
// fsync, rename over the target, fsync of the directory (best effort). On any
// error the temporary file is removed and the old target, if any, is left as
// it was. Missing parent directories are created first.
// The pieces are written one after another (a header, then each tensor's bytes).
struct ByteSpan {
  const void* data;
  size_t size;
};
// Durability::Fsync (checkpoints) also survives a power loss; Durability::RenameOnly
// (images of generated datasets, thousands of small files) skips both fsyncs:
// a crashed process still never leaves a torn file, and writing is many times faster.
enum class Durability { Fsync, RenameOnly };
void write_file_atomically(const std::string& path, const std::vector<ByteSpan>& pieces, const char* op,
                           Durability durability = Durability::Fsync);
void write_file_atomically(const std::string& path, const void* bytes, size_t size, const char* op,
                           Durability durability = Durability::Fsync);

}  // namespace loom
