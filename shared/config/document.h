// Walks a parsed YAML document against the schema: checks its shape (known
// keys, no duplicates, maps, lists and scalars where the schema wants them)
// and collects each value with its key path and position for the loader.
#pragma once

#include <yaml-cpp/yaml.h>

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "config/diagnostics.h"
#include "config/schema.h"

namespace wsgate::config {

// One value found in the file.
struct Setting {
  const SchemaEntry* entry = nullptr;
  std::string path;  // as shown in messages: "limits.max_frame", "listen[1].address"
  YAML::Node node;   // the value as written; a Null node for "key:" with nothing after it
  Location where;    // of the value, or of the key when the value is empty
};

// A Map key as written: "proxy:" of a route.
struct MapKey {
  std::string path;  // as shown in messages: "routes[0].proxy"
  Location where;    // of the key
};

// The values of one mapping: the whole document, or one item of a List
// key. Map keys (log, limits, timeouts) are flattened into their section,
// so the document's section holds "limits.max_frame" directly.
struct Section {
  std::string path;                   // "" for the document, "listen[1]" for an item
  const SchemaEntry* list = nullptr;  // the List row this is an item of; nullptr for the document
  Location where;                     // where the mapping starts
  std::map<std::string, Setting, std::less<>> settings;            // by schema key
  std::map<std::string, std::vector<Section>, std::less<>> lists;  // items, by schema key
  std::set<std::string, std::less<>> rejected;  // keys present but already reported as wrong
  // Map keys written in this mapping ("routes[].proxy"), so a rule about a
  // whole map can name it at its line; the map's values are in `settings`.
  std::map<std::string, MapKey, std::less<>> maps;
};

// Walks `root` (the first document of the file; Null for an empty file)
// and returns its section. Every shape problem is added to `errors`: a
// document that is not a map, unknown keys (with a suggestion), keys that
// appear twice, a scalar where a map or list belongs and the reverse, list
// items that are not maps, scalar keys with no value, and StringMap pairs
// whose key repeats or whose value is not a scalar. The values of scalar
// keys (and list elements) are not parsed here. An empty value is taken as
// an empty map or list for Map, List, StringList, DurationList and
// StringMap keys.
Section read_document(const YAML::Node& root, Diagnostics& errors);

}  // namespace wsgate::config
