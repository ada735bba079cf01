#include "moe/core/parallel.h"

#include <cstdlib>
#include <string>

#include "moe/core/error.h"

#ifdef MOE_HAVE_OPENBLAS
extern "C" {
void openblas_set_num_threads(int);
int openblas_get_parallel(void);
}
#endif

namespace moe {

void set_num_threads(int n) {
  MOE_CHECK(n >= 1, "thread count must be >= 1, got {}", n);
  omp_set_num_threads(n);
#ifdef MOE_HAVE_OPENBLAS
  openblas_set_num_threads(n);
#endif
}

int num_threads() { return omp_get_max_threads(); }

int init_threads_from_env() {
  if (const char* env = std::getenv("MOE_NUM_THREADS")) {
    int n = 0;
    try {
      n = std::stoi(env);
    } catch (...) {
      n = 0;
    }
    MOE_CHECK(n >= 1, "MOE_NUM_THREADS must be a positive integer, got '{}'", env);
    set_num_threads(n);
  }
  return num_threads();
}

bool in_parallel_region() { return omp_in_parallel(); }

int blas_parallel_mode() {
#ifdef MOE_HAVE_OPENBLAS
  return openblas_get_parallel();
#else
  return -1;
#endif
}

const char* blas_name() {
#ifdef MOE_HAVE_OPENBLAS
  return "openblas";
#else
  return "builtin";
#endif
}

}  // namespace moe
