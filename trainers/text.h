// text.h: small string helpers shared by the command-line code (messages,
// recorded commands, help texts).
#pragma once
#include <string>
#include <string_view>

namespace loom::train {

// The words of `words` (any range of std::string) with `separator` between
// each pair: join({"a", "b"}, ", ") == "a, b"; an empty range gives "".
template <class Range>
std::string join(const Range& words, std::string_view separator) {
  std::string out;
  bool first = true;
  for (const std::string& word : words) {
    if (!first) out += separator;
    out += word;
    first = false;
  }
  return out;
}

}  // namespace loom::train
