// Walks a YAML document against the schema and collects its values with
// their key paths and positions; reports every shape problem on the way.
#include "config/document.h"

#include "config/suggest.h"

namespace wsgate::config {
namespace {

class Walker {
 public:
  explicit Walker(Diagnostics& errors) : errors_(errors) {}

  // Reads the keys of `map` as children of `parent` (nullptr for the top
  // level) into `section`; `prefix` is the key path shown for `parent`.
  void read_map(const YAML::Node& map, const SchemaEntry* parent, const std::string& prefix,
                Section& section);

 private:
  void read_value(const SchemaEntry& entry, const std::string& path, Location key_at,
                  const YAML::Node& value, Section& section);
  void read_items(const SchemaEntry& entry, const std::string& path, const YAML::Node& list,
                  Location list_at, Section& section);
  bool check_strings(const std::string& path, const YAML::Node& list, Location list_at);
  bool check_string_map(const std::string& path, const YAML::Node& map);
  void report_unknown(const SchemaEntry* parent, const std::string& name, const std::string& path,
                      Location key_at);

  // Reports `what` about the value of `entry` and keeps the loader from
  // reporting the same key again.
  void reject(const SchemaEntry& entry, const std::string& path, Location at, std::string_view what,
              const YAML::Node& value, Section& section) {
    errors_.add(at, path, what, got_node(value));
    section.rejected.emplace(entry.key);
  }

