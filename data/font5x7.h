// font5x7.h: a tiny built-in bitmap font for captions on sample sheets: 5x7
// pixel glyphs (the classic HD44780 character-LCD shapes) for the digits, the
// capital letters and - _ . : , / = + % ( ) # ? and space. Lowercase letters
// are drawn as capitals; any other character is drawn as '?'.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace loom::data {

inline constexpr int64_t kGlyphWidth = 5, kGlyphHeight = 7;
inline constexpr int64_t kGlyphAdvance = kGlyphWidth + 1;  // one blank column between characters

// The seven rows of c's glyph, top first; bit 4 is the leftmost column.
const std::array<uint8_t, kGlyphHeight>& glyph(char c);

// Width in pixels of `text` drawn at `scale` (no trailing blank column).
int64_t text_width(const std::string& text, int64_t scale = 1);

// Sets the glyph pixels of `text` in canvas (C, H, W), float32, contiguous, CPU,
// to color[c] per channel (color has C entries); (x, y) is the top-left
// corner; each font pixel becomes a scale x scale square. Pixels outside the
// canvas, or at x >= clip_right, are not drawn (clip_right < 0: the canvas edge).
void draw_text(Tensor& canvas, int64_t x, int64_t y, const std::string& text, const std::vector<double>& color,
               int64_t scale = 1, int64_t clip_right = -1);

}  // namespace loom::data
