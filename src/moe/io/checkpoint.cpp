// io/checkpoint.cpp: checkpoint directories: crash-safe save, strict load.
#include "moe/io/checkpoint.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <set>

#include "moe/core/error.h"
#include "moe/io/atomic_file.h"
#include "moe/io/config.h"

namespace moe::io {

namespace fs = std::filesystem;

namespace {

constexpr const char* kFormat = "moe.checkpoint";
constexpr int64_t kVersion = 1;

// `dir` without trailing slashes, so that filename() is the directory's name.
fs::path clean(const std::string& dir) {
  std::string d = dir;
  while (d.size() > 1 && d.back() == '/') d.pop_back();
  MOE_CHECK(!d.empty() && d != "/" && d != "." && d != "..", "checkpoint: '{}' is not a usable directory name", dir);
  return fs::path(d);
}

fs::path sibling(const fs::path& dir, const std::string& suffix) {
  return dir.parent_path() / (dir.filename().string() + suffix);
}

void fsync_dir(const fs::path& dir) {
  const fs::path d = dir.empty() ? fs::path(".") : dir;
  int fd = ::open(d.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);  // best effort: some filesystems refuse fsync on directories
  ::close(fd);
}

void must_rename(const fs::path& from, const fs::path& to) {
  MOE_CHECK(::rename(from.c_str(), to.c_str()) == 0, "checkpoint: cannot rename {} to {}: {}", from.string(),
            to.string(), std::strerror(errno));
}

// The sibling directories DIR<infix><pid> left by interrupted saves.
std::vector<std::pair<fs::path, long>> leftovers(const fs::path& dir, const std::string& infix) {
  std::vector<std::pair<fs::path, long>> out;
  const std::string prefix = dir.filename().string() + infix;
  std::error_code ec;
  const fs::path parent = dir.parent_path().empty() ? fs::path(".") : dir.parent_path();
  for (const auto& e : fs::directory_iterator(parent, ec)) {
    const std::string name = e.path().filename().string();
    if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) continue;
    const std::string pid = name.substr(prefix.size());
    if (pid.find_first_not_of("0123456789") != std::string::npos || pid.size() > 9) continue;
    out.emplace_back(e.path(), std::stol(pid));
  }
  return out;
}

void remove_stale_leftovers(const fs::path& dir) {
  for (const char* infix : {".tmp-", ".old-"})
    for (const auto& [path, pid] : leftovers(dir, infix))
      if (pid != ::getpid() && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) {
        std::error_code ec;
        fs::remove_all(path, ec);  // litter only: failing to remove it is harmless
      }
}

void check_json(const std::string& text, const std::string& what) {
  MOE_CHECK(nlohmann::json::accept(text), "save_checkpoint: the {} is not valid JSON", what);
}

std::string state_json(const CheckpointData& d, bool has_optimizer) {
  MOE_CHECK(d.extra.is_object(), "save_checkpoint: extra state must be a JSON object, got {}", d.extra.dump());
  MOE_CHECK(d.step >= 0, "save_checkpoint: step {} is negative", d.step);
  nlohmann::ordered_json s;
  s["format"] = kFormat;
  s["version"] = kVersion;
  s["step"] = d.step;
  s["rng"] = {{"seed", d.rng_seed}, {"offset", d.rng_offset}};
  s["optimizer"] = has_optimizer;
  s["extra"] = d.extra;
  return s.dump(2) + "\n";
}

}  // namespace

namespace detail {

void replace_directory(const std::string& fresh, const std::string& dir, bool exchange) {
  const fs::path target = clean(dir), src = clean(fresh);
  std::error_code ec;
  if (!fs::exists(target, ec)) {
    must_rename(src, target);
    fsync_dir(target.parent_path());
    return;
  }
  MOE_CHECK(fs::is_directory(target, ec), "checkpoint: {} exists and is not a directory", target.string());
#if defined(__linux__) && defined(RENAME_EXCHANGE)
  if (exchange) {
    if (::renameat2(AT_FDCWD, src.c_str(), AT_FDCWD, target.c_str(), RENAME_EXCHANGE) == 0) {
      fsync_dir(target.parent_path());
      fs::remove_all(src, ec);  // now the previous checkpoint
      return;
    }
    MOE_CHECK(errno == EINVAL || errno == ENOSYS || errno == ENOTSUP, "checkpoint: cannot exchange {} and {}: {}",
              src.string(), target.string(), std::strerror(errno));
  }
#endif
  (void)exchange;
  const fs::path old = sibling(target, ".old-" + std::to_string(::getpid()));
  fs::remove_all(old, ec);
  must_rename(target, old);
  // A crash here leaves the previous checkpoint complete at `old`.
  if (::rename(src.c_str(), target.c_str()) != 0) {
    const int err = errno;
    ::rename(old.c_str(), target.c_str());  // put the previous checkpoint back
    throw Error(fmt::format("checkpoint: cannot rename {} to {}: {}", src.string(), target.string(),
                            std::strerror(err)));
  }
  fsync_dir(target.parent_path());
  fs::remove_all(old, ec);
}

}  // namespace detail

