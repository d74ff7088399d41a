// Plain and xz-compressed text, and the errors of a missing or corrupt file.
#include "eval/text_file.h"

#include <gtest/gtest.h>
#include <lzma.h>

#include <cstdio>

#include "test_env.h"

namespace jf {
namespace {

void write_bytes(const std::string& path, const std::string& bytes) {
  FILE* f = std::fopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  std::fwrite(bytes.data(), 1, bytes.size(), f);
  std::fclose(f);
}

std::string xz_compress(const std::string& text) {
  std::string out(text.size() + 1024, '\0');
  size_t written = 0;
  const lzma_ret ret =
      lzma_easy_buffer_encode(6, LZMA_CHECK_CRC64, nullptr, reinterpret_cast<const uint8_t*>(text.data()),
                              text.size(), reinterpret_cast<uint8_t*>(out.data()), &written, out.size());
  EXPECT_EQ(ret, LZMA_OK);
  out.resize(written);
  return out;
}

std::string sample_text() {
  std::string text;
  for (int i = 0; i < 5000; ++i) text += "Paragraph " + std::to_string(i) + " of the sample.\n\n";
  return text;
}

TEST(TextFileTest, ReadsPlainText) {
  const std::string path = test::temp_path("plain.txt");
  write_bytes(path, sample_text());
  auto text = read_text_file(path);
  ASSERT_TRUE(text.ok()) << text.status().to_string();
  EXPECT_EQ(*text, sample_text());
}

TEST(TextFileTest, DecompressesXz) {
  const std::string path = test::temp_path("text.txt.xz");
  write_bytes(path, xz_compress(sample_text()));
  auto text = read_text_file(path);
  ASSERT_TRUE(text.ok()) << text.status().to_string();
  EXPECT_EQ(*text, sample_text());
}

TEST(TextFileTest, TruncatedXzIsCorrupt) {
  const std::string path = test::temp_path("cut.txt.xz");
  const std::string xz = xz_compress(sample_text());
  write_bytes(path, xz.substr(0, xz.size() / 2));
  auto text = read_text_file(path);
  ASSERT_FALSE(text.ok());
  EXPECT_EQ(text.status().code(), StatusCode::kCorruptFile);
  EXPECT_NE(text.status().message().find("cut.txt.xz: not a valid xz stream"), std::string::npos)
      << text.status().message();
}

TEST(TextFileTest, MissingFileIsNotFound) {
  auto text = read_text_file(test::temp_path("absent.txt"));
  ASSERT_FALSE(text.ok());
  EXPECT_EQ(text.status().code(), StatusCode::kNotFound);
  EXPECT_NE(text.status().message().find("absent.txt"), std::string::npos);
}

}  // namespace
}  // namespace jf
