// fool: evolve images that a classifier labels with high confidence though no human would.
// main only parses, builds the chosen command, runs it, and turns errors into exit codes.
#include <c10/util/Exception.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <vector>

#include "cli/common.h"
#include "fool/util/error.h"
#include "fool/util/version.h"

namespace {

void setup_logging() {
  auto logger = spdlog::stderr_color_mt("fool");
  logger->set_pattern("%^%l%$: %v");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::info);
}

}  // namespace

int main(int argc, char** argv) {
  setup_logging();
  CLI::App app{"fool: evolve images that deep networks classify with high confidence although no human "
               "would recognise them (Nguyen, Yosinski & Clune, CVPR 2015)."};
  app.set_version_flag("--version", std::string("fool ") + fool::version() + " (" + fool::git_revision() + ")");
  app.require_subcommand(1);
  bool verbose = false;
  app.add_flag("-v,--verbose", verbose, "more log lines");

  std::vector<fool::cli::Command> commands = {fool::cli::add_run_command(app), fool::cli::add_resume_command(app),
                                              fool::cli::add_info_command(app),
                                              fool::cli::add_classify_command(app), fool::cli::add_bench_command(app),
                                              fool::cli::add_render_command(app),
                                              fool::cli::add_check_command(app), fool::cli::add_evaluate_command(app),
                                              fool::cli::add_report_command(app)};
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);  // --help, --version
  } catch (const CLI::ParseError& e) {
    std::string message = e.what();
    spdlog::error("{}. Fix: see fool {} --help.", message, argc > 1 ? argv[1] : "");
    return static_cast<int>(fool::ErrorKind::kUsage);
  }
  if (verbose) spdlog::set_level(spdlog::level::debug);

  try {
    for (auto& command : commands) {
      if (command.app->parsed()) return command.run();
    }
  } catch (const fool::Error& e) {
    spdlog::error("{}", e.what());
    return e.exit_code();
  } catch (const c10::Error& e) {
    std::string text = e.what_without_backtrace();
    spdlog::error("LibTorch: {}", text.substr(0, text.find('\n')));
    return static_cast<int>(fool::ErrorKind::kInternal);
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return static_cast<int>(fool::ErrorKind::kInternal);
  }
  return static_cast<int>(fool::ErrorKind::kUsage);
}
