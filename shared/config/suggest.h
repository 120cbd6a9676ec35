// "Did you mean" for unknown config keys: finds the schema key a misspelled
// or misplaced key most likely meant.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "config/schema.h"

namespace wsgate::config {

// Optimal string alignment distance: insertions, deletions, substitutions
// and transpositions of adjacent characters each cost 1.
size_t edit_distance(std::string_view a, std::string_view b);

// The key to suggest for `name`, found where `parent` (nullptr for the top
// level) allows only schema children. Tries, in order: a sibling equal
// ignoring case; the sibling within edit distance 2 closest to `name`
// (first in schema order on a tie); a key elsewhere in the schema whose last
// part equals `name` ignoring case, or is within distance 1 of it. A
// sibling is returned by its own name ("max_frame"), a key elsewhere by its
// full schema key ("limits.max_frame"). Returns "" when nothing is close.
std::string suggest_key(const SchemaEntry* parent, std::string_view name);

}  // namespace wsgate::config
