#include "fool/io/images.h"

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "fool/io/files.h"
#include "fool/util/error.h"

namespace fool {

at::Tensor read_image(const std::string& path, const ImageShape& shape, double central_crop, ResizeFilter resize) {
  // Read the bytes ourselves: a missing file then fails with one line naming the cause, where
  // cv::imread would also print its own warning to stderr.
  const std::string bytes = read_file(path);
  cv::Mat image;
  try {
    const cv::Mat buffer(1, static_cast<int>(bytes.size()), CV_8UC1, const_cast<char*>(bytes.data()));
    if (!bytes.empty()) image = cv::imdecode(buffer, shape.channels == 1 ? cv::IMREAD_GRAYSCALE : cv::IMREAD_COLOR);
  } catch (const cv::Exception&) {
    image.release();
  }
  if (image.empty()) {
    throw Error(ErrorKind::kIo, "cannot read image '" + path + "': not an image format OpenCV knows. "
                                "Fix: pass a PNG or JPEG file.");
  }
  if (shape.channels == 3) cv::cvtColor(image, image, cv::COLOR_BGR2RGB);
  if (central_crop > 0.0 && central_crop < 1.0) {
    // tf.image.central_crop: start = int((side − side·fraction) / 2), size = side − 2·start.
    const int top = static_cast<int>((image.rows - image.rows * central_crop) / 2);
    const int left = static_cast<int>((image.cols - image.cols * central_crop) / 2);
    image = image(cv::Rect(left, top, image.cols - 2 * left, image.rows - 2 * top)).clone();
  }
  cv::Mat floats;
  image.convertTo(floats, CV_32F, 1.0 / 255.0);
  floats = floats.isContinuous() ? floats : floats.clone();
  // clone(): the tensor must own its pixels, `floats` is freed on return.
  auto chw = at::from_blob(floats.data, {floats.rows, floats.cols, shape.channels}, at::kFloat)
                 .permute({2, 0, 1})
                 .clone(at::MemoryFormat::Contiguous)
                 .unsqueeze(0);
  if (chw.size(2) != shape.height || chw.size(3) != shape.width) {
    // Antialiased bilinear is PIL's BILINEAR (a triangle filter widened when shrinking), which the
    // reference predictions in ../shared/models/CONVERTING.md used; plain bilinear samples 4 pixels.
    chw = resize == ResizeFilter::kAntialias
              ? at::_upsample_bilinear2d_aa(chw, {shape.height, shape.width}, /*align_corners=*/false)
              : at::upsample_bilinear2d(chw, {shape.height, shape.width}, /*align_corners=*/false);
  }
  return chw.squeeze(0).clamp_(0.0, 1.0);
}

cv::Mat to_8bit_image(const at::Tensor& image) {
  FOOL_CHECK(image.dim() == 3 && (image.size(0) == 1 || image.size(0) == 3), "an image is [C,H,W] with C = 1 or 3");
  auto bytes = image.detach().to(at::kCPU, at::kFloat).mul(255.0).round_().clamp_(0, 255).to(at::kByte);
  auto hwc = bytes.permute({1, 2, 0}).contiguous();
  const int channels = static_cast<int>(hwc.size(2));
  cv::Mat mat(static_cast<int>(hwc.size(0)), static_cast<int>(hwc.size(1)), channels == 1 ? CV_8UC1 : CV_8UC3,
              hwc.data_ptr<uint8_t>());
  cv::Mat out = mat.clone();  // owns its pixels: hwc dies with this call
  if (channels == 3) cv::cvtColor(out, out, cv::COLOR_RGB2BGR);
  return out;
}

std::string encode_png(const at::Tensor& image, int upscale) {
  cv::Mat out = to_8bit_image(image);
  if (upscale > 1) cv::resize(out, out, cv::Size(), upscale, upscale, cv::INTER_NEAREST);
  std::vector<uchar> buffer;
  cv::imencode(".png", out, buffer);
  return std::string(buffer.begin(), buffer.end());
}

void write_png(const std::string& path, const at::Tensor& image, int upscale) {
  write_file_atomic(path, encode_png(image, upscale));
}

double total_variation_per_pixel(const at::Tensor& images) {
  FOOL_CHECK(images.dim() == 4, "total_variation_per_pixel takes [N,C,H,W]");
  const auto x = images.to(at::kDouble);
  const auto dx = (x.narrow(3, 1, x.size(3) - 1) - x.narrow(3, 0, x.size(3) - 1)).abs().flatten(1).sum(1);
  const auto dy = (x.narrow(2, 1, x.size(2) - 1) - x.narrow(2, 0, x.size(2) - 1)).abs().flatten(1).sum(1);
  return ((dx + dy) / static_cast<double>(x[0].numel())).mean().item<double>();
}

int viewing_upscale(const ImageShape& shape) {
  const int64_t side = std::max(shape.height, shape.width);
  return static_cast<int>(std::max<int64_t>(1, (256 + side - 1) / side));
}

}  // namespace fool