  Diagnostics& errors_;
};

void Walker::read_map(const YAML::Node& map, const SchemaEntry* parent, const std::string& prefix,
                      Section& section) {
  std::map<std::string, int, std::less<>> first_line;
  // Each pair is a value, not a reference into the map: yaml-cpp's
  // iterator hands out temporaries, so it->first would dangle.
  for (const auto& pair : map) {
    const YAML::Node& key = pair.first;
    Location key_at = location_of(key.Mark());
    if (!key.IsScalar()) {
      errors_.add(key_at, prefix.empty() ? "(document)" : prefix, "has a key that is not a word",
                  got_node(key));
      continue;
    }
    const std::string& name = key.Scalar();
    std::string path = prefix.empty() ? name : prefix + "." + name;
    auto [seen, inserted] = first_line.emplace(name, key_at.line);
    if (!inserted) {
      errors_.add(key_at, path,
                  "appears twice in the same map; first at line " + std::to_string(seen->second),
                  got_text(name));
      continue;
    }
    const SchemaEntry* entry = nullptr;
    if (name.find_first_of(".[]") == std::string::npos) {
      entry = find_schema(child_key(parent, name));
    }
    if (entry == nullptr) {
      report_unknown(parent, name, path, key_at);
      continue;
    }
    read_value(*entry, path, key_at, pair.second, section);
  }
}

void Walker::report_unknown(const SchemaEntry* parent, const std::string& name,
                            const std::string& path, Location key_at) {
  std::string what = "unknown key";
  size_t dot = name.find('.');
  if (parent == nullptr && dot != std::string::npos && find_schema(name) != nullptr) {
    what += "; dotted keys are not expanded: write '" + name.substr(dot + 1) + ":' nested under '" +
            name.substr(0, dot) + ":'";
  } else if (std::string suggestion = suggest_key(parent, name); !suggestion.empty()) {
    what += "; did you mean '" + suggestion + "'?";
  }
  errors_.add(key_at, path, what, got_text(name));
}

void Walker::read_value(const SchemaEntry& entry, const std::string& path, Location key_at,
                        const YAML::Node& value, Section& section) {
  // yaml-cpp marks an empty value at the next token, often on a later line;
  // such a value is reported at its key.
  Location at = location_of(value.Mark());
  if (!at.known() || (value.IsNull() && (at.line != key_at.line || at.column <= key_at.column))) {
    at = key_at;
  }
  switch (entry.type) {
    case ValueType::Map:
      section.maps[std::string(entry.key)] = MapKey{path, key_at};
      if (value.IsMap()) {
        read_map(value, &entry, path, section);
      } else if (!value.IsNull()) {
        reject(entry, path, at, "must be a map of settings (indented 'key: value' lines)", value,
               section);
      }
      return;
    case ValueType::List:
      if (!value.IsNull() && !value.IsSequence()) {
        reject(entry, path, at, "must be a list of maps, one '- key: value' item each", value,
               section);
        return;
      }
      read_items(entry, path, value, at, section);
      break;
    case ValueType::StringList:
    case ValueType::DurationList:
      if (!value.IsNull() && !value.IsSequence()) {
        reject(entry, path, at,
               entry.type == ValueType::StringList ? "must be a list of strings, as in [a, b]"
                                                   : "must be a list of durations, as in [1s, 5s]",
               value, section);
        return;
      }
      if (!check_strings(path, value, at)) {
        section.rejected.emplace(entry.key);
        return;
      }
      break;
    case ValueType::StringMap:
      if (!value.IsNull() && !value.IsMap()) {
        reject(entry, path, at, "must be a map of NAME: value pairs, as in {LANG: C.UTF-8}", value,
               section);
        return;
      }
      if (!check_string_map(path, value)) {
        section.rejected.emplace(entry.key);
        return;
      }
      break;
    default:
      if (value.IsNull()) {
        reject(entry, path, at,
               entry.type == ValueType::String || entry.type == ValueType::Path
                   ? "needs a value; write \"\" for an empty string"
                   : "needs a value",
               value, section);
        return;
      }
      if (!value.IsScalar()) {
        reject(entry, path, at,
               "must be a single value (" + std::string(type_name(entry.type)) + ")", value,
               section);
        return;
      }
      break;
  }
  section.settings[std::string(entry.key)] = Setting{&entry, path, value, at};
}

void Walker::read_items(const SchemaEntry& entry, const std::string& path, const YAML::Node& list,
                        Location list_at, Section& section) {
  std::vector<Section>& items = section.lists[std::string(entry.key)];
  size_t index = 0;
  for (const YAML::Node& item : list) {
    std::string item_path = path + "[" + std::to_string(index++) + "]";
    // yaml-cpp marks an empty item at the next token, so it gets the list's position.
    Location item_at = item.IsNull() ? list_at : location_of(item.Mark());
    if (!item.IsMap()) {
      errors_.add(item_at, item_path, "must be a map of settings ('- key: value')", got_node(item));
      section.rejected.emplace(entry.key);
      continue;
    }
    Section item_section;
    item_section.path = item_path;
    item_section.list = &entry;
    item_section.where = item_at;
    read_map(item, &entry, item_path, item_section);
    items.push_back(std::move(item_section));
  }
}

bool Walker::check_strings(const std::string& path, const YAML::Node& list, Location list_at) {
  bool ok = true;
  size_t index = 0;
  for (const YAML::Node& element : list) {
    std::string element_path = path + "[" + std::to_string(index++) + "]";
    if (element.IsScalar()) continue;
    ok = false;
    if (element.IsNull()) {
      errors_.add(list_at, element_path,
                  "is empty (YAML reads a bare null or ~ as nothing; write \"null\" in quotes "
                  "for the text null)",
                  got_node(element));
    } else {
      errors_.add(location_of(element.Mark()), element_path, "must be a string", got_node(element));
    }
  }
  return ok;
}

// Checks the pairs of a StringMap: each key a word that appears once, each
// value a scalar. Reports every problem; true when there was none.
bool Walker::check_string_map(const std::string& path, const YAML::Node& map) {
  bool ok = true;
  std::map<std::string, int, std::less<>> first_line;
  for (const auto& pair : map) {
    const Location key_at = location_of(pair.first.Mark());
    if (!pair.first.IsScalar()) {
      errors_.add(key_at, path, "has a key that is not a word", got_node(pair.first));
      ok = false;
      continue;
    }
    const std::string& name = pair.first.Scalar();
    const std::string name_path = path + "." + name;
    auto [seen, inserted] = first_line.emplace(name, key_at.line);
    if (!inserted) {
      errors_.add(key_at, name_path,
                  "appears twice in the same map; first at line " + std::to_string(seen->second),
                  got_text(name));
      ok = false;
      continue;
    }
    if (pair.second.IsNull()) {
      errors_.add(key_at, name_path, "needs a value; write \"\" for an empty string",
                  got_node(pair.second));
      ok = false;
    } else if (!pair.second.IsScalar()) {
      errors_.add(location_of(pair.second.Mark()), name_path, "must be a single value (string)",
                  got_node(pair.second));
      ok = false;
    }
  }
  return ok;
}

}  // namespace

Section read_document(const YAML::Node& root, Diagnostics& errors) {
  Section section;
  section.where = root.IsDefined() && !root.IsNull() ? location_of(root.Mark()) : Location{1, 1};
  if (!section.where.known()) section.where = {1, 1};
  if (!root.IsDefined() || root.IsNull()) return section;
  if (!root.IsMap()) {
    errors.add(section.where, "(document)", "must be a map of settings such as 'listen:'",
               got_node(root));
    return section;
  }
  Walker(errors).read_map(root, nullptr, "", section);
  return section;
}

}  // namespace wsgate::config
