// lm.cpp: the language-model subcommands: train, eval, generate, chat, inspect.
#include <fmt/core.h>

#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "moe/data/text_dataset.h"
#include "moe/io/atomic_file.h"
#include "moe/io/checkpoint.h"
#include "moe/models/lm_session.h"
#include "moe/models/neuroshard.h"
#include "moe/train/classifier_trainer.h"
#include "moe/train/neuroshard_trainer.h"
#include "moe/train/lm_trainer.h"

namespace moe::cli {

Command train_command() {
  struct Opts {
    train::TrainOptions t;
    int64_t steps = 0, stop_after = 0;
    uint64_t seed = 0;
    CLI::Option *steps_opt = nullptr, *seed_opt = nullptr, *stop_opt = nullptr;
  };
  auto o = std::make_shared<Opts>();
  Command c;
  c.setup = [o](CLI::App& app) {
    CLI::App* sub = app.add_subcommand("train", "Train a language model from a JSON config");
    sub->add_option("--config", o->t.config_path, "Model + training config (configs/*.json)");
    sub->add_option("--data", o->t.data_path,
                    "UTF-8 training text (90% train / 10% validation); moe_classifier: the fixture directory; "
                    "neuroshard: overrides the config's train TSV");
    sub->add_option("--out", o->t.out_dir, "Run directory (metrics.jsonl, checkpoint/)");
    sub->add_option("--resume", o->t.resume_dir, "Continue exactly from a checkpoint directory");
    o->steps_opt = sub->add_option("--steps", o->steps, "Total optimizer steps (overrides the config)")
                       ->check(CLI::PositiveNumber);
    o->seed_opt = sub->add_option("--seed", o->seed, "Random seed (overrides the config)");
    o->stop_opt = sub->add_option("--stop-after", o->stop_after, "Checkpoint and stop after this step; --resume later")
                      ->check(CLI::PositiveNumber);
    return sub;
  };
  c.run = [o]() -> int {
    if (o->steps_opt->count()) o->t.steps = o->steps;
    if (o->seed_opt->count()) o->t.seed = o->seed;
    if (o->stop_opt->count()) o->t.stop_after = o->stop_after;
    MOE_CHECK(!o->t.config_path.empty() || !o->t.resume_dir.empty(), "train: give --config FILE or --resume DIR");
    if (!o->t.config_path.empty() && train::is_classifier_config(o->t.config_path)) {
      MOE_CHECK(!o->t.out_dir.empty(), "train: --out DIR is required");
      train::train_classifier(o->t);
      return 0;
    }
    if (!o->t.config_path.empty() && models::config_model_kind(io::read_file(o->t.config_path)) == "neuroshard") {
      // NeuroShard (issue #6): data and run directory come from the config unless given.
      train::NeuroShardTrainOptions n{o->t.config_path, o->t.out_dir, o->t.data_path, std::nullopt, o->t.seed, false};
      if (o->steps_opt->count()) n.epochs = o->steps;  // --steps counts epochs here
      train::train_neuroshard(n);
      return 0;
    }
    MOE_CHECK(!o->t.data_path.empty() && !o->t.out_dir.empty(), "train: --data and --out are required");
    train::train_lm(o->t);
    return 0;
  };
  return c;
}

Command eval_command() {
  struct Opts {
    std::string checkpoint, data;
    bool json = false;
  };
  auto o = std::make_shared<Opts>();
  Command c;
  c.setup = [o](CLI::App& app) {
    CLI::App* sub = app.add_subcommand("eval", "Mean next-token cross-entropy of a checkpoint on a text");
    sub->add_option("--checkpoint", o->checkpoint, "Checkpoint directory")->required();
    sub->add_option("--data", o->data, "UTF-8 text to evaluate on")->required();
    sub->add_flag("--json", o->json, "Print one JSON object as the last line");
    return sub;
  };
  c.run = [o]() -> int {
    models::LMSession s(o->checkpoint);
    const std::vector<int64_t> tokens = s.tokenizer().encode(data::read_text_file(o->data));
    bool expert_choice = false;
    for (Router* r : s.model().routers()) expert_choice |= r->config().kind == "expert_choice";
    nlohmann::json j;
    if (expert_choice) {  // both routings: across the batch (as trained) and per token (causal, as generated)
      s.model().set_expert_choice_per_token(false);
      train::EvalResult batch = train::evaluate_lm(s.model(), tokens);
      s.model().set_expert_choice_per_token(true);
      train::EvalResult per_token = train::evaluate_lm(s.model(), tokens);
      fmt::print("loss {:.6f} with expert choice over each batch of 16 windows (sees later tokens)\n", batch.loss);
      fmt::print("loss {:.6f} with per-token top-k routing (causal, as in generation) over {} predicted tokens\n",
                 per_token.loss, per_token.tokens);
      j = {{"loss", batch.loss}, {"loss_per_token_routing", per_token.loss}, {"tokens", batch.tokens}};
    } else {
      train::EvalResult r = train::evaluate_lm(s.model(), tokens);
      fmt::print("loss {:.6f} over {} predicted tokens (perplexity {:.3f})\n", r.loss, r.tokens, std::exp(r.loss));
      j = {{"loss", r.loss}, {"tokens", r.tokens}};
    }
    if (o->json) fmt::print("{}\n", j.dump());
    return 0;
  };
  return c;
}

namespace {

struct GenOpts {
  std::string checkpoint, prompt;
  int64_t tokens = 200;
  models::SamplingOptions sampling;
  uint64_t seed = 0;
  bool show_experts = false;
};

void add_sampling_options(CLI::App* sub, GenOpts& o) {
  sub->add_option("--checkpoint", o.checkpoint, "Checkpoint directory")->required();
  sub->add_option("--tokens", o.tokens, "Tokens to generate")->check(CLI::NonNegativeNumber);
  sub->add_option("--temperature", o.sampling.temperature, "Sampling temperature (0: greedy)")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--top-k", o.sampling.top_k, "Keep the k most likely tokens (0: all)")->check(CLI::NonNegativeNumber);
  sub->add_option("--top-p", o.sampling.top_p, "Nucleus sampling mass in (0, 1]");
  sub->add_option("--seed", o.seed, "Random seed");
  sub->add_flag("--show-experts", o.show_experts, "Show each token's experts in every MoE layer");
}

// Streams tokens to stdout; with experts, one line per token: 'c'  L0:[3,5] L1:[0,2] ...
void stream(models::LMSession& s, const GenOpts& o, const std::string& prompt, Rng& rng) {
  s.generate(prompt, o.tokens, o.sampling, rng, [&](const std::string& piece, const models::TokenRouting& r) {
    if (!o.show_experts) {
      fmt::print("{}", piece);
      std::fflush(stdout);
      return;
    }
    std::string shown = piece == "\n" ? "\\n" : piece;
    std::string line = fmt::format("{:<4}", "'" + shown + "'");
    for (size_t l = 0; l < r.experts.size(); ++l) {
      line += fmt::format(" L{}:[", l);
      for (size_t i = 0; i < r.experts[l].size(); ++i)
        line += fmt::format("{}{}", i ? "," : "", r.experts[l][i]);
      line += "]";
    }
    fmt::print("{}\n", line);
    std::fflush(stdout);
  });
}

}  // namespace

Command generate_command() {
  auto o = std::make_shared<GenOpts>();
  Command c;
  c.setup = [o](CLI::App& app) {
    CLI::App* sub = app.add_subcommand("generate", "Generate text from a checkpoint, streaming");
    sub->add_option("--prompt", o->prompt, "Text to continue");
    add_sampling_options(sub, *o);
    return sub;
  };
  c.run = [o]() -> int {
    models::check_sampling(o->sampling);
    models::LMSession s(o->checkpoint);
    Rng rng(o->seed);
    if (!o->show_experts) fmt::print("{}", o->prompt);
    stream(s, *o, o->prompt, rng);
    if (!o->show_experts) fmt::print("\n");
    return 0;
  };
  return c;
}

Command chat_command() {
  auto o = std::make_shared<GenOpts>();
  Command c;
  c.setup = [o](CLI::App& app) {
    CLI::App* sub = app.add_subcommand("chat", "Interactive prompt loop over generation (/quit or EOF ends)");
    add_sampling_options(sub, *o);
    return sub;
  };
  c.run = [o]() -> int {
    if (models::config_model_kind(io::read_checkpoint_meta(o->checkpoint).config_json) == "neuroshard") {
      // NeuroShard (issue #6): each line prints its route over the topics.
      std::unique_ptr<models::NeuroShard> model = models::load_neuroshard(o->checkpoint);
      fmt::print("moe chat: NeuroShard router over {} topics. Type a text; /quit to leave.\n", model->config().shards());
      std::string line;
      while (true) {
        fmt::print("> ");
        std::fflush(stdout);
        if (!std::getline(std::cin, line) || line == "/quit") break;
        fmt::print("{}\n", models::route_text(*model, line).text_line());
      }
      return 0;
    }
    models::LMSession s(o->checkpoint);
    Rng rng(o->seed);
    fmt::print("moe chat: {} parameters, context {}. Type a prompt; /quit to leave.\n", s.model().num_parameters(),
               s.model().config().context);
    std::string line;
    while (true) {
      fmt::print("> ");
      std::fflush(stdout);
      if (!std::getline(std::cin, line) || line == "/quit") break;
      stream(s, *o, line, rng);
      fmt::print("\n");
    }
    return 0;
  };
  return c;
}

Command inspect_command() {
  struct Opts {
    std::string config, checkpoint;
    int64_t vocab = 0;
  };
  auto o = std::make_shared<Opts>();
  Command c;
  c.setup = [o](CLI::App& app) {
    CLI::App* sub = app.add_subcommand("inspect", "Parameters in total, active per token, per component");
    auto* a = sub->add_option("--config", o->config, "A config file");
    auto* b = sub->add_option("--checkpoint", o->checkpoint, "A checkpoint directory");
    a->excludes(b);
    sub->add_option("--vocab", o->vocab, "Vocabulary size when the config leaves it to the tokenizer")
        ->check(CLI::PositiveNumber);
    return sub;
  };
  c.run = [o]() -> int {
    MOE_CHECK(!o->config.empty() || !o->checkpoint.empty(), "inspect: give --config FILE or --checkpoint DIR");
    train::RunConfig run = o->config.empty() ? train::RunConfig::parse_text(
                                                   io::read_checkpoint_meta(o->checkpoint).config_json,
                                                   o->checkpoint + "/config.json")
                                             : train::RunConfig::parse_file(o->config);
    if (o->vocab > 0) run.model.vocab_size = o->vocab;
    MOE_CHECK(run.model.vocab_size > 0,
              "inspect: the config leaves vocab_size to the tokenizer: pass --vocab N (a char model of English "
              "text has about 100)");
    Rng rng(0);
    models::TransformerLM lm(run.model, rng);
    const auto& m = run.model;
    fmt::print("transformer_lm: {} logical layers over {} physical blocks{}, d_model {}, {} heads, context {}, vocab {}, "
               "norm {}\n",
               m.layers, m.physical(), m.router_per_layer ? " (a router per logical layer)" : "", m.d_model, m.heads,
               m.context, m.vocab_size, m.norm);
    if (m.ffn == "moe")
      fmt::print("ffn: MoE, {} experts ({}, d_ff {}, {}), router {} top-{}, {} shared\n", m.moe.num_experts,
                 m.moe.expert.kind, m.moe.expert.d_ff, m.moe.expert.activation, m.moe.router.kind,
                 lm.moe_layers().empty() ? 0 : lm.moe_layers()[0]->router().experts_per_token(),
                 m.moe.num_shared_experts);
    else
      fmt::print("ffn: dense, d_ff {}, {}\n", m.d_ff, m.activation);
    std::map<std::string, int64_t> parts;
    for (auto& [name, t] : lm.named_parameters()) {
      std::string part = name.substr(0, name.find('.'));
      if (part == "routers") part = "routers (per logical layer)";
      if (part == "blocks") {
        std::string rest = name.substr(name.find('.', 7) + 1);
        part = "blocks." + rest.substr(0, rest.find('.'));
        if (rest.rfind("moe.", 0) == 0) part = "blocks.moe." + rest.substr(4, rest.find('.', 4) - 4);
      }
      parts[part] += t.numel();
    }
    fmt::print("{:<24} {:>12}\n", "component", "parameters");
    for (auto& [part, n] : parts) fmt::print("{:<24} {:>12}\n", part, n);
    fmt::print("{:<24} {:>12}\n{:<24} {:>12}  ({:.1f}%)\n", "total", lm.num_parameters(), "active per token",
               lm.active_parameters_per_token(), 100.0 * lm.active_parameters_per_token() / lm.num_parameters());
    fmt::print("memory (float32): {:.2f} MiB of weights stored; {:.2f} MiB for weights + gradients + AdamW state\n",
               lm.num_parameters() * 4.0 / (1 << 20), lm.num_parameters() * 16.0 / (1 << 20));
    return 0;
  };
  return c;
}

}  // namespace moe::cli
