#include "fool/search/search.h"

#include <algorithm>
#include <utility>

#include "fool/search/ascent.h"
#include "fool/search/map_elites.h"
#include "fool/util/error.h"

namespace fool {
namespace {

struct Entry {
  std::string name;
  std::string description;
  SearchFactory factory;
  std::vector<std::string> encodings;  ///< empty: every encoding
};

std::vector<Entry>& registry() {
  static std::vector<Entry> entries = {
      {"map-elites",
       "MAP-Elites, one cell per class, the paper's algorithm (PAPER.md §1.2)",
       [](const SearchContext& c) { return std::make_unique<MapElites>(c); },
       {}},
      {"ascent",
       "gradient ascent on the pixels of one image per class, as the paper ran it (PAPER.md §2.2)",
       [](const SearchContext& c) { return std::make_unique<Ascent>(c); },
       {"direct"}},
  };
  return entries;
}

bool accepts(const Entry& e, const std::string& encoding) {
  return e.encodings.empty() || std::find(e.encodings.begin(), e.encodings.end(), encoding) != e.encodings.end();
}

/// The entry registered under `name`; throws fool::Error (kUsage) listing the names.
const Entry& find(const std::string& name) {
  std::string known;
  for (const auto& e : registry()) {
    if (e.name == name) return e;
    known += (known.empty() ? "" : ", ") + e.name;
  }
  throw Error(ErrorKind::kUsage, "unknown search '" + name + "'. Fix: choose one of " + known + ".");
}

}  // namespace

Search::Search(SearchContext context) : context_(std::move(context)), archive_(context_.targets) {
  FOOL_CHECK(context_.scorer != nullptr && context_.encoding != nullptr, "a search needs a scorer and an encoding");
  FOOL_CHECK(context_.population > 0, "population must be positive");
  FOOL_CHECK(context_.generator.defined(), "a search needs the run's generator");
}

int64_t Search::models() const { return static_cast<int64_t>(context_.scorer->models().size()); }

at::Tensor Search::render(const GenomeBatch& genomes) const {
  return context_.encoding->render(genomes, context_.scorer->render_height(), context_.scorer->render_width());
}

at::Tensor Search::predict(const at::Tensor& images) const {
  return context_.scorer->probabilities(images, context_.batch_size);
}

at::Tensor Search::predict(const at::Tensor& images, at::Tensor& log_probabilities) const {
  return context_.scorer->probabilities(images, context_.batch_size, log_probabilities);
}

Search::Step Search::step(int64_t generation) {
  const GenomeBatch genomes = ask(generation);
  const at::Tensor probabilities = predict(render(genomes), log_probabilities_);
  Step s;
  s.evaluations = genomes.size();
  s.replacements = tell(genomes, probabilities, generation);
  log_probabilities_ = at::Tensor();
  s.forward_equivalents = (s.evaluations + take_extra_forward_equivalents()) * models();
  return s;
}

void register_search(const std::string& name, const std::string& description, SearchFactory factory,
                     std::vector<std::string> encodings) {
  for (const auto& e : registry()) FOOL_CHECK(e.name != name, "search '" + name + "' is registered twice");
  registry().push_back({name, description, std::move(factory), std::move(encodings)});
}

bool search_supports(const std::string& name, const std::string& encoding) {
  for (const auto& e : registry()) {
    if (e.name == name) return accepts(e, encoding);
  }
  return false;
}

void check_search_encoding(const std::string& name, const std::string& encoding) {
  const Entry& e = find(name);
  if (accepts(e, encoding)) return;
  std::string list;
  for (const auto& x : e.encodings) list += (list.empty() ? "" : ", ") + x;
  throw Error(ErrorKind::kUsage,
              "--search " + name + " does not work with --encoding " + encoding + ". Fix: --encoding " + list + ".");
}

std::vector<std::string> search_names() {
  std::vector<std::string> names;
  for (const auto& e : registry()) names.push_back(e.name);
  return names;
}

void check_search_name(const std::string& name) { find(name); }

std::unique_ptr<Search> make_search(const std::string& name, const SearchContext& context) {
  return find(name).factory(context);
}

}  // namespace fool
