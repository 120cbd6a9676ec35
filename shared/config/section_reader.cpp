// Reads typed, checked values out of one section of the config document.
#include "config/section_reader.h"

#include <filesystem>
#include <stdexcept>

#include "config/typed_value.h"

namespace wsgate::config {

SectionReader::SectionReader(const Section& section, Diagnostics& errors, std::string base_dir)
    : section_(section), errors_(errors), base_dir_(std::move(base_dir)) {}

const SchemaEntry& SectionReader::row(std::string_view key,
                                      std::initializer_list<ValueType> types) {
  const SchemaEntry* entry = find_schema(key);
  if (entry == nullptr) throw std::logic_error("config: no schema row for " + std::string(key));
  bool type_ok = false;
  for (ValueType type : types) type_ok = type_ok || entry->type == type;
  if (!type_ok) {
    throw std::logic_error("config: " + std::string(key) + " is a " +
                           std::string(type_name(entry->type)) + " in the schema");
  }
  read_.insert(entry->key);
  return *entry;
}

const Setting* SectionReader::find(std::string_view key) const {
  if (section_.rejected.contains(key)) return nullptr;
  auto it = section_.settings.find(key);
  return it == section_.settings.end() ? nullptr : &it->second;
}

bool SectionReader::present(std::string_view key) const {
  return section_.settings.contains(key) || section_.maps.contains(key);
}

Location SectionReader::where(std::string_view key) const {
  if (auto map = section_.maps.find(key); map != section_.maps.end()) return map->second.where;
  auto it = section_.settings.find(key);
  return it == section_.settings.end() ? section_.where : it->second.where;
}

std::string SectionReader::display(std::string_view key) const {
  if (auto map = section_.maps.find(key); map != section_.maps.end()) return map->second.path;
  auto it = section_.settings.find(key);
  if (it != section_.settings.end()) return it->second.path;
  if (section_.list == nullptr) return std::string(key);
  return section_.path + "." + std::string(key.substr(section_.list->key.size() + 3));
}

std::string SectionReader::position(std::string_view key) const {
  const Location at = where(key);
  return errors_.file() + ":" + std::to_string(at.known() ? at.line : 1) + ":" +
         std::to_string(at.known() ? at.column : 1);
}

std::string SectionReader::origin(std::string_view key) const {
  return position(key) + ": " + display(key);
}

void SectionReader::error(std::string_view key, std::string_view what, std::string_view got) {
  errors_.add(where(key), display(key), what, got);
  failed_.insert(std::string(key));
}

void SectionReader::error(const ListElement& element, std::string_view key, std::string_view what,
                          std::string_view got) {
  errors_.add(element.where.known() ? element.where : where(key), element.path, what, got);
  failed_.insert(std::string(key));
}

void SectionReader::error(const MapElement& element, std::string_view key, std::string_view what,
                          std::string_view got) {
  errors_.add(element.where.known() ? element.where : where(key), element.path, what, got);
  failed_.insert(std::string(key));
}

bool SectionReader::ok(std::string_view key) const {
  return !failed_.contains(key) && !section_.rejected.contains(key);
}

void SectionReader::bad_default(const SchemaEntry& entry, std::string_view why) const {
  throw std::logic_error("config: schema default of " + std::string(entry.key) + " (" +
                         std::string(entry.default_text) + ") " + std::string(why));
}

std::string SectionReader::default_scalar(const SchemaEntry& entry) const {
  YAML::Node node = YAML::Load(std::string(entry.default_text));
  if (!node.IsScalar()) bad_default(entry, "is not a scalar");
  if (std::string why = check_scalar(entry, node.Scalar()); !why.empty()) bad_default(entry, why);
  return node.Scalar();
}

std::optional<std::string> SectionReader::raw(const SchemaEntry& entry) {
  if (const Setting* setting = find(entry.key)) {
    const std::string& text = setting->node.Scalar();
    std::string why = check_scalar(entry, text);
    if (why.empty()) return text;
    error(entry.key, why, got_text(text));
  } else if (is_required(entry)) {
    if (!section_.rejected.contains(entry.key)) error(entry.key, "is required", "nothing");
    return std::nullopt;
  }
  if (is_required(entry)) return std::nullopt;
  return default_scalar(entry);
}

bool SectionReader::boolean(std::string_view key) {
  const SchemaEntry& entry = row(key, {ValueType::Bool});
  std::optional<std::string> text = raw(entry);
  return text && *parse_bool(*text).value;
}

int64_t SectionReader::number(std::string_view key) {
  const SchemaEntry& entry =
      row(key, {ValueType::Int, ValueType::Duration, ValueType::Size, ValueType::WorkerCount});
  if (!entry.enum_values.empty()) {
    throw std::logic_error("config: " + std::string(key) + " takes words; use optional_number");
  }
  std::optional<std::string> text = raw(entry);
  return text ? *parse_number(entry, *text).value : 0;
}

std::optional<int64_t> SectionReader::optional_number(std::string_view key) {
  const SchemaEntry& entry = row(key, {ValueType::Int, ValueType::Duration, ValueType::Size});
  if (entry.enum_values.empty()) {
    throw std::logic_error("config: " + std::string(key) + " takes no words; use number");
  }
  std::optional<std::string> text = raw(entry);
  if (!text || is_one_of(*text, entry.enum_values)) return std::nullopt;
  return *parse_number(entry, *text).value;
}

std::string SectionReader::text(std::string_view key) {
  const SchemaEntry& entry = row(key, {ValueType::String, ValueType::Enum});
  return raw(entry).value_or("");
}

std::string SectionReader::path(std::string_view key) {
  const SchemaEntry& entry = row(key, {ValueType::Path});
  std::optional<std::string> text = raw(entry);
  if (!text) return "";
  if (text->empty() || is_one_of(*text, entry.enum_values)) return *text;
  std::filesystem::path resolved(*text);
  if (resolved.is_relative()) resolved = std::filesystem::path(base_dir_) / resolved;
  return resolved.lexically_normal().string();
}

std::optional<ListenAddress> SectionReader::address(std::string_view key) {
  const SchemaEntry& entry = row(key, {ValueType::Address});
  std::optional<std::string> text = raw(entry);
  if (!text) return std::nullopt;
  return parse_address(*text).value;
}

std::vector<ListElement> SectionReader::strings(std::string_view key) {
  const SchemaEntry& entry = row(key, {ValueType::StringList});
  std::vector<ListElement> elements;
  const Setting* setting = find(key);
  if (setting == nullptr) {
    YAML::Node node = YAML::Load(std::string(entry.default_text));
    if (!node.IsSequence()) bad_default(entry, "is not a list");
    for (const YAML::Node& element : node) {
      if (!element.IsScalar()) bad_default(entry, "is not a list of strings");
      elements.push_back({element.Scalar(), display(key), section_.where});
    }
    return elements;
  }
  size_t index = 0;
  for (const YAML::Node& element : setting->node) {
    std::string path = setting->path + "[" + std::to_string(index++) + "]";
    elements.push_back({element.Scalar(), std::move(path), location_of(element.Mark())});
  }
  return elements;
}

std::vector<Duration> SectionReader::durations(std::string_view key) {
  const SchemaEntry& entry = row(key, {ValueType::DurationList});
  auto parse_all = [&](const YAML::Node& list, bool report) {
    std::vector<Duration> values;
    bool ok = true;
    size_t index = 0;
    for (const YAML::Node& element : list) {
      const std::string& text = element.Scalar();
      Parsed<int64_t> number = parse_number(entry, text);
      if (number) {
        values.emplace_back(*number.value);
      } else if (report) {
        const std::string path = display(key) + "[" + std::to_string(index) + "]";
        error(ListElement{text, path, location_of(element.Mark())}, key, number.error,
              got_text(text));
        ok = false;
      } else {
        bad_default(entry, number.error);
      }
      ++index;
    }
    return ok ? std::optional(values) : std::nullopt;
  };
  YAML::Node fallback = YAML::Load(std::string(entry.default_text));
  if (!fallback.IsSequence()) bad_default(entry, "is not a list");
  std::vector<Duration> defaults = *parse_all(fallback, false);
  const Setting* setting = find(key);
  if (setting == nullptr) return defaults;
  return parse_all(setting->node, true).value_or(defaults);
}

std::vector<MapElement> SectionReader::string_map(std::string_view key) {
  const SchemaEntry& entry = row(key, {ValueType::StringMap});
  std::vector<MapElement> elements;
  const Setting* setting = find(key);
  YAML::Node map = setting != nullptr ? setting->node : YAML::Load(std::string(entry.default_text));
  if (setting == nullptr && !map.IsMap()) bad_default(entry, "is not a map");
  const std::string prefix = setting != nullptr ? setting->path : display(key);
  for (const auto& pair : map) {
    if (setting == nullptr && !pair.second.IsScalar()) bad_default(entry, "is not a string map");
    elements.push_back({pair.first.Scalar(), pair.second.Scalar(),
                        prefix + "." + pair.first.Scalar(),
                        setting != nullptr ? location_of(pair.first.Mark()) : section_.where});
  }
  return elements;
}

const std::vector<Section>& SectionReader::items(std::string_view key) {
  static const std::vector<Section> kNone;
  const SchemaEntry& entry = row(key, {ValueType::List});
  auto list = section_.lists.find(key);
  const std::vector<Section>& found = list == section_.lists.end() ? kNone : list->second;
  if (section_.rejected.contains(key)) return found;
  if (!present(key)) {
    if (is_required(entry)) {
      error(key, "is required, with at least " + std::to_string(entry.min) + " item(s)", "nothing");
    } else if (entry.min > 0) {
      bad_default(entry, "has fewer items than the minimum");
    }
    return found;
  }
  auto count = static_cast<int64_t>(found.size());
  std::string got = count == 0 ? "an empty list" : std::to_string(count) + " items";
  if (count < entry.min) {
    error(key,
          "must have at least " + std::to_string(entry.min) + (entry.min == 1 ? " item" : " items"),
          got);
  } else if (count > entry.max) {
    error(key, "must have at most " + std::to_string(entry.max) + " items", got);
  }
  return found;
}

std::vector<std::string_view> SectionReader::unread_keys() const {
  std::vector<std::string_view> unread;
  for (const SchemaEntry& entry : schema()) {
    if (entry.type == ValueType::Map || read_.contains(entry.key)) continue;
    std::string_view key = entry.key;
    if (section_.list != nullptr) {
      std::string prefix = std::string(section_.list->key) + "[].";
      if (!key.starts_with(prefix)) continue;
      key.remove_prefix(prefix.size());
    }
    if (key.find("[]") == std::string_view::npos) unread.push_back(entry.key);
  }
  return unread;
}

}  // namespace wsgate::config
