#include "fool/io/contact_sheet.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <sstream>

#include "fool/io/files.h"
#include "fool/io/images.h"
#include "fool/util/error.h"

namespace fool {
namespace {

/// Tile size, grid and type by number of elites: few classes get large tiles with the full label,
/// 1000 get a 40-column grid of small tiles with the label's first synonym.
struct Layout {
  int columns;
  int image_side;    ///< target side of the image in a tile (pixels)
  int font;          ///< cv::HersheyFonts
  double scale;      ///< font scale of the tile text
  int line_height;   ///< pixels per text line
  int decimals;      ///< of the confidence
  bool short_label;  ///< ImageNet-style "a, b, c" labels: keep "a"
  int gap;           ///< pixels between columns, so that neighbouring texts stay apart
};

Layout choose_layout(std::size_t count, int columns) {
  Layout l;
  if (count <= 20) {
    l = {5, 224, cv::FONT_HERSHEY_SIMPLEX, 0.6, 24, 6, false, 16};
  } else if (count <= 200) {
    l = {10, 128, cv::FONT_HERSHEY_SIMPLEX, 0.45, 18, 4, true, 10};
  } else {
    l = {40, 80, cv::FONT_HERSHEY_PLAIN, 0.8, 13, 3, true, 4};
  }
  if (columns > 0) l.columns = columns;
  l.columns = std::max(1, std::min<int>(l.columns, static_cast<int>(count)));
  return l;
}

constexpr int kMargin = 16;  // page border
constexpr int kPadding = 6;  // around each tile

int text_width(const std::string& text, int font, double scale) {
  int baseline = 0;
  return cv::getTextSize(text, font, scale, 1, &baseline).width;
}

/// `text` shortened with ".." until it fits `width` pixels.
std::string fit_text(std::string text, int font, double scale, int width) {
  if (text_width(text, font, scale) <= width) return text;
  while (!text.empty() && text_width(text + "..", font, scale) > width) text.pop_back();
  return text + "..";
}

/// `text` word-wrapped onto at most `lines` lines of `width` pixels, the last one shortened with "..".
std::vector<std::string> wrap_text(const std::string& text, int font, double scale, int width, int lines) {
  std::vector<std::string> words;
  std::istringstream in(text);
  for (std::string word; in >> word;) words.push_back(word);
  std::vector<std::string> out;
  std::string current;
  std::size_t w = 0;
  for (; w < words.size(); ++w) {
    const std::string candidate = current.empty() ? words[w] : current + " " + words[w];
    if (text_width(candidate, font, scale) <= width) {
      current = candidate;
      continue;
    }
    // A word wider than a line, or the last line reached: the rest is shortened below.
    if (current.empty() || static_cast<int>(out.size()) + 1 >= lines) break;
    out.push_back(current);
    current.clear();
    --w;  // the word starts the next line
  }
  std::string rest = current;
  for (; w < words.size(); ++w) rest += (rest.empty() ? "" : " ") + words[w];
  if (!rest.empty()) out.push_back(fit_text(rest, font, scale, width));
  return out;
}

std::string first_synonym(const std::string& label) { return label.substr(0, label.find(", ")); }

cv::Scalar confidence_colour(double c) {
  if (c >= 0.99) return {0, 130, 0};   // BGR: green
  if (c >= 0.5) return {0, 120, 230};  // orange
  return {0, 0, 200};                  // red
}

/// [C,H,W] in [0,1] -> 8-bit BGR, scaled to fit `side` (nearest-neighbour enlargement by a whole
/// factor so that pixels stay sharp, area averaging when shrinking).
cv::Mat tile_image(const at::Tensor& image, int side) {
  cv::Mat bgr = to_8bit_image(image);
  const int h = bgr.rows, w = bgr.cols;
  if (bgr.channels() == 1) cv::cvtColor(bgr, bgr, cv::COLOR_GRAY2BGR);
  const int longest = std::max(h, w);
  if (longest <= side) {
    const int factor = std::max(1, side / longest);
    if (factor > 1) cv::resize(bgr, bgr, cv::Size(), factor, factor, cv::INTER_NEAREST);
  } else {
    const double f = static_cast<double>(side) / longest;
    cv::resize(bgr, bgr, cv::Size(std::max(1, static_cast<int>(w * f)), std::max(1, static_cast<int>(h * f))), 0, 0,
               cv::INTER_AREA);
  }
  return bgr;
}

std::string page_path(const std::string& path, int page, int pages) {
  if (pages == 1) return path;
  const std::filesystem::path p(path);
  const std::string name = p.stem().string() + "_" + std::to_string(page + 1) + p.extension().string();
  return (p.parent_path() / name).string();
}

}  // namespace

std::vector<std::string> write_contact_sheet(const EliteTable& table, const std::string& path,
                                             const ContactSheetOptions& options) {
  const std::size_t count = table.classes.size();
  FOOL_CHECK(table.images.defined() && table.images.dim() == 4 && table.images.size(0) == static_cast<int64_t>(count),
             "write_contact_sheet needs one [C,H,W] image per class");
  FOOL_CHECK(count > 0, "write_contact_sheet needs at least one elite");
  Layout layout = choose_layout(count, options.columns);

  std::vector<cv::Mat> tiles;
  int image_w = 0, image_h = 0;
  for (std::size_t i = 0; i < count; ++i) {
    tiles.push_back(tile_image(table.images[static_cast<int64_t>(i)], layout.image_side));
    image_w = std::max(image_w, tiles.back().cols);
    image_h = std::max(image_h, tiles.back().rows);
  }
  // Line 1: index and confidence; lines 2-3: the label, unless every label is just its index (MNIST).
  bool labels_are_indices = true;
  for (std::size_t i = 0; i < count; ++i) labels_are_indices &= table.labels[i] == std::to_string(table.classes[i]);
  const int label_lines = labels_are_indices ? 0 : 2;
  const int text_lines = 1 + label_lines;
  const int cell_w = image_w + 2 * kPadding + layout.gap;
  const int cell_h = image_h + 2 * kPadding + text_lines * layout.line_height + 4;
  const int title_h = options.title.empty() ? 0 : 36;
  const int max_side = std::max(options.max_page_side, cell_w + 2 * kMargin);
  layout.columns = std::max(1, std::min(layout.columns, (max_side - 2 * kMargin + layout.gap) / cell_w));
  const int rows_total = static_cast<int>((count + layout.columns - 1) / layout.columns);
  const int rows_per_page = std::max(1, (max_side - 2 * kMargin - title_h) / cell_h);
  const int pages = (rows_total + rows_per_page - 1) / rows_per_page;

  std::vector<std::string> written;
  for (int page = 0; page < pages; ++page) {
    const int first_row = page * rows_per_page;
    const int rows = std::min(rows_per_page, rows_total - first_row);
    cv::Mat sheet(2 * kMargin + title_h + rows * cell_h, 2 * kMargin + layout.columns * cell_w - layout.gap, CV_8UC3,
                  cv::Scalar(255, 255, 255));
    if (!options.title.empty()) {
      std::string title = options.title;
      if (pages > 1) title += "   (page " + std::to_string(page + 1) + " of " + std::to_string(pages) + ")";
      title = fit_text(title, cv::FONT_HERSHEY_SIMPLEX, 0.7, sheet.cols - 2 * kMargin);
      cv::putText(sheet, title, cv::Point(kMargin, kMargin + 20), cv::FONT_HERSHEY_SIMPLEX, 0.7, cv::Scalar(0, 0, 0), 1,
                  cv::LINE_AA);
    }
    for (int r = 0; r < rows; ++r) {
      for (int col = 0; col < layout.columns; ++col) {
        const std::size_t i = static_cast<std::size_t>((first_row + r) * layout.columns + col);
        if (i >= count) break;
        const int x = kMargin + col * cell_w, y = kMargin + title_h + r * cell_h;
        const cv::Mat& tile = tiles[i];
        const int ix = x + kPadding + (image_w - tile.cols) / 2, iy = y + kPadding + (image_h - tile.rows) / 2;
        tile.copyTo(sheet(cv::Rect(ix, iy, tile.cols, tile.rows)));
        cv::rectangle(sheet, cv::Rect(ix - 1, iy - 1, tile.cols + 2, tile.rows + 2), cv::Scalar(160, 160, 160), 1);

        char confidence[32];
        std::snprintf(confidence, sizeof confidence, "%.*f", layout.decimals, table.confidence[i]);
        const int text_x = x + kPadding, text_w = image_w;
        int baseline = 0;
        const int ascent = cv::getTextSize("0", layout.font, layout.scale, 1, &baseline).height;
        int line = y + kPadding + image_h + 4 + ascent + (layout.line_height - ascent) / 2;
        const cv::Scalar ink(20, 20, 20);
        const int confidence_w = text_width(confidence, layout.font, layout.scale);
        cv::putText(sheet, std::to_string(table.classes[i]), cv::Point(text_x, line), layout.font, layout.scale, ink, 1,
                    cv::LINE_AA);
        cv::putText(sheet, confidence, cv::Point(text_x + text_w - confidence_w, line), layout.font, layout.scale,
                    confidence_colour(table.confidence[i]), 1, cv::LINE_AA);
        if (label_lines == 0) continue;
        const std::string label = layout.short_label ? first_synonym(table.labels[i]) : table.labels[i];
        for (const auto& text : wrap_text(label, layout.font, layout.scale, text_w, label_lines)) {
          line += layout.line_height;
          cv::putText(sheet, text, cv::Point(text_x, line), layout.font, layout.scale, ink, 1, cv::LINE_AA);
        }
      }
    }
    std::vector<uchar> png;
    cv::imencode(".png", sheet, png);
    const std::string file = page_path(path, page, pages);
    write_file_atomic(file, std::string(png.begin(), png.end()));
    written.push_back(file);
  }
  return written;
}

std::vector<std::string> write_contact_sheet(const RunData& run, const std::string& path, ContactSheetOptions options) {
  if (options.title.empty()) {
    const RunSummary& s = run.summary;
    char title[512];
    std::snprintf(title, sizeof title, "%s | %s | seed %lld | %lld generations | median %.4f, min %.4f",
                  run.model_name.c_str(), s.encoding.c_str(), static_cast<long long>(s.seed),
                  static_cast<long long>(s.generations), s.median_confidence, s.min_confidence);
    options.title = s.encoding.empty() ? run.model_name : title;
  }
  return write_contact_sheet(read_elite_table(run), path, options);
}

}  // namespace fool
