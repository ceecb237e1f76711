// hd.h: LOOM_HD, which marks small inline functions (geometry, index rules)
// callable from both host code and CUDA device code.
#pragma once

#ifndef LOOM_HD
#if defined(__CUDACC__)
#define LOOM_HD __host__ __device__
#else
#define LOOM_HD
#endif
#endif
