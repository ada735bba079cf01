// serve/sse.cpp: SSE framing and the worker -> HTTP thread event channel.
#include "moe/serve/sse.h"

namespace moe::serve {

std::string sse_event(const std::string& payload) { return "data: " + payload + "\n\n"; }

std::string sse_event(const nlohmann::json& payload) { return sse_event(dump_json(payload)); }

std::string dump_json(const nlohmann::json& j) { return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace); }

std::vector<std::string> parse_sse_data(const std::string& stream) {
  std::vector<std::string> out;
  std::string data;
  bool has_data = false;
  size_t pos = 0;
  while (pos < stream.size()) {
    size_t end = stream.find('\n', pos);
    if (end == std::string::npos) end = stream.size();
    std::string line = stream.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    pos = end + 1;
    if (line.empty()) {  // a blank line ends an event
      if (has_data) out.push_back(data);
      data.clear();
      has_data = false;
    } else if (line.rfind("data:", 0) == 0) {
      std::string value = line.substr(5);
      if (!value.empty() && value[0] == ' ') value.erase(0, 1);
      data += (has_data ? "\n" : "") + value;
      has_data = true;
    }  // comments (':') and other fields are ignored
  }
  return out;
}

void EventChannel::push(std::string event) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    events_.push_back(std::move(event));
  }
  ready_.notify_one();
}

void EventChannel::close() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    closed_ = true;
  }
  ready_.notify_one();
}

bool EventChannel::pop(std::string& event) {
  std::unique_lock<std::mutex> lock(mutex_);
  ready_.wait(lock, [&] { return !events_.empty() || closed_; });
  if (events_.empty()) return false;
  event = std::move(events_.front());
  events_.pop_front();
  return true;
}

}  // namespace moe::serve
