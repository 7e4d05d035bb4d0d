// Hostile and careless files around a run (issue 15, classes 1 and 2): no write leaves the run
// directory or replaces what is not a regular file of fool's own, and no run is lost or mixed
// with another (the run directory's lock, --force, interrupted snapshots).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "support/cli_support.h"
#include "support/test_support.h"

extern char** environ;

namespace fool::test {
namespace {
namespace fs = std::filesystem;

constexpr int kIo = 4;

const std::vector<std::string> kQuickRun = {"run", "--generations", "3", "--threads", "1", "--dump-every", "0"};

std::vector<std::string> with(std::vector<std::string> args, const std::vector<std::string>& more) {
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

/// The run's one error line names `path` and says what to do.
void expect_one_line_naming(const CommandResult& r, const std::string& path) {
  EXPECT_EQ(r.exit_code, kIo) << r.describe();
  const auto lines = r.err_lines();
  ASSERT_EQ(lines.size(), 1u) << r.describe();
  EXPECT_EQ(lines[0].rfind("error: ", 0), 0u) << lines[0];
  EXPECT_NE(lines[0].find(path), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("Fix:"), std::string::npos) << lines[0];
}

bool is_regular_file(const std::string& path) {
  std::error_code ec;
  return fs::is_regular_file(fs::symlink_status(path, ec));
}

/// A CPPN elite's genome, for fool render (one small run shared by the render tests).
class RenderOutput : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    run_ = new TempDir;
    const auto r = run_fool(with(kQuickRun, {"--encoding", "cppn", "--out", *run_ / "cppn"}));
    ASSERT_EQ(r.exit_code, 0) << r.describe();
    const auto genomes = files_in(*run_ / "cppn/elites", ".json");
    ASSERT_FALSE(genomes.empty());
    genome_ = *run_ / ("cppn/elites/" + genomes.front());
  }
  static void TearDownTestSuite() {
    delete run_;
    run_ = nullptr;
  }
  CommandResult render(const std::string& out) const {
    return run_fool({"render", genome_, "--size", "16", "--out", out});
  }
  static TempDir* run_;
  static std::string genome_;
  TempDir tmp_;
};
TempDir* RenderOutput::run_ = nullptr;
std::string RenderOutput::genome_;

// ---- class 1: writes that leave the run directory ------------------------------------------

TEST_F(RenderOutput, PlantedTemporarySymlinkIsNotFollowed) {
  write_text(tmp_ / "victim.txt", "precious");
  fs::create_symlink(tmp_ / "victim.txt", tmp_ / "out.png.tmp");
  const auto r = render(tmp_ / "out.png");
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_EQ(read_text(tmp_ / "victim.txt"), "precious") << "the write went through a planted NAME.tmp link";
  EXPECT_TRUE(is_regular_file(tmp_ / "out.png"));
  EXPECT_EQ(read_text(tmp_ / "out.png").substr(1, 3), "PNG");
  EXPECT_TRUE(fs::is_symlink(tmp_ / "out.png.tmp")) << "someone else's link is left alone";
}

TEST_F(RenderOutput, OutputThatIsNotARegularFileIsRefused) {
  write_text(tmp_ / "victim.txt", "precious");
  fs::create_symlink(tmp_ / "victim.txt", tmp_ / "link.png");
  ASSERT_EQ(::mkfifo((tmp_ / "fifo.png").c_str(), 0644), 0);
  fs::create_directory(tmp_ / "folder.png");
  for (const std::string name : {"link.png", "fifo.png", "folder.png"}) {
    const fs::file_type type = fs::symlink_status(tmp_ / name).type();
    const auto r = render(tmp_ / name);
    expect_one_line_naming(r, tmp_ / name);
    EXPECT_NE(r.err.find("not a regular file"), std::string::npos) << r.describe();
    EXPECT_EQ(fs::symlink_status(tmp_ / name).type(), type) << name << " was replaced";
  }
  EXPECT_EQ(read_text(tmp_ / "victim.txt"), "precious");
  EXPECT_TRUE(leftovers(tmp_.path()).empty());
}

TEST_F(RenderOutput, OutputOntoADeviceNodeIsRefused) {
  // A device node of the test's own (the null device's numbers), never a real /dev entry.
  const std::string device = tmp_ / "device.png";
  if (::mknod(device.c_str(), S_IFCHR | 0644, makedev(1, 3)) != 0) {
    GTEST_SKIP() << "mknod is not permitted here (needs CAP_MKNOD): the device case is not tested";
  }
  const auto r = render(device);
  expect_one_line_naming(r, device);
  EXPECT_NE(r.err.find("character device"), std::string::npos) << r.describe();
  EXPECT_EQ(fs::symlink_status(device).type(), fs::file_type::character) << "the device node was replaced";
}

TEST(HostileFiles, RunFilesNeverGoThroughPlantedLinks) {
  TempDir tmp;
  const std::string out = tmp / "run";
  ASSERT_EQ(run_fool(with(kQuickRun, {"--out", out})).exit_code, 0);
  write_text(tmp / "victim.txt", "precious");
  fs::create_directory(tmp / "victim_dir");
  write_text(tmp / "victim_dir/keep.txt", "keep");
  for (const char* name : {"summary.json.tmp", "checkpoint.fool.tmp", "config.json.tmp", "progress.csv.tmp"}) {
    fs::create_symlink(tmp / "victim.txt", out + "/" + name);
  }
  fs::create_directory_symlink(tmp / "victim_dir", out + "/elites.tmp");
  fs::create_directory_symlink(tmp / "victim_dir", out + "/elites.old");
  const auto r = run_fool(with(kQuickRun, {"--out", out, "--force"}));
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_EQ(read_text(tmp / "victim.txt"), "precious") << "a run file was written through a planted link";
  EXPECT_EQ(read_text(tmp / "victim_dir/keep.txt"), "keep");
  for (const char* name : {"summary.json", "checkpoint.fool", "config.json", "progress.csv"}) {
    EXPECT_TRUE(is_regular_file(out + "/" + name)) << name;
  }
  for (const char* name : {"summary.json.tmp", "elites.tmp", "elites.old"}) {
    EXPECT_TRUE(fs::is_symlink(out + "/" + name)) << name << ": a link fool did not make is left alone";
  }
  EXPECT_EQ(files_in(out + "/elites", ".png").size(), 10u);
}

TEST(HostileFiles, ResumeRefusesAnOutputThatIsALinkBeforeRunning) {
  TempDir tmp;
  const std::string out = tmp / "run";
  ASSERT_EQ(run_fool(with(kQuickRun, {"--out", out})).exit_code, 0);
  write_text(tmp / "victim.txt", "precious");
  fs::remove(out + "/summary.json");
  fs::create_symlink(tmp / "victim.txt", out + "/summary.json");
  const std::string progress = read_text(out + "/progress.csv");
  const auto r = run_fool({"resume", out, "--generations", "6"});
  expect_one_line_naming(r, out + "/summary.json");
  EXPECT_TRUE(fs::is_symlink(out + "/summary.json"));
  EXPECT_EQ(read_text(tmp / "victim.txt"), "precious");
  EXPECT_EQ(read_text(out + "/progress.csv"), progress) << "the run went on before refusing";
}

TEST(HostileFiles, EvaluateOutOntoAFifoOrLinkIsRefused) {
  TempDir tmp;
  const std::string out = tmp / "run";
  ASSERT_EQ(run_fool(with(kQuickRun, {"--out", out})).exit_code, 0);
  const std::string model = source_dir() + "/models/lenet_mnist.pt";
  ASSERT_EQ(::mkfifo((tmp / "fifo.csv").c_str(), 0644), 0);
  write_text(tmp / "victim.txt", "precious");
  fs::create_symlink(tmp / "victim.txt", tmp / "link.csv");
  for (const std::string name : {"fifo.csv", "link.csv"}) {
    const fs::file_type type = fs::symlink_status(tmp / name).type();
    const auto r = run_fool({"evaluate", out, "--model", model, "--out", tmp / name});
    expect_one_line_naming(r, tmp / name);
    EXPECT_EQ(fs::symlink_status(tmp / name).type(), type) << name << " was replaced";
  }
  EXPECT_EQ(read_text(tmp / "victim.txt"), "precious");
}

// ---- class 2: runs lost or corrupted -------------------------------------------------------

/// A fool process in the background, killed (SIGTERM, then SIGKILL) when the test ends.
class Background {
 public:
  explicit Background(const std::vector<std::string>& args, const std::string& log) {
    std::vector<std::string> argv = {FOOL_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> pointers;
    for (auto& a : argv) pointers.push_back(a.data());
    pointers.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
    if (posix_spawn(&pid_, FOOL_BINARY, &actions, nullptr, pointers.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
  }
  ~Background() { stop(); }
  pid_t pid() const { return pid_; }
  /// SIGTERM, then SIGKILL after 20 s; returns the exit status as run_fool reports it.
  int stop() {
    if (pid_ <= 0) return -1;
    ::kill(pid_, SIGTERM);
    int status = 0;
    for (int i = 0; i < 200 && ::waitpid(pid_, &status, WNOHANG) == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (::waitpid(pid_, &status, WNOHANG) == 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
    }
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

 private:
  pid_t pid_ = -1;
};

/// Waits (at most 60 s) until `path` exists with some content.
bool wait_for_file(const std::string& path) {
  for (int i = 0; i < 600; ++i) {
    std::error_code ec;
    if (fs::file_size(path, ec) > 0 && !ec) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

/// The generations of progress.csv, in order: one row per generation, none twice.
void expect_one_history(const std::string& progress_csv) {
  const auto rows = read_csv(progress_csv);
  ASSERT_GE(rows.size(), 2u);
  for (std::size_t i = 1; i < rows.size(); ++i) {
    EXPECT_EQ(rows[i].at(0), std::to_string(i - 1)) << "rows of two processes in " << progress_csv;
  }
}

TEST(RunLock, SecondRunOrResumeIntoARunningDirectoryFailsAtOnceNamingThePid) {
  TempDir tmp;
  const std::string out = tmp / "run";
  Background first({"run", "--generations", "1000000", "--threads", "1", "--dump-every", "0", "--checkpoint-every", "1",
                    "--out", out},
                   tmp / "first.log");
  ASSERT_GT(first.pid(), 0);
  ASSERT_TRUE(wait_for_file(out + "/checkpoint.fool")) << read_text(tmp / "first.log");
  const std::string pid = std::to_string(first.pid());
  for (const auto& args : std::vector<std::vector<std::string>>{with(kQuickRun, {"--out", out, "--force"}),
                                                                {"resume", out, "--generations", "50"}}) {
    const auto start = std::chrono::steady_clock::now();
    const auto r = run_fool(args);
    expect_one_line_naming(r, out);
    EXPECT_NE(r.err.find("PID " + pid), std::string::npos) << "the holder's PID " << pid << "\n" << r.describe();
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20)) << "it waited instead of failing";
  }
  // evaluate writes transfer.csv into the run: not while the run holds it.
  const auto evaluate = run_fool({"evaluate", out, "--model", source_dir() + "/models/lenet_mnist.pt"});
  expect_one_line_naming(evaluate, out);
  EXPECT_NE(evaluate.err.find("PID " + pid), std::string::npos) << evaluate.describe();
  EXPECT_FALSE(fs::exists(out + "/transfer.csv"));
  EXPECT_EQ(first.stop(), 128 + SIGTERM) << read_text(tmp / "first.log");
  expect_one_history(out + "/progress.csv");
  // Once the run has ended, the lock is free again.
  const int64_t generations = read_json(out + "/summary.json")["generations"].get<int64_t>();
  const auto resumed = run_fool({"resume", out, "--generations", std::to_string(generations + 2)});
  EXPECT_EQ(resumed.exit_code, 0) << resumed.describe();
  expect_one_history(out + "/progress.csv");
}

TEST(RunLock, FailedStartLeavesNoDirectoryAndALockFileCountsAsEmpty) {
  TempDir tmp;
  const auto failed = run_fool(with(kQuickRun, {"--out", tmp / "new", "--model", tmp / "missing.pt"}));
  EXPECT_EQ(failed.exit_code, 3) << failed.describe();
  EXPECT_FALSE(fs::exists(tmp / "new")) << "a failed start left its --out directory behind";
  // An empty directory that a failed start left with only its lock file is still empty.
  fs::create_directory(tmp / "empty");
  write_text(tmp / "empty/.fool.lock", "12345\n");
  const auto r = run_fool(with(kQuickRun, {"--out", tmp / "empty"}));
  EXPECT_EQ(r.exit_code, 0) << r.describe();
}

TEST(HostileFiles, ForceRemovesThePreviousRunsOutputsAndNothingElse) {
  TempDir tmp;
  const std::string out = tmp / "run";
  ASSERT_EQ(run_fool({"run", "--generations", "3", "--threads", "1", "--dump-every", "1", "--out", out}).exit_code, 0);
  ASSERT_TRUE(fs::is_directory(out + "/snapshots/gen_000002"));
  fs::create_directory(out + "/report");
  write_text(out + "/report/report.md", "old report");
  write_text(out + "/transfer.csv", "old table");
  write_text(out + "/summary.json.tmp", "stale");
  fs::create_directory(out + "/elites.tmp");
  write_text(out + "/notes.txt", "the user's own file");
  fs::create_directory(out + "/mine");
  write_text(out + "/mine/data.txt", "the user's own folder");
  const auto r = run_fool(with(kQuickRun, {"--out", out, "--force"}));
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  for (const char* gone : {"snapshots", "report", "transfer.csv"}) {
    EXPECT_FALSE(fs::exists(out + "/" + gone)) << gone << " of the previous run is still there";
  }
  EXPECT_TRUE(leftovers(out).empty()) << leftovers(out).front();
  EXPECT_EQ(read_text(out + "/notes.txt"), "the user's own file");
  EXPECT_EQ(read_text(out + "/mine/data.txt"), "the user's own folder");
  EXPECT_EQ(read_csv(out + "/progress.csv").size(), 4u);
  EXPECT_EQ(files_in(out + "/elites", ".png").size(), 10u);
}

TEST(HostileFiles, ForceRemovesALinkedOutputFolderNotWhatItPointsTo) {
  TempDir tmp;
  const std::string out = tmp / "run";
  ASSERT_EQ(run_fool(with(kQuickRun, {"--out", out})).exit_code, 0);
  fs::create_directory(tmp / "elsewhere");
  write_text(tmp / "elsewhere/keep.txt", "keep");
  fs::create_directory_symlink(tmp / "elsewhere", out + "/snapshots");
  const auto r =
      run_fool({"run", "--generations", "3", "--threads", "1", "--dump-every", "1", "--out", out, "--force"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_EQ(read_text(tmp / "elsewhere/keep.txt"), "keep");
  EXPECT_EQ(std::distance(fs::directory_iterator(tmp / "elsewhere"), fs::directory_iterator()), 1)
      << "snapshots were written through the link";
  EXPECT_FALSE(fs::is_symlink(out + "/snapshots"));
  EXPECT_TRUE(fs::is_directory(out + "/snapshots/gen_000002"));
}

TEST(HostileFiles, InterruptedSnapshotLeavesNothingForTheNextRun) {
  TempDir tmp;
  const std::string out = tmp / "run";
  const std::vector<std::string> run = {"run", "--generations",      "5", "--threads", "1", "--dump-every",
                                        "2",   "--checkpoint-every", "1", "--out",     out};
  ASSERT_EQ(run_fool(run).exit_code, 0);
  // What a process killed while staging snapshots and elites leaves (this version's names and
  // the older fixed ones).
  for (const char* stale :
       {"snapshots/gen_000004.tmp", "snapshots/gen_000004.Ab12Cd.tmp", "elites.Xy34Zw.tmp", "elites.old"}) {
    fs::create_directories(out + "/" + stale + "/large");
    write_text(out + "/" + stale + "/0_0_0.500000.png", "half");
  }
  write_text(out + "/checkpoint.fool.Qw56Er.tmp", "half a checkpoint");
  const auto resumed = run_fool({"resume", out, "--generations", "7"});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.describe();
  EXPECT_TRUE(leftovers(out).empty()) << leftovers(out).front();
  EXPECT_TRUE(fs::is_directory(out + "/snapshots/gen_000004"));
  EXPECT_TRUE(fs::is_directory(out + "/snapshots/gen_000006"));
  EXPECT_EQ(files_in(out + "/snapshots/gen_000006", ".png").size(), 10u);
}

}  // namespace
}  // namespace fool::test
