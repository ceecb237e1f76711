// presets.cpp: the fabric categories of presets.h.
#include "data/fabric/presets.h"

#include <algorithm>

#include "data/random_draws.h"
#include "tensor/error.h"

namespace loom::data::fabric {

namespace {

Rgb rgb(double r, double g, double b) { return {float(r), float(g), float(b)}; }

// A colour with its brightness scaled by U[1 - amount, 1 + amount] and each
// channel nudged by U[-amount/3, amount/3], clamped to [0, 1].
Rgb vary(Rgb c, double amount, Generator& gen) {
  const double k = draw_uniform(gen, 1.0 - amount, 1.0 + amount);
  auto ch = [&](float v) { return float(std::clamp(v * k + draw_uniform(gen, -amount / 3, amount / 3), 0.0, 1.0)); };
  const float r = ch(c.r), g = ch(c.g), b = ch(c.b);
  return {r, g, b};
}

YarnParams yarn(double spacing, double width, std::vector<Rgb> colors) {
  YarnParams y;
  y.spacing_px = spacing;
  y.width = width;
  y.colors = std::move(colors);
  return y;
}

FabricParams plain_gray(Generator& gen) {
  FabricParams p;
  p.weave = plain_weave();
  const Rgb gray = vary(rgb(0.62, 0.62, 0.60), 0.06, gen);
  p.warp = yarn(6.0 * draw_uniform(gen, 0.95, 1.05), 0.82, {gray});
  p.weft = yarn(p.warp.spacing_px * draw_uniform(gen, 0.95, 1.1), 0.85, {vary(gray, 0.03, gen)});
  p.gap_color = rgb(0.12, 0.12, 0.12);
  p.hairiness = 0.25;
  return p;
}

FabricParams twill_denim(Generator& gen) {
  FabricParams p;
  p.weave = twill_weave(3, 1);
  p.warp = yarn(4.5 * draw_uniform(gen, 0.95, 1.05), 0.95, {vary(rgb(0.16, 0.25, 0.46), 0.08, gen)});
  p.weft = yarn(4.0 * draw_uniform(gen, 0.95, 1.05), 0.95, {vary(rgb(0.86, 0.83, 0.76), 0.04, gen)});
  p.warp.color_jitter = 0.08;  // ring-dyed indigo is uneven
  p.warp.slub = 0.15;
  p.gap_color = rgb(0.05, 0.07, 0.14);
  p.hairiness = 0.3;
  p.warp.twist = p.weft.twist = 0.15;
  return p;
}

FabricParams twill_khaki(Generator& gen) {
  FabricParams p;
  p.weave = twill_weave(2, 1);
  const Rgb khaki = vary(rgb(0.66, 0.60, 0.44), 0.05, gen);
  p.warp = yarn(5.0 * draw_uniform(gen, 0.95, 1.05), 0.92, {khaki});
  p.weft = yarn(5.0 * draw_uniform(gen, 0.95, 1.05), 0.90, {rgb(khaki.r * 0.9, khaki.g * 0.9, khaki.b * 0.88)});
  p.gap_color = rgb(0.15, 0.13, 0.08);
  p.hairiness = 0.2;
  return p;
}

FabricParams satin_silk(Generator& gen) {
  FabricParams p;
  p.weave = satin_weave(5, 2);
  const Rgb silk = vary(rgb(0.86, 0.76, 0.58), 0.05, gen);
  p.warp = yarn(3.5 * draw_uniform(gen, 0.95, 1.05), 1.05, {silk});
  p.weft = yarn(4.0 * draw_uniform(gen, 0.95, 1.05), 1.0, {rgb(silk.r * 0.92, silk.g * 0.9, silk.b * 0.9)});
  p.warp.thickness_jitter = p.weft.thickness_jitter = 0.03;
  p.warp.slub = p.weft.slub = 0.04;
  p.warp.twist = p.weft.twist = 0.03;  // filament silk is barely twisted
  p.gap_color = rgb(0.35, 0.28, 0.18);
  p.hairiness = 0.06;
  p.gloss = 0.35;
  p.shininess = 18.0;
  p.relief = 0.7;
  return p;
}

FabricParams gingham_check(Generator& gen) {
  FabricParams p;
  p.weave = plain_weave();
  const Rgb red = vary(rgb(0.78, 0.16, 0.18), 0.06, gen), white = vary(rgb(0.93, 0.92, 0.90), 0.03, gen);
  const int64_t stripe = draw_int(gen, 5, 9);
  p.warp = yarn(4.5 * draw_uniform(gen, 0.95, 1.05), 0.85, {red, white});
  p.weft = yarn(p.warp.spacing_px, 0.85, {red, white});
  p.warp.stripe = p.weft.stripe = stripe;
  p.gap_color = rgb(0.2, 0.08, 0.08);
  p.hairiness = 0.18;
  return p;
}

FabricParams canvas_burlap(Generator& gen) {
  FabricParams p;
  p.weave = plain_weave();
  const Rgb jute = vary(rgb(0.64, 0.50, 0.32), 0.06, gen);
  p.warp = yarn(11.0 * draw_uniform(gen, 0.92, 1.08), 0.72, {jute});
  p.weft = yarn(10.0 * draw_uniform(gen, 0.92, 1.08), 0.75, {vary(jute, 0.04, gen)});
  for (YarnParams* y : {&p.warp, &p.weft}) {
    y->slub = 0.25;
    y->thickness_jitter = 0.12;
    y->tension_jitter = 0.08;
    y->color_jitter = 0.07;
    y->twist = 0.2;
    y->twist_period_px = 5.0;
  }
  p.gap_color = rgb(0.06, 0.05, 0.03);
  p.hairiness = 0.45;
  p.fibre_length_px = 7.0;
  p.meander_px = 1.5;
  return p;
}

FabricParams basket_navy(Generator& gen) {
  FabricParams p;
  p.weave = basket_weave(2);
  const Rgb navy = vary(rgb(0.16, 0.19, 0.36), 0.06, gen);
  p.warp = yarn(4.5 * draw_uniform(gen, 0.95, 1.05), 0.88, {navy});
  p.weft = yarn(4.5 * draw_uniform(gen, 0.95, 1.05), 0.88, {rgb(navy.r * 1.15, navy.g * 1.15, navy.b * 1.1)});
  p.gap_color = rgb(0.04, 0.04, 0.08);
  p.hairiness = 0.22;
  return p;
}

struct Preset {
  const char* name;
  FabricParams (*make)(Generator&);
};

const std::vector<Preset>& presets() {
  static const std::vector<Preset> table = {
      {"plain_gray", plain_gray},   {"twill_denim", twill_denim},     {"twill_khaki", twill_khaki},
      {"satin_silk", satin_silk},   {"gingham_check", gingham_check}, {"canvas_burlap", canvas_burlap},
      {"basket_navy", basket_navy},
  };
  return table;
}

}  // namespace

const std::vector<std::string>& fabric_categories() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n;
    for (const Preset& p : presets()) n.emplace_back(p.name);
    return n;
  }();
  return names;
}

FabricParams preset_params(const std::string& category, Generator& gen) {
  for (const Preset& p : presets())
    if (category == p.name) {
      FabricParams params = p.make(gen);
      params.illumination = draw_uniform(gen, 0.03, 0.12);
      params.sensor_noise = draw_uniform(gen, 0.006, 0.015);
      return params;
    }
  std::string known;
  for (const std::string& n : fabric_categories()) known += (known.empty() ? "" : ", ") + n;
  LOOM_CHECK(false, "fabric preset: unknown category '", category, "' (known: ", known, ")");
  return {};
}

Tensor random_fabric(int64_t size, Generator& gen) {
  LOOM_CHECK(size >= 1, "random_fabric: size must be positive, got ", size);
  const auto& names = fabric_categories();
  const std::string& category = names[static_cast<size_t>(draw_int(gen, 0, static_cast<int64_t>(names.size())))];
  const Fabric fabric(preset_params(category, gen), size, size, gen);
  return fabric.render();
}

}  // namespace loom::data::fabric
