#include "cli/common.h"

#include <unistd.h>

#include <csignal>

namespace fool::cli {

// ---- signals: the first SIGINT/SIGTERM ends the run cleanly after the current generation; a
// second SIGINT exits at once (every file is written atomically, so what is there is whole). ----
std::atomic<int> g_stop_signal{0};

namespace {
extern "C" void on_signal(int signal) {
  if (g_stop_signal.load() != 0 && signal == SIGINT) _exit(130);
  g_stop_signal.store(signal);
}
}  // namespace

void install_signal_handlers() {
  g_stop_signal.store(0);
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

void add_model_options(CLI::App& app, ModelSettings& settings, bool with_file) {
  for_each_model_setting(
      settings, [&](const char* name, auto& field, const char* help) { add_setting(app, name, field, help); },
      with_file);
}

}  // namespace fool::cli
