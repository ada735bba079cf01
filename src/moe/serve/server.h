// serve/server.h: `moe serve`'s HTTP server (docs/serve_api.md), independent of the CLI:
// the routes, strict request checks, the bounded queue in front of the model workers,
// static files of the web UI and a training run's metrics. httplib stays inside
// server.cpp.
#pragma once
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "moe/serve/request_parse.h"

namespace moe::serve {

class WorkQueue;

struct ServerOptions {
  std::string checkpoint_dir;  // empty: no model (a dashboard of run_dir only)
  std::string run_dir;         // empty: GET /v1/run answers 404
  std::string web_dir;         // static files; empty or missing: none served
  std::string host = "127.0.0.1";
  int port = 8080;             // 0: any free port
  Limits limits;
  size_t queue = 16;           // model requests that may wait (>= 1); one more is answered 503
  int workers = 1;             // model workers, each with its own copy of the model
  int threads = 0;             // OpenMP threads per worker; 0: the process's setting
  bool log_requests = false;   // one line per request on stderr
};

class Server {
 public:
  // Loads the checkpoint once per worker and starts the workers; throws moe::Error.
  explicit Server(const ServerOptions& options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds host:port and returns the port (the chosen one when port is 0).
  int bind();
  // Serves on the bound socket until stop().
  void listen();
  // bind(), then listen() on a background thread (tests); returns the port.
  int start();
  // Stops serving: waiting model jobs are answered 503, running ones end early. Safe
  // from any thread, more than once.
  void stop();

  int port() const;
  // The model workers' queue; null without a model. Tests hold the workers to fill it.
  WorkQueue* work_queue();
  // The /v1/model body; null without a model.
  const nlohmann::json& model_info() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace moe::serve
