// progress.h: what a training run shows while it runs. On a terminal
// (isatty(stdout)) one line redrawn in place after every step, cut to the
// terminal's width,
//   [#########.......]  450/1000  lossD 1.2345  lossG 0.8123  3.21 it/s  ETA 2:51
// and when stdout is not a terminal (a log file, CI) a plain line every
// `log_every` steps and at the last step:
//   step 450/1000  lossD 1.2345  lossG 0.8123  3.21 it/s  ETA 2:51
// The plain lines also go to train.log (through the `mirror` callback) in both
// modes, so the log file reads the same either way. Values are printed with 4
// digits after the decimal point (%.4f), or as %.3e when below 1e-3
// or at least 1e5 in magnitude.
#pragma once
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace loom::train {

// Named values of one step, in the order they were produced ("lossD", "lossG", ...).
using Metrics = std::vector<std::pair<std::string, double>>;

// "1.2345", "1.235e-04", "nan"
std::string format_value(double value);
// "2:51", "1:02:03", "?" for a negative or non-finite number of seconds.
std::string format_duration(double seconds);
// The plain line: "step 450/1000  lossD 1.2345  lossG 0.8123  3.21 it/s  ETA 2:51".
// A rate <= 0 (no steps timed yet) prints "- it/s  ETA ?".
std::string format_progress_line(int64_t step, int64_t total, const Metrics& values, double steps_per_second,
                                 double eta_seconds);

struct ProgressOptions {
  int64_t total_steps = 0;
  int64_t log_every = 50;  // plain lines: every this many steps (and the last step)
  bool terminal = false;   // redraw one line in place instead of plain lines
  FILE* out = stdout;  // nullptr: print nothing (the mirror still gets the lines)
  std::function<void(const std::string&)> mirror;  // receives each plain line (train.log)
};

class Progress {
 public:
  // `start_step`: the steps already done (a resumed run); it/s counts from here.
  Progress(ProgressOptions options, int64_t start_step);
  // Reports that `step` steps are done (1-based) with these values.
  void update(int64_t step, const Metrics& values);
  // Prints a message on its own line (moving the bar below it) and mirrors it.
  void message(const std::string& line);
  // Ends the in-place line with a newline (terminal mode).
  void finish();
  // True when stdout is a terminal.
  static bool stdout_is_terminal();

 private:
  void clear_bar();
  ProgressOptions options_;
  int64_t start_step_;
  std::chrono::steady_clock::time_point start_time_;
  bool bar_drawn_ = false;
};

}  // namespace loom::train
