// Unit tests of the schema table: it is self-consistent, and its printed
// form has one line per key.
#include "config/schema.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <set>
#include <sstream>

#include "config/typed_value.h"

namespace wsgate::config {
namespace {

TEST(Schema, KeysAreUniqueAndFoundByName) {
  std::set<std::string_view> seen;
  for (const SchemaEntry& entry : schema()) {
    EXPECT_TRUE(seen.insert(entry.key).second) << entry.key;
    EXPECT_EQ(find_schema(entry.key), &entry);
  }
  EXPECT_EQ(find_schema("no_such_key"), nullptr);
  EXPECT_EQ(find_schema("listen.address"), nullptr);
}

TEST(Schema, EveryChildFollowsItsMapOrListParent) {
  std::set<std::string_view> parents;
  for (const SchemaEntry& entry : schema()) {
    size_t dot = entry.key.rfind('.');
    if (dot != std::string_view::npos) {
      std::string_view parent = entry.key.substr(0, dot);
      bool list_child = parent.ends_with("[]");
      if (list_child) parent.remove_suffix(2);
      ASSERT_TRUE(parents.contains(parent)) << entry.key << " comes before its parent";
      EXPECT_EQ(find_schema(parent)->type, list_child ? ValueType::List : ValueType::Map)
          << entry.key;
    }
    if (entry.type == ValueType::Map || entry.type == ValueType::List) parents.insert(entry.key);
  }
}

TEST(Schema, EveryDefaultParsesAndLiesWithinItsRange) {
  for (const SchemaEntry& entry : schema()) {
    SCOPED_TRACE(std::string(entry.key));
    if (is_required(entry)) continue;
    YAML::Node node = YAML::Load(std::string(entry.default_text));
    switch (entry.type) {
      case ValueType::Map:
        EXPECT_TRUE(node.IsMap() && node.size() == 0);
        break;
      case ValueType::List:
        ASSERT_TRUE(node.IsSequence());
        EXPECT_GE(static_cast<int64_t>(node.size()), entry.min);
        break;
      case ValueType::StringList:
        EXPECT_TRUE(node.IsSequence());
        break;
      case ValueType::DurationList:
        ASSERT_TRUE(node.IsSequence());
        for (const YAML::Node& element : node) {
          ASSERT_TRUE(element.IsScalar());
          EXPECT_EQ(check_scalar(entry, element.Scalar()), "");
        }
        break;
      case ValueType::StringMap:
        ASSERT_TRUE(node.IsMap());
        for (const auto& pair : node) EXPECT_TRUE(pair.second.IsScalar());
        break;
      default:
        ASSERT_TRUE(node.IsScalar());
        EXPECT_EQ(check_scalar(entry, node.Scalar()), "");
        break;
    }
  }
}

TEST(Schema, RangesAreOrderedAndOnlyWhereTheTypeHasOne) {
  for (const SchemaEntry& entry : schema()) {
    SCOPED_TRACE(std::string(entry.key));
    switch (entry.type) {
      case ValueType::Int:
      case ValueType::Duration:
      case ValueType::DurationList:
      case ValueType::Size:
      case ValueType::WorkerCount:
        EXPECT_LT(entry.min, entry.max);
        EXPECT_GE(entry.min, 0);
        break;
      case ValueType::List:
        EXPECT_LE(entry.min, entry.max);
        break;
      default:
        EXPECT_EQ(entry.min, 0);
        EXPECT_EQ(entry.max, 0);
    }
    // Numbers may take words meaning "not set" (rlimits: inherit).
    bool has_words = entry.type == ValueType::Enum || entry.type == ValueType::Path ||
                     entry.type == ValueType::Int || entry.type == ValueType::Duration ||
                     entry.type == ValueType::Size;
    if (!has_words) {
      EXPECT_EQ(entry.enum_values, "");
    }
    if (entry.type == ValueType::Enum) {
      EXPECT_NE(entry.enum_values, "");
    }
  }
}

TEST(Schema, OnlyListsAndTheirIdentifyingKeysAreRequired) {
  std::set<std::string_view> required;
  for (const SchemaEntry& entry : schema()) {
    if (is_required(entry)) required.insert(entry.key);
  }
  EXPECT_EQ(required, (std::set<std::string_view>{"listen", "listen[].address",
                                                  "listen[].tls.certificates[].certificate",
                                                  "listen[].tls.certificates[].key",
                                                  "routes[].path"}));
}

TEST(Schema, OnlyProcessIdentityKeysNeedARestart) {
  std::set<std::string_view> fixed;
  for (const SchemaEntry& entry : schema()) {
    if (!entry.reloadable) fixed.insert(entry.key);
  }
  EXPECT_EQ(fixed,
            (std::set<std::string_view>{"daemon", "pid_file", "control_socket", "user", "group",
                                        "control_users", "control_groups", "metrics.address"}));
}

TEST(Schema, EveryKeyHasAOneSentenceDescription) {
  for (const SchemaEntry& entry : schema()) {
    SCOPED_TRACE(std::string(entry.key));
    ASSERT_FALSE(entry.description.empty());
    EXPECT_TRUE(entry.description.ends_with('.'));
    EXPECT_EQ(entry.description.find(". "), std::string_view::npos);
    EXPECT_LE(entry.description.size(), 160u);
  }
}

TEST(Schema, ChildKeyJoinsMapsWithDotsAndListsWithBrackets) {
  EXPECT_EQ(child_key(nullptr, "daemon"), "daemon");
  EXPECT_EQ(child_key(find_schema("limits"), "max_frame"), "limits.max_frame");
  EXPECT_EQ(child_key(find_schema("listen"), "address"), "listen[].address");
}

TEST(Schema, RangeTextUsesEachTypesUnits) {
  EXPECT_EQ(range_text(*find_schema("limits.handshake_timeout")), "100ms..10m");
  EXPECT_EQ(range_text(*find_schema("limits.max_frame")), "125..1GiB");
  EXPECT_EQ(range_text(*find_schema("workers")), "1..256");
  EXPECT_EQ(range_text(*find_schema("listen")), "1..256 items");
  EXPECT_EQ(range_text(*find_schema("log.file")), "path|stderr|syslog");
  EXPECT_EQ(range_text(*find_schema("daemon")), "");
  EXPECT_EQ(range_text(*find_schema("routes[].exec.kill_after")), "1ms..1h");
  EXPECT_EQ(range_text(*find_schema("routes[].exec.rlimits.nofile")), "3..1048576|inherit");
  EXPECT_EQ(range_text(*find_schema("routes[].exec.rlimits.as")), "16MiB..1024GiB|inherit");
  EXPECT_EQ(range_text(*find_schema("routes[].exec.rlimits.cpu")), "1s..168h|inherit");
  EXPECT_EQ(range_text(*find_schema("routes[].exec.env.set")), "");
}

TEST(Schema, NumbersWithWordsTakeTheWordOrANumberInRange) {
  const SchemaEntry& nofile = *find_schema("routes[].exec.rlimits.nofile");
  EXPECT_EQ(check_scalar(nofile, "inherit"), "");
  EXPECT_EQ(check_scalar(nofile, "3"), "");
  EXPECT_EQ(check_scalar(nofile, "2"), "must be between 3 and 1048576, or inherit");
  EXPECT_EQ(check_scalar(nofile, "lots"), "must be a whole number, or inherit");
  EXPECT_EQ(check_scalar(nofile, "Inherit"), "must be a whole number, or inherit");
  const SchemaEntry& kill_after = *find_schema("routes[].exec.kill_after");
  EXPECT_EQ(check_scalar(kill_after, "1ms"), "");
  EXPECT_EQ(check_scalar(kill_after, "0"), "must be between 1ms and 1h");
}

TEST(SchemaTable, HasAHeaderAndOneLinePerKey) {
  std::istringstream table(render_schema_table());
  std::string line;
  ASSERT_TRUE(std::getline(table, line));
  EXPECT_TRUE(line.starts_with("KEY ")) << line;
  for (const SchemaEntry& entry : schema()) {
    ASSERT_TRUE(std::getline(table, line));
    EXPECT_TRUE(line.starts_with(std::string(entry.key) + " ")) << line;
    EXPECT_NE(line.find(std::string(entry.description)), std::string::npos) << line;
    EXPECT_NE(line.find(entry.reloadable ? " yes " : " no "), std::string::npos) << line;
  }
  ASSERT_TRUE(std::getline(table, line));
  EXPECT_EQ(line, "");
}

TEST(SchemaTable, ShowsDefaultRangeAndRequiredKeys) {
  std::string table = render_schema_table();
  auto line_of = [&](std::string_view key) {
    size_t start = table.find("\n" + std::string(key) + " ");
    return table.substr(start + 1, table.find('\n', start + 1) - start - 1);
  };
  std::istringstream words(line_of("limits.max_frame"));
  std::string key, type, default_text, range, reload;
  words >> key >> type >> default_text >> range >> reload;
  EXPECT_EQ(type, "size");
  EXPECT_EQ(default_text, "1MiB");
  EXPECT_EQ(range, "125..1GiB");
  EXPECT_EQ(reload, "yes");
  EXPECT_NE(line_of("listen[].address").find("(required)"), std::string::npos);
  EXPECT_NE(line_of("user").find("\"\""), std::string::npos);
}

TEST(SchemaTable, ExplainsTheValueSyntaxes) {
  std::string table = render_schema_table();
  EXPECT_NE(table.find("KB, MB and GB are rejected"), std::string::npos);
  EXPECT_NE(table.find("yes, no, on and off are rejected"), std::string::npos);
}

}  // namespace
}  // namespace wsgate::config
