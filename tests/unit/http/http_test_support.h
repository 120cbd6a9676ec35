// Test support for the handshake: parse one complete input with default
// limits and keep everything the parser reported.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "http/handshake.h"

namespace wsgate::http::testing {

struct Outcome {
  RequestHeadParser::Status status;
  size_t consumed;
  HttpError error;
  Request request;
};

// Feeds `bytes` in one call to a fresh parser with default HeadLimits.
inline Outcome parse(std::string_view bytes) {
  RequestHeadParser parser(HeadLimits{});
  size_t consumed = 0;
  const auto status =
      parser.feed({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()}, consumed);
  return {status, consumed, parser.error(), parser.request()};
}

}  // namespace wsgate::http::testing
