#include "fool/io/images.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <opencv2/core.hpp>
#include <opencv2/core/utils/logger.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <optional>
#include <utility>

#include "fool/io/files.h"
#include "fool/util/error.h"

namespace fool {

namespace {

/// Width and height from a PNG's IHDR or a JPEG's start-of-frame, without decoding; nothing for
/// other formats (OpenCV's own limit, set in quiet_opencv, guards those).
std::optional<std::pair<int64_t, int64_t>> header_size(const std::string& b) {
  const auto byte = [&](std::size_t i) { return static_cast<int64_t>(static_cast<unsigned char>(b[i])); };
  if (b.size() >= 24 && b.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0 && b.compare(12, 4, "IHDR") == 0) {
    return std::make_pair((byte(16) << 24) | (byte(17) << 16) | (byte(18) << 8) | byte(19),
                          (byte(20) << 24) | (byte(21) << 16) | (byte(22) << 8) | byte(23));
  }
  if (b.size() >= 4 && byte(0) == 0xff && byte(1) == 0xd8) {
    for (std::size_t at = 2; at + 9 <= b.size();) {
      if (byte(at) != 0xff) return std::nullopt;
      const int64_t marker = byte(at + 1);
      if (marker == 0xff) {
        ++at;
        continue;
      }
      const bool frame = marker >= 0xc0 && marker <= 0xcf && marker != 0xc4 && marker != 0xc8 && marker != 0xcc;
      if (frame) return std::make_pair((byte(at + 7) << 8) | byte(at + 8), (byte(at + 5) << 8) | byte(at + 6));
      if (marker == 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker == 0x01) {
        at += 2;
        continue;
      }
      at += 2 + static_cast<std::size_t>((byte(at + 2) << 8) | byte(at + 3));
    }
  }
  return std::nullopt;
}

/// OpenCV logs nothing of its own (fool prints one line per error), and refuses images larger
/// than kMaxImagePixels in the formats header_size does not read.
void quiet_opencv() {
  static const bool done = [] {
    cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT);
    ::setenv("OPENCV_IO_MAX_IMAGE_PIXELS", std::to_string(kMaxImagePixels).c_str(), /*overwrite=*/0);
    return true;
  }();
  (void)done;
}

/// Standard error pointed at /dev/null while it lives: libpng and libjpeg print their warnings
/// ("libpng warning: iCCP: ...", "Corrupt JPEG data: ...") straight to it.
class SilencedStderr {
 public:
  SilencedStderr() {
    std::fflush(stderr);
    saved_ = ::dup(2);
    const int null = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (saved_ >= 0 && null >= 0) ::dup2(null, 2);
    if (null >= 0) ::close(null);
  }
  ~SilencedStderr() {
    if (saved_ < 0) return;
    std::fflush(stderr);
    ::dup2(saved_, 2);
    ::close(saved_);
  }
  SilencedStderr(const SilencedStderr&) = delete;
  SilencedStderr& operator=(const SilencedStderr&) = delete;

 private:
  int saved_ = -1;
};

/// The decoded image file: 8-bit gray (channels 1), 8-bit RGB (3), or as stored (0: gray or RGB).
cv::Mat decode_image(const std::string& path, int64_t channels) {
  quiet_opencv();
  const std::string bytes = read_file(path, kMaxImageFileBytes);
  if (const auto size = header_size(bytes)) {
    const auto [width, height] = *size;
    if (width * height > kMaxImagePixels) {
      throw Error(ErrorKind::kIo, "image '" + path + "' is " + std::to_string(width) + "x" + std::to_string(height) +
                                      " pixels, more than the limit of " + std::to_string(kMaxImagePixels) +
                                      " pixels. Fix: scale it down first.");
    }
  }
  cv::Mat image;
  try {
    const SilencedStderr quiet;
    const int mode = channels == 1 ? cv::IMREAD_GRAYSCALE : channels == 3 ? cv::IMREAD_COLOR : cv::IMREAD_ANYCOLOR;
    const cv::Mat buffer(1, static_cast<int>(bytes.size()), CV_8UC1, const_cast<char*>(bytes.data()));
    if (!bytes.empty()) image = cv::imdecode(buffer, mode);
  } catch (const cv::Exception&) {
    image.release();
  }
  if (image.empty() || image.depth() != CV_8U || (image.channels() != 1 && image.channels() != 3)) {
    throw Error(ErrorKind::kIo, "cannot read image '" + path +
                                    "': not an image format OpenCV knows, or a "
                                    "truncated or damaged file. Fix: pass a PNG or JPEG file.");
  }
  if (image.channels() == 3) cv::cvtColor(image, image, cv::COLOR_BGR2RGB);
  return image;
}

/// [1,C,H,W] float32 in [0,1] of an 8-bit gray or RGB image.
at::Tensor to_tensor(const cv::Mat& image) {
  cv::Mat floats;
  image.convertTo(floats, CV_32F, 1.0 / 255.0);
  floats = floats.isContinuous() ? floats : floats.clone();
  // clone(): the tensor must own its pixels, `floats` is freed on return.
  return at::from_blob(floats.data, {floats.rows, floats.cols, floats.channels()}, at::kFloat)
      .permute({2, 0, 1})
      .clone(at::MemoryFormat::Contiguous)
      .unsqueeze(0);
}

}  // namespace

at::Tensor read_image(const std::string& path, const ImageShape& shape, double central_crop, ResizeFilter resize) {
  FOOL_CHECK((shape.channels == 1 || shape.channels == 3) && shape.height >= 1 && shape.width >= 1 &&
                 shape.height * shape.width <= kMaxImagePixels,
             "read_image needs a shape of 1 or 3 channels and at most kMaxImagePixels pixels");
  // Read the bytes ourselves: a missing file then fails with one line naming the cause, where
  // cv::imread would also print its own warning to stderr.
  cv::Mat image = decode_image(path, shape.channels);
  if (central_crop > 0.0 && central_crop < 1.0) {
    // tf.image.central_crop: start = int((side − side·fraction) / 2), size = side − 2·start.
    const int top = static_cast<int>((image.rows - image.rows * central_crop) / 2);
    const int left = static_cast<int>((image.cols - image.cols * central_crop) / 2);
    image = image(cv::Rect(left, top, image.cols - 2 * left, image.rows - 2 * top)).clone();
  }
  auto chw = to_tensor(image);
  if (chw.size(2) != shape.height || chw.size(3) != shape.width) {
    // Antialiased bilinear is PIL's BILINEAR (a triangle filter widened when shrinking), which the
    // reference predictions in ../shared/models/CONVERTING.md used; plain bilinear samples 4 pixels.
    chw = resize == ResizeFilter::kAntialias
              ? at::_upsample_bilinear2d_aa(chw, {shape.height, shape.width}, /*align_corners=*/false)
              : at::upsample_bilinear2d(chw, {shape.height, shape.width}, /*align_corners=*/false);
  }
  return chw.squeeze(0).clamp_(0.0, 1.0);
}

at::Tensor read_image(const std::string& path) { return to_tensor(decode_image(path, 0)).squeeze(0); }

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
