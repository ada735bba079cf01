#include "moe/data/synthetic.h"

#include <cmath>
#include <vector>

namespace moe::data {

Classification make_spirals(int64_t points_per_class, int64_t classes, double noise, Rng& rng) {
  MOE_CHECK(points_per_class >= 1 && classes >= 2, "make_spirals: need >= 1 point per class and >= 2 classes, got {} and {}",
            points_per_class, classes);
  const int64_t n = points_per_class * classes;
  std::vector<float> xy(2 * n);
  std::vector<int64_t> label(n);
  for (int64_t c = 0; c < classes; ++c)
    for (int64_t i = 0; i < points_per_class; ++i) {
      const int64_t idx = c * points_per_class + i;
      const double t = points_per_class > 1 ? static_cast<double>(i) / (points_per_class - 1) : 0.0;
      const double angle = 4.0 * t + 2.0 * M_PI * c / classes + noise * rng.normal();
      xy[2 * idx] = static_cast<float>(t * std::sin(angle));
      xy[2 * idx + 1] = static_cast<float>(t * std::cos(angle));
      label[idx] = c;
    }
  return {Tensor::from_vector(xy, {n, 2}), Tensor::from_vector(label, {n})};
}

}  // namespace moe::data
