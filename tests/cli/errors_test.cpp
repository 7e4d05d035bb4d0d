// Bad input: each kind gets its own exit code and one clear line on stderr naming the problem,
// never a stack trace or an abort, and no run directory is left behind.
#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "support/cli_support.h"
#include "support/test_support.h"

namespace fool::test {
namespace {
namespace fs = std::filesystem;

constexpr int kUsage = 2, kModel = 3, kIo = 4, kCheckpoint = 5;

struct BadInputCase {
  const char* name;
  std::vector<std::string> args;  ///< "{tmp}" is the scratch directory, "{test_models}" the test models
  int exit_code;
  const char* mentions;  ///< a piece of the message that names the problem
};

std::ostream& operator<<(std::ostream& os, const BadInputCase& c) { return os << c.name; }

/// Scratch files the cases refer to: garbage bytes named .pt, a non-empty directory, a plain file.
void make_fixtures(const TempDir& tmp) {
  std::mt19937 random(1234);
  std::string garbage(8192, '\0');
  for (auto& byte : garbage) byte = static_cast<char>(random() & 0xff);
  write_text(tmp / "garbage.pt", garbage);
  fs::create_directories(tmp / "not_empty");
  write_text(tmp / "not_empty/keep.txt", "keep me");
  write_text(tmp / "plain_file", "a file, not a directory");
  write_text(tmp / "unknown_key.json", R"({"generationz": 5})");
  write_text(tmp / "not_json.json", "generations = 5");
  write_text(tmp / "nine_labels.txt", "a\nb\nc\nd\ne\nf\ng\nh\ni\n");
  write_text(tmp / "hsv_upper.json", R"({"color-space": "HSV"})");
  write_text(tmp / "fractional.json", R"({"generations": 2.7})");
  write_text(tmp / "negative_seed.json", R"({"seed": -1})");
  write_text(tmp / "seed_as_text.json", R"({"seed": "1"})");
  fs::create_directories(tmp / "no_checkpoint");
  write_text(tmp / "no_checkpoint/config.json", R"({"settings": {"generations": 3}})");
}

void expect_one_clear_error(const BadInputCase& c, const TempDir& tmp) {
  make_fixtures(tmp);
  const auto r = run_fool(expand_placeholders(c.args, tmp));
  EXPECT_EQ(r.exit_code, c.exit_code) << r.describe();
  const auto lines = r.err_lines();
  ASSERT_EQ(lines.size(), 1u) << "expected one line on stderr\n" << r.describe();
  const std::string& line = lines.front();
  EXPECT_EQ(line.rfind("error: ", 0), 0u) << line;
  EXPECT_NE(line.find(c.mentions), std::string::npos) << "the message should mention '" << c.mentions << "'\n" << line;
  for (const char* trace :
       {"Exception raised from", "frame #", "terminate called", "Aborted", "what():", "Traceback"}) {
    EXPECT_EQ(r.err.find(trace), std::string::npos) << "stack trace or abort: " << r.describe();
  }
  EXPECT_FALSE(fs::exists(tmp / "o")) << "a failed run left its --out directory behind";
  EXPECT_EQ(read_text(tmp / "not_empty/keep.txt"), "keep me");
  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(tmp / "not_empty")) ++entries;
  EXPECT_EQ(entries, 1u) << "something was written into the refused --out";
}

class BadInput : public ::testing::TestWithParam<BadInputCase> {};

TEST_P(BadInput, ExitCodeAndOneClearLine) {
  TempDir tmp;
  expect_one_clear_error(GetParam(), tmp);
}

const BadInputCase kBadInput[] = {
    {"missing_model_file", {"run", "--model", "{tmp}/missing.pt", "--out", "{tmp}/o"}, kModel, "missing.pt"},
    {"corrupt_model_file", {"run", "--model", "{tmp}/garbage.pt", "--out", "{tmp}/o"}, kModel, "garbage.pt"},
    {"corrupt_model_for_info", {"info", "--model", "{tmp}/garbage.pt"}, kModel, "TorchScript"},
    {"label_count_differs", {"info", "--labels", "{tmp}/nine_labels.txt"}, kModel, "9 labels"},
    {"classes_out_of_range", {"run", "--classes", "10", "--out", "{tmp}/o"}, kUsage, "out of range"},
    {"classes_range_out_of_range", {"run", "--classes", "5-12", "--out", "{tmp}/o"}, kUsage, "0-9"},
    {"classes_garbage", {"run", "--classes", "two", "--out", "{tmp}/o"}, kUsage, "two"},
    {"generations_not_a_number", {"run", "--generations", "ten", "--out", "{tmp}/o"}, kUsage, "generations"},
    {"generations_negative", {"run", "--generations", "-3", "--out", "{tmp}/o"}, kUsage, "generations"},
    {"population_negative", {"run", "--population", "-5", "--out", "{tmp}/o"}, kUsage, "population"},
    {"batch_size_negative", {"run", "--batch-size", "-1", "--out", "{tmp}/o"}, kUsage, "batch-size"},
    {"target_confidence_above_one",
     {"run", "--target-confidence", "1.5", "--out", "{tmp}/o"},
     kUsage,
     "target-confidence"},
    {"unknown_encoding", {"run", "--encoding", "pixels", "--out", "{tmp}/o"}, kUsage, "direct"},
    {"unknown_device", {"run", "--device", "tpu", "--out", "{tmp}/o"}, kUsage, "tpu"},
    {"bench_json_in_a_missing_directory", {"bench", "--json", "{tmp}/no_dir/bench.json"}, kIo, "no_dir"},
    {"unknown_precision", {"run", "--precision", "fp8", "--out", "{tmp}/o"}, kUsage, "fp8"},
    {"fp16_on_the_cpu", {"run", "--precision", "fp16", "--device", "cpu", "--out", "{tmp}/o"}, kUsage, "CUDA"},
    {"evaluate_unknown_precision",
     {"evaluate", "--precision", "half", "--model", "{tmp}/missing.pt", "{tmp}/o"},
     kUsage,
     "half"},
    {"unknown_option", {"run", "--frobnicate", "--out", "{tmp}/o"}, kUsage, "frobnicate"},
    {"no_subcommand", {}, kUsage, "subcommand"},
    {"input_shape_garbage", {"info", "--input-shape", "1x28x28"}, kUsage, "1x28x28"},
    {"out_not_empty", {"run", "--generations", "2", "--out", "{tmp}/not_empty"}, kIo, "--force"},
    {"out_under_a_regular_file", {"run", "--generations", "2", "--out", "{tmp}/plain_file/run"}, kIo, "plain_file"},
    {"out_is_a_regular_file", {"run", "--generations", "2", "--out", "{tmp}/plain_file"}, kIo, "plain_file"},
    {"classify_missing_image", {"classify", "{tmp}/missing.png"}, kIo, "missing.png"},
    {"classify_not_an_image", {"classify", "{tmp}/plain_file"}, kIo, "plain_file"},
    {"labels_file_missing", {"info", "--labels", "{tmp}/no_labels.txt"}, kIo, "no_labels.txt"},
    {"config_file_missing", {"run", "--config", "{tmp}/no_config.json", "--out", "{tmp}/o"}, kIo, "no_config.json"},
    {"config_unknown_key", {"run", "--config", "{tmp}/unknown_key.json", "--out", "{tmp}/o"}, kUsage, "generationz"},
    {"config_not_json", {"run", "--config", "{tmp}/not_json.json", "--out", "{tmp}/o"}, kUsage, "not_json.json"},
    // Typed settings: a name outside the set, or a value of another type, is refused, never
    // read as something else (HSV as HLS, 2.7 as 2, -1 as 2^64-1).
    {"color_space_upper_case",
     {"run", "--encoding", "cppn", "--color-space", "HSV", "--out", "{tmp}/o"},
     kUsage,
     "HSV"},
    {"cppn_hidden_zero_width",
     {"run", "--encoding", "cppn", "--cppn-hidden", "32,0", "--out", "{tmp}/o"},
     kUsage,
     "--cppn-hidden"},
    {"cppn_hidden_too_many_nodes",
     {"run", "--encoding", "cppn", "--cppn-hidden", "256,256,256,256,256", "--out", "{tmp}/o"},
     kUsage,
     "1280 nodes"},
    {"cppn_output_unknown", {"run", "--encoding", "cppn", "--cppn-output", "relu", "--out", "{tmp}/o"}, kUsage, "relu"},
    {"cppn_init_weight_past_range",
     {"run", "--encoding", "cppn", "--cppn-init-weight", "11", "--out", "{tmp}/o"},
     kUsage,
     "--cppn-init-weight"},
    {"coordinates_unknown",
     {"run", "--encoding", "cppn", "--coordinates", "polar", "--out", "{tmp}/o"},
     kUsage,
     "polar"},
    {"config_color_space_upper_case", {"run", "--config", "{tmp}/hsv_upper.json", "--out", "{tmp}/o"}, kUsage, "HSV"},
    {"config_fractional_integer", {"run", "--config", "{tmp}/fractional.json", "--out", "{tmp}/o"}, kUsage, "2.7"},
    {"config_negative_seed", {"run", "--config", "{tmp}/negative_seed.json", "--out", "{tmp}/o"}, kUsage, "seed"},
    {"config_seed_as_text", {"run", "--config", "{tmp}/seed_as_text.json", "--out", "{tmp}/o"}, kUsage, "seed"},
    {"config_is_a_device", {"run", "--config", "/dev/zero", "--out", "{tmp}/o"}, kIo, "bytes"},
    {"unknown_search", {"run", "--search", "annealing", "--out", "{tmp}/o"}, kUsage, "map-elites"},
    {"bench_unknown_search", {"bench", "--search", "annealing"}, kUsage, "map-elites"},
    {"max_evaluations_below_one_generation",
     {"run", "--max-evaluations", "1", "--out", "{tmp}/o"},
     kUsage,
     "max-evaluations"},
    {"threads_absurd", {"info", "--threads", "1000000"}, kUsage, "threads"},
    {"resume_without_checkpoint", {"resume", "{tmp}/no_checkpoint"}, kCheckpoint, "checkpoint.fool"},
};

INSTANTIATE_TEST_SUITE_P(Cli, BadInput, ::testing::ValuesIn(kBadInput),
                         [](const auto& info) { return std::string(info.param.name); });

// The deliberately broken models of scripts/make_test_models.py.
class ConvertedBadModel : public ::testing::TestWithParam<BadInputCase> {};

TEST_P(ConvertedBadModel, ExitCodeAndOneClearLine) {
  if (converted_model("test/bad_json.pt").empty()) GTEST_SKIP() << missing_model_reason("test/*.pt");
  TempDir tmp;
  expect_one_clear_error(GetParam(), tmp);
}

const BadInputCase kBadModels[] = {
    {"no_fool_json_and_no_input_shape",
     {"run", "--model", "{test_models}/noinfo.pt", "--out", "{tmp}/o"},
     kModel,
     "--input-shape"},
    {"forward_fails_on_declared_shape",
     {"run", "--model", "{test_models}/bad_forward.pt", "--out", "{tmp}/o"},
     kModel,
     "forward"},
    {"label_count_differs_from_outputs",
     {"run", "--model", "{test_models}/bad_labels.pt", "--out", "{tmp}/o"},
     kModel,
     "9 labels"},
    {"fool_json_not_json",
     {"classify", "--model", "{test_models}/bad_json.pt", "{tmp}/plain_file"},
     kModel,
     "fool.json"},
    {"wrong_input_shape_given",
     {"info", "--model", "{test_models}/noinfo.pt", "--input-shape", "3,28,28"},
     kModel,
     "forward"},
};

INSTANTIATE_TEST_SUITE_P(Cli, ConvertedBadModel, ::testing::ValuesIn(kBadModels),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace fool::test
