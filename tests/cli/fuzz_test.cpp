// Fuzzing the real binary with what users and strangers hand it: random mutations of valid config
// files, genome files, checkpoints (re-summed, so that they pass the checksum and reach the
// parser) and model cards (fool.json inside a model, its zip CRC fixed so that LibTorch reads it).
// Each case runs under a memory limit and a timeout, from a fresh working directory, and must:
// not die by a signal or hang; exit with a documented code other than 70 (an internal error is a
// bug); say exactly one line on stderr when it fails; write nothing outside its run directory;
// and leave a finished run untouched when it fails. Seeded and bounded: FOOL_FUZZ_CASES cases per
// target (default 24), FOOL_FUZZ_SEED (default 1).
#include <gtest/gtest.h>

#include <array>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include "fool/util/sha256.h"
#include "support/cli_support.h"
#include "support/test_support.h"

namespace fool::test {
namespace {
namespace fs = std::filesystem;

constexpr const char* kMemoryLimitKib = "6000000";  // 6 GB of address space: LibTorch maps ~2 GB at start
constexpr const char* kTimeoutSeconds = "60";
const std::set<int> kDocumentedExitCodes = {0, 1, 2, 3, 4, 5, 6};

int env_int(const char* name, int fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::atoi(value) : fallback;
}

/// Every regular file under `dir` with its SHA-256.
std::map<std::string, std::string> tree(const std::string& dir) {
  std::map<std::string, std::string> out;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; it != end; it.increment(ec)) {
    if (ec) break;
    if (it->is_regular_file(ec)) out[fs::relative(it->path(), dir).string()] = sha256_file(it->path().string());
  }
  return out;
}

uint32_t crc32(const std::string& bytes) {
  static const auto table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  uint32_t c = 0xFFFFFFFFu;
  for (unsigned char b : bytes) c = table[(c ^ b) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

uint32_t get32(const std::string& s, std::size_t at) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(s[at + static_cast<std::size_t>(i)]);
  return v;
}
uint16_t get16(const std::string& s, std::size_t at) {
  return static_cast<uint16_t>(static_cast<unsigned char>(s[at]) | (static_cast<unsigned char>(s[at + 1]) << 8));
}
void put32(std::string& s, std::size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) s[at + static_cast<std::size_t>(i)] = static_cast<char>((v >> (8 * i)) & 0xFF);
}

class Mutator {
 public:
  explicit Mutator(uint64_t seed) : random_(seed) {}

  /// Byte-level: flips, overwrites with interesting bytes, deletions, insertions, truncation.
  std::string bytes(std::string s) {
    const int edits = 1 + pick(4);
    for (int e = 0; e < edits && !s.empty(); ++e) {
      const std::size_t at = static_cast<std::size_t>(pick(static_cast<int>(s.size())));
      switch (pick(5)) {
        case 0:
          s[at] = static_cast<char>(s[at] ^ (1 << pick(8)));
          break;
        case 1:
          s[at] = "\0\xff\x7f\x80\"{}[]-9e"[pick(12)];
          break;
        case 2:
          s.erase(at, 1 + static_cast<std::size_t>(pick(16)));
          break;
        case 3:
          s.insert(at, std::string(1 + static_cast<std::size_t>(pick(8)), static_cast<char>(pick(256))));
          break;
        default:
          s.resize(at);
          break;
      }
    }
    return s;
  }

  /// JSON-aware: one value somewhere in the document replaced by an extreme or mistyped one.
  std::string json(const std::string& text) {
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded() || pick(4) == 0) return bytes(text);
    static const std::vector<nlohmann::json> extremes = {nullptr,
                                                         -1,
                                                         0,
                                                         1,
                                                         2.7,
                                                         -1e308,
                                                         1e308,
                                                         9223372036854775807LL,
                                                         18446744073709551615ULL,
                                                         "",
                                                         "HSV",
                                                         "../../../etc/passwd",
                                                         "\xff\xfe",
                                                         nlohmann::json::array(),
                                                         nlohmann::json::object(),
                                                         true,
                                                         30000,
                                                         "/dev/zero",
                                                         std::string(5000, 'x'),
                                                         nlohmann::json::array({1, 2, 3})};
    const int edits = 1 + pick(3);
    for (int e = 0; e < edits; ++e) {
      // Collected again after every edit: replacing an object or array frees the values inside.
      std::vector<nlohmann::json*> slots;
      collect(j, slots);
      *slots[static_cast<std::size_t>(pick(static_cast<int>(slots.size())))] =
          extremes[static_cast<std::size_t>(pick(static_cast<int>(extremes.size())))];
    }
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }

  int pick(int n) { return n <= 0 ? 0 : static_cast<int>(random_() % static_cast<uint64_t>(n)); }

 private:
  static void collect(nlohmann::json& j, std::vector<nlohmann::json*>& out) {
    out.push_back(&j);
    if (j.is_object() || j.is_array()) {
      for (auto& child : j) collect(child, out);
    }
  }
  std::mt19937_64 random_;
};

/// A fuzz case: `args` run from `work` (a fresh directory); only `allowed` (relative paths, a file
/// or a directory) may change or appear.
struct Outcome {
  int exit_code;
  std::string err, command;
};

Outcome run_limited(const std::string& work, const std::vector<std::string>& args) {
  std::string command = "cd " + shell_quote(work) + " && ulimit -v " + kMemoryLimitKib + " && exec timeout -s KILL " +
                        kTimeoutSeconds + " " + shell_quote(FOOL_BINARY);
  for (const auto& a : args) command += " " + shell_quote(a);
  const std::string line =
      "(" + command + ") </dev/null >" + shell_quote(work + "/../stdout") + " 2>" + shell_quote(work + "/../stderr");
  const int status = std::system(line.c_str());
  Outcome o;
  o.command = command;
  o.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  o.err = read_text(work + "/../stderr");
  return o;
}

class Fuzz : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pristine_ = new TempDir();
    const auto direct = run_fool({"run", "--generations", "3", "--population", "20", "--threads", "1", "--seed", "2",
                                  "--checkpoint-every", "1", "--out", *pristine_ / "direct"});
    ASSERT_EQ(direct.exit_code, 0) << direct.describe();
    const auto cppn = run_fool({"run", "--encoding", "cppn", "--generations", "4", "--population", "20", "--threads",
                                "1", "--out", *pristine_ / "cppn"});
    ASSERT_EQ(cppn.exit_code, 0) << cppn.describe();
    const auto rounds =
        run_fool({"retrain", "--data", mnist_dir(), "--rounds", "1", "--generations", "3", "--population", "20",
                  "--train-limit", "200", "--epochs", "1", "--threads", "1", "--out", *pristine_ / "rounds"});
    ASSERT_EQ(rounds.exit_code, 0) << rounds.describe();
  }
  static void TearDownTestSuite() {
    delete pristine_;
    pristine_ = nullptr;
  }

  /// Runs one case in a fresh directory holding `files` (name -> bytes) and `copy_runs`; checks
  /// the guarantees; returns the exit code.
  int check_case(const std::string& target, int index, const std::map<std::string, std::string>& files,
                 const std::vector<std::string>& copy_runs, const std::vector<std::string>& args,
                 const std::string& allowed, bool finished_run_must_survive_failure) {
    TempDir box;
    const std::string work = box / "work";
    fs::create_directories(work);
    for (const auto& run : copy_runs) fs::copy(*pristine_ / run, work + "/" + run, fs::copy_options::recursive);
    for (const auto& [name, bytes] : files) write_text(work + "/" + name, bytes);
    const auto before = tree(work);
    const Outcome o = run_limited(work, args);
    const auto after = tree(work);
    const std::string what = target + " case " + std::to_string(index) + ": " + o.command + "\nexit " +
                             std::to_string(o.exit_code) + "\nstderr: " + o.err.substr(0, 2000);
    EXPECT_TRUE(kDocumentedExitCodes.count(o.exit_code)) << "undocumented exit code (70 is a bug, 124/137 a hang "
                                                            "or a kill, >128 a signal)\n"
                                                         << what;
    if (o.exit_code != 0 && o.exit_code != 1) {
      std::vector<std::string> lines;
      std::istringstream in(o.err);
      for (std::string l; std::getline(in, l);) {
        if (!l.empty()) lines.push_back(l);
      }
      EXPECT_EQ(lines.size(), 1u) << "one line on stderr\n" << what;
      if (!lines.empty()) {
        EXPECT_EQ(lines.back().rfind("error: ", 0), 0u) << what;
      }
    }
    for (const auto& [path, hash] : after) {
      const bool inside = !allowed.empty() && (path == allowed || path.rfind(allowed + "/", 0) == 0);
      if (inside) continue;
      const auto it = before.find(path);
      EXPECT_TRUE(it != before.end() && it->second == hash) << "wrote '" << path << "' outside '" << allowed << "'\n"
                                                            << what;
    }
    // Nothing next to the working directory either (the box holds only work/, stdout, stderr).
    for (const auto& entry : fs::directory_iterator(box.path())) {
      const auto name = entry.path().filename().string();
      EXPECT_TRUE(name == "work" || name == "stdout" || name == "stderr") << "wrote '" << name << "'\n" << what;
    }
    if (finished_run_must_survive_failure && o.exit_code != 0) {
      for (const auto& [path, hash] : before) {
        // The run directory's lock file records the PID of its last holder, by design.
        if (fs::path(path).filename() == ".fool.lock") continue;
        const auto it = after.find(path);
        EXPECT_TRUE(it != after.end() && it->second == hash) << "a failed command changed '" << path << "'\n" << what;
      }
    }
    return o.exit_code;
  }

  static void summarise(const std::string& target, const std::map<int, int>& exits) {
    std::string text;
    for (const auto& [code, count] : exits) text += " exit " + std::to_string(code) + ": " + std::to_string(count);
    std::printf("fuzz %s:%s\n", target.c_str(), text.c_str());
  }

  static TempDir* pristine_;
  const int cases_ = env_int("FOOL_FUZZ_CASES", 24);
  const uint64_t seed_ = static_cast<uint64_t>(env_int("FOOL_FUZZ_SEED", 1));
};

