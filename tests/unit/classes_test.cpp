// --classes parsing: ranges, lists, out of range, garbage.
#include "fool/model/classes.h"

#include <gtest/gtest.h>

#include "fool/util/error.h"

namespace fool {
namespace {

using Classes = std::vector<int64_t>;

TEST(ParseClasses, EmptyOrAllMeansEveryClass) {
  EXPECT_EQ(parse_classes("", 4), (Classes{0, 1, 2, 3}));
  EXPECT_EQ(parse_classes("all", 3), (Classes{0, 1, 2}));
}

TEST(ParseClasses, RangesAndLists) {
  EXPECT_EQ(parse_classes("0-9", 10), (Classes{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  EXPECT_EQ(parse_classes("1,7,42", 1000), (Classes{1, 7, 42}));
  EXPECT_EQ(parse_classes("0-2,7", 10), (Classes{0, 1, 2, 7}));
  EXPECT_EQ(parse_classes("5", 10), (Classes{5}));
  EXPECT_EQ(parse_classes("3-3", 10), (Classes{3}));
}

TEST(ParseClasses, SortsAndRemovesDuplicates) { EXPECT_EQ(parse_classes("9,1,3-5,4,1", 10), (Classes{1, 3, 4, 5, 9})); }

void expect_usage_error(const std::string& spec, int64_t num_classes, const std::string& mentions) {
  try {
    parse_classes(spec, num_classes);
    ADD_FAILURE() << "'" << spec << "' was accepted for " << num_classes << " classes";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kUsage) << spec;
    const std::string message = e.what();
    EXPECT_NE(message.find(spec), std::string::npos) << message;
    EXPECT_NE(message.find(mentions), std::string::npos) << message;
  }
}

TEST(ParseClasses, OutOfRangeNamesTheValidRange) {
  expect_usage_error("10", 10, "0-9");
  expect_usage_error("0-10", 10, "0-9");
  expect_usage_error("5,1000", 1000, "0-999");
  expect_usage_error("-1", 10, "0-9");
}

TEST(ParseClasses, GarbageIsRejected) {
  expect_usage_error("abc", 10, "abc");
  expect_usage_error("1-", 10, "class index");
  expect_usage_error("1,,2", 10, "class index");
  expect_usage_error("2.5", 10, "2.5");
  expect_usage_error("3x", 10, "3x");
  expect_usage_error("1-2-3", 10, "class index");
  expect_usage_error("7-3", 10, "backwards");
}

}  // namespace
}  // namespace fool

namespace fool {
namespace {

TEST(Shard, PartsCoverEveryClassOnceAndDifferByAtMostOne) {
  std::vector<int64_t> classes(10);
  for (int64_t i = 0; i < 10; ++i) classes[static_cast<std::size_t>(i)] = i * 3;
  std::vector<int64_t> joined;
  for (int64_t i = 1; i <= 4; ++i) {
    const auto part = shard_classes(classes, parse_shard(std::to_string(i) + "/4"));
    EXPECT_GE(part.size(), 2u);
    EXPECT_LE(part.size(), 3u);
    joined.insert(joined.end(), part.begin(), part.end());
  }
  EXPECT_EQ(joined, classes);
  EXPECT_EQ(shard_classes(classes, parse_shard("")), classes);
  EXPECT_EQ(shard_classes(classes, parse_shard("1/1")), classes);
}

TEST(Shard, BadTextAndEmptyPartsAreUsageErrors) {
  for (const char* text : {"0/4", "5/4", "1/0", "a/b", "1/", "/2", "1-2", "1/2/3", "-1/2", "1/1000000", " 1/2"}) {
    EXPECT_THROW(parse_shard(text), Error) << text;
  }
  EXPECT_THROW(shard_classes({1, 2}, parse_shard("1/3")), Error) << "3 shards of 2 classes: the first is empty";
}

}  // namespace
}  // namespace fool
