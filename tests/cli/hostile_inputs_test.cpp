// Hostile and careless input (issue 15, classes 3-6): files read back or handed over by others,
// sizes meant to exhaust the machine, models that break their contract only during a run, and
// command-line values that CLI11 alone would silently change. Each case gets one clear line on
// stderr and its documented exit code, never a signal, a hang, gigabytes of memory or exit 70.
// Every command runs under `ulimit -v` and `timeout`, so that a regression fails the test instead
// of eating the machine.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>

#include "support/cli_support.h"
#include "support/test_support.h"

namespace fool::test {
namespace {
namespace fs = std::filesystem;

constexpr int kUsage = 2, kModel = 3, kIo = 4, kResource = 6;
/// Address space of every command (KiB): LibTorch and a model need about 1.5 GB; a bomb needs far more.
constexpr int kMemoryKiB = 4'000'000;
constexpr int kSeconds = 60;

/// `fool args...` under the memory and time limits; stdout goes to `stdout_path` when given.
CommandResult run_bounded(const std::vector<std::string>& args, const std::string& stdout_path = "") {
  TempDir capture;
  CommandResult result;
  result.command = shell_quote(FOOL_BINARY);
  for (const auto& a : args) result.command += " " + shell_quote(a);
  const std::string out = stdout_path.empty() ? capture / "out" : stdout_path;
  const std::string line = "ulimit -v " + std::to_string(kMemoryKiB) + "; exec timeout " + std::to_string(kSeconds) +
                           " " + result.command + " </dev/null >" + shell_quote(out) + " 2>" +
                           shell_quote(capture / "err");
  const int status = std::system(("/bin/bash -c " + shell_quote(line)).c_str());
  result.command = line;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  if (stdout_path.empty()) result.out = read_text(out);
  result.err = read_text(capture / "err");
  return result;
}

/// One line on stderr, "error: ..." mentioning `mentions`, with the exit code; no trace or abort.
/// With `after_progress`, the error may follow a run's own "info:"/"warning:" lines (a failure
/// found during the run), but is still the last line and the only other kind.
void expect_one_clear_error(const CommandResult& r, int exit_code, const std::string& mentions,
                            bool after_progress = false) {
  EXPECT_EQ(r.exit_code, exit_code) << r.describe();
  const auto lines = r.err_lines();
  ASSERT_FALSE(lines.empty()) << r.describe();
  if (after_progress) {
    for (std::size_t i = 0; i + 1 < lines.size(); ++i) {
      EXPECT_TRUE(lines[i].rfind("info: ", 0) == 0 || lines[i].rfind("warning: ", 0) == 0)
          << "only the run's progress may precede the error\n"
          << r.describe();
    }
  } else {
    ASSERT_EQ(lines.size(), 1u) << "expected one line on stderr\n" << r.describe();
  }
  EXPECT_EQ(lines.back().rfind("error: ", 0), 0u) << lines.back();
  EXPECT_NE(lines.back().find(mentions), std::string::npos) << "the message should mention '" << mentions << "'\n"
                                                            << lines.back();
  for (const char* trace : {"Exception raised from", "frame #", "terminate called", "what():", "LibTorch:", "stoll"}) {
    EXPECT_EQ(r.err.find(trace), std::string::npos) << "library text instead of a sentence: " << r.describe();
  }
}

uint32_t crc32(const std::string& bytes) {
  uint32_t crc = 0xffffffffu;
  for (unsigned char c : bytes) {
    crc ^= c;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

std::string big_endian(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}

/// A gray PNG whose header says width x height but whose (stored, uncompressed) data holds only
/// `rows` rows: a valid header of any size, and a truncated file.
std::string png_header_only(uint32_t width, uint32_t height, uint32_t rows) {
  const auto chunk = [](const std::string& type, const std::string& data) {
    return big_endian(static_cast<uint32_t>(data.size())) + type + data + big_endian(crc32(type + data));
  };
  std::string ihdr = big_endian(width) + big_endian(height) + std::string("\x08\x00\x00\x00\x00", 5);
  // zlib stream of one stored block: the rows' bytes (filter byte 0, then zeros), no checksum
  // needed for libpng to hit the end of the data first.
  const std::string raw(static_cast<std::size_t>(rows) * (width + 1), '\0');
  const auto length = static_cast<uint16_t>(raw.size());
  std::string zlib = std::string("\x78\x01\x01", 3) + static_cast<char>(length & 0xff) +
                     static_cast<char>(length >> 8) + static_cast<char>(~length & 0xff) +
                     static_cast<char>((~length >> 8) & 0xff) + raw;
  return std::string("\x89PNG\r\n\x1a\n", 8) + chunk("IHDR", ihdr) + chunk("IDAT", zlib) + chunk("IEND", "");
}

/// A CPPN genome of the bundled LeNet's shape: inputs, one output, and `hidden` hidden nodes in
/// a chain x -> h1 -> ... -> output, their ids starting at `first_id`.
nlohmann::json chain_genome(int64_t hidden, int64_t first_id) {
  nlohmann::json g = {{"fool_genome", 1},
                      {"encoding", "cppn"},
                      {"image", {{"channels", 1}, {"height", 28}, {"width", 28}}},
                      {"color_space", "hls"},
                      {"coordinates", "normalized"},
                      {"activations", {"sine", "sigmoid", "gaussian", "linear"}}};
  g["nodes"] = nlohmann::json::array();
  const char* names[] = {"x", "y", "d", "bias"};
  for (int i = 0; i < 4; ++i) g["nodes"].push_back({{"id", i}, {"kind", "input"}, {"name", names[i]}});
  g["nodes"].push_back({{"id", 4}, {"kind", "output"}, {"activation", "sine"}, {"rank", 1.0}});
  g["connections"] = nlohmann::json::array();
  int64_t previous = 0;
  for (int64_t k = 0; k < hidden; ++k) {
    const int64_t id = first_id + k;
    g["nodes"].push_back({{"id", id},
                          {"kind", "hidden"},
                          {"activation", "sine"},
                          {"rank", static_cast<double>(k + 1) / static_cast<double>(hidden + 2)}});
    g["connections"].push_back({{"from", previous}, {"to", id}, {"weight", 1.0}});
    previous = id;
  }
  g["connections"].push_back({{"from", previous}, {"to", 4}, {"weight", 1.0}});
  return g;
}

void make_fixtures(const TempDir& tmp) {
  write_text(tmp / "big_id.json", chain_genome(1, 30000).dump());
  write_text(tmp / "chain.json", chain_genome(3000, 5).dump());
  write_text(tmp / "wide.json", chain_genome(100, 5).dump());
  write_text(tmp / "huge.png", png_header_only(30000, 30000, 4));
  write_text(tmp / "truncated.png", png_header_only(28, 28, 4));
  write_text(tmp / "latin1_labels.txt", "0\n1\n2\n3\n4\n5\n6\n7\n8\nneun\xe9\n");
}

// ---- class 4: resource bombs, refused with one line naming the limit ----------------------------
// ---- class 5: wrong exit codes and library messages -----------------------------------------------
// ---- class 6: values that CLI11 alone would silently change ---------------------------------------

struct HostileCase {
  const char* name;
  std::vector<std::string> args;  ///< "{tmp}" is the scratch directory, "{test_models}" the test models
  int exit_code;
  const char* mentions;
  bool during_run = false;  ///< found while the run goes: after its progress lines, its --out exists
};

std::ostream& operator<<(std::ostream& os, const HostileCase& c) { return os << c.name; }

void expect_refused(const HostileCase& c) {
  TempDir tmp;
  make_fixtures(tmp);
  const auto r = run_bounded(expand_placeholders(c.args, tmp));
  expect_one_clear_error(r, c.exit_code, c.mentions, c.during_run);
  if (!c.during_run) {
    EXPECT_FALSE(fs::exists(tmp / "o")) << "a refused run left its --out directory behind";
  }
}

class Hostile : public ::testing::TestWithParam<HostileCase> {};

TEST_P(Hostile, RefusedWithOneClearLine) { expect_refused(GetParam()); }

const HostileCase kHostile[] = {
    // Class 4. Before: 3.6 GB allocation (exit 70 under the limit), a render that ran past a
    // minute, libpng's "Not enough image data" before a "not an image" line, reads of /dev/zero
    // until memory ran out, and a 27 GB render at 8192x8192.
    {"genome_node_id_30000", {"render", "{tmp}/big_id.json", "--out", "{tmp}/r.png"}, kIo, "1024"},
    {"genome_chain_of_3000_nodes", {"render", "{tmp}/chain.json", "--out", "{tmp}/r.png"}, kIo, "1024"},
    {"genome_file_is_a_device", {"render", "/dev/zero", "--out", "{tmp}/r.png"}, kIo, "bytes"},
    {"render_beyond_memory", {"render", "{tmp}/wide.json", "--size", "8192", "--out", "{tmp}/r.png"}, kUsage, "--size"},
    {"png_header_30000x30000", {"classify", "{tmp}/huge.png"}, kIo, "67108864 pixels"},
    {"labels_file_is_a_device", {"info", "--labels", "/dev/zero"}, kIo, "bytes"},
    // Class 5. Before: exit 70 with allocator text, exit 70 after the run had finished (invalid
    // UTF-8 in config.json / summary.json), libpng's line before fool's.
    {"out_of_memory",
     {"run", "--population", "2000000", "--batch-size", "0", "--out", "{tmp}/o"},
     kResource,
     "bytes) failed",
     true},
    {"labels_not_utf8",
     {"run", "--labels", "{tmp}/latin1_labels.txt", "--generations", "1", "--out", "{tmp}/o"},
     kIo,
     "UTF-8"},
    {"out_not_utf8", {"run", "--generations", "1", "--out", "{tmp}/o\xff"}, kUsage, "UTF-8"},
    {"truncated_png_no_libpng_chatter", {"classify", "{tmp}/truncated.png"}, kIo, "truncated.png"},
    // Class 6. Before: each was accepted as another value (2^64-1, INT64_MAX, 16, NaN).
    {"seed_negative", {"run", "--seed", "-1", "--max-evaluations", "200", "--out", "{tmp}/o"}, kUsage, "'-1'"},
    {"seed_past_uint64",
     {"run", "--seed", "18446744073709551616", "--max-evaluations", "200", "--out", "{tmp}/o"},
     kUsage,
     "18446744073709551616"},
    {"generations_past_int64",
     {"run", "--generations", "99999999999999999999", "--max-evaluations", "200", "--out", "{tmp}/o"},
     kUsage,
     "99999999999999999999"},
    {"batch_size_past_int64",
     {"run", "--batch-size", "9223372036854775808", "--max-evaluations", "200", "--out", "{tmp}/o"},
     kUsage,
     "9223372036854775808"},
    {"generations_in_hex",
     {"run", "--generations", "0x10", "--max-evaluations", "200", "--out", "{tmp}/o"},
     kUsage,
     "0x10"},
    {"check_tolerance_nan", {"check", "{tmp}", "--tolerance", "nan"}, kUsage, "finite"},
    {"check_min_confidence_nan", {"check", "{tmp}", "--min-confidence", "nan"}, kUsage, "finite"},
    {"classify_central_crop_nan", {"classify", "--central-crop", "nan", "{tmp}/truncated.png"}, kUsage, "finite"},
};

INSTANTIATE_TEST_SUITE_P(Cli, Hostile, ::testing::ValuesIn(kHostile),
                         [](const auto& info) { return std::string(info.param.name); });

// Models that pass the load check (a forward of two blank images) and break the contract on real
// images: model errors (exit 3), never exit 70 or a run that "succeeds" with confidence -1 or 3.3.
class ConvertedHostileModel : public ::testing::TestWithParam<HostileCase> {};

TEST_P(ConvertedHostileModel, RefusedWithOneClearLine) {
  if (converted_model("test/nan_outputs.pt").empty()) GTEST_SKIP() << missing_model_reason("test/nan_outputs.pt");
  expect_refused(GetParam());
}

const HostileCase kHostileModels[] = {
    // Before: exit 0, every elite at confidence -1 (NaN never beats an empty cell).
    {"nan_outputs",
     {"run", "--model", "{test_models}/nan_outputs.pt", "--generations", "2", "--out", "{tmp}/o"},
     kModel,
     "NaN",
     true},
    // Before: exit 70, "LibTorch: INDICES element is out of DATA bounds".
    {"wrong_shape_at_another_batch_size",
     {"run", "--model", "{test_models}/batch_shape.pt", "--generations", "2", "--out", "{tmp}/o"},
     kModel,
     "[200, 5]",
     true},
    // Before: exit 0 with confidences up to 3.3.
    {"probabilities_above_one",
     {"run", "--model", "{test_models}/bad_probabilities.pt", "--generations", "2", "--out", "{tmp}/o"},
     kModel,
     "[0,1]",
     true},
    // Before: exit 70, "LibTorch: min(): Expected reduction dim".
    {"zero_outputs",
     {"run", "--model", "{test_models}/zero_outputs.pt", "--generations", "2", "--out", "{tmp}/o"},
     kModel,
     "no class scores"},
    // Before: 26 s and 1.7 GB unpacking it, then std::bad_alloc under a 2.5 GB limit.
    {"fool_json_unpacks_to_1_5_gb", {"info", "--model", "{test_models}/json_bomb.pt"}, kModel, "1048576"},
};

INSTANTIATE_TEST_SUITE_P(Cli, ConvertedHostileModel, ::testing::ValuesIn(kHostileModels),
                         [](const auto& info) { return std::string(info.param.name); });

// ---- class 3: nothing read back from a run directory is trusted over the data -------------------

/// A small finished run of the bundled LeNet in `dir`.
void make_run(const std::string& dir) {
  const auto r = run_bounded({"run", "--generations", "1", "--population", "20", "--out", dir});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
}

void edit_json(const std::string& path, const std::function<void(nlohmann::json&)>& edit) {
  auto j = read_json(path);
  edit(j);
  write_text(path, j.dump(2));
}

class EditedInputShape : public ::testing::TestWithParam<std::vector<int64_t>> {};

// Before: [4000,28,28] read 4000 channels' worth from a 1-channel image (SIGSEGV); [1,100000,100000]
// asked for 40 GB (exit 70); [1,-5,28] exit 70 with LibTorch's message. The PNGs say what the
// images are, and the report is made from them.
TEST_P(EditedInputShape, ReportReadsTheImagesAsStored) {
  TempDir tmp;
  const std::string run = tmp / "run";
  make_run(run);
  edit_json(run + "/config.json", [&](nlohmann::json& j) { j["model_info"]["input"] = GetParam(); });
  const auto r = run_bounded({"report", run});
  EXPECT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_TRUE(fs::is_regular_file(run + "/report/contact_sheet.png")) << r.describe();
}

INSTANTIATE_TEST_SUITE_P(Cli, EditedInputShape,
                         ::testing::Values(std::vector<int64_t>{4000, 28, 28}, std::vector<int64_t>{1, 100000, 100000},
                                           std::vector<int64_t>{1, -5, 28}));

// Before: a file named 99999999999999999999_x.png in elites/ ended `fool report` with exit 70 and
// the one word "stoll". It is not an elite image of any class, so it is passed over.
TEST(CliHostileRunDirectory, ElitesFolderWithAHugeNumberedFile) {
  TempDir tmp;
  const std::string run = tmp / "run";
  make_run(run);
  write_text(run + "/elites/99999999999999999999_x.png", "not an elite");
  const auto r = run_bounded({"report", run});
  EXPECT_EQ(r.exit_code, 0) << r.describe();
}

// Before: a summary whose elite confidence is -1 (a cell that never got an elite: what NaN outputs
// left) or 3.3 was checked like any other and exit 1 or 0 came back as a verdict on the attack.
TEST(CliHostileRunDirectory, CheckRefusesConfidenceThatIsNoProbability) {
  for (double confidence : {-1.0, 3.3}) {
    TempDir tmp;
    const std::string run = tmp / "run";
    make_run(run);
    edit_json(run + "/summary.json", [&](nlohmann::json& j) { j["classes"][0]["confidence"] = confidence; });
    const auto r = run_bounded({"check", run, "--min-confidence", "0"});
    expect_one_clear_error(r, kIo, "not a probability");
  }
}

// ---- class 5: standard output that cannot be written is an error --------------------------------

// Before: exit 0 although nothing of the output reached /dev/full.
TEST(CliHostileOutput, FullStandardOutputIsAnError) {
  TempDir tmp;
  make_run(tmp / "run");
  const std::string image = tmp / ("run/elites/" + files_in(tmp / "run/elites", ".png").front());
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"classify", image},
        {"info"},
        {"check", tmp / "run", "--min-confidence", "0"},
        {"run", "--generations", "1", "--population", "20", "--out", tmp / "full_run"}}) {
    const auto r = run_bounded(args, "/dev/full");
    expect_one_clear_error(r, kIo, "standard output", /*after_progress=*/true);
  }
}

// Before: exit 70 ("invalid UTF-8 byte") after the images were classified. The file name is
// printed with U+FFFD in place of the byte that is not UTF-8.
TEST(CliHostileOutput, ClassifyJsonWithAFileNameThatIsNotUtf8) {
  TempDir tmp;
  make_run(tmp / "run");
  const std::string name = tmp / "digit\xff.png";
  fs::copy_file(tmp / ("run/elites/" + files_in(tmp / "run/elites", ".png").front()), name);
  const auto r = run_bounded({"classify", "--json", name});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_NE(j[0]["image"].get<std::string>().find("digit\xef\xbf\xbd.png"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace fool::test
