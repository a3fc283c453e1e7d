// Routes LibTorch's warnings (TORCH_WARN, TORCH_WARN_ONCE) into the kdnas
// log as component=torch at warn level. LibTorch 1.13 keeps the warning
// handler per thread: this routes the calling thread's warnings (the thread
// that runs trials); warnings raised on LibTorch's own worker threads, and
// c10's LOG(...) lines, still go to stderr as LibTorch writes them.
#pragma once

namespace kdnas {

void RouteTorchWarnings();

}  // namespace kdnas
