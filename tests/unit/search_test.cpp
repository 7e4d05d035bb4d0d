// The search interface: every registered search (the built-in ones and a trivial random search
// that only this test binary registers) runs through the real run loop, writes a whole run
// directory, checkpoints and resumes exactly, with no change to the CLI code.
#include <gtest/gtest.h>

#include <filesystem>

#include "fool/encoding/encoding.h"
#include "fool/io/files.h"
#include "fool/io/run_reader.h"
#include "fool/run/checkpoint.h"
#include "fool/run/run.h"
#include "fool/search/emitters.h"
#include "fool/search/map_elites.h"
#include "fool/search/random.h"
#include "fool/util/error.h"
#include "support/test_support.h"

namespace fool {
namespace {
namespace fs = std::filesystem;

/// Random search: every generation a fresh random population, each genome competing for every
/// cell. Its state beyond the archive is a counter of genomes asked for (to show that a search's
/// own state is checkpointed and restored).
class RandomSearch : public Search {
 public:
  explicit RandomSearch(const SearchContext& context) : Search(context) {}
  std::string name() const override { return "random"; }
  GenomeBatch ask(int64_t) override {
    asked_ += context_.population;
    return context_.encoding->random(context_.population, context_.generator, context_.scorer->model().device());
  }
  int64_t tell(const GenomeBatch& genomes, const at::Tensor& probabilities, int64_t generation) override {
    return archive_.insert(genomes, probabilities, generation);
  }
  SearchState state() const override { return {{"asked", at::tensor(asked_)}}; }
  void restore_state(const SearchState& state) override {
    const auto it = state.find("asked");
    if (it == state.end()) throw Error(ErrorKind::kCheckpoint, "random search: no \"asked\" in the checkpoint");
    asked_ = it->second.item<int64_t>();
  }
  int64_t asked() const { return asked_; }

