#ifndef PARLEY_CSPEEXDSP_SHIM_H
#define PARLEY_CSPEEXDSP_SHIM_H
// libspeexdsp's resampler, the reference for ParleyDSP's Resampler in the benchmarks only.
#include <speex/speex_resampler.h>
#endif
