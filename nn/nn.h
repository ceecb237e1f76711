// nn.h: the umbrella header of loom's nn library: Module, the layers, the
// initialisers, the loss objects, the optimizers and schedules, state dicts
// and checkpoints. `#include "nn/nn.h"` and write models.
#pragma once
#include "nn/activation.h"
#include "nn/adam.h"
#include "nn/checkpoint.h"
#include "nn/clip.h"
#include "nn/container.h"
#include "nn/conv.h"
#include "nn/dropout.h"
#include "nn/init.h"
#include "nn/layer_util.h"
#include "nn/linear.h"
#include "nn/loss.h"
#include "nn/module.h"
#include "nn/norm.h"
#include "nn/optimizer.h"
#include "nn/pool.h"
#include "nn/schedule.h"
#include "nn/sgd.h"
#include "nn/state_dict.h"
#include "nn/upsample.h"
