// The shell every fool executable shares: parse, build the chosen command, run it, and turn
// errors into exit codes.
#include "cli/app.h"

#include <c10/util/Exception.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <new>

#include "fool/util/error.h"
#include "fool/util/version.h"

// operator new as the standard library's, except that a failure first records its size, so that
// an out-of-memory error can say how much was asked for (fool/util/error.h). Left out under
// AddressSanitizer, which brings its own.
#if !defined(__SANITIZE_ADDRESS__)
void* operator new(std::size_t bytes) {
  for (;;) {
    if (void* p = std::malloc(bytes == 0 ? 1 : bytes)) return p;
    std::new_handler handler = std::get_new_handler();
    if (handler == nullptr) {
      fool::record_failed_allocation(bytes);
      throw std::bad_alloc();
    }
    handler();
  }
}
// GCC sees free() of what its own operator new returned once both are inlined, and warns; here
// they are the pair malloc and free.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
#pragma GCC diagnostic pop
#endif

namespace fool::cli {
namespace {

void setup_logging() {
  auto logger = spdlog::stderr_color_mt("fool");
  logger->set_pattern("%^%l%$: %v");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::info);
}

/// A command's exit code, or kIo when what it printed could not all be written (stdout on a full
/// disk, /dev/full, a closed pipe): the output is lost, so the command did not succeed.
int finish_output(int code) {
  errno = 0;
  const bool flushed = std::fflush(stdout) == 0;
  const int err = errno;
  if (flushed && !std::ferror(stdout)) return code;
  spdlog::error("cannot write to standard output ({}). Fix: free some space, or redirect the output elsewhere.",
                err != 0 ? std::strerror(err) : "a write failed");
  return static_cast<int>(ErrorKind::kIo);
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

  const auto fail = [](const Error& e) {
    spdlog::error("{}", e.what());
    return e.exit_code();
  };
  try {
    for (auto& command : commands) {
      if (command.app->parsed()) return finish_output(command.run());
    }
  } catch (const Error& e) {
    return fail(e);
  } catch (const std::filesystem::filesystem_error& e) {
    spdlog::error("{}. Fix: check the path and free space.", e.what());
    return static_cast<int>(ErrorKind::kIo);
  } catch (const c10::Error& e) {
    std::string text = e.what_without_backtrace();
    if (auto oom = out_of_memory_error(text)) return fail(*oom);
    spdlog::error("LibTorch: {}", text.substr(0, text.find('\n')));
    return static_cast<int>(ErrorKind::kInternal);
  } catch (const std::bad_alloc&) {
    return fail(*out_of_memory_error("std::bad_alloc"));
  } catch (const std::exception& e) {
    if (auto oom = out_of_memory_error(e.what())) return fail(*oom);
    spdlog::error("{}", e.what());
    return static_cast<int>(ErrorKind::kInternal);
  }
  return static_cast<int>(ErrorKind::kUsage);
}

}  // namespace fool::cli
