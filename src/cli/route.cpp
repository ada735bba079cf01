// route.cpp: `moe route`, the NeuroShard router's alpha over the topics for one text.
#include <fmt/core.h>

#include "cli/commands.h"
#include "moe/models/neuroshard.h"

namespace moe::cli {

Command route_command() {
  struct Opts {
    std::string checkpoint, text;
    bool json = false;
  };
  auto o = std::make_shared<Opts>();
  Command c;
  c.setup = [o](CLI::App& app) {
    CLI::App* sub = app.add_subcommand("route", "A NeuroShard checkpoint's routing weights (alpha) for a text");
    sub->add_option("--checkpoint", o->checkpoint, "NeuroShard checkpoint directory")->required();
    sub->add_option("--text", o->text, "The text to route")->required();
    sub->add_flag("--json", o->json, "Print {\"alpha\": {topic: weight}, \"dominant\": topic}");
    return sub;
  };
  c.run = [o]() -> int {
    std::unique_ptr<models::NeuroShard> model = models::load_neuroshard(o->checkpoint);
    const models::Route r = models::route_text(*model, o->text);
    fmt::print("{}\n", o->json ? r.to_json().dump() : r.text_line());
    return 0;
  };
  return c;
}

}  // namespace moe::cli
