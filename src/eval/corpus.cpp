#include "eval/corpus.h"

namespace jf::eval {
namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// The text's lines, each without its newline.
std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t end = text.find('\n', start);
    lines.push_back(text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return lines;
}

bool is_blank(std::string_view line) {
  for (char c : line) {
    if (!is_space(c)) return false;
  }
  return true;
}

// Appends `line`'s words to `paragraph`, one space between words.
void append_words(std::string_view line, std::string* paragraph) {
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && is_space(line[i])) ++i;
    const size_t start = i;
    while (i < line.size() && !is_space(line[i])) ++i;
    if (i > start) {
      if (!paragraph->empty()) paragraph->push_back(' ');
      paragraph->append(line.substr(start, i - start));
    }
  }
}

std::vector<ScoringWindow> corpus_windows(const Engine& engine, std::string_view text, int ctx,
                                          int max_windows) {
  std::vector<int32_t> stream;
  const size_t window_tokens = static_cast<size_t>(ctx) + 1;
  const size_t wanted = max_windows > 0 ? static_cast<size_t>(max_windows) * window_tokens : SIZE_MAX;
  for (const std::string& paragraph : split_paragraphs(text)) {
    if (stream.size() >= wanted) break;  // the rest would be cut off anyway
    const std::vector<int32_t> tokens = engine.tokenize(paragraph, /*add_special=*/true);
    stream.insert(stream.end(), tokens.begin(), tokens.end());
  }
  std::vector<ScoringWindow> windows;
  for (size_t start = 0; start + window_tokens <= stream.size(); start += window_tokens) {
    if (max_windows > 0 && static_cast<int>(windows.size()) == max_windows) break;
    windows.push_back(
        {std::vector<int32_t>(stream.begin() + start, stream.begin() + start + window_tokens), 0});
  }
  return windows;
}

std::vector<ScoringWindow> llama_windows(const Engine& engine, std::string_view text, int ctx,
                                         int max_windows) {
  const std::vector<int32_t> stream = engine.tokenize(text, /*add_special=*/true);
  const std::vector<int32_t> bos = engine.tokenize("", /*add_special=*/true);
  std::vector<ScoringWindow> windows;
  for (size_t start = 0; start + ctx <= stream.size(); start += ctx) {
    if (max_windows > 0 && static_cast<int>(windows.size()) == max_windows) break;
    ScoringWindow w{std::vector<int32_t>(stream.begin() + start, stream.begin() + start + ctx), ctx / 2};
    if (!bos.empty()) w.tokens[0] = bos[0];
    windows.push_back(std::move(w));
  }
  return windows;
}

}  // namespace

std::vector<std::string> split_paragraphs(std::string_view text) {
  std::vector<std::string> paragraphs;
  std::string current;
  for (std::string_view line : split_lines(text)) {
    if (is_blank(line)) {
      if (!current.empty()) paragraphs.push_back(std::move(current));
      current.clear();
      continue;
    }
    append_words(line, &current);
  }
  if (!current.empty()) paragraphs.push_back(std::move(current));
  return paragraphs;
}

std::vector<ScoringWindow> make_windows(const Engine& engine, std::string_view text, TextProtocol protocol,
                                        int ctx, int max_windows) {
  return protocol == TextProtocol::corpus ? corpus_windows(engine, text, ctx, max_windows)
                                          : llama_windows(engine, text, ctx, max_windows);
}

const char* protocol_name(TextProtocol protocol) {
  return protocol == TextProtocol::corpus ? "corpus" : "llama";
}

}  // namespace jf::eval
