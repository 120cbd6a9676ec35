// "Did you mean" suggestions for unknown config keys, by edit distance.
#include "config/suggest.h"

#include <algorithm>
#include <cctype>
#include <vector>

namespace wsgate::config {
namespace {

bool equal_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// The part of `key` after its parent: "limits.max_frame" -> "max_frame",
// "listen[].address" -> "address".
std::string_view last_part(std::string_view key) {
  size_t dot = key.rfind('.');
  return dot == std::string_view::npos ? key : key.substr(dot + 1);
}

// The schema key of the parent of `key`: "limits.max_frame" -> "limits",
// "listen[].address" -> "listen", "daemon" -> "".
std::string_view parent_part(std::string_view key) {
  size_t dot = key.rfind('.');
  if (dot == std::string_view::npos) return {};
  std::string_view parent = key.substr(0, dot);
  if (parent.ends_with("[]")) parent.remove_suffix(2);
  return parent;
}

}  // namespace

size_t edit_distance(std::string_view a, std::string_view b) {
  const size_t rows = a.size() + 1, cols = b.size() + 1;
  std::vector<size_t> d(rows * cols);
  auto at = [&](size_t i, size_t j) -> size_t& { return d[i * cols + j]; };
  for (size_t i = 0; i < rows; ++i) at(i, 0) = i;
  for (size_t j = 0; j < cols; ++j) at(0, j) = j;
  for (size_t i = 1; i < rows; ++i) {
    for (size_t j = 1; j < cols; ++j) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      at(i, j) = std::min({at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        at(i, j) = std::min(at(i, j), at(i - 2, j - 2) + 1);
      }
    }
  }
  return at(rows - 1, cols - 1);
}

std::string suggest_key(const SchemaEntry* parent, std::string_view name) {
  std::string_view parent_key = parent != nullptr ? parent->key : std::string_view{};
  std::vector<std::string_view> siblings;
  for (const SchemaEntry& entry : schema()) {
    if (parent_part(entry.key) == parent_key) siblings.push_back(last_part(entry.key));
  }
  for (std::string_view sibling : siblings) {
    if (equal_ignoring_case(sibling, name)) return std::string(sibling);
  }
  constexpr size_t kLongestCompared = 64;  // bounds the quadratic distance on absurd keys
  if (name.size() > kLongestCompared) return "";
  std::string_view best;
  size_t best_distance = 3;
  for (std::string_view sibling : siblings) {
    size_t distance = edit_distance(sibling, name);
    if (distance < best_distance) {
      best = sibling;
      best_distance = distance;
    }
  }
  if (!best.empty()) return std::string(best);
  for (const SchemaEntry& entry : schema()) {
    if (parent_part(entry.key) == parent_key) continue;
    std::string_view part = last_part(entry.key);
    if (equal_ignoring_case(part, name) || edit_distance(part, name) <= 1) {
      return std::string(entry.key);
    }
  }
  return "";
}

}  // namespace wsgate::config
