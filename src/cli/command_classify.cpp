// fool classify: top-k labels of image files, as the model sees them.
#include <ATen/ATen.h>

#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/common.h"
#include "fool/io/images.h"
#include "fool/util/error.h"

namespace fool::cli {
namespace {

struct ClassifyOptions {
  ModelSettings model;
  std::vector<std::string> images;
  int top = 5;
  bool json = false;
  double central_crop = 1.0;
  std::string resize = "antialias";
};

int classify(const ClassifyOptions& o) {
  if (o.top < 1) throw Error(ErrorKind::kUsage, "--top must be >= 1.");
  if (o.central_crop <= 0 || o.central_crop > 1) throw Error(ErrorKind::kUsage, "--central-crop must be in (0,1].");
  const Model model = load_model(o.model);
  std::vector<at::Tensor> images;
  const auto filter = o.resize == "bilinear" ? ResizeFilter::kBilinear : ResizeFilter::kAntialias;
  for (const auto& path : o.images) images.push_back(read_image(path, model.info().input, o.central_crop, filter));
  auto probabilities = model.probabilities(at::stack(images).to(model.device()), 256).to(at::kCPU);
  const int64_t k = std::min<int64_t>(o.top, model.num_classes());
  auto [values, indices] = probabilities.topk(k, 1);

  nlohmann::json out = nlohmann::json::array();
  for (std::size_t i = 0; i < o.images.size(); ++i) {
    nlohmann::json top = nlohmann::json::array();
    for (int64_t j = 0; j < k; ++j) {
      const int64_t index = indices[static_cast<int64_t>(i)][j].item<int64_t>();
      top.push_back({{"index", index},
                     {"label", model.info().labels[static_cast<std::size_t>(index)]},
                     {"probability", values[static_cast<int64_t>(i)][j].item<double>()}});
    }
    out.push_back({{"image", o.images[i]}, {"top", top}});
  }
  if (o.json) {
    // File names are printed as given; bytes that are not UTF-8 become U+FFFD in the JSON.
    std::printf("%s\n", out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    return 0;
  }
  for (const auto& entry : out) {
    std::printf("%s\n", entry["image"].get<std::string>().c_str());
    for (const auto& t : entry["top"]) {
      std::printf("  %8.6f  %4lld  %s\n", t["probability"].get<double>(), t["index"].get<long long>(),
                  t["label"].get<std::string>().c_str());
    }
  }
  return 0;
}

}  // namespace

Command add_classify_command(CLI::App& parent) {
  auto* app = parent.add_subcommand("classify", "Classify image files: top-k labels and probabilities.");
  auto options = std::make_shared<ClassifyOptions>();
  add_model_options(*app, options->model);
  app->add_option("images", options->images, "image files (PNG, JPEG, ...)")->required();
  add_number(*app, "--top", options->top, "labels per image")->capture_default_str();
  app->add_flag("--json", options->json, "print JSON: [{image, top: [{index, label, probability}]}]");
  add_number(*app, "--central-crop", options->central_crop,
             "keep this central fraction of each side before resizing (TF-slim evaluation: 0.875)")
      ->capture_default_str();
  app->add_option("--resize", options->resize,
                  "antialias (PIL's BILINEAR, as the reference predictions) or bilinear (4-sample, as TF/OpenCV)")
      ->check(CLI::IsMember({"antialias", "bilinear"}))
      ->capture_default_str();
  return {app, [options] { return classify(*options); }};
}

}  // namespace fool::cli
