// Percent-decoding (see percent_decode.h).
#include "http/percent_decode.h"

namespace wsgate::http {
namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::optional<PercentDecoded> percent_decode(std::string_view text, bool plus_is_space) {
  PercentDecoded out;
  out.text.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+' && plus_is_space) {
      out.text += ' ';
      continue;
    }
    if (text[i] != '%') {
      out.text += text[i];
      continue;
    }
    if (i + 2 >= text.size()) return std::nullopt;
    const int high = hex_digit(text[i + 1]);
    const int low = hex_digit(text[i + 2]);
    if (high < 0 || low < 0) return std::nullopt;
    const char c = static_cast<char>(high * 16 + low);
    if (c == '/' || c == '\0') out.encoded_slash_or_nul = true;
    out.text += c;
    i += 2;
  }
  return out;
}

}  // namespace wsgate::http
