#include "fool/util/error.h"

namespace fool {

void fail_check(const char* condition, const char* file, int line, const std::string& what) {
  throw Error(ErrorKind::kInternal, std::string("internal error at ") + file + ":" +
                                        std::to_string(line) + ": " + condition + " failed: " + what +
                                        ". Please report this with the command line.");
}

}  // namespace fool
