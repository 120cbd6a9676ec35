// Checks one scalar against its schema row: first the syntax of the row's
// type (values.h), then the row's range or its allowed words.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "config/schema.h"
#include "config/values.h"

namespace wsgate::config {

// Parses `text` as a number of the entry's type and checks it against the
// entry's [min, max]: Int as is, Duration in milliseconds (and each element
// of a DurationList), Size in bytes, WorkerCount as an integer or "auto"
// (the CPU count, at least 1, capped at max). The entry must have one of
// those types. The entry's words ("inherit") are not numbers and fail here.
Parsed<int64_t> parse_number(const SchemaEntry& entry, std::string_view text);

// Checks `text` as a value of any scalar entry type, or as one element of a
// DurationList. A number may also be one of the entry's words. Returns ""
// when it is valid, otherwise what is wrong with it. Rules that belong to
// one key rather than to its type (health_path starts with /) are the
// loader's.
std::string check_scalar(const SchemaEntry& entry, std::string_view text);

// A number of the entry's type written the way a config file writes it:
// "30s" for a Duration, "64KiB" for a Size, decimal otherwise.
std::string format_number(const SchemaEntry& entry, int64_t value);

// True when `word` is one of the '|'-separated words of `words`.
bool is_one_of(std::string_view word, std::string_view words);

}  // namespace wsgate::config