void save_checkpoint(const std::string& dir, const CheckpointData& data, const NamedTensors& params,
                     const NamedTensors* optimizer_state) {
  const fs::path target = clean(dir);
  check_json(data.config_json, "model config");
  check_json(data.tokenizer_json, "tokenizer");
  const std::string state = state_json(data, optimizer_state != nullptr);
  std::error_code ec;
  if (!target.parent_path().empty()) fs::create_directories(target.parent_path(), ec);

  const fs::path tmp = sibling(target, ".tmp-" + std::to_string(::getpid()));
  fs::remove_all(tmp, ec);  // ours, from an earlier failed save
  MOE_CHECK(fs::create_directory(tmp, ec), "save_checkpoint: cannot create {}: {}", tmp.string(),
            ec ? ec.message() : "it exists");
  try {
    write_file_atomic((tmp / "config.json").string(), data.config_json);
    write_file_atomic((tmp / "tokenizer.json").string(), data.tokenizer_json);
    save_safetensors((tmp / "model.safetensors").string(), params);
    if (optimizer_state) save_safetensors((tmp / "optimizer.safetensors").string(), *optimizer_state);
    write_file_atomic((tmp / "state.json").string(), state);  // last: it marks the directory complete
    fsync_dir(tmp);
    fsync_dir(target.parent_path());
    detail::replace_directory(tmp.string(), target.string());
  } catch (const std::exception& e) {
    fs::remove_all(tmp, ec);
    throw Error(fmt::format("save_checkpoint {}: {} (the previous checkpoint, if any, is unchanged)", target.string(),
                            e.what()));
  }
  remove_stale_leftovers(target);
}

CheckpointData read_checkpoint_meta(const std::string& dir) {
  const fs::path d = clean(dir);
  std::error_code ec;
  if (!fs::exists(d, ec)) {
    for (const auto& [old, pid] : leftovers(d, ".old-"))
      if (fs::exists(old / "state.json", ec))
        throw Error(fmt::format("checkpoint {} does not exist; a save interrupted by a crash left the previous "
                                "checkpoint at {}: rename it to {} to use it",
                                d.string(), old.string(), d.string()));
    throw Error(fmt::format("checkpoint {} does not exist", d.string()));
  }
  MOE_CHECK(fs::is_directory(d, ec), "checkpoint {} is not a directory", d.string());
  for (const char* f : {"state.json", "config.json", "tokenizer.json", "model.safetensors"})
    MOE_CHECK(fs::exists(d / f, ec), "{} is not a complete checkpoint: {} is missing", d.string(), (d / f).string());

  const std::string state_path = (d / "state.json").string();
  ConfigReader r = ConfigReader::from_file(state_path);
  const auto format = r.require<std::string>("format");
  MOE_CHECK(format == kFormat, "{}: expected \"{}\", got \"{}\"", r.where("format"), kFormat, format);
  const auto version = r.require<int64_t>("version");
  MOE_CHECK(version == kVersion, "{}: version {} is not supported (this build reads version {})",
            r.where("version"), version, kVersion);

  CheckpointData out;
  out.step = r.require<int64_t>("step");
  MOE_CHECK(out.step >= 0, "{}: step {} is negative", r.where("step"), out.step);
  // Seeds and offsets are full uint64 values, so they are read directly, not through int64.
  const nlohmann::json rng = r.child("rng").json();
  for (auto it = rng.begin(); it != rng.end(); ++it)
    MOE_CHECK(it.key() == "seed" || it.key() == "offset", "{}: unknown key rng.{}", state_path, it.key());
  for (const char* k : {"seed", "offset"})
    MOE_CHECK(rng.contains(k) && rng[k].is_number_unsigned(), "{}: rng.{} must be a non-negative integer",
              state_path, k);
  out.rng_seed = rng["seed"].get<uint64_t>();
  out.rng_offset = rng["offset"].get<uint64_t>();
  out.has_optimizer_state = r.require<bool>("optimizer");
  out.extra = r.child("extra").json();
  r.finish();
  if (out.has_optimizer_state)
    MOE_CHECK(fs::exists(d / "optimizer.safetensors", ec), "{}: says optimizer state was saved, but {} is missing",
              state_path, (d / "optimizer.safetensors").string());

  out.config_json = read_file((d / "config.json").string());
  out.tokenizer_json = read_file((d / "tokenizer.json").string());
  return out;
}

void load_tensors_into(const std::string& file, const NamedTensors& into) {
  const Safetensors st = load_safetensors(file);
  std::set<std::string> wanted;
  for (const auto& [name, live] : into) {
    wanted.insert(name);
    Tensor saved;
    for (const auto& [n, t] : st.tensors)
      if (n == name) saved = t;
    MOE_CHECK(saved.defined(), "{}: missing tensor '{}' (expected {})", file, name, live.str());
    MOE_CHECK(saved.shape() == live.shape() && saved.dtype() == live.dtype(),
              "{}: tensor '{}' is {}, expected {}", file, name, saved.str(), live.str());
  }
  for (const auto& [n, t] : st.tensors)
    MOE_CHECK(wanted.count(n), "{}: unexpected tensor '{}' ({}): nothing of that name to load it into", file, n,
              t.str());
  for (const auto& [name, live] : into) live.copy_(st.get(name));  // all checked: copy everything
}

void load_params(const std::string& dir, const NamedTensors& params) {
  load_tensors_into((clean(dir) / "model.safetensors").string(), params);
}

void load_optimizer_state(const std::string& dir, const NamedTensors& state) {
  const fs::path file = clean(dir) / "optimizer.safetensors";
  std::error_code ec;
  MOE_CHECK(fs::exists(file, ec), "checkpoint {} has no optimizer state ({} is missing)", clean(dir).string(),
            file.string());
  load_tensors_into(file.string(), state);
}

}  // namespace moe::io
