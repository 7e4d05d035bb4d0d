// The run directory's pieces: settings as JSON, summary fields, file names, atomic writes.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "fool/encoding/cppn.h"
#include "fool/io/files.h"
#include "fool/io/genome_json.h"
#include "fool/io/json.h"
#include "fool/io/progress_csv.h"
#include "fool/io/run_directory.h"
#include "fool/search/random.h"
#include "fool/util/error.h"
#include "support/test_support.h"

namespace fool {
namespace {
namespace fs = std::filesystem;

TEST(Settings, JsonRoundTripKeepsEveryField) {
  RunConfig c;
  c.generations = 77;
  c.population = 13;
  c.classes = "1,3";
  c.seed = 99;
  c.force = true;
  c.target_confidence = 0.5;
  c.encoding_options.mutation_rate = 0.25;
  c.encoding_options.halve_every = 0;
  const auto j = settings_to_json(c);
  RunConfig back;
  settings_from_json(j, back, "test");
  EXPECT_EQ(settings_to_json(back), j);
  // A whole config.json (settings nested) reads the same.
  RunConfig nested;
  settings_from_json(nlohmann::json{{"settings", j}, {"seed", 1}}, nested, "test");
  EXPECT_EQ(settings_to_json(nested), j);
}

TEST(Settings, EveryCommandLineNameIsAKey) {
  RunConfig c;
  const auto j = settings_to_json(c);
  for (const char* name : {"model", "encoding", "generations", "population", "classes", "seed", "device", "threads",
                           "out", "force", "dump-every", "target-confidence", "max-evaluations"}) {
    EXPECT_TRUE(j.contains(name)) << name;
  }
  EXPECT_EQ(j.at("generations"), c.generations);
  EXPECT_EQ(j.at("population"), 0);  // the paper's, resolved per model and encoding by fool run
}

TEST(Settings, UnknownKeysAndWrongTypesAreUsageErrors) {
  RunConfig c;
  for (const auto& bad :
       {nlohmann::json{{"generationz", 5}}, nlohmann::json{{"generations", "many"}}, nlohmann::json::array({1, 2})}) {
    try {
      settings_from_json(bad, c, "bad.json");
      ADD_FAILURE() << "accepted " << bad.dump();
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kUsage);
      EXPECT_NE(std::string(e.what()).find("bad.json"), std::string::npos) << e.what();
    }
  }
}

TEST(Summary, FractionsAtLeastEachThreshold) {
  const auto f = fractions_at_least({0.5, 0.99, 0.9991, 0.99995});
  EXPECT_DOUBLE_EQ(f.at("0.99").get<double>(), 0.75);
  EXPECT_DOUBLE_EQ(f.at("0.999").get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(f.at("0.9999").get<double>(), 0.25);
  EXPECT_EQ(f.size(), 3u);
}

TEST(Summary, HasExactlyTheDocumentedFields) {
  EliteTable table;
  table.classes = {0, 1};
  table.labels = {"a", "b"};
  table.confidence = {0.5, 0.9};
  table.generation = {0, 3};
  const nlohmann::json identity = {
      {"model", "m.pt"}, {"model_sha256", "00"}, {"search", "map-elites"}, {"encoding", "direct"},
      {"seed", 4},       {"device", "cpu"}};
  ProgressRecord last;
  last.generation = 3;
  last.evaluations = 800;
  last.seconds = 2.0;
  const auto s = make_summary(table, identity, last);
  std::vector<std::string> keys;
  for (const auto& item : s.items()) keys.push_back(item.key());
  std::sort(keys.begin(), keys.end());
  EXPECT_EQ(keys,
            (std::vector<std::string>{"classes", "device", "encoding", "evaluations", "evaluations_per_second",
                                      "forward_equivalents", "fraction_at_least", "generations", "median_confidence",
                                      "min_confidence", "model", "model_sha256", "search", "seconds", "seed"}));
  EXPECT_EQ(s.at("generations"), 4) << "generations 0..3 were run";
  EXPECT_EQ(s.at("evaluations"), 800);
  EXPECT_DOUBLE_EQ(s.at("evaluations_per_second").get<double>(), 400.0);
  ASSERT_EQ(s.at("classes").size(), 2u);
  EXPECT_EQ(s.at("classes")[1], (nlohmann::json{{"index", 1}, {"label", "b"}, {"confidence", 0.9}, {"generation", 3}}));
}

TEST(RunDirectoryNames, EliteFileNameCarriesClassLabelAndConfidence) {
  EliteTable table;
  table.classes = {3, 150};
  table.labels = {"tabby cat", "T-shirt/top"};
  table.confidence = {0.1234567, 1.0};
  table.generation = {0, 0};
  EXPECT_EQ(RunDirectory::elite_file_name(table, 0), "003_tabby_cat_0.123457.png");
  EXPECT_EQ(RunDirectory::elite_file_name(table, 1), "150_T-shirt_top_1.000000.png");
}

TEST(Files, WriteFileAtomicReplacesAndLeavesNoTemporary) {
  test::TempDir dir;
  write_file_atomic(dir / "a.txt", "first");
  write_file_atomic(dir / "a.txt", "second");
  EXPECT_EQ(test::read_text(dir / "a.txt"), "second");
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1) << "a temporary is left";
  try {
    write_file_atomic(dir / "no/such/dir/a.txt", "x");
    FAIL() << "wrote into a missing directory";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kIo);
  }
}

