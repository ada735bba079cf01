// serve/server.cpp: the routes of docs/serve_api.md over cpp-httplib. HTTP threads parse
// and check requests and wait; model work runs only on the WorkQueue's workers. Every
// error is the JSON body {"error": {"message", "type", "param"}}.
#include "moe/serve/server.h"

#include <fmt/core.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <future>
#include <random>
#include <sys/socket.h>
#include <thread>

#include "moe/data/tokenizer.h"
#include "moe/io/checkpoint.h"
#include "moe/serve/api_json.h"
#include "moe/serve/run_metrics.h"
#include "moe/serve/served_model.h"
#include "moe/serve/sse.h"
#include "moe/serve/work_queue.h"

namespace moe::serve {

namespace {

using Emit = std::function<void(const std::string&)>;  // pushes one SSE event to the client

void reply_json(httplib::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_content(dump_json(body), "application/json");
}

void reply_error(httplib::Response& res, const ApiError& e) {
  reply_json(res, e.status, e.to_json());
  if (e.status == 503) res.set_header("Retry-After", "1");
}

ApiError busy_error(size_t capacity) {
  return {503, "server_busy", fmt::format("the server is busy: {} requests are already waiting; retry later", capacity),
          ""};
}

ApiError stopping_error() { return {503, "server_busy", "the server is shutting down", ""}; }

ApiError not_found(const std::string& what) { return {404, "not_found", what, ""}; }

// A token callback that ends a generation when the server stops.
std::function<void(const GeneratedToken&)> stop_check(const WorkQueue* q) {
  return [q](const GeneratedToken&) {
    if (q->stopping()) throw GenerationCancelled{};
  };
}

}  // namespace

struct Server::Impl {
  ServerOptions options;
  httplib::Server http;
  std::unique_ptr<WorkQueue> queue;
  nlohmann::json info;                          // /v1/model; null without a model
  ModelKind kind = ModelKind::lm;
  std::unique_ptr<data::Tokenizer> tokenizer;   // lm: counts prompt tokens on HTTP threads
  int64_t context = 0;
  int port = -1;
  int listen_fd = -1;  // the listening socket, recorded when httplib creates it
  std::thread listener;
  std::atomic<uint64_t> completion_counter{0};

  explicit Impl(const ServerOptions& o);
  void routes();
  void require_kind(bool want_lm, const std::string& endpoint) const;
  void check_context(const std::string& prompt) const;

  template <class T>
  T run_blocking(std::function<T(ServedModel&)> fn);
  void run_streaming(httplib::Response& res, std::function<void(ServedModel&, const Emit&)> fn);

