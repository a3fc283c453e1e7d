// A process's peak resident memory over a span of work (Linux): the kernel's
// high-water mark VmHWM, which writing "5" to /proc/self/clear_refs resets
// to the current resident size (Linux 4.0 and later).
#pragma once

#include <cstdint>

namespace kdnas {

// Starts a span: the peak becomes the current resident size. False when the
// kernel refused (the peak then covers the process's life so far).
bool ResetPeakResidentBytes();

// The peak resident bytes since the last reset (or the process's start); 0
// when /proc/self/status cannot be read.
int64_t PeakResidentBytes();

}  // namespace kdnas
