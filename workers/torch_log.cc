#include "workers/torch_log.h"

#include <c10/util/Exception.h>

#include "log/log.h"

namespace kdnas {
namespace {

class ToLog final : public c10::WarningHandler {
 public:
  void process(const c10::SourceLocation& where, const std::string& message, bool) override {
    LogWarn(message, {{"component", "torch"},
                      {"source", std::string(where.file) + ":" + std::to_string(where.line)}});
  }
};

}  // namespace

void RouteTorchWarnings() {
  static ToLog handler;
  c10::Warning::set_warning_handler(&handler);
}

}  // namespace kdnas
