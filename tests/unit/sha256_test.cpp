// SHA-256 against the FIPS 180-4 example vectors.
#include "fool/util/sha256.h"

#include <gtest/gtest.h>

#include <string>

#include "fool/util/error.h"
#include "support/test_support.h"

namespace fool {
namespace {

std::string sha256_of(const std::string& s) { return sha256_hex(s.data(), s.size()); }

TEST(Sha256, FipsVectors) {
  EXPECT_EQ(sha256_of("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_of(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(sha256_of(std::string(1000000, 'a')), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, IncrementalEqualsOneShot) {
  std::string text;
  for (int i = 0; i < 300; ++i) text += static_cast<char>(i * 7);
  // Split at every offset around the 55/56/64-byte padding boundaries.
  for (std::size_t split : {0, 1, 55, 56, 63, 64, 65, 119, 120, 200, 300}) {
    Sha256 hash;
    hash.update(text.data(), split);
    hash.update(text.data() + split, text.size() - split);
    EXPECT_EQ(hash.hex_digest(), sha256_of(text)) << "split at " << split;
  }
}

TEST(Sha256, FileHashEqualsBytesHash) {
  test::TempDir dir;
  const std::string content(70000, 'x');
  test::write_text(dir / "file", content);
  EXPECT_EQ(sha256_file(dir / "file"), sha256_of(content));
  try {
    sha256_file(dir / "missing");
    FAIL() << "hashed a missing file";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kIo);
    EXPECT_NE(std::string(e.what()).find("missing"), std::string::npos);
  }
}

}  // namespace
}  // namespace fool
