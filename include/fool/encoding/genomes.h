#pragma once
// A batch of genomes as named tensors that share their first dimension N (one row per genome).
//
// Encodings with a variable-size genome (CPPN) pad their trailing dimensions to a capacity; the
// rule every encoding follows is that zero means "absent", so two batches of different capacity
// are made compatible by zero-padding the smaller one (see index_copy_).
#include <ATen/ATen.h>

#include <map>
#include <string>

namespace fool {

class GenomeBatch {
 public:
  GenomeBatch() = default;
  explicit GenomeBatch(std::map<std::string, at::Tensor> fields);

  int64_t size() const;
  bool empty() const { return fields_.empty(); }
  const at::Tensor& operator[](const std::string& name) const;
  at::Tensor& operator[](const std::string& name);
  const std::map<std::string, at::Tensor>& fields() const { return fields_; }

  /// Genomes at `index` (int64 [M] on the same device): a new batch of M rows.
  GenomeBatch index_select(const at::Tensor& index) const;
  /// Row index[i] of this batch becomes row i of `source`; trailing dimensions of either side are
  /// zero-padded to the larger capacity first.
  void index_copy_(const at::Tensor& index, const GenomeBatch& source);
  GenomeBatch to(const at::Device& device) const;
  GenomeBatch clone() const;

 private:
  std::map<std::string, at::Tensor> fields_;
};

/// Zero-pads dimensions 1.. of `t` up to `sizes` (which must be >= t's sizes, same rank).
at::Tensor pad_to(const at::Tensor& t, at::IntArrayRef sizes);

}  // namespace fool
