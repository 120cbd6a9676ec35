// permessage-deflate negotiation (see deflate_negotiation.h).
#include "ws/deflate_negotiation.h"

#include <algorithm>
#include <string_view>
#include <vector>

namespace wsgate::ws {
namespace {

struct Parameter {
  std::string_view name;
  std::optional<std::string> value;  // unquoted
};

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return (x | 0x20) == (y | 0x20);
         });
}

// Splits `element` at the semicolons outside quoted strings: the extension
// name, then its parameters. false if a quoted value is malformed.
bool split_element(std::string_view element, std::string_view& name,
                   std::vector<Parameter>& parameters) {
  std::vector<std::string_view> parts;
  bool quoted = false;
  size_t start = 0;
  for (size_t i = 0; i < element.size(); ++i) {
    const char c = element[i];
    if (quoted && c == '\\') {
      ++i;
    } else if (c == '"') {
      quoted = !quoted;
    } else if (c == ';' && !quoted) {
      parts.push_back(trim(element.substr(start, i - start)));
      start = i + 1;
    }
  }
  if (quoted) return false;
  parts.push_back(trim(element.substr(start)));
  name = parts.front();
  for (size_t i = 1; i < parts.size(); ++i) {
    const std::string_view part = parts[i];
    Parameter parameter;
    const size_t equals = part.find('=');
    parameter.name = trim(part.substr(0, equals));
    if (equals != std::string_view::npos) {
      std::string_view raw = trim(part.substr(equals + 1));
      std::string value;
      if (raw.size() >= 2 && raw.front() == '"' && raw.back() == '"') {
        raw = raw.substr(1, raw.size() - 2);
        for (size_t j = 0; j < raw.size(); ++j) {
          if (raw[j] == '\\' && j + 1 < raw.size()) ++j;
          value += raw[j];
        }
      } else {
        value.assign(raw);
      }
      parameter.value = std::move(value);
    }
    if (parameter.name.empty()) return false;
    parameters.push_back(std::move(parameter));
  }
  return true;
}

// "8".."15" without sign or leading zero, as RFC 7692 §7.1.2 writes it
// (1*DIGIT, no leading 0), or 0 when it is not.
int window_bits(const std::string& value) {
  if (value.empty() || value.size() > 2 || value.front() == '0') return 0;
  int bits = 0;
  for (char c : value) {
    if (c < '0' || c > '9') return 0;
    bits = bits * 10 + (c - '0');
  }
  return bits >= 8 && bits <= 15 ? bits : 0;
}

// One offer against the policy; nullopt declines it.
std::optional<DeflateParameters> accept_offer(const std::vector<Parameter>& parameters,
                                              const DeflatePolicy& policy) {
  bool server_no_takeover = false, client_no_takeover = false;
  std::optional<int> server_max_bits;  // offered server_max_window_bits
  std::optional<int> client_max_bits;  // its value, when one was given
  std::vector<std::string_view> seen;
  for (const Parameter& p : parameters) {
    if (std::find(seen.begin(), seen.end(), p.name) != seen.end()) return std::nullopt;
    seen.push_back(p.name);
    if (p.name == "server_no_context_takeover" || p.name == "client_no_context_takeover") {
      if (p.value) return std::nullopt;  // these take no value
      (p.name.front() == 's' ? server_no_takeover : client_no_takeover) = true;
    } else if (p.name == "server_max_window_bits") {
      const int bits = p.value ? window_bits(*p.value) : 0;
      if (bits == 0) return std::nullopt;  // a value is required
      server_max_bits = bits;
    } else if (p.name == "client_max_window_bits") {
      if (p.value) {
        const int bits = window_bits(*p.value);
        if (bits == 0) return std::nullopt;
        client_max_bits = bits;
      }
    } else {
      return std::nullopt;  // PMD-01: unknown parameter
    }
  }
  // PMD-04: zlib's raw deflate cannot use a 256-byte window.
  if (server_max_bits && *server_max_bits < 9) return std::nullopt;

  DeflateParameters accepted;
  accepted.server_no_context_takeover = server_no_takeover || !policy.server_context_takeover;
  accepted.client_no_context_takeover = client_no_takeover || !policy.client_context_takeover;
  accepted.server_window_bits =
      std::min(server_max_bits.value_or(15), policy.server_max_window_bits);
  accepted.client_window_bits = client_max_bits.value_or(15);
  std::string& r = accepted.response;
  r = "permessage-deflate";
  if (accepted.server_no_context_takeover) r += "; server_no_context_takeover";
  if (accepted.client_no_context_takeover) r += "; client_no_context_takeover";
  // Sent when asked (it must then be at most the offered value) or when
  // the policy shrinks our window unasked (PMD-04 allows both).
  if (server_max_bits || accepted.server_window_bits < 15) {
    r += "; server_max_window_bits=" + std::to_string(accepted.server_window_bits);
  }
  // PMD-05: client_max_window_bits is never answered: the inflater uses a
  // full window, which is correct for any client window.
  return accepted;
}

}  // namespace

std::optional<DeflateParameters> negotiate_deflate(std::span<const std::string> offers,
                                                   const DeflatePolicy& policy) {
  for (const std::string& offer : offers) {
    std::string_view name;
    std::vector<Parameter> parameters;
    if (!split_element(offer, name, parameters)) continue;
    if (!equals_ignoring_case(name, "permessage-deflate")) continue;
    if (auto accepted = accept_offer(parameters, policy)) return accepted;
  }
  return std::nullopt;
}

}  // namespace wsgate::ws
