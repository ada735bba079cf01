// device.cpp: the global `--device cpu|cuda` flag. `cpu` is the default and what every
// subcommand runs on today. `cuda` is refused with an error that says why: the backend
// is not built, no device is visible, or (with a GPU) the subcommand's models, trainer
// and checkpoints still create and read host tensors, so running it on the GPU would
// need a silent CPU fallback, which moe.cpp does not do.
#include <fmt/format.h>

#include "cli/commands.h"
#include "moe/core/cuda/runtime.h"
#include "moe/core/error.h"

namespace moe::cli {

void check_device_option(const std::string& device, const std::string& command) {
  if (device == "cpu") return;
  MOE_CHECK(device == "cuda", "--device: expected cpu or cuda, got '{}'", device);
#ifndef MOE_CUDA
  throw Error(fmt::format("moe {} --device cuda: CUDA backend not built (configure with -DMOE_CUDA=ON)", command));
#else
  cuda::require_device(fmt::format("moe {} --device cuda", command).c_str());
  throw Error(fmt::format(
      "moe {} --device cuda: not available yet on {}: the CUDA kernels and ops are built and wired, but the "
      "models (nn/, moe/), the trainer and checkpoint I/O still create and read host tensors "
      "(see README, CUDA backend); run on the CPU",
      command, cuda::device_description()));
#endif
}

}  // namespace moe::cli
