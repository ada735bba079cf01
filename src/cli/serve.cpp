// serve.cpp: `moe serve`, the HTTP API and web UI over a checkpoint (serve/server.h,
// docs/serve_api.md). Ctrl-C or SIGTERM stops it cleanly: a thread waits for the signal
// (blocked in every other thread) and stops the server, whose listen() then returns.
#include <fmt/core.h>
#include <pthread.h>

#include <csignal>
#include <thread>

#include "cli/commands.h"
#include "moe/core/parallel.h"
#include "moe/serve/server.h"

namespace moe::cli {

Command serve_command() {
  struct Opts {
    serve::ServerOptions s;
    int64_t queue = 16;
  };
  auto o = std::make_shared<Opts>();
  o->s.web_dir = MOE_WEB_DIR;
  Command c;
  c.setup = [o](CLI::App& app) {
    CLI::App* sub = app.add_subcommand("serve", "HTTP API and web UI over a checkpoint (docs/serve_api.md)");
    sub->add_option("--checkpoint", o->s.checkpoint_dir,
                    "Checkpoint directory: a language model, NeuroShard or moe_classifier (optional with --run)");
    sub->add_option("--host", o->s.host, "Address to listen on (loopback unless told otherwise)")->capture_default_str();
    sub->add_option("--port", o->s.port, "Port (0: any free port)")->check(CLI::Range(0, 65535))->capture_default_str();
    sub->add_option("--web", o->s.web_dir, "Directory of the web UI's static files")->capture_default_str();
    sub->add_option("--run", o->s.run_dir, "A training run directory (its metrics.jsonl at GET /v1/run)");
    sub->add_option("--max-tokens-limit", o->s.limits.max_tokens, "Largest max_tokens a request may ask for")
        ->check(CLI::PositiveNumber)->capture_default_str();
    sub->add_option("--max-prompt-bytes", o->s.limits.max_prompt_bytes, "Largest prompt (or route text) in bytes")
        ->check(CLI::PositiveNumber)->capture_default_str();
    sub->add_option("--queue", o->queue, "Model requests that may wait; one more is answered 503")
        ->check(CLI::PositiveNumber)->capture_default_str();
    sub->add_option("--workers", o->s.workers, "Model workers, each with its own copy of the model")
        ->check(CLI::PositiveNumber)->capture_default_str();
    return sub;
  };
  c.run = [o]() -> int {
    o->s.queue = static_cast<size_t>(o->queue);
    o->s.threads = num_threads();  // the global --threads, applied in each model worker
    o->s.log_requests = true;
    // Block the stop signals before any thread starts, so only the waiter receives them.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
    serve::Server server(o->s);
    const int port = server.bind();
    std::thread waiter([&] {
      int sig = 0;
      sigwait(&stop_signals, &sig);
      server.stop();
    });
    if (!server.model_info().is_null())
      fmt::print("moe serve: {} model from {}\n", server.model_info()["kind"].get<std::string>(), o->s.checkpoint_dir);
    if (!o->s.run_dir.empty()) fmt::print("moe serve: training run {} at /v1/run\n", o->s.run_dir);
    fmt::print("moe serve: listening on http://{}:{}/ (Ctrl-C stops)\n", o->s.host, port);
    std::fflush(stdout);
    server.listen();
    if (waiter.joinable()) {
      pthread_kill(waiter.native_handle(), SIGTERM);  // listen() ended on its own: release the waiter
      waiter.join();
    }
    server.stop();
    fmt::print("moe serve: stopped\n");
    return 0;
  };
  return c;
}

}  // namespace moe::cli