  void model(const httplib::Request& req, httplib::Response& res);
  void generate(const httplib::Request& req, httplib::Response& res);
  void completions(const httplib::Request& req, httplib::Response& res);
  void route(const httplib::Request& req, httplib::Response& res);
  void run(const httplib::Request& req, httplib::Response& res);
};

Server::Impl::Impl(const ServerOptions& o) : options(o) {
  MOE_CHECK(o.workers >= 1, "serve: --workers must be >= 1, got {}", o.workers);
  MOE_CHECK(o.queue >= 1, "serve: --queue must be >= 1, got {}", o.queue);
  MOE_CHECK(o.limits.max_tokens >= 1 && o.limits.max_prompt_bytes >= 1,
            "serve: --max-tokens-limit and --max-prompt-bytes must be >= 1");
  MOE_CHECK(!o.checkpoint_dir.empty() || !o.run_dir.empty(), "serve: give --checkpoint DIR, --run DIR or both");
  if (!o.run_dir.empty())
    MOE_CHECK(std::filesystem::is_directory(o.run_dir), "serve: --run {}: not a directory", o.run_dir);
  if (o.checkpoint_dir.empty()) return;
  std::vector<std::unique_ptr<ServedModel>> models;
  for (int w = 0; w < o.workers; ++w) models.push_back(ServedModel::load(o.checkpoint_dir));
  kind = models[0]->kind();
  info = models[0]->info();
  info["limits"] = {{"max_tokens", o.limits.max_tokens}, {"max_prompt_bytes", o.limits.max_prompt_bytes}};
  if (kind == ModelKind::lm) {
    const io::CheckpointData meta = io::read_checkpoint_meta(o.checkpoint_dir);
    tokenizer = data::tokenizer_from_json(meta.tokenizer_json, o.checkpoint_dir + "/tokenizer.json");
    context = info["context"].get<int64_t>();
  }
  queue = std::make_unique<WorkQueue>(std::move(models), o.queue, o.threads);
}

void Server::Impl::require_kind(bool want_lm, const std::string& endpoint) const {
  if (!queue)
    throw RequestError(not_found(fmt::format("{}: no model is loaded (moe serve was started without --checkpoint)",
                                             endpoint)));
  if (want_lm && kind != ModelKind::lm)
    throw RequestError(ApiError{400, "invalid_request_error",
                                fmt::format("{} needs a language model; this server holds a routed classifier "
                                            "(kind \"{}\"): use /v1/route",
                                            endpoint, kind_name(kind)),
                                ""});
  if (!want_lm && kind == ModelKind::lm)
    throw RequestError(ApiError{400, "invalid_request_error",
                                fmt::format("{} needs a routed classifier (neuroshard or moe_classifier); this server "
                                            "holds a language model (kind \"lm\"): use /v1/generate",
                                            endpoint),
                                ""});
}

void Server::Impl::check_context(const std::string& prompt) const {
  const int64_t n = static_cast<int64_t>(tokenizer->encode(prompt).size());
  if (n > context)
    throw RequestError(ApiError{413, "invalid_request_error",
                                fmt::format("'prompt' is {} tokens, over the model's context of {} tokens", n, context),
                                "prompt"});
}

// Queues fn for a worker and waits for its result; 503 when the queue is full.
template <class T>
T Server::Impl::run_blocking(std::function<T(ServedModel&)> fn) {
  auto result = std::make_shared<std::promise<T>>();
  std::future<T> done = result->get_future();
  const bool queued = queue->try_submit([result, fn](ServedModel* m) {
    try {
      if (!m) throw RequestError(stopping_error());
      result->set_value(fn(*m));
    } catch (...) {
      result->set_exception(std::current_exception());
    }
  });
  if (!queued) throw RequestError(queue->stopping() ? stopping_error() : busy_error(queue->capacity()));
  return done.get();
}

// Queues fn for a worker and streams the events it emits as they come. Once queued the
// status is 200: a later failure arrives as a last event {"error": {...}}. A client that
// goes away cancels the generation at its next token.
void Server::Impl::run_streaming(httplib::Response& res, std::function<void(ServedModel&, const Emit&)> fn) {
  auto channel = std::make_shared<EventChannel>();
  WorkQueue* q = queue.get();
  const bool queued = q->try_submit([channel, fn, q](ServedModel* m) {
    try {
      if (!m) throw RequestError(stopping_error());
      fn(*m, [&](const std::string& event) {
        if (channel->cancelled() || q->stopping()) throw GenerationCancelled{};
        channel->push(event);
      });
    } catch (const GenerationCancelled&) {
    } catch (const RequestError& e) {
      channel->push(sse_event(e.error().to_json()));
    } catch (const std::exception& e) {
      channel->push(sse_event(ApiError{500, "server_error", e.what(), ""}.to_json()));
    }
    channel->close();
  });
  if (!queued) throw RequestError(q->stopping() ? stopping_error() : busy_error(q->capacity()));
  res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider(
      "text/event-stream",
      [channel](size_t, httplib::DataSink& sink) {
        std::string event;
        if (!channel->pop(event)) {
          sink.done();
          return true;
        }
        if (!sink.write(event.data(), event.size())) {
          channel->cancel();
          return false;
        }
        return true;
      },
      [channel](bool) { channel->cancel(); });
}

void Server::Impl::model(const httplib::Request&, httplib::Response& res) {
  if (!queue) throw RequestError(not_found("/v1/model: no model is loaded (moe serve was started without --checkpoint)"));
  reply_json(res, 200, info);
}

void Server::Impl::generate(const httplib::Request& req, httplib::Response& res) {
  require_kind(true, "/v1/generate");
  const GenerateRequest r = parse_generate_request(req.body, options.limits);
  check_context(r.prompt);
  if (!r.stream) {
    const Generation g = run_blocking<Generation>([r, q = queue.get()](ServedModel& m) {
      return m.generate(r.prompt, r.max_tokens, r.sampling, r.seed, stop_check(q));
    });
    reply_json(res, 200, generate_response(g));
    return;
  }
  run_streaming(res, [r](ServedModel& m, const Emit& emit) {
    const Generation g = m.generate(r.prompt, r.max_tokens, r.sampling, r.seed, [&](const GeneratedToken& t) {
      emit(sse_event(generate_token_event(t)));
    });
    emit(sse_event(generate_done_event(g)));
  });
}

void Server::Impl::completions(const httplib::Request& req, httplib::Response& res) {
  require_kind(true, "/v1/completions");
  const CompletionRequest r = parse_completion_request(req.body, options.limits);
  check_context(r.prompt);
  const uint64_t seed = r.seed ? *r.seed : (static_cast<uint64_t>(std::random_device{}()) << 32) ^ std::random_device{}();
  CompletionMeta meta;
  meta.id = fmt::format("cmpl-{:x}{:08x}", ++completion_counter, static_cast<uint32_t>(std::random_device{}()));
  meta.created = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
                     .count();
  if (!r.stream) {
    const Generation g = run_blocking<Generation>([r, seed, q = queue.get()](ServedModel& m) {
      return m.generate(r.prompt, r.max_tokens, r.sampling, seed, stop_check(q));
    });
    reply_json(res, 200, completion_response(meta, g));
    return;
  }
  run_streaming(res, [r, seed, meta](ServedModel& m, const Emit& emit) {
    size_t streamed = 0;  // bytes sent in token chunks; the last chunk carries any incomplete tail
    const Generation g = m.generate(r.prompt, r.max_tokens, r.sampling, seed, [&](const GeneratedToken& t) {
      streamed += t.text.size();
      emit(sse_event(completion_chunk(meta, t.text, nullptr)));
    });
    emit(sse_event(completion_chunk(meta, g.text.substr(streamed), &g)));
    emit(sse_event(std::string("[DONE]")));
  });
}

void Server::Impl::route(const httplib::Request& req, httplib::Response& res) {
  require_kind(false, "/v1/route");
  const RouteRequest r = parse_route_request(req.body, options.limits);
  const RouteResult out = run_blocking<RouteResult>([r](ServedModel& m) { return m.route(r.text); });
  reply_json(res, 200, out.to_json());
}

void Server::Impl::run(const httplib::Request& req, httplib::Response& res) {
  if (options.run_dir.empty())
    throw RequestError(not_found("/v1/run: no training run is served (start moe serve with --run DIR)"));
  int64_t from = 0;
  if (req.has_param("from")) {
    const std::string v = req.get_param_value("from");
    size_t used = 0;
    try {
      from = std::stoll(v, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (v.empty() || used != v.size() || from < 0)
      throw RequestError(ApiError{400, "invalid_request_error",
                                  fmt::format("'from' must be a non-negative integer, got \"{}\"", v), "from"});
  }
  reply_json(res, 200, read_run_records(options.run_dir, from));
}

void Server::Impl::routes() {
  using Handler = void (Impl::*)(const httplib::Request&, httplib::Response&);
  auto guarded = [this](Handler h) {
    return [this, h](const httplib::Request& req, httplib::Response& res) {
      try {
        (this->*h)(req, res);
      } catch (const RequestError& e) {
        reply_error(res, e.error());
      } catch (const GenerationCancelled&) {
        reply_error(res, stopping_error());
      } catch (const std::exception& e) {
        reply_error(res, ApiError{500, "server_error", e.what(), ""});
      }
    };
  };
  auto wrong_method = [](const std::string& allowed) {
    return [allowed](const httplib::Request& req, httplib::Response& res) {
      reply_error(res, ApiError{405, "invalid_request_error",
                                fmt::format("{} {}: method not allowed; use {}", req.method, req.path, allowed), ""});
      res.set_header("Allow", allowed);
    };
  };
  struct Route {
    const char* path;
    bool post;
    Handler handler;
  };
  const Route api[] = {{"/v1/model", false, &Impl::model},
                       {"/v1/run", false, &Impl::run},
                       {"/v1/generate", true, &Impl::generate},
                       {"/v1/completions", true, &Impl::completions},
                       {"/v1/route", true, &Impl::route}};
  for (const Route& r : api) {
    if (r.post) {
      http.Post(r.path, guarded(r.handler));
      http.Get(r.path, wrong_method("POST"));
    } else {
      http.Get(r.path, guarded(r.handler));
      http.Post(r.path, wrong_method("GET"));
    }
    const std::string allowed = r.post ? "POST" : "GET";
    http.Put(r.path, wrong_method(allowed));
    http.Delete(r.path, wrong_method(allowed));
    http.Patch(r.path, wrong_method(allowed));
  }
  // Errors httplib answers itself (unknown path, body too large, bad request line) get the
  // same JSON body; our own error replies already have one.
  http.set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    ApiError e{res.status, "invalid_request_error", fmt::format("{} {}: HTTP {}", req.method, req.path, res.status), ""};
    if (res.status == 404) e = not_found(fmt::format("{} {}: no such path", req.method, req.path));
    if (res.status == 413) e.message = "the request body is too large";
    reply_json(res, e.status, e.to_json());
    return httplib::Server::HandlerResponse::Handled;
  }));
  if (!options.web_dir.empty()) {
    if (std::filesystem::is_directory(options.web_dir))
      http.set_mount_point("/", options.web_dir);
    else
      fmt::print(stderr, "moe serve: web directory {} not found; no web UI is served\n", options.web_dir);
  }
  if (options.log_requests)
    http.set_logger([](const httplib::Request& req, const httplib::Response& res) {
      fmt::print(stderr, "{} {} {}\n", req.method, req.path, res.status);
    });
  // SO_REUSEADDR only: httplib's default adds SO_REUSEPORT, with which a second server on
  // the same port would bind too and silently share the connections.
  http.set_socket_options([this](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    listen_fd = sock;
  });
  // A JSON body may escape each prompt byte as \uXXXX (6 bytes); beyond that, 413 unread.
  http.set_payload_max_length(static_cast<size_t>(options.limits.max_prompt_bytes) * 6 + 65536);
  // Enough HTTP threads that the model queue, not the thread pool, is what fills up.
  const size_t threads = std::max<size_t>(8, options.queue + static_cast<size_t>(options.workers) + 4);
  http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
}

