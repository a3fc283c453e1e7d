// kdnas-worker serve: the worker process. Leases trials from a controller and
// runs them with the LibTorch engine (or, with --synthetic, with the analytic
// stand-in used by tests and load tests). SIGTERM or SIGINT gives the current
// trial back (or lets it finish if it is reporting) and exits.
#pragma once

#include <string>
#include <vector>

namespace kdnas {

int ServeCommand(const std::vector<std::string>& args);

}  // namespace kdnas
