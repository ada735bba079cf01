// moe.h: the public umbrella header of libmoe.
#pragma once
#include "moe/autograd/autograd.h"
#include "moe/core/parallel.h"
#include "moe/core/rng.h"
#include "moe/core/tensor.h"
#include "moe/ops/attention.h"
#include "moe/ops/elementwise.h"
#include "moe/ops/matmul.h"
#include "moe/ops/reduce.h"