Server::Server(const ServerOptions& options) : impl_(std::make_unique<Impl>(options)) { impl_->routes(); }

Server::~Server() {
  stop();
  if (impl_->listener.joinable()) impl_->listener.join();
}

int Server::bind() {
  const ServerOptions& o = impl_->options;
  if (o.port == 0) {
    impl_->port = impl_->http.bind_to_any_port(o.host);
  } else {
    impl_->port = impl_->http.bind_to_port(o.host, o.port) ? o.port : -1;
  }
  MOE_CHECK(impl_->port > 0, "serve: cannot listen on {}:{} (in use, or not an address of this machine)", o.host,
            o.port);
  // Debian's build of cpp-httplib 0.11 listens with a backlog of 5: a burst of clients then
  // overflows it (SYN cookies, dropped handshakes, failed reads). Linux lets listen() on a
  // listening socket set a new backlog.
  if (impl_->listen_fd >= 0) ::listen(impl_->listen_fd, SOMAXCONN);
  return impl_->port;
}

void Server::listen() { impl_->http.listen_after_bind(); }

int Server::start() {
  const int p = bind();
  impl_->listener = std::thread([this] { listen(); });
  // stop() before listen() starts would be lost: wait until it runs.
  while (!impl_->http.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return p;
}

void Server::stop() {
  if (impl_->queue) impl_->queue->shutdown();
  impl_->http.stop();
}

int Server::port() const { return impl_->port; }

WorkQueue* Server::work_queue() { return impl_->queue.get(); }

const nlohmann::json& Server::model_info() const { return impl_->info; }

}  // namespace moe::serve