TempDir* Fuzz::pristine_ = nullptr;

TEST_F(Fuzz, ConfigFiles) {
  Mutator m(seed_ * 1000 + 1);
  const auto config = read_text(*pristine_ / "direct/config.json");
  std::map<int, int> exits;
  for (int i = 0; i < cases_; ++i) {
    // The command line pins what would make a case slow (it wins over the file); every other
    // setting, the model path included, is the fuzzer's.
    ++exits[check_case("config", i, {{"config.json", m.json(config)}}, {},
                       {"run", "--config", "config.json", "--generations", "2", "--population", "10", "--threads", "1",
                        "--batch-size", "64", "--out", "run", "--force"},
                       "run", false)];
  }
  summarise("config", exits);
}

TEST_F(Fuzz, SweepSpecs) {
  Mutator m(seed_ * 1000 + 5);
  const std::string spec = R"({"settings": {"generations": 2, "population": 10, "threads": 1, "classes": "0-4"},)"
                           R"( "grid": {"encoding": ["direct", "cppn"], "seed": [1, 2], "shard": ["1/2", "2/2"]}})";
  std::map<int, int> exits;
  for (int i = 0; i < cases_; ++i) {
    // Planned and written as a Slurm array, not run: the spec's reading is what is fuzzed.
    ++exits[check_case("sweep", i, {{"spec.json", m.json(spec)}}, {},
                       {"sweep", "spec.json", "--out", "sw", "--slurm", "--slurm-no-submit"}, "sw", false)];
  }
  summarise("sweep", exits);
}

TEST_F(Fuzz, MergedRuns) {
  Mutator m(seed_ * 1000 + 6);
  const auto summary = read_text(*pristine_ / "cppn/summary.json");
  std::map<int, int> exits;
  for (int i = 0; i < cases_; ++i) {
    // A run whose summary.json was damaged, merged with itself: the merge reads, never writes it.
    ++exits[check_case("merge", i, {{"cppn/summary.json", m.json(summary)}}, {"cppn"},
                       {"merge", "merged", "cppn", "cppn"}, "merged", true)];
  }
  summarise("merge", exits);
}

