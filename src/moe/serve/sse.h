// serve/sse.h: Server-Sent Events for the streaming endpoints: the wire format of one
// event, a parser of a whole event stream (tests and clients), and EventChannel, the
// hand-off of events from a model worker to the HTTP thread that writes them.
#pragma once
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace moe::serve {

// "data: <payload>\n\n". The payload must not contain a newline (compact JSON never does).
std::string sse_event(const std::string& payload);
std::string sse_event(const nlohmann::json& payload);

// The data payloads of a complete event stream, in order (multi-line data joined by '\n').
std::vector<std::string> parse_sse_data(const std::string& stream);

// Compact JSON; invalid UTF-8 in strings becomes U+FFFD instead of throwing.
std::string dump_json(const nlohmann::json& j);

// A one-producer, one-consumer queue of events. The producer (a model worker) pushes and
// finally closes; the consumer (the HTTP thread) pops until closed, or cancels when its
// client is gone, which the producer sees through cancelled() and stops early.
class EventChannel {
 public:
  void push(std::string event);
  void close();
  // Blocks until an event is ready (true) or the channel is closed and drained (false).
  bool pop(std::string& event);
  void cancel() { cancelled_ = true; }
  bool cancelled() const { return cancelled_; }

 private:
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::string> events_;
  bool closed_ = false;
  std::atomic<bool> cancelled_{false};
};

}  // namespace moe::serve
