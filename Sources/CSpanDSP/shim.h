#ifndef PARLEY_CSPANDSP_SHIM_H
#define PARLEY_CSPANDSP_SHIM_H
// spandsp.h pulls in <tiffio.h> (libtiff-dev comes with libspandsp-dev).
#include <stdint.h>
#include <spandsp.h>

// spandsp's G.711 converters are static inline with int arguments; these give the
// reference implementation fixed-width signatures for the conformance tests and benchmarks.
static inline uint8_t parley_spandsp_linear_to_ulaw(int16_t x) { return linear_to_ulaw(x); }
static inline int16_t parley_spandsp_ulaw_to_linear(uint8_t x) { return ulaw_to_linear(x); }
static inline uint8_t parley_spandsp_linear_to_alaw(int16_t x) { return linear_to_alaw(x); }
static inline int16_t parley_spandsp_alaw_to_linear(uint8_t x) { return alaw_to_linear(x); }
#endif
