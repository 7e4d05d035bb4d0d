#pragma once

namespace fool {

/// The tool's semantic version, e.g. "0.1.0".
const char* version();
/// The git revision the binary was configured from ("unknown" outside a checkout).
const char* git_revision();

}  // namespace fool
