// progress.cpp: the progress bar and plain progress lines (see progress.h).
#include "trainers/progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <cmath>

namespace loom::train {

std::string format_value(double value) {
  char buffer[64];
  const double magnitude = std::fabs(value);
  if (!std::isfinite(value)) return std::isnan(value) ? "nan" : (value > 0 ? "inf" : "-inf");
  const bool scientific = magnitude != 0 && (magnitude < 1e-3 || magnitude >= 1e5);
  std::snprintf(buffer, sizeof buffer, scientific ? "%.3e" : "%.4f", value);
  return buffer;
}

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const long long total = std::llround(seconds);
  const long long h = total / 3600, m = total / 60 % 60, s = total % 60;
  char buffer[64];
  if (h > 0)
    std::snprintf(buffer, sizeof buffer, "%lld:%02lld:%02lld", h, m, s);
  else
    std::snprintf(buffer, sizeof buffer, "%lld:%02lld", m, s);
  return buffer;
}

// "lossD 1.2345  lossG 0.8123  3.21 it/s  ETA 2:51"
static std::string values_and_rate(const Metrics& values, double steps_per_second, double eta_seconds) {
  std::string line;
  for (const auto& [name, value] : values) line += "  " + name + " " + format_value(value);
  char rate[64];
  if (steps_per_second > 0)
    std::snprintf(rate, sizeof rate, "  %.2f it/s  ETA ", steps_per_second);
  else
    std::snprintf(rate, sizeof rate, "  - it/s  ETA ");
  return line + rate + (steps_per_second > 0 ? format_duration(eta_seconds) : "?");
}

std::string format_progress_line(int64_t step, int64_t total, const Metrics& values, double steps_per_second,
                                 double eta_seconds) {
  return "step " + std::to_string(step) + "/" + std::to_string(total) +
         values_and_rate(values, steps_per_second, eta_seconds);
}

// The width of the terminal on `out`, or 120 when it cannot be asked.
static size_t terminal_columns(FILE* out) {
  winsize size{};
  if (ioctl(fileno(out), TIOCGWINSZ, &size) == 0 && size.ws_col > 0) return size.ws_col;
  return 120;
}

Progress::Progress(ProgressOptions options, int64_t start_step)
    : options_(std::move(options)), start_step_(start_step), start_time_(std::chrono::steady_clock::now()) {}

bool Progress::stdout_is_terminal() { return isatty(fileno(stdout)) != 0; }

void Progress::update(int64_t step, const Metrics& values) {
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_time_).count();
  const int64_t done_here = step - start_step_;
  const double rate = (done_here > 0 && elapsed > 0) ? done_here / elapsed : 0.0;
  const double eta = rate > 0 ? (options_.total_steps - step) / rate : -1.0;
  const bool log_step = step == options_.total_steps || (options_.log_every > 0 && step % options_.log_every == 0);
  const std::string line = format_progress_line(step, options_.total_steps, values, rate, eta);
  if (log_step && options_.mirror) options_.mirror(line);
  if (options_.out == nullptr) return;
  if (options_.terminal) {
    constexpr int kWidth = 20;
    const int64_t total = options_.total_steps > 0 ? options_.total_steps : 1;
    const int filled = static_cast<int>(kWidth * std::min<int64_t>(step, total) / total);
    std::string bar(1, '[');
    bar.append(filled, '#').append(kWidth - filled, '.').append("]  ");
    bar.append(std::to_string(step)).append(1, '/').append(std::to_string(options_.total_steps));
    bar.append(values_and_rate(values, rate, eta));
    // A line wider than the terminal would wrap, and \r would then redraw only its last part.
    const size_t columns = terminal_columns(options_.out);
    if (bar.size() >= columns) bar = bar.substr(0, columns - 1);
    std::fprintf(options_.out, "\r\033[K%s", bar.c_str());
    std::fflush(options_.out);
    bar_drawn_ = true;
  } else if (log_step) {
    std::fprintf(options_.out, "%s\n", line.c_str());
    std::fflush(options_.out);
  }
}

void Progress::clear_bar() {
  if (bar_drawn_ && options_.out) std::fprintf(options_.out, "\r\033[K");
  bar_drawn_ = false;
}

void Progress::message(const std::string& line) {
  clear_bar();
  if (options_.out) {
    std::fprintf(options_.out, "%s\n", line.c_str());
    std::fflush(options_.out);
  }
  if (options_.mirror) options_.mirror(line);
}

void Progress::finish() {
  if (bar_drawn_ && options_.out) std::fprintf(options_.out, "\n");
  bar_drawn_ = false;
}

}  // namespace loom::train
