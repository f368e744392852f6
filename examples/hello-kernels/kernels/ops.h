// Reduction operators, chosen by build option. Included by reduce.cl; the include is
// expanded at build time, so the device never needs this file.
#if defined(OP_MAX)
#define IDENTITY (-INFINITY)
#define COMBINE(a, b) fmax((a), (b))
#else
#define IDENTITY 0.0f
#define COMBINE(a, b) ((a) + (b))
#endif
