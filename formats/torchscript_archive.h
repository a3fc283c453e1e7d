// The extra files of a TorchScript file, read without LibTorch. A file
// written by torch.jit.save is a zip archive whose entries sit under one
// top-level folder ("<archive>/data.pkl", "<archive>/code/...") and whose
// extra files are "<archive>/extra/<name>". The controller reads a teacher's
// kdnas/tokenizer.bin and kdnas/architecture.json this way.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "search/status.h"

namespace kdnas {

// The extra files among `names` that the archive holds, by name (absent
// names are absent from the map). Errors: NOT_FOUND (no such file),
// DATA_LOSS (not a zip archive, not a TorchScript archive, an unreadable
// entry), RESOURCE_EXHAUSTED (an extra file larger than max_bytes).
StatusOr<std::map<std::string, std::string>> ReadTorchScriptExtraFiles(
    const std::string& path, const std::vector<std::string>& names, int64_t max_bytes = 64 << 20);

}  // namespace kdnas
