// Writes a loss-versus-size plot (PNG, SVG or PDF by extension) with
// matplotlib, run by Debian's /usr/bin/python3.
#pragma once

#include <string>

#include "kdnas/v1/trial.pb.h"
#include "search/status.h"

namespace kdnas::cli {

// `frontier` is drawn as a step line with its points; `trials` (every
// succeeded trial) as grey dots behind it.
Status PlotFrontier(const kdnas::v1::Frontier& frontier,
                    const google::protobuf::RepeatedPtrField<kdnas::v1::Trial>& trials,
                    const std::string& title, const std::string& out_path);

}  // namespace kdnas::cli
