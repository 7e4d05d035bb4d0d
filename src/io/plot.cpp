#include "fool/io/plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "fool/io/files.h"
#include "fool/util/error.h"

namespace fool {
namespace {

// matplotlib's tab10, as BGR.
// tab20 in BGR: the ten tab10 colours, then their light companions, so up to 20 series differ.
const cv::Scalar kPalette[] = {{180, 119, 31},  {14, 127, 255},  {44, 160, 44},   {40, 39, 214},   {189, 103, 148},
                               {75, 86, 140},   {194, 119, 227}, {127, 127, 127}, {34, 189, 188},  {207, 190, 23},
                               {232, 199, 174}, {120, 187, 255}, {138, 223, 152}, {150, 152, 255}, {213, 176, 197},
                               {148, 156, 196}, {210, 182, 247}, {199, 199, 199}, {141, 219, 219}, {229, 218, 158}};
constexpr int kPaletteSize = sizeof kPalette / sizeof kPalette[0];
constexpr int kFont = cv::FONT_HERSHEY_SIMPLEX;
const cv::Scalar kInk(30, 30, 30);

cv::Size text_size(const std::string& text, double scale) {
  int baseline = 0;
  return cv::getTextSize(text, kFont, scale, 1, &baseline);
}

/// Tick label: integers with k / M suffixes (50000 -> "50k"), fractions with as many decimals as the step.
std::string tick_label(double value, double step) {
  char text[32];
  const double magnitude = std::fabs(value);
  if (step >= 1 && magnitude >= 1e6 && std::fmod(value, 1e5) == 0) {
    std::snprintf(text, sizeof text, "%gM", value / 1e6);
  } else if (step >= 1 && magnitude >= 1e4 && std::fmod(value, 100) == 0) {
    std::snprintf(text, sizeof text, "%gk", value / 1e3);
  } else {
    const int decimals = step >= 1 ? 0 : static_cast<int>(std::ceil(-std::log10(step) - 1e-9));
    std::snprintf(text, sizeof text, "%.*f", decimals, value);
  }
  return text;
}

/// Text drawn rotated by 90 degrees (reading upwards), centred on `centre`.
void put_vertical_text(cv::Mat& image, const std::string& text, cv::Point centre, double scale) {
  const cv::Size size = text_size(text, scale);
  cv::Mat strip(size.height + 10, size.width + 4, CV_8UC3, cv::Scalar(255, 255, 255));
  cv::putText(strip, text, cv::Point(2, size.height + 3), kFont, scale, kInk, 1, cv::LINE_AA);
  cv::rotate(strip, strip, cv::ROTATE_90_COUNTERCLOCKWISE);
  const cv::Rect target(centre.x - strip.cols / 2, centre.y - strip.rows / 2, strip.cols, strip.rows);
  const cv::Rect clipped = target & cv::Rect(0, 0, image.cols, image.rows);
  if (clipped.area() == 0) return;
  strip(cv::Rect(clipped.x - target.x, clipped.y - target.y, clipped.width, clipped.height)).copyTo(image(clipped));
}

}  // namespace

std::vector<double> nice_ticks(double low, double high, int target) {
  if (!(high > low)) high = low + 1;
  const double raw = (high - low) / std::max(1, target);
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  double step = power;
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    step = m * power;
    if (step >= raw) break;
  }
  std::vector<double> ticks;
  for (double t = std::ceil(low / step - 1e-9) * step; t <= high + step * 1e-9; t += step) {
    ticks.push_back(std::fabs(t) < step * 1e-9 ? 0.0 : t);
  }
  return ticks;
}