 private:
  int64_t asked_ = 0;
};

const bool kRegistered = [] {
  register_search("random", "random search (registered by the test binary only)",
                  [](const SearchContext& c) { return std::make_unique<RandomSearch>(c); });
  return true;
}();

RunConfig small_run(const std::string& out, const std::string& search, const std::string& encoding,
                    int64_t generations) {
  RunConfig c;
  c.out = out;
  c.search = search;
  c.encoding = encoding;
  c.generations = generations;
  c.population = 24;
  c.seed = 11;
  c.checkpoint_every = 2;
  c.dump_every = 3;
  c.model.threads = 2;
  return c;
}

/// What a run leaves that must not depend on how it was run (whole, or stopped and resumed).
struct Outcome {
  std::string archive_csv, checkpoint_archive;
  std::vector<std::string> elite_bytes;
  int64_t evaluations = 0, generations = 0;
};

Outcome outcome(const std::string& dir) {
  Outcome o;
  o.archive_csv = read_file(dir + "/archive.csv");
  const RunData run = read_run(dir);
  for (const auto& png : run.elite_images) o.elite_bytes.push_back(read_file(png));
  o.evaluations = run.summary.evaluations;
  o.generations = run.summary.generations;
  const Checkpoint c = decode_checkpoint(read_file(dir + "/" + kCheckpointFile), dir);
  o.checkpoint_archive = ::testing::PrintToString(c.confidence) + ::testing::PrintToString(c.found);
  EXPECT_EQ(static_cast<int64_t>(run.progress.size()), o.generations) << "one progress row per generation";
  for (std::size_t g = 0; g < run.progress.size(); ++g) EXPECT_EQ(run.progress[g].generation, static_cast<int64_t>(g));
  return o;
}

TEST(SearchRegistry, HoldsMapElitesFirstAndTheTestSearch) {
  ASSERT_TRUE(kRegistered);
  const auto names = search_names();
  ASSERT_GE(names.size(), 2u);
  EXPECT_EQ(names[0], "map-elites");
  EXPECT_NE(std::find(names.begin(), names.end(), "random"), names.end());
  try {
    check_search_name("annealing");
    ADD_FAILURE() << "an unknown search was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kUsage);
    EXPECT_NE(std::string(e.what()).find("map-elites"), std::string::npos) << e.what();
  }
  EXPECT_THROW(register_search("random", "again", nullptr), Error);
}

class EverySearch : public ::testing::TestWithParam<std::tuple<std::string, std::string>> {};

TEST_P(EverySearch, RunsThroughTheRunLoopAndResumesExactly) {
  const auto& [search, encoding] = GetParam();
  test::TempDir tmp;
  // Whole: 7 generations in one go.
  EXPECT_EQ(execute_run(small_run(tmp / "whole", search, encoding, 7), RunMode::kFresh), 0);
  // Stopped after 4 generations (checkpoint at the end), then resumed to 7.
  EXPECT_EQ(execute_run(small_run(tmp / "parts", search, encoding, 4), RunMode::kFresh), 0);
  RunConfig rest = small_run(tmp / "parts", search, encoding, 7);
  EXPECT_EQ(execute_run(rest, RunMode::kResume), 0);

  const Outcome whole = outcome(tmp / "whole"), parts = outcome(tmp / "parts");
  EXPECT_EQ(whole.generations, 7);
  EXPECT_EQ(whole.evaluations, search == "ascent" ? 7 * 10 : 7 * 24) << "ascent scores one image per class";
  EXPECT_EQ(parts.evaluations, whole.evaluations);
  EXPECT_EQ(parts.archive_csv, whole.archive_csv);
  EXPECT_EQ(parts.checkpoint_archive, whole.checkpoint_archive);
  EXPECT_EQ(parts.elite_bytes, whole.elite_bytes) << "elite PNGs differ after a resume";
  EXPECT_TRUE(fs::is_directory(tmp / "whole/snapshots/gen_000003"));
  EXPECT_TRUE(fs::is_directory(tmp / "whole/snapshots/gen_000006"));

  const auto config = nlohmann::json::parse(read_file(tmp / "whole/config.json"));
  EXPECT_EQ(config["settings"]["search"], search);
  const Checkpoint c = decode_checkpoint(read_file(tmp / "whole/checkpoint.fool"), "whole");
  EXPECT_EQ(c.identity.search, search);
  EXPECT_EQ(c.generation, 6);
  if (search == "random") {
    ASSERT_EQ(c.search_state.count("asked"), 1u);
    EXPECT_EQ(c.search_state.at("asked").item<int64_t>(), 7 * 24);
    const Checkpoint p = decode_checkpoint(read_file(tmp / "parts/checkpoint.fool"), "parts");
    EXPECT_EQ(p.search_state.at("asked").item<int64_t>(), 7 * 24) << "the search's own state was not restored";
  }
}

TEST_P(EverySearch, ACheckpointOfAnotherSearchOrSeedIsRefused) {
  const auto& [search, encoding] = GetParam();
  test::TempDir tmp;
  ASSERT_EQ(execute_run(small_run(tmp / "run", search, encoding, 2), RunMode::kFresh), 0);
  for (const auto& other : search_names()) {
    if (other == search || !search_supports(other, encoding)) continue;
    try {
      execute_run(small_run(tmp / "run", other, encoding, 4), RunMode::kResume);
      ADD_FAILURE() << "a " << search << " checkpoint resumed as " << other;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kCheckpoint) << e.what();
    }
  }
  RunConfig other_seed = small_run(tmp / "run", search, encoding, 4);
  other_seed.seed = 12;
  try {
    execute_run(other_seed, RunMode::kResume);
    ADD_FAILURE() << "a checkpoint of seed 11 resumed as seed 12";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kCheckpoint);
    EXPECT_NE(std::string(e.what()).find("\"seed\""), std::string::npos) << e.what();
  }
}

TEST(RunLoop, ResumeWithoutACheckpointIsACheckpointError) {
  test::TempDir tmp;
  fs::create_directories(tmp / "empty");
  try {
    execute_run(small_run(tmp / "empty", "map-elites", "direct", 3), RunMode::kResume);
    ADD_FAILURE() << "resumed a run directory without a checkpoint";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kCheckpoint) << e.what();
  }
  EXPECT_FALSE(fs::exists(tmp / "empty/progress.csv")) << "nothing may be written";
}

