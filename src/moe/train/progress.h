// train/progress.h: the training progress report. On a terminal, one status line
// redrawn in place with '\r' (a bar, step/total, percent, loss, tokens/s, ETA), at most
// ten times a second; elsewhere (a log file, a pipe, CI) a plain line every
// `print_every` steps and at the last step, so logs stay readable.
//
// tokens/s is measured over the interval since the previous report; the ETA
// extrapolates the average step time since the reporter started.
#pragma once
#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>

namespace moe::train {

struct ProgressSnapshot {
  int64_t step = 0;   // steps completed
  int64_t total = 0;  // steps in the whole run
  double loss = 0.0;
  double tokens_per_s = 0.0;
  double eta_s = 0.0;  // negative: unknown
};

// "1h02m03s", "4m05s", "6s"; "?" for a negative or non-finite time.
std::string format_duration(double seconds);
// A plain log line: "step 200/1000 (20.0%) | loss 2.3456 | 12.3k tok/s | eta 1m05s"
std::string format_progress_line(const ProgressSnapshot& s);
// The terminal status line (no '\r'): "[######------]  200/1000  20.0% | loss ..."
std::string format_progress_bar(const ProgressSnapshot& s, int bar_width = 24);

class ProgressReporter {
 public:
  using Clock = std::function<double()>;  // seconds, monotonic

  // `out` and `is_tty` are explicit so tests can drive both modes; `start_step` is the
  // step a resumed run starts from (the ETA only counts steps run here). `clock`
  // defaults to std::chrono::steady_clock.
  ProgressReporter(std::FILE* out, bool is_tty, int64_t total_steps, int64_t print_every, int64_t start_step = 0,
                   Clock clock = {});
  // Reports to stdout, a bar when stdout is a terminal.
  static ProgressReporter for_stdout(int64_t total_steps, int64_t print_every, int64_t start_step = 0);

  // Step `step` (1-based count of completed steps) finished with `loss` after
  // processing `tokens` tokens.
  void update(int64_t step, double loss, int64_t tokens);
  // Prints a line of its own (an eval result), clearing the bar first on a terminal.
  void message(const std::string& line);
  // Ends the bar's line on a terminal; no-op otherwise. Called by the destructor too.
  void finish();
  ~ProgressReporter();
  // The destructor finishes the line, so there is exactly one owner (for_stdout's
  // result is returned by guaranteed copy elision).
  ProgressReporter(const ProgressReporter&) = delete;
  ProgressReporter& operator=(const ProgressReporter&) = delete;

 private:
  void clear_bar();
  std::FILE* out_;
  bool tty_;
  int64_t total_, every_, start_step_;
  Clock clock_;
  double t_start_, t_last_;
  int64_t tokens_since_last_ = 0;
  size_t bar_len_ = 0;  // characters of the bar on screen
  bool bar_open_ = false;
};

}  // namespace moe::train
