#pragma once
// Line plots drawn with OpenCV alone (no plotting library): axes with round-number ticks, grid,
// axis labels, a title and a legend. Used for confidence against evaluations (`fool report`).
#include <string>
#include <vector>

namespace fool {

struct PlotSeries {
  std::string name;       ///< legend entry
  std::vector<double> x;  ///< same length as y
  std::vector<double> y;
  int colour = -1;  ///< index into the palette (tab10 order: blue, orange, green, red, ...); -1: next
};

struct LinePlot {
  std::string title, x_label, y_label;
  std::vector<PlotSeries> series;
  double y_min = 0, y_max = 1;  ///< the y range; x runs from 0 to the largest x
  int width = 1200, height = 700;
};

/// Draws `plot` and writes it as a PNG. Throws fool::Error (kIo) naming a file that cannot be written.
void write_line_plot(const LinePlot& plot, const std::string& path);

/// Round tick positions covering [low, high]: steps of 1, 2 or 5 times a power of ten, about
/// `target` of them.
std::vector<double> nice_ticks(double low, double high, int target);

}  // namespace fool