/// Every emitter, and three side by side, through the run loop: stopped and resumed equals whole,
/// the CMA emitters' state in the checkpoint.
class EveryEmitter : public ::testing::TestWithParam<std::string> {};

TEST_P(EveryEmitter, ResumesExactly) {
  const std::string emitter = GetParam();
  test::TempDir tmp;
  const auto config = [&](const std::string& out, int64_t generations) {
    RunConfig c = small_run(out, "map-elites", "direct", generations);
    c.population = 120;  // 40 per emitter of three: 4 per class for a CMA emitter
    c.search_options.emitter = emitter;
    return c;
  };
  EXPECT_EQ(execute_run(config(tmp / "whole", 9), RunMode::kFresh), 0);
  EXPECT_EQ(execute_run(config(tmp / "parts", 5), RunMode::kFresh), 0);
  EXPECT_EQ(execute_run(config(tmp / "parts", 9), RunMode::kResume), 0);
  const Outcome whole = outcome(tmp / "whole"), parts = outcome(tmp / "parts");
  EXPECT_EQ(parts.archive_csv, whole.archive_csv);
  EXPECT_EQ(parts.checkpoint_archive, whole.checkpoint_archive);
  EXPECT_EQ(parts.elite_bytes, whole.elite_bytes) << "elite PNGs differ after a resume";
  const Checkpoint c = decode_checkpoint(read_file(tmp / "whole/checkpoint.fool"), "whole");
  const auto cma = emitter.find("cma") != std::string::npos;
  EXPECT_EQ(c.search_state.empty(), !cma) << "only the CMA emitters keep state";
  if (cma) {
    const std::string prefix = "emitter" + std::to_string(emitter.rfind("cma", 0) == 0 ? 0 : 1) + ".";
    EXPECT_EQ(c.search_state.count(prefix + "sigma"), 1u) << prefix;
    EXPECT_EQ(c.search_state.count(prefix + "base"), 1u) << prefix;
  }
}

INSTANTIATE_TEST_SUITE_P(Emitters, EveryEmitter,
                         ::testing::Values("polynomial", "gaussian", "iso-line", "cma-me", "cma-mae",
                                           "polynomial,cma-mae,iso-line"),
                         [](const auto& info) {
                           std::string name = info.param;
                           for (char& ch : name) ch = (ch == '-' || ch == ',') ? '_' : ch;
                           return name;
                         });

TEST(Emitters, NamesAndEncodingsAreChecked) {
  EXPECT_EQ(parse_emitters("polynomial,cma-me", "direct"), (std::vector<std::string>{"polynomial", "cma-me"}));
  EXPECT_EQ(parse_emitters("polynomial", "cppn"), (std::vector<std::string>{"polynomial"}));
  EXPECT_EQ(parse_emitters("polynomial,elites", "cppn"), (std::vector<std::string>{"polynomial", "elites"}));
  for (const auto& [list, encoding] : std::vector<std::pair<std::string, std::string>>{
           {"", "direct"}, {"cma", "direct"}, {"polynomial,", "direct"}, {"cma-me", "cppn"}, {"gaussian", "cppn"}}) {
    EXPECT_THROW(parse_emitters(list, encoding), Error) << list << " " << encoding;
  }
  // A CMA emitter's share below 4 per class is refused with the fix.
  test::TempDir tmp;
  RunConfig c = small_run(tmp / "small", "map-elites", "direct", 3);
  c.population = 30;
  c.search_options.emitter = "cma-mae";
  try {
    execute_run(c, RunMode::kFresh);
    ADD_FAILURE() << "3 offspring per class accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kUsage);
    EXPECT_NE(std::string(e.what()).find("--population 40"), std::string::npos) << e.what();
  }
}

std::vector<std::tuple<std::string, std::string>> every_search_and_encoding() {
  std::vector<std::tuple<std::string, std::string>> out;
  for (const auto& s : search_names()) {
    for (const auto& e : encoding_names()) {
      if (search_supports(s, e)) out.emplace_back(s, e);
    }
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(Registered, EverySearch, ::testing::ValuesIn(every_search_and_encoding()),
                         [](const auto& info) {
                           std::string name = std::get<0>(info.param) + "_" + std::get<1>(info.param);
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

}  // namespace
}  // namespace fool
