// JsonWriter and append_json_string: commas, nesting and escaping.
#include "common/json.h"

#include <gtest/gtest.h>

namespace wsgate {
namespace {

TEST(JsonWriter, WritesNestedObjectsAndArrays) {
  JsonWriter json;
  json.begin_object().field("ok", true).field("pid", 42).key("list").begin_array();
  json.value(1).value("two").begin_object().end_object().end_array();
  json.field("neg", -3).field("ratio", 0.5).end_object();
  EXPECT_EQ(json.str(), R"({"ok":true,"pid":42,"list":[1,"two",{}],"neg":-3,"ratio":0.500})");
}

TEST(JsonWriter, InsertsReadyMadeMembers) {
  JsonWriter json;
  json.begin_object().field("a", 1).members(R"("b":2,"c":3)").field("d", 4).end_object();
  EXPECT_EQ(json.str(), R"({"a":1,"b":2,"c":3,"d":4})");
  JsonWriter first;
  first.begin_object().members(R"("b":2)").end_object();
  EXPECT_EQ(first.str(), R"({"b":2})");
}

TEST(JsonString, EscapesQuotesControlsAndInvalidUtf8) {
  std::string out;
  append_json_string(out, "a\"b\\c\n\x01\xff\xc3\xa9");
  EXPECT_EQ(out, "\"a\\\"b\\\\c\\n\\u0001\\ufffd\xc3\xa9\"");
}

}  // namespace
}  // namespace wsgate
