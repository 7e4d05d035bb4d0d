// fool info: what a model is, as fool sees it.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <cstdio>
#include <memory>

#include "cli/common.h"

namespace fool::cli {

Command add_info_command(CLI::App& parent) {
  auto* app = parent.add_subcommand("info", "Show a model's metadata, parameter count and device.");
  auto options = std::make_shared<ModelSettings>();
  add_model_options(*app, *options);
  return {app, [options] {
            const Model model = load_model(*options);
            const at::Device& device = model.device();
            const auto& info = model.info();
            std::printf("model       %s\n", info.source.c_str());
            std::printf("name        %s\n", info.name.c_str());
            std::printf("sha256      %s\n", info.sha256.c_str());
            std::printf("input       [N,%lld,%lld,%lld] float32 in [0,1] (%s)\n",
                        static_cast<long long>(info.input.channels), static_cast<long long>(info.input.height),
                        static_cast<long long>(info.input.width), info.input.channels == 1 ? "gray" : "RGB");
            std::printf("outputs     %lld %s\n", static_cast<long long>(model.num_classes()),
                        info.outputs_probabilities ? "probabilities" : "logits");
            std::string labels;
            for (std::size_t i = 0; i < info.labels.size() && i < 10; ++i) labels += (i ? ", " : "") + info.labels[i];
            if (info.labels.size() > 10) labels += ", ...";
            std::printf("labels      %s\n", labels.c_str());
            std::printf("parameters  %lld (+ %lld in buffers)\n", static_cast<long long>(info.parameters),
                        static_cast<long long>(info.buffers));
            std::printf("device      %s (%d CPU threads)\n", device.str().c_str(), at::get_num_threads());
            std::printf("precision   %s%s\n", precision_name(model.precision()).c_str(),
                        model.channels_last() ? ", channels-last" : "");
            return 0;
          }};
}

}  // namespace fool::cli
