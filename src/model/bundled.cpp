#include <string>

#include "fool/model/model.h"

extern "C" const char fool_bundled_model_begin[];
extern "C" const char fool_bundled_model_end[];

namespace fool {

const std::string& bundled_model_bytes() {
  static const std::string bytes(fool_bundled_model_begin, fool_bundled_model_end);
  return bytes;
}

}  // namespace fool
