#pragma once
// Image files (OpenCV) <-> image tensors [C,H,W] float32 in [0,1], RGB channel order.
#include <ATen/ATen.h>

#include <cstddef>
#include <cstdint>
#include <opencv2/core.hpp>
#include <string>

#include "fool/model/model.h"

namespace fool {

enum class ResizeFilter {
  kAntialias,  ///< bilinear with a widened triangle filter when shrinking (PIL's BILINEAR)
  kBilinear,   ///< plain bilinear, 4 samples (OpenCV INTER_LINEAR, TF resize_bilinear)
};

/// Image files are refused beyond these limits before decoding: pixels (width x height, read from
/// the header; 2^26 = 8192x8192) and bytes.
constexpr int64_t kMaxImagePixels = int64_t{1} << 26;
constexpr std::size_t kMaxImageFileBytes = std::size_t{256} << 20;

/// Reads an image file and converts it to the model's input: gray or RGB, an optional central
/// crop (fraction of each side, tf.image.central_crop's arithmetic), then a resize to the shape
/// (aspect ratio not kept). Returns [C,H,W] float32 in [0,1] on the CPU. Throws fool::Error
/// (kIo) naming the file, also when it is larger than the limits above.
at::Tensor read_image(const std::string& path, const ImageShape& shape, double central_crop = 1.0,
                      ResizeFilter resize = ResizeFilter::kAntialias);
/// Reads an image file as it is stored: [C,H,W] float32 in [0,1] on the CPU, C = 1 for a gray
/// file, else 3 (RGB). Same errors.
at::Tensor read_image(const std::string& path);

/// One image [C,H,W] in [0,1] (any device; C = 1 or 3) as 8-bit pixels, each value rounded to
/// the nearest of 0..255: gray, or BGR (OpenCV's channel order). Every tensor → 8-bit image
/// conversion of fool goes through it.
cv::Mat to_8bit_image(const at::Tensor& image);

/// PNG bytes of one image [C,H,W] in [0,1] (any device), scaled up `upscale` times (nearest).
std::string encode_png(const at::Tensor& image, int upscale = 1);
/// Writes encode_png atomically.
void write_png(const std::string& path, const at::Tensor& image, int upscale = 1);

/// Mean total variation per pixel of images [N,C,H,W] in [0,1]: the sum of |differences| between
/// horizontal and vertical neighbours over C·H·W, averaged over the N images. Smooth patterns
/// (CPPN) score low, per-pixel noise (direct encoding, gradient ascent) high.
double total_variation_per_pixel(const at::Tensor& images);

/// A nearest-neighbour upscale factor that makes an image of this shape about 256+ pixels wide.
int viewing_upscale(const ImageShape& shape);

}  // namespace fool