void write_line_plot(const LinePlot& plot, const std::string& path) {
  cv::Mat image(plot.height, plot.width, CV_8UC3, cv::Scalar(255, 255, 255));
  const int left = 100, right = 30, top = plot.title.empty() ? 30 : 60, bottom = 80;
  const cv::Rect area(left, top, plot.width - left - right, plot.height - top - bottom);

  double x_max = 0;
  for (const auto& s : plot.series) {
    FOOL_CHECK(s.x.size() == s.y.size(), "a plot series needs as many x as y values");
    for (double x : s.x) x_max = std::max(x_max, x);
  }
  if (x_max <= 0) x_max = 1;
  const auto x_ticks = nice_ticks(0, x_max, 8);
  x_max = std::max(x_max, x_ticks.back());
  const auto y_ticks = nice_ticks(plot.y_min, plot.y_max, 10);
  // 2% headroom above and below, so that lines at the range's ends stay clear of the frame.
  const double y_pad = 0.02 * (plot.y_max - plot.y_min);
  const double y_low = plot.y_min - y_pad, y_high = plot.y_max + y_pad;
  const auto to_px = [&](double x, double y) {
    const double fx = x / x_max, fy = (y - y_low) / (y_high - y_low);
    return cv::Point2d(area.x + fx * area.width, area.y + area.height - fy * area.height);
  };

  // Grid and ticks.
  const double y_step = y_ticks.size() > 1 ? y_ticks[1] - y_ticks[0] : 1;
  const double x_step = x_ticks.size() > 1 ? x_ticks[1] - x_ticks[0] : 1;
  for (double t : y_ticks) {
    const int py = static_cast<int>(std::lround(to_px(0, t).y));
    cv::line(image, {area.x, py}, {area.x + area.width, py}, cv::Scalar(225, 225, 225), 1);
    cv::line(image, {area.x - 6, py}, {area.x, py}, kInk, 1);
    const std::string label = tick_label(t, y_step);
    const cv::Size size = text_size(label, 0.5);
    cv::putText(image, label, {area.x - 10 - size.width, py + size.height / 2}, kFont, 0.5, kInk, 1, cv::LINE_AA);
  }
  for (double t : x_ticks) {
    const int px = static_cast<int>(std::lround(to_px(t, y_low).x));
    cv::line(image, {px, area.y}, {px, area.y + area.height}, cv::Scalar(225, 225, 225), 1);
    cv::line(image, {px, area.y + area.height}, {px, area.y + area.height + 6}, kInk, 1);
    const std::string label = tick_label(t, x_step);
    const cv::Size size = text_size(label, 0.5);
    cv::putText(image, label, {px - size.width / 2, area.y + area.height + 12 + size.height}, kFont, 0.5, kInk, 1,
                cv::LINE_AA);
  }
  cv::rectangle(image, area, kInk, 1);

  // Titles.
  if (!plot.title.empty()) {
    const cv::Size size = text_size(plot.title, 0.75);
    cv::putText(image, plot.title, {(plot.width - size.width) / 2, 20 + size.height}, kFont, 0.75, kInk, 1,
                cv::LINE_AA);
  }
  if (!plot.x_label.empty()) {
    const cv::Size size = text_size(plot.x_label, 0.6);
    cv::putText(image, plot.x_label, {area.x + (area.width - size.width) / 2, plot.height - 20}, kFont, 0.6, kInk, 1,
                cv::LINE_AA);
  }
  if (!plot.y_label.empty()) put_vertical_text(image, plot.y_label, {28, area.y + area.height / 2}, 0.6);

  // Lines, clipped to the plot area.
  cv::Mat canvas = image(area);
  int next = 0;
  std::vector<cv::Scalar> colours;
  for (const auto& s : plot.series) {
    const cv::Scalar colour = kPalette[(s.colour >= 0 ? s.colour : next++) % kPaletteSize];
    colours.push_back(colour);
    std::vector<cv::Point> points;
    for (std::size_t i = 0; i < s.x.size(); ++i) {
      const double y = std::clamp(s.y[i], y_low, y_high);
      const cv::Point2d p = to_px(s.x[i], y);
      // Sub-pixel precision (4 fractional bits) keeps dense series smooth.
      points.emplace_back(static_cast<int>(std::lround((p.x - area.x) * 16)),
                          static_cast<int>(std::lround((p.y - area.y) * 16)));
    }
    if (points.size() == 1) {
      cv::circle(canvas, points[0], 4 * 16, colour, cv::FILLED, cv::LINE_AA, 4);
    } else if (!points.empty()) {
      cv::polylines(canvas, points, false, colour, 2, cv::LINE_AA, 4);
    }
  }

  // Legend, bottom right (confidence curves rise to the top).
  if (!plot.series.empty()) {
    int text_w = 0;
    for (const auto& s : plot.series) text_w = std::max(text_w, text_size(s.name, 0.55).width);
    const int row = 24, w = text_w + 60, h = static_cast<int>(plot.series.size()) * row + 12;
    const cv::Rect box(area.x + area.width - w - 12, area.y + area.height - h - 12, w, h);
    cv::rectangle(image, box, cv::Scalar(255, 255, 255), cv::FILLED);
    cv::rectangle(image, box, cv::Scalar(170, 170, 170), 1);
    for (std::size_t i = 0; i < plot.series.size(); ++i) {
      const int y = box.y + 6 + static_cast<int>(i) * row + row / 2;
      cv::line(image, {box.x + 10, y}, {box.x + 40, y}, colours[i], 3, cv::LINE_AA);
      cv::putText(image, plot.series[i].name, {box.x + 50, y + 6}, kFont, 0.55, kInk, 1, cv::LINE_AA);
    }
  }

  std::vector<uchar> png;
  cv::imencode(".png", image, png);
  write_file_atomic(path, std::string(png.begin(), png.end()));
}

}  // namespace fool
