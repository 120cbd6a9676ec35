// Unit tests of SNI name lookup (SEC-TLS SNI selection).
#include "tls/server_names.h"

#include <gtest/gtest.h>

namespace wsgate::tls {
namespace {

TEST(ServerNames, ExactNamesWinOverWildcards) {
  ServerNameTable table;
  ASSERT_TRUE(table.add("*.example.test", 0));
  ASSERT_TRUE(table.add("api.example.test", 1));
  EXPECT_EQ(table.find("api.example.test"), 1u);
  EXPECT_EQ(table.find("www.example.test"), 0u);
}

TEST(ServerNames, WildcardCoversExactlyOneLabel) {
  ServerNameTable table;
  table.add("*.example.test", 3);
  EXPECT_EQ(table.find("a.example.test"), 3u);
  EXPECT_FALSE(table.find("example.test"));
  EXPECT_FALSE(table.find("a.b.example.test"));
  EXPECT_FALSE(table.find(".example.test"));
}

TEST(ServerNames, CaseAndTrailingDotDoNotMatter) {
  ServerNameTable table;
  table.add("Host.Example.TEST", 2);
  EXPECT_EQ(table.find("host.example.test"), 2u);
  EXPECT_EQ(table.find("HOST.EXAMPLE.TEST."), 2u);
}

TEST(ServerNames, UnknownAndEmptyNamesFindNothing) {
  ServerNameTable table;
  EXPECT_TRUE(table.empty());
  table.add("a.test", 0);
  EXPECT_FALSE(table.find("b.test"));
  EXPECT_FALSE(table.find(""));
  EXPECT_FALSE(table.find("."));
}

TEST(ServerNames, FirstGroupKeepsASharedName) {
  ServerNameTable table;
  EXPECT_TRUE(table.add("a.test", 0));
  EXPECT_TRUE(table.add("a.test", 0));
  EXPECT_FALSE(table.add("a.test", 1));
  EXPECT_EQ(table.find("a.test"), 0u);
}

}  // namespace
}  // namespace wsgate::tls
