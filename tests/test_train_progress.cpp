// ProgressReporter: the plain-line mode (every N steps and the last step), the
// terminal mode (one line redrawn with '\r', padded, ended by finish()), and the
// duration / rate formatting, driven by a fake clock.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "moe/train/progress.h"

using namespace moe::train;

namespace {

// Collects what a reporter writes (a real FILE*, as in production).
struct Capture {
  std::FILE* f = std::tmpfile();
  ~Capture() { std::fclose(f); }
  std::string text() const {
    std::fflush(f);
    std::string out;
    std::rewind(f);
    for (int c; (c = std::fgetc(f)) != EOF;) out.push_back(static_cast<char>(c));
    return out;
  }
};

}  // namespace

TEST(Progress, FormatsDurations) {
  EXPECT_EQ(format_duration(0), "0s");
  EXPECT_EQ(format_duration(59.4), "59s");
  EXPECT_EQ(format_duration(65), "1m05s");
  EXPECT_EQ(format_duration(3723), "1h02m03s");
  EXPECT_EQ(format_duration(-1), "?");
  EXPECT_EQ(format_duration(NAN), "?");
}

TEST(Progress, FormatsAPlainLine) {
  ProgressSnapshot s{200, 1000, 2.34567, 12345.0, 65.0};
  EXPECT_EQ(format_progress_line(s), "step 200/1000 (20.0%) | loss 2.3457 | 12.3k tok/s | eta 1m05s");
  s.tokens_per_s = 2.5e6;
  s.eta_s = -1;
  s.loss = NAN;
  EXPECT_EQ(format_progress_line(s), "step 200/1000 (20.0%) | loss nan | 2.50M tok/s | eta ?");
  s.tokens_per_s = 512;
  EXPECT_EQ(format_progress_line(s).find("512 tok/s") != std::string::npos, true);
}

TEST(Progress, FormatsABar) {
  ProgressSnapshot s{25, 100, 1.5, 800.0, 30.0};
  EXPECT_EQ(format_progress_bar(s, 8), "[##------]  25/100  25.0% | loss 1.5000 | 800 tok/s | eta 30s");
  s.step = 100;
  EXPECT_EQ(format_progress_bar(s, 8).substr(0, 10), "[########]");
}

TEST(Progress, NonTerminalPrintsEveryNStepsAndTheLastStep) {
  Capture cap;
  double now = 0.0;
  {
    ProgressReporter p(cap.f, /*is_tty=*/false, /*total_steps=*/10, /*print_every=*/4, 0, [&] { return now; });
    for (int64_t step = 1; step <= 10; ++step) {
      now += 0.5;  // each step: 0.5 s, 1000 tokens
      p.update(step, 3.0 - 0.1 * step, 1000);
      if (step == 5) p.message("eval: val loss 2.0");
    }
  }
  // step 4: 4000 tokens over 2 s; ETA = 6 steps x 0.5 s. step 8: 4000 over 2 s. step 10: 2000 over 1 s.
  EXPECT_EQ(cap.text(),
            "step 4/10 (40.0%) | loss 2.6000 | 2.0k tok/s | eta 3s\n"
            "eval: val loss 2.0\n"
            "step 8/10 (80.0%) | loss 2.2000 | 2.0k tok/s | eta 1s\n"
            "step 10/10 (100.0%) | loss 2.0000 | 2.0k tok/s | eta 0s\n");
}

TEST(Progress, EtaCountsOnlyTheStepsOfAResumedRun) {
  Capture cap;
  double now = 0.0;
  ProgressReporter p(cap.f, false, 100, 10, /*start_step=*/50, [&] { return now; });
  now = 10.0;  // 10 steps in 10 s: 40 left -> 40 s
  p.update(60, 1.0, 100);
  EXPECT_NE(cap.text().find("step 60/100 (60.0%) | loss 1.0000 | 10 tok/s | eta 40s"), std::string::npos)
      << cap.text();
}

TEST(Progress, TerminalRedrawsOneLineWithCarriageReturns) {
  Capture cap;
  double now = 0.0;
  {
    ProgressReporter p(cap.f, /*is_tty=*/true, 3, 1000, 0, [&] { return now; });
    now = 1.0;
    p.update(1, 10.25, 100);  // first update: drawn
    now = 1.05;
    p.update(2, 9.5, 100);  // 50 ms later: skipped (at most 10 redraws a second)
    now = 2.0;
    p.update(3, 9.0, 100);  // last step: drawn
  }                         // the destructor ends the line
  const std::string out = cap.text();
  EXPECT_EQ(out.find('\n'), out.size() - 1) << out;  // a single line
  EXPECT_EQ(std::count(out.begin(), out.end(), '\r'), 2) << out;
  EXPECT_NE(out.find("\r[########----------------] 1/3  33.3% | loss 10.2500 | 100 tok/s | eta 2s"),
            std::string::npos)
      << out;
  // The second draw is one character shorter ("9.0000" vs "10.2500"): padded with a space.
  EXPECT_NE(out.find("\r[########################] 3/3 100.0% | loss 9.0000 | 200 tok/s | eta 0s \n"),
            std::string::npos)
      << out;
}

TEST(Progress, TerminalMessageClearsTheBarFirst) {
  Capture cap;
  double now = 0.0;
  ProgressReporter p(cap.f, true, 10, 1, 0, [&] { return now; });
  now = 1.0;
  p.update(1, 1.0, 10);
  p.message("saved checkpoint");
  const std::string out = cap.text();
  const size_t msg = out.find("saved checkpoint\n");
  ASSERT_NE(msg, std::string::npos) << out;
  EXPECT_EQ(out[msg - 1], '\r') << out;  // written from the start of a blanked line
  p.finish();
  EXPECT_EQ(cap.text(), out);  // no bar open: finish() prints nothing
}
