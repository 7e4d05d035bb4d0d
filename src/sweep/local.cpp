#include "fool/sweep/local.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <deque>
#include <filesystem>
#include <map>
#include <thread>

#include "fool/io/files.h"
#include "fool/util/cpus.h"
#include "fool/util/error.h"

namespace fool {
namespace {
namespace fs = std::filesystem;

struct Running {
  const SweepCell* cell = nullptr;
  std::string log;
  std::chrono::steady_clock::time_point started;
};

/// The last line of a cell's log (what a failed cell said), read from its last 4 KiB.
std::string last_line(const std::string& path) {
  std::string text;
  try {
    const auto size = fs::file_size(path);
    const std::string all = read_file(path, static_cast<std::size_t>(size) + 1);
    text = all.substr(all.size() > 4096 ? all.size() - 4096 : 0);
  } catch (const std::exception&) {
    return "";
  }
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  const auto newline = text.rfind('\n');
  return newline == std::string::npos ? text : text.substr(newline + 1);
}

/// Starts `fool sweep --out DIR --task I --threads T` with its output appended to `log`.
pid_t start_cell(const std::string& executable, const SweepPlan& plan, const SweepCell& cell, int threads,
                 const std::string& log) {
  std::vector<std::string> args = {executable, "sweep", "--out", plan.path, "--task", std::to_string(cell.index)};
  if (threads > 0) {
    args.push_back("--threads");
    args.push_back(std::to_string(threads));
  }
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) {
    throw Error(ErrorKind::kIo, "cannot write the cell log '" + log + "': " + std::strerror(errno) +
                                    ". Fix: check the sweep directory's permissions and free space.");
  }
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fd);
    throw Error(ErrorKind::kResource, std::string("cannot start a cell process: ") + std::strerror(errno) + ".");
  }
  if (pid == 0) {  // the child: only async-signal-safe calls until exec
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) _exit(143);  // the parent died before prctl took effect
    ::dup2(fd, STDOUT_FILENO);
    ::dup2(fd, STDERR_FILENO);
    ::execv(argv[0], argv.data());
    _exit(127);
  }
  ::close(fd);
  return pid;
}

}  // namespace

std::string own_executable() {
  std::error_code ec;
  const auto path = fs::read_symlink("/proc/self/exe", ec);
  if (ec) throw Error(ErrorKind::kIo, "cannot find fool's own executable (/proc/self/exe): " + ec.message() + ".");
  return path.string();
}

int run_sweep_locally(const SweepPlan& plan, const LocalSweepOptions& options, const std::atomic<int>* stop_signal) {
  if (options.jobs < 1) throw Error(ErrorKind::kUsage, "--jobs must be >= 1.");
  const CpuAllowance cpus = available_cpus();
  const int threads = options.threads > 0 ? options.threads : std::max(1, cpus.cpus / options.jobs);
  std::deque<const SweepCell*> queue;
  int64_t finished = 0;
  for (const auto& cell : plan.cells) {
    if (cell_state(plan, cell) == CellState::kFinished) {
      ++finished;
    } else {
      queue.push_back(&cell);
    }
  }
  const int64_t total = static_cast<int64_t>(plan.cells.size());
  spdlog::info("sweep {}: {} cells, {} finished, {} to run, {} at a time with {} threads each ({} CPUs: {})", plan.path,
               total, finished, queue.size(), options.jobs, threads, cpus.cpus, cpus.limit);
  const std::string logs = (fs::path(plan.path) / "logs").string();
  make_own_directory(logs);

  std::map<pid_t, Running> running;
  int first_failure = 0;
  int64_t failed = 0;
  bool forwarded = false;
  const auto stopping = [&] { return stop_signal != nullptr && stop_signal->load() != 0; };
  while (!queue.empty() || !running.empty()) {
    while (!stopping() && !queue.empty() && static_cast<int>(running.size()) < options.jobs) {
      const SweepCell* cell = queue.front();
      queue.pop_front();
      const std::string log = (fs::path(logs) / (cell->name + ".log")).string();
      const pid_t pid = start_cell(options.executable, plan, *cell, threads, log);
      running[pid] = {cell, log, std::chrono::steady_clock::now()};
      spdlog::info("cell {} {}: started ({}), log {}", cell->index, cell->name, enum_name(cell_state(plan, *cell)),
                   log);
    }
    if (stopping() && !forwarded) {
      forwarded = true;
      for (const auto& [pid, r] : running) ::kill(pid, SIGTERM);  // each checkpoints and stops
      spdlog::warn("stopping: {} running cells checkpoint and stop; rerun the same command to finish", running.size());
    }
    if (running.empty()) break;
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid == 0 || (pid < 0 && errno == EINTR)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    if (pid < 0) break;  // no children left (ECHILD)
    const auto it = running.find(pid);
    if (it == running.end()) continue;
    const Running r = it->second;
    running.erase(it);
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - r.started).count();
    if (code == 0 && cell_state(plan, *r.cell) == CellState::kFinished) {
      ++finished;
      spdlog::info("cell {} {}: finished in {:.1f} s ({}/{} cells finished)", r.cell->index, r.cell->name, seconds,
                   finished, total);
    } else if (stopping() && (code == 130 || code == 143)) {
      spdlog::info("cell {} {}: stopped and checkpointed", r.cell->index, r.cell->name);
    } else {
      ++failed;
      if (first_failure == 0) first_failure = code == 0 ? static_cast<int>(ErrorKind::kInternal) : code;
      spdlog::error("cell {} {}: failed with exit code {}: {} (log {})", r.cell->index, r.cell->name, code,
                    last_line(r.log), r.log);
    }
  }
  if (stopping()) return 128 + stop_signal->load();
  spdlog::info("sweep {}: {} of {} cells finished{}", plan.path, finished, total,
               failed > 0 ? ", " + std::to_string(failed) + " failed (rerun the same command to retry them)" : "");
  return first_failure;
}

}  // namespace fool
