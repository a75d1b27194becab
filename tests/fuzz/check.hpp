#pragma once

#include <cstdio>
#include <cstdlib>

// An invariant a fuzz target asserts beyond "no crash": when it fails, the input is a finding
// just like a crash (libFuzzer saves it; the replay driver fails the test).
#define FUZZ_CHECK(cond)                                                                \
  do {                                                                                  \
    if (!(cond)) {                                                                      \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                     \
    }                                                                                   \
  } while (false)
