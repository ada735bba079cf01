// io/checkpoint.h: a training checkpoint is a directory
//   config.json             the model config, verbatim
//   tokenizer.json          the tokenizer, verbatim
//   model.safetensors       the module's named parameters
//   optimizer.safetensors   the optimizer's state_dict() (absent when none was saved)
//   state.json              {"format": "moe.checkpoint", "version": 1, "step": N,
//                            "rng": {"seed": S, "offset": O}, "optimizer": true|false,
//                            "extra": {...the trainer's own fields...}}
// A directory is a valid checkpoint only when state.json is present and well formed;
// save_checkpoint writes it last.
//
// Crash safety. save_checkpoint(DIR) never writes into an existing DIR:
//  1. every file is written (and fsynced) into a fresh sibling DIR.tmp-<pid>,
//     state.json last, then the parent directory is fsynced;
//  2. DIR.tmp-<pid> replaces DIR: on Linux with renameat2(RENAME_EXCHANGE), one atomic
//     swap of the two names, after which DIR.tmp-<pid> holds the previous checkpoint
//     and is removed. Where the filesystem cannot exchange, DIR is renamed to
//     DIR.old-<pid>, DIR.tmp-<pid> to DIR, and DIR.old-<pid> removed.
// A crash in step 1 leaves DIR untouched (plus a stale DIR.tmp-<pid>); a crash after
// the swap leaves the new DIR (plus the old one under DIR.tmp-<pid>). Only the
// fallback has a window, between its two renames, where DIR is missing: the previous
// checkpoint is then complete at DIR.old-<pid>, and read_checkpoint_meta(DIR) says so.
// Stale DIR.tmp-* / DIR.old-* directories of processes that no longer run are removed
// by the next successful save.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "moe/io/safetensors.h"

namespace moe::io {

struct CheckpointData {
  std::string config_json;     // must be valid JSON; stored as is
  std::string tokenizer_json;  // must be valid JSON; stored as is
  int64_t step = 0;
  uint64_t rng_seed = 0;
  uint64_t rng_offset = 0;
  nlohmann::json extra = nlohmann::json::object();  // the trainer's own fields (an object)
  bool has_optimizer_state = false;  // set by read_checkpoint_meta; save_checkpoint ignores it
};

// Writes the checkpoint directory `dir` as described above. `params`: the module's
// named_parameters(); `optimizer_state`: the optimizer's state_dict(), or nullptr.
void save_checkpoint(const std::string& dir, const CheckpointData& data, const NamedTensors& params,
                     const NamedTensors* optimizer_state = nullptr);

// config.json, tokenizer.json and state.json of `dir`; throws naming the file and the
// problem when the directory is not a complete checkpoint.
CheckpointData read_checkpoint_meta(const std::string& dir);

// Copies the tensors of `file` into the live tensors `into`, by name. Every tensor of
// `into` must be in the file with the same shape and dtype, and the file must hold no
// others; otherwise throws naming the file and the tensor, before copying anything.
void load_tensors_into(const std::string& file, const NamedTensors& into);
// load_tensors_into(dir/model.safetensors, params): params from module.named_parameters().
void load_params(const std::string& dir, const NamedTensors& params);
// load_tensors_into(dir/optimizer.safetensors, state): state from optimizer.state_dict()
// (live handles, so this restores the optimizer). Throws when the file is absent.
void load_optimizer_state(const std::string& dir, const NamedTensors& state);

namespace detail {
// Step 2 above: puts the complete directory `fresh` at `dir` and removes the previous
// one. `exchange` = false forces the two-rename fallback (tests).
void replace_directory(const std::string& fresh, const std::string& dir, bool exchange = true);
}  // namespace detail

}  // namespace moe::io