TEST_F(Fuzz, RoundsTables) {
  Mutator m(seed_ * 1000 + 7);
  const auto table = read_text(*pristine_ / "rounds/rounds.csv");
  std::map<int, int> exits;
  for (int i = 0; i < cases_; ++i) {
    // A retrain's rounds.csv damaged (by hand, or by someone else), drawn by fool report elsewhere.
    ++exits[check_case("rounds", i, {{"rounds/rounds.csv", m.bytes(table)}}, {"rounds"},
                       {"report", "rounds", "--out", "rep"}, "rep", true)];
  }
  summarise("rounds", exits);
}

TEST_F(Fuzz, GenomeFiles) {
  Mutator m(seed_ * 1000 + 2);
  const auto genomes = files_in(*pristine_ / "cppn/elites", ".json");
  ASSERT_FALSE(genomes.empty());
  std::map<int, int> exits;
  for (int i = 0; i < cases_; ++i) {
    const auto genome =
        read_text(*pristine_ / ("cppn/elites/" + genomes[static_cast<std::size_t>(i) % genomes.size()]));
    ++exits[check_case("genome", i, {{"genome.json", m.json(genome)}}, {},
                       {"render", "genome.json", "--size", "64", "--out", "out.png"}, "out.png", false)];
  }
  summarise("genome", exits);
}

TEST_F(Fuzz, Checkpoints) {
  Mutator m(seed_ * 1000 + 3);
  const auto bytes = read_text(*pristine_ / "direct/checkpoint.fool");
  constexpr std::size_t kHeader = 8 + 4 + 8 + 64;
  ASSERT_GT(bytes.size(), kHeader);
  std::map<int, int> exits;
  for (int i = 0; i < cases_; ++i) {
    std::string mutated;
    if (m.pick(3) == 0) {
      mutated = m.bytes(bytes);  // the header and checksum catch these
    } else {
      // A payload mutated and re-summed: valid checksum, hostile contents.
      std::string payload = m.bytes(bytes.substr(kHeader));
      mutated = bytes.substr(0, 12);
      for (int k = 0; k < 8; ++k) mutated += static_cast<char>((payload.size() >> (8 * k)) & 0xFF);
      mutated += sha256_hex(payload.data(), payload.size()) + payload;
    }
    ++exits[check_case("checkpoint", i, {{"direct/checkpoint.fool", mutated}}, {"direct"},
                       {"resume", "direct", "--generations", "5"}, "direct", true)];
  }
  summarise("checkpoint", exits);
}

TEST_F(Fuzz, ModelCards) {
  Mutator m(seed_ * 1000 + 4);
  const std::string model = read_text(source_dir() + "/models/lenet_mnist.pt");
  // fool.json is a stored (uncompressed) zip record. LibTorch writes sizes and CRC in the central
  // directory and a data descriptor after the data (the local header's are zero): find all three,
  // so that a mutated card of the same length gets a correct CRC.
  const auto central_name = model.rfind("extra/fool.json");
  ASSERT_NE(central_name, std::string::npos);
  const auto central = model.rfind(std::string("PK\x01\x02", 4), central_name);
  ASSERT_NE(central, std::string::npos);
  const std::size_t size = get32(model, central + 20);
  const auto local = static_cast<std::size_t>(get32(model, central + 42));
  ASSERT_EQ(model.compare(local, 4, std::string("PK\x03\x04", 4)), 0);
  const std::size_t data = local + 30 + get16(model, local + 26) + get16(model, local + 28);
  ASSERT_GT(size, 0u);
  const bool descriptor = model.compare(data + size, 4, std::string("PK\x07\x08", 4)) == 0;
  const std::string card = model.substr(data, size);
  std::map<int, int> exits;
  for (int i = 0; i < cases_; ++i) {
    std::string mutated = m.json(card);
    mutated.resize(size, ' ');  // same length: the zip's offsets stay valid
    std::string file = model;
    file.replace(data, size, mutated);
    put32(file, descriptor ? data + size + 4 : local + 14, crc32(mutated));
    put32(file, central + 16, crc32(mutated));
    const bool run = i % 2 == 1;
    std::vector<std::string> args = {"info", "--model", "model.pt"};
    if (run)
      args = {"run", "--model",   "model.pt", "--generations", "2",  "--population",
              "10",  "--threads", "1",        "--out",         "run"};
    ++exits[check_case("model card", i, {{"model.pt", file}}, {}, args, run ? "run" : "", false)];
  }
  summarise("model card", exits);
}

}  // namespace
}  // namespace fool::test
