// Unit tests of the "did you mean" search for unknown keys (config/suggest.h).
#include "config/suggest.h"

#include <gtest/gtest.h>

namespace wsgate::config {
namespace {

TEST(EditDistance, CountsEditsAndAdjacentSwaps) {
  EXPECT_EQ(edit_distance("", ""), 0u);
  EXPECT_EQ(edit_distance("abc", ""), 3u);
  EXPECT_EQ(edit_distance("daemon", "daemon"), 0u);
  EXPECT_EQ(edit_distance("daemon", "deamon"), 1u);   // swap
  EXPECT_EQ(edit_distance("daemon", "daemons"), 1u);  // insertion
  EXPECT_EQ(edit_distance("daemon", "demon"), 1u);    // deletion
  EXPECT_EQ(edit_distance("daemon", "daemun"), 1u);   // substitution
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
}

TEST(SuggestKey, FindsASiblingWithinTwoEdits) {
  EXPECT_EQ(suggest_key(nullptr, "deamon"), "daemon");
  EXPECT_EQ(suggest_key(nullptr, "worker"), "workers");
  EXPECT_EQ(suggest_key(find_schema("limits"), "max_frames"), "max_frame");
  EXPECT_EQ(suggest_key(find_schema("listen"), "adress"), "address");
  EXPECT_EQ(suggest_key(find_schema("timeouts"), "idle_timeout"), "");
}

TEST(SuggestKey, IgnoresCaseForAnExactMatch) {
  EXPECT_EQ(suggest_key(nullptr, "Daemon"), "daemon");
  EXPECT_EQ(suggest_key(find_schema("limits"), "MAX_CONNECTIONS"), "max_connections");
}

TEST(SuggestKey, PrefersTheClosestSibling) {
  // "max_frame" is 1 edit from "max_frams"; "max_fragments" is further.
  EXPECT_EQ(suggest_key(find_schema("limits"), "max_frams"), "max_frame");
}

TEST(SuggestKey, NamesAKeyThatBelongsElsewhereByItsFullKey) {
  EXPECT_EQ(suggest_key(nullptr, "max_frame"), "limits.max_frame");
  EXPECT_EQ(suggest_key(nullptr, "level"), "log.level");
  EXPECT_EQ(suggest_key(nullptr, "address"), "listen[].address");
  EXPECT_EQ(suggest_key(find_schema("limits"), "ping_interval"), "timeouts.ping_interval");
}

TEST(SuggestKey, SuggestsNothingForUnrelatedOrHugeNames) {
  EXPECT_EQ(suggest_key(nullptr, "completely_unrelated"), "");
  EXPECT_EQ(suggest_key(nullptr, std::string(10000, 'x')), "");
}

}  // namespace
}  // namespace wsgate::config
