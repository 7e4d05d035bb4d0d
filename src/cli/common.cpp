#include "cli/common.h"

namespace fool::cli {

void add_model_options(CLI::App& app, ModelSettings& settings, bool with_file) {
  for_each_model_setting(
      settings, [&](const char* name, auto& field, const char* help) { add_setting(app, name, field, help); },
      with_file);
}

}  // namespace fool::cli
