#include "fool/sweep/slurm.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <sstream>

#include "fool/io/files.h"
#include "fool/sweep/local.h"
#include "fool/util/error.h"

namespace fool {
namespace {
namespace fs = std::filesystem;

constexpr std::size_t kMaxProgramOutput = 64 << 10;
constexpr int kSubmitTimeoutSeconds = 120;

/// 'text' for bash, with any ' inside closed, escaped and reopened.
std::string shell_quote(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

struct ProgramResult {
  int code = 0;
  std::string out, err;
};

/// Runs `args` (no shell) and collects its output (at most 64 KiB of each), killing it after
/// `timeout_seconds`. Throws fool::Error (kIo) when it cannot start.
ProgramResult run_program(const std::vector<std::string>& args, int timeout_seconds) {
  int out_pipe[2], err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0) {
    throw Error(ErrorKind::kResource, std::string("cannot create a pipe: ") + std::strerror(errno) + ".");
  }
  std::vector<std::string> copy = args;
  std::vector<char*> argv;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) throw Error(ErrorKind::kResource, std::string("cannot start ") + args[0] + ": " + std::strerror(errno));
  if (pid == 0) {
    ::dup2(out_pipe[1], STDOUT_FILENO);
    ::dup2(err_pipe[1], STDERR_FILENO);
    ::execvp(argv[0], argv.data());
    _exit(127);
  }
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  ProgramResult result;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds);
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open_fds = 2;
  bool timed_out = false;
  while (open_fds > 0) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    const int ready = ::poll(fds, 2, static_cast<int>(left));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buffer[4096];
      const ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
      if (n <= 0) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      } else if (sinks[i]->size() < kMaxProgramOutput) {
        sinks[i]->append(buffer, static_cast<std::size_t>(n));
      }
    }
  }
  for (auto& f : fds) {
    if (f.fd >= 0) ::close(f.fd);
  }
  if (timed_out) ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (timed_out) {
    throw Error(ErrorKind::kIo, args[0] + " gave no answer within " + std::to_string(timeout_seconds) +
                                    " s. Fix: check that Slurm's controller is up (sinfo), then submit again.");
  }
  result.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

std::string trim(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.pop_back();
  return text;
}

}  // namespace

std::string array_ranges(const std::vector<int64_t>& indices) {
  std::ostringstream out;
  for (std::size_t i = 0; i < indices.size();) {
    std::size_t j = i;
    while (j + 1 < indices.size() && indices[j + 1] == indices[j] + 1) ++j;
    out << (i ? "," : "") << indices[i];
    if (j > i) out << "-" << indices[j];
    i = j + 1;
  }
  return out.str();
}

std::string slurm_script(const SweepPlan& plan, const std::vector<int64_t>& indices, const SlurmOptions& o,
                         const std::string& executable) {
  const std::string dir = fs::absolute(plan.path).lexically_normal().string();
  std::ostringstream s;
  s << "#!/bin/bash\n";
  s << "#SBATCH --job-name=fool-sweep\n";
  s << "#SBATCH --array=" << array_ranges(indices);
  if (o.max_parallel > 0) s << "%" << o.max_parallel;
  s << "\n";
  s << "#SBATCH --cpus-per-task=" << o.cpus_per_task << "\n";
  if (o.time_minutes > 0) s << "#SBATCH --time=" << o.time_minutes << "\n";
  if (!o.partition.empty()) s << "#SBATCH --partition=" << o.partition << "\n";
  if (o.gpus_per_task > 0) s << "#SBATCH --gpus-per-task=" << o.gpus_per_task << "\n";
  s << "#SBATCH --requeue\n";
  s << "#SBATCH --open-mode=append\n";
  if (o.signal_seconds > 0) s << "#SBATCH --signal=B:USR1@" << o.signal_seconds << "\n";
  // Slurm reads #SBATCH lines as they are (no shell): a path with spaces cannot be quoted there.
  s << "#SBATCH --output=" << dir << "/slurm/%A_%a.log\n";
  for (const auto& option : o.extra) s << "#SBATCH " << option << "\n";
  s << "#\n"
       "# Written by fool sweep: one task per cell of the sweep in "
    << dir
    << ".\n"
       "# Each task runs its cell, resumes it from its checkpoint, or skips it when finished.\n"
       "# SIGUSR1 (--signal, before the time limit): fool checkpoints and stops, the task is\n"
       "# requeued and resumes. SIGTERM (scancel, preemption, scontrol requeue): fool checkpoints.\n"
       "set -u\n"
       "requeue=0\n"
    << shell_quote(executable) << " sweep --out " << shell_quote(dir)
    << " --task \"$SLURM_ARRAY_TASK_ID\" &\n"
       "child=$!\n"
       "trap 'requeue=1; kill -TERM \"$child\" 2>/dev/null' USR1\n"
       "trap 'kill -TERM \"$child\" 2>/dev/null' TERM\n"
       "status=0\n"
       "while :; do\n"
       "  wait \"$child\"\n"
       "  status=$?\n"
       "  kill -0 \"$child\" 2>/dev/null || break\n"
       "done\n"
       "if [ \"$requeue\" = 1 ]; then\n"
       "  echo \"fool sweep: time limit near, cell checkpointed; requeueing task $SLURM_ARRAY_TASK_ID\"\n"
       "  scontrol requeue \"${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}\"\n"
       "  exit 0\n"
       "fi\n"
       "exit \"$status\"\n";
  return s.str();
}