TEST(RunDirectoryCreate, RefusesANonEmptyDirectoryWithoutForce) {
  test::TempDir dir;
  test::write_text(dir / "keep.txt", "x");
  try {
    RunDirectory::create(dir.path(), false);
    FAIL() << "accepted a non-empty --out";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kIo);
    EXPECT_NE(std::string(e.what()).find("--force"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW(RunDirectory::create(dir.path(), true));
  EXPECT_TRUE(fs::exists(dir / "keep.txt"));
  {
    const RunDirectory nested = RunDirectory::create(dir / "new/nested", false);
    EXPECT_TRUE(fs::is_directory(dir / "new/nested"));
    EXPECT_TRUE(fs::exists(dir / "new/nested/.fool.lock"));
  }
  EXPECT_FALSE(fs::exists(dir / "new/nested")) << "a directory created for a run that never wrote is removed again";
  {
    const RunDirectory kept = RunDirectory::create(dir / "kept", false);
    kept.prepare_for_writing();
  }
  EXPECT_TRUE(fs::is_directory(dir / "kept"));
}

TEST(RunDirectoryLock, ASecondHolderIsRefusedNamingThePid) {
  test::TempDir dir;
  const RunDirectory first = RunDirectory::create(dir / "run", false);
  try {
    RunDirectory::reopen(dir / "run");
    FAIL() << "two holders of one run directory";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kIo);
    EXPECT_NE(std::string(e.what()).find("PID " + std::to_string(::getpid())), std::string::npos) << e.what();
  }
}

TEST(Files, TemporaryNamesAreRecognisedOnlyForTheirTarget) {
  EXPECT_TRUE(is_temporary_name_of("summary.json.Ab12Cd.tmp", "summary.json"));
  EXPECT_TRUE(is_temporary_name_of("summary.json.tmp", "summary.json"));
  EXPECT_TRUE(is_temporary_name_of("elites.old", "elites"));
  EXPECT_FALSE(is_temporary_name_of("summary.json", "summary.json"));
  EXPECT_FALSE(is_temporary_name_of("summary.json.mine.tmp", "summary.json"));
  EXPECT_FALSE(is_temporary_name_of("summary.json.Ab-2Cd.tmp", "summary.json"));
  EXPECT_FALSE(is_temporary_name_of("notes.txt.Ab12Cd.tmp", "summary.json"));
}

TEST(Files, WriteFileAtomicRefusesWhatIsNotARegularFile) {
  test::TempDir dir;
  test::write_text(dir / "victim.txt", "precious");
  fs::create_symlink(dir / "victim.txt", dir / "link.txt");
  fs::create_directory(dir / "folder");
  for (const char* name : {"link.txt", "folder"}) {
    try {
      write_file_atomic(dir / name, "x");
      FAIL() << "wrote onto " << name;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kIo);
      EXPECT_NE(std::string(e.what()).find("not a regular file"), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(test::read_text(dir / "victim.txt"), "precious");
  EXPECT_TRUE(fs::is_symlink(dir / "link.txt"));
}

TEST(GenomeFile, ColourSpaceAndCoordinatesAreCheckedOnce) {
  // A genome file names its colour space and coordinates; a name outside the set ("HSV", not
  // "hsv") is refused with one line, never rendered as the default colour space.
  EncodingOptions options;
  options.shape = {3, 8, 8};
  options.color_space = ColorSpace::kHsv;
  const CppnEncoding cppn(options);
  auto gen = make_generator(at::kCPU, 1);
  const auto genomes = cppn.random(1, gen, at::kCPU);
  auto j = *genome_to_json(cppn, genomes, 0);
  EXPECT_EQ(j.at("color_space"), "hsv");
  EXPECT_EQ(genome_from_json(j, "good.json").encoding->options().color_space, ColorSpace::kHsv);
  for (const auto& [key, value] : {std::pair<const char*, const char*>{"color_space", "HSV"},
                                   {"color_space", "cmyk"},
                                   {"coordinates", "polar"},
                                   {"output", "LOGISTIC"}}) {
    auto bad = j;
    bad[key] = value;
    try {
      genome_from_json(bad, "bad.json");
      ADD_FAILURE() << key << " '" << value << "' was accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kIo);
      EXPECT_NE(std::string(e.what()).find(value), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("bad.json"), std::string::npos) << e.what();
    }
  }
}

TEST(ProgressCsv, RowsReadBackAsWritten) {
  std::string text = progress_csv_header();
  std::vector<ProgressRecord> written;
  for (int64_t g = 0; g < 3; ++g) {
    ProgressRecord r;
    r.generation = g;
    r.evaluations = 200 * (g + 1);
    r.seconds = 0.25 * static_cast<double>(g);
    r.min = 0.125;
    r.median = 0.5;
    r.mean = 0.375;
    r.max = 0.875;
    r.filled = 10;
    r.replacements = 3 - g;
    written.push_back(r);
    text += progress_csv_row(r);
  }
  const auto read = parse_progress_csv(text, "p.csv");
  ASSERT_EQ(read.size(), written.size());
  for (std::size_t i = 0; i < read.size(); ++i) {
    EXPECT_EQ(read[i].generation, written[i].generation);
    EXPECT_EQ(read[i].evaluations, written[i].evaluations);
    EXPECT_DOUBLE_EQ(read[i].seconds, written[i].seconds);
    EXPECT_DOUBLE_EQ(read[i].median, written[i].median);
    EXPECT_EQ(read[i].replacements, written[i].replacements);
  }
  // A torn last row (the run was killed while writing it): refused when reading a run, dropped
  // when resuming one.
  const std::string torn = text + "3,800,0.7";
  EXPECT_THROW(parse_progress_csv(torn, "p.csv"), Error);
  EXPECT_EQ(parse_progress_csv(torn, "p.csv", /*keep_complete_prefix=*/true).size(), 3u);
  EXPECT_THROW(parse_progress_csv("generation,evaluations\n0,1\n", "p.csv"), Error);
}

}  // namespace
}  // namespace fool
