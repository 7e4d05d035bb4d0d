#pragma once
// A contact sheet of the elites: a grid of images with class, label and confidence under each
// (the paper's Figures 4-5 and 8 as one picture per run). Large tiles for a few classes, a
// 40-column grid of small tiles for 1000, split into PNG pages of at most `max_page_side` pixels.
#include <string>
#include <vector>

#include "fool/io/run_directory.h"
#include "fool/io/run_reader.h"

namespace fool {

struct ContactSheetOptions {
  std::string title;         ///< first line of every page (model, encoding, seed, ...); may be empty
  int max_page_side = 4000;  ///< pixels; more elites than fit go onto further pages
  int columns = 0;           ///< 0: chosen from the number of elites (5, 10 or 40)
};

/// Draws `table` (images [T,C,H,W] in [0,1], any device) and writes the page(s) as PNG files.
/// `path` names the first page; when more pages are needed they become `<stem>_1.png`,
/// `<stem>_2.png`, ... instead. Returns the files written, in page order. Confidence is coloured
/// green at or above 0.99, orange at or above 0.5, red below. Throws fool::Error (kIo) naming a
/// file that cannot be written.
std::vector<std::string> write_contact_sheet(const EliteTable& table, const std::string& path,
                                             const ContactSheetOptions& options = {});

/// The same from a run read back (needs kRunArchive | kRunElites | kRunConfig; summary for the
/// title); the title defaults to the run's model, encoding, seed and generations.
std::vector<std::string> write_contact_sheet(const RunData& run, const std::string& path,
                                             ContactSheetOptions options = {});

}  // namespace fool
