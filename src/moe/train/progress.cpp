// train/progress.cpp: the progress bar / progress lines.
#include "moe/train/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "moe/core/error.h"

namespace moe::train {

namespace {

constexpr double kRedrawInterval = 0.1;  // seconds between terminal redraws

double steady_seconds() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

std::string format_rate(double tokens_per_s) {
  if (!std::isfinite(tokens_per_s) || tokens_per_s < 0) return "? tok/s";
  if (tokens_per_s >= 1e6) return fmt::format("{:.2f}M tok/s", tokens_per_s / 1e6);
  if (tokens_per_s >= 1e3) return fmt::format("{:.1f}k tok/s", tokens_per_s / 1e3);
  return fmt::format("{:.0f} tok/s", tokens_per_s);
}

double percent(const ProgressSnapshot& s) { return s.total > 0 ? 100.0 * s.step / s.total : 0.0; }

}  // namespace

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const auto t = static_cast<int64_t>(std::llround(seconds));
  const int64_t h = t / 3600, m = t / 60 % 60, sec = t % 60;
  if (h > 0) return fmt::format("{}h{:02}m{:02}s", h, m, sec);
  if (m > 0) return fmt::format("{}m{:02}s", m, sec);
  return fmt::format("{}s", sec);
}

std::string format_progress_line(const ProgressSnapshot& s) {
  return fmt::format("step {}/{} ({:.1f}%) | loss {:.4f} | {} | eta {}", s.step, s.total, percent(s), s.loss,
                     format_rate(s.tokens_per_s), format_duration(s.eta_s));
}

std::string format_progress_bar(const ProgressSnapshot& s, int bar_width) {
  const double frac = s.total > 0 ? std::clamp(static_cast<double>(s.step) / s.total, 0.0, 1.0) : 0.0;
  const auto filled = static_cast<int>(frac * bar_width);
  const int digits = static_cast<int>(std::to_string(s.total).size());
  return fmt::format("[{}{}] {:>{}}/{} {:5.1f}% | loss {:.4f} | {} | eta {}", std::string(filled, '#'),
                     std::string(bar_width - filled, '-'), s.step, digits, s.total, percent(s), s.loss,
                     format_rate(s.tokens_per_s), format_duration(s.eta_s));
}

ProgressReporter::ProgressReporter(std::FILE* out, bool is_tty, int64_t total_steps, int64_t print_every,
                                   int64_t start_step, Clock clock)
    : out_(out),
      tty_(is_tty),
      total_(total_steps),
      every_(print_every),
      start_step_(start_step),
      clock_(clock ? std::move(clock) : Clock(steady_seconds)) {
  MOE_CHECK(out_ != nullptr, "ProgressReporter: no output stream");
  MOE_CHECK(total_ > 0 && every_ > 0, "ProgressReporter: total_steps ({}) and print_every ({}) must be positive",
            total_, every_);
  t_start_ = t_last_ = clock_();
}

ProgressReporter ProgressReporter::for_stdout(int64_t total_steps, int64_t print_every, int64_t start_step) {
  return ProgressReporter(stdout, ::isatty(::fileno(stdout)) != 0, total_steps, print_every, start_step);
}

void ProgressReporter::update(int64_t step, double loss, int64_t tokens) {
  tokens_since_last_ += tokens;
  const double now = clock_();
  const bool last = step >= total_;
  if (tty_ ? !(last || !bar_open_ || now - t_last_ >= kRedrawInterval) : !(last || step % every_ == 0)) return;

  ProgressSnapshot s;
  s.step = step;
  s.total = total_;
  s.loss = loss;
  s.tokens_per_s = now > t_last_ ? tokens_since_last_ / (now - t_last_) : -1.0;
  s.eta_s = step > start_step_ ? (now - t_start_) / static_cast<double>(step - start_step_) * (total_ - step) : -1.0;
  t_last_ = now;
  tokens_since_last_ = 0;

  if (tty_) {
    const std::string bar = format_progress_bar(s);
    // Pad to the previous length so a shorter line leaves no stale characters.
    const size_t pad = bar_len_ > bar.size() ? bar_len_ - bar.size() : 0;
    fmt::print(out_, "\r{}{}", bar, std::string(pad, ' '));
    bar_len_ = bar.size();
    bar_open_ = true;
  } else {
    fmt::print(out_, "{}\n", format_progress_line(s));
  }
  std::fflush(out_);
}

void ProgressReporter::clear_bar() {
  if (!bar_open_) return;
  fmt::print(out_, "\r{}\r", std::string(bar_len_, ' '));
  bar_open_ = false;
  bar_len_ = 0;
}

void ProgressReporter::message(const std::string& line) {
  clear_bar();
  fmt::print(out_, "{}\n", line);
  std::fflush(out_);
}

void ProgressReporter::finish() {
  if (!bar_open_) return;
  fmt::print(out_, "\n");
  std::fflush(out_);
  bar_open_ = false;
  bar_len_ = 0;
}

ProgressReporter::~ProgressReporter() { finish(); }

}  // namespace moe::train
