// tokenizer.cpp: `moe tokenizer train`: trains a BPE tokenizer on a text and writes its
// tokenizer.json (the same file a bpe checkpoint holds).
#include <fmt/core.h>

#include <chrono>

#include "cli/commands.h"
#include "moe/data/bpe_tokenizer.h"
#include "moe/data/text_dataset.h"
#include "moe/io/atomic_file.h"

namespace moe::cli {

Command tokenizer_command() {
  struct Opts {
    std::string data, out;
    int64_t vocab = 0;
  };
  auto o = std::make_shared<Opts>();
  Command c;
  c.setup = [o](CLI::App& app) {
    CLI::App* sub = app.add_subcommand("tokenizer", "Train tokenizers");
    sub->require_subcommand(1);
    CLI::App* train = sub->add_subcommand("train", "Train a byte-level BPE tokenizer (sentencepiece) on a text");
    train->add_option("--data", o->data, "Training text (any bytes; fed to sentencepiece line by line)")->required();
    train->add_option("--vocab", o->vocab, "Vocabulary size: 256 byte pieces, <unk> and the merged pieces")
        ->required()
        ->check(CLI::Range(data::BpeTokenizer::kMinVocabSize, int64_t{1} << 20));
    train->add_option("--out", o->out, "The tokenizer.json to write")->required();
    return sub;
  };
  c.run = [o]() -> int {
    const std::string text = data::read_text_file(o->data);
    const auto t0 = std::chrono::steady_clock::now();
    data::BpeTokenizer tok = data::BpeTokenizer::train(text, o->vocab, o->data);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const size_t tokens = tok.encode(text).size();
    io::write_file_atomic(o->out, tok.to_json());
    fmt::print("tokenizer: bpe, vocab size {}, trained on {} ({} bytes) in {:.1f} s\n", tok.vocab_size(), o->data,
               text.size(), secs);
    fmt::print("compression: {} tokens, {:.3f} bytes per token on the training text\n", tokens,
               tokens ? static_cast<double>(text.size()) / static_cast<double>(tokens) : 0.0);
    fmt::print("wrote {}\n", o->out);
    return 0;
  };
  return c;
}

}  // namespace moe::cli