std::string submit_sweep_to_slurm(const SweepPlan& plan, const SlurmOptions& o, bool submit) {
  if (o.max_parallel < 0) throw Error(ErrorKind::kUsage, "--slurm-max-parallel must be >= 0 (0: no cap).");
  if (o.time_minutes < 0) throw Error(ErrorKind::kUsage, "--slurm-time must be >= 0 minutes (0: the default).");
  if (o.cpus_per_task < 1) throw Error(ErrorKind::kUsage, "--slurm-cpus-per-task must be >= 1.");
  if (o.gpus_per_task < 0) throw Error(ErrorKind::kUsage, "--slurm-gpus-per-task must be >= 0.");
  if (o.signal_seconds < 0) throw Error(ErrorKind::kUsage, "--slurm-signal-seconds must be >= 0 (0: no warning).");
  const std::string dir = fs::absolute(plan.path).lexically_normal().string();
  for (const auto& text : std::vector<std::string>{dir, o.partition}) {
    if (text.find_first_of(" \t\n\r") != std::string::npos) {
      throw Error(ErrorKind::kUsage, "'" + text +
                                         "' has white space, which Slurm's #SBATCH lines cannot hold. Fix: a "
                                         "sweep directory and partition without spaces.");
    }
  }
  for (const auto& option : o.extra) {
    if (option.rfind("--", 0) != 0 || option.find_first_of("\n\r") != std::string::npos) {
      throw Error(ErrorKind::kUsage, "--slurm-option '" + option +
                                         "' is not one sbatch option. Fix: e.g. "
                                         "--slurm-option=--account=myproject.");
    }
  }
  std::vector<int64_t> indices;
  for (const auto& cell : plan.cells) {
    if (cell_state(plan, cell) != CellState::kFinished) indices.push_back(cell.index);
  }
  if (indices.empty()) {
    spdlog::info("sweep {}: every cell has finished; nothing to submit", plan.path);
    return "";
  }
  make_own_directory((fs::path(dir) / "slurm").string());
  const std::string script = (fs::path(dir) / "sweep.sbatch").string();
  write_file_atomic(script, slurm_script(plan, indices, o, own_executable()));
  if (!submit) {
    spdlog::info("wrote {} ({} tasks); submit it with: sbatch {}", script, indices.size(), script);
    return "";
  }
  ProgramResult result;
  result = run_program({o.sbatch, "--parsable", script}, kSubmitTimeoutSeconds);
  if (result.code == 127) {
    throw Error(ErrorKind::kIo, "'" + o.sbatch +
                                    "' was not found. Fix: run on a machine with Slurm's sbatch, or "
                                    "submit " +
                                    script + " there yourself.");
  }
  if (result.code != 0) {
    throw Error(ErrorKind::kIo, o.sbatch + " refused " + script + " (exit " + std::to_string(result.code) +
                                    "): " + trim(result.err.empty() ? result.out : result.err) +
                                    ". Fix: the sbatch options (--slurm-*) for this cluster.");
  }
  std::string id = trim(result.out);
  id = id.substr(0, id.find(';'));  // "--parsable" prints "id" or "id;cluster"
  if (id.empty() || id.find_first_not_of("0123456789") != std::string::npos) {
    throw Error(ErrorKind::kIo, o.sbatch + " printed no job id: '" + trim(result.out) + "'.");
  }
  spdlog::info("submitted {} tasks as Slurm job {} ({}); logs in {}/slurm", indices.size(), id, script, dir);
  return id;
}

}  // namespace fool
