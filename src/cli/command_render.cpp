// fool render: a saved genome rendered again, at the model's size or any other.
#include <ATen/ATen.h>
#include <spdlog/spdlog.h>

#include <memory>

#include "cli/common.h"
#include "fool/io/files.h"
#include "fool/io/genome_json.h"
#include "fool/io/images.h"
#include "fool/util/error.h"

namespace fool::cli {
namespace {

/// Node values the renderer may hold for one genome (float32: 2 GiB).
constexpr int64_t kMaxRenderValues = int64_t{1} << 29;

struct RenderOptions {
  std::string genome;
  int64_t size = 0;  ///< square side; 0: the model's resolution
  int64_t width = 0, height = 0;
  std::string out;
};

int render(const RenderOptions& o) {
  check_replaceable_file(o.out);  // before any work: a link, FIFO, device or folder is refused
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_file(o.genome, kMaxGenomeFileBytes));
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorKind::kIo, "genome '" + o.genome + "' is not valid JSON (" + e.what() + ").");
  }
  const LoadedGenome loaded = genome_from_json(j, o.genome);
  const auto& shape = loaded.encoding->options().shape;
  int64_t height = o.height > 0 ? o.height : (o.size > 0 ? o.size : shape.height);
  int64_t width = o.width > 0 ? o.width : (o.size > 0 ? o.size : shape.width);
  if (height > 8192 || width > 8192 || o.size < 0 || o.height < 0 || o.width < 0) {
    throw Error(ErrorKind::kUsage, "render size must be between 1 and 8192 pixels a side.");
  }
  // The renderer keeps one float per pixel for every node it computes.
  const int64_t nodes = loaded.genome["active"].sum().item<int64_t>();
  if (nodes * height * width > kMaxRenderValues) {
    throw Error(ErrorKind::kUsage, "rendering " + std::to_string(nodes) + " nodes at " + std::to_string(width) + "x" +
                                       std::to_string(height) + " needs " + std::to_string(nodes * height * width) +
                                       " pixel values, more than the limit of " + std::to_string(kMaxRenderValues) +
                                       " (2 GiB). Fix: a smaller --size, --width or --height.");
  }
  const auto image = loaded.encoding->render(loaded.genome, height, width)[0];
  write_png(o.out, image);
  spdlog::info("rendered {} at {}x{} -> {}", o.genome, width, height, o.out);
  return 0;
}

}  // namespace

Command add_render_command(CLI::App& parent) {
  auto* app = parent.add_subcommand("render", "Render a saved genome (an elite's .json) at any resolution.");
  auto o = std::make_shared<RenderOptions>();
  app->add_option("genome", o->genome, "genome JSON written beside an elite PNG")->required();
  add_number(*app, "--size", o->size, "square side in pixels (0: the model's resolution)")->capture_default_str();
  add_number(*app, "--width", o->width, "width in pixels (overrides --size)");
  add_number(*app, "--height", o->height, "height in pixels (overrides --size)");
  app->add_option("--out", o->out, "PNG file to write")->required();
  return {app, [o] { return render(*o); }};
}

}  // namespace fool::cli
