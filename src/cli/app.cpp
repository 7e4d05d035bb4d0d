// The shell every fool executable shares: parse, build the chosen command, run it, and turn
// errors into exit codes.
#include "cli/app.h"

#include <c10/util/Exception.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <filesystem>

#include "fool/util/error.h"
#include "fool/util/version.h"

namespace fool::cli {
namespace {

void setup_logging() {
  auto logger = spdlog::stderr_color_mt("fool");
  logger->set_pattern("%^%l%$: %v");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::info);
}

}  // namespace

int run_app(int argc, char** argv, const std::string& description,
            const std::function<std::vector<Command>(CLI::App&)>& add_commands) {
  setup_logging();
  CLI::App app{description};
  app.set_version_flag("--version", std::string("fool ") + version() + " (" + git_revision() + ")");
  app.require_subcommand(1);
  bool verbose = false;
  app.add_flag("-v,--verbose", verbose, "more log lines");

  std::vector<Command> commands = add_commands(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);  // --help, --version
  } catch (const CLI::ParseError& e) {
    std::string message = e.what();
    // Point at the help of the subcommand given, if any: "fool run --help", or "fool --help".
    std::string help = argc > 0 ? std::filesystem::path(argv[0]).filename().string() : "fool";
    for (const auto& command : commands) {
      if (argc > 1 && command.app->get_name() == argv[1]) help += " " + command.app->get_name();
    }
    spdlog::error("{}. Fix: see {} --help.", message, help);
    return static_cast<int>(ErrorKind::kUsage);
  }
  if (verbose) spdlog::set_level(spdlog::level::debug);

  try {
    for (auto& command : commands) {
      if (command.app->parsed()) return command.run();
    }
  } catch (const Error& e) {
    spdlog::error("{}", e.what());
    return e.exit_code();
  } catch (const std::filesystem::filesystem_error& e) {
    spdlog::error("{}. Fix: check the path and free space.", e.what());
    return static_cast<int>(ErrorKind::kIo);
  } catch (const c10::Error& e) {
    std::string text = e.what_without_backtrace();
    spdlog::error("LibTorch: {}", text.substr(0, text.find('\n')));
    return static_cast<int>(ErrorKind::kInternal);
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return static_cast<int>(ErrorKind::kInternal);
  }
  return static_cast<int>(ErrorKind::kUsage);
}

}  // namespace fool::cli
