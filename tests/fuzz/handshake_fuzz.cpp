// libFuzzer target: the request-head parser must give the same answer for
// any chunking of its input, and every Complete request must survive the
// upgrade checks and response builders.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>

#include "http/handshake.h"

namespace {

using wsgate::http::HeadLimits;
using wsgate::http::Request;
using wsgate::http::RequestHeadParser;
using Status = RequestHeadParser::Status;

struct Result {
  Status status = Status::NeedMore;
  size_t position = 0;  // absolute end of the head, or of the bytes examined
};

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "handshake_fuzz: %s\n", what);
  std::abort();
}

// xorshift32; deterministic per input so crashes reproduce.
uint32_t next(uint32_t& state) {
  state ^= state << 13;
  state ^= state >> 17;
  state ^= state << 5;
  return state;
}

Result feed_whole(RequestHeadParser& parser, std::span<const uint8_t> input) {
  size_t consumed = 0;
  const Status status = parser.feed(input, consumed);
  return {status, consumed};
}

// Feeds `input` in pseudo-random chunks of 1 to 128 bytes (often 1-3).
Result feed_chopped(RequestHeadParser& parser, std::span<const uint8_t> input, uint32_t state) {
  size_t offset = 0;
  Result result;
  do {
    const uint32_t r = next(state);
    const size_t limit = size_t{1} << (r % 8);
    const size_t chunk = std::min(input.size() - offset, 1 + (r >> 8) % limit);
    size_t consumed = 0;
    result.status = parser.feed(input.subspan(offset, chunk), consumed);
    if (consumed > chunk) fail("consumed more than was fed");
    if (result.status == Status::NeedMore && consumed != chunk)
      fail("NeedMore left bytes unconsumed");
    result.position = offset + consumed;
    offset += chunk;
  } while (result.status == Status::NeedMore && offset < input.size());
  return result;
}

bool same_request(const Request& a, const Request& b) {
  return a.method == b.method && a.http_major == b.http_major && a.http_minor == b.http_minor &&
         a.target == b.target && a.path == b.path && a.query == b.query && a.host == b.host &&
         a.origin == b.origin && a.protocols == b.protocols && a.extensions == b.extensions &&
         a.headers == b.headers && a.upgrade_websocket == b.upgrade_websocket &&
         a.connection_upgrade == b.connection_upgrade && a.key == b.key && a.version == b.version &&
         a.has_body == b.has_body;
}

// Everything a worker would do with a parsed request, minus the I/O.
void exercise(const Request& request) {
  if (request.has_body) fail("Complete request with a body");
  const auto error = wsgate::http::validate_upgrade(request);
  if (!error) {
    if (request.key.size() != 24) fail("accepted a key that is not 24 characters");
    const std::string accept = wsgate::http::accept_key(request.key);
    if (accept.size() != 28) fail("accept key is not 28 characters");
    const auto protocol =
        wsgate::http::select_subprotocol(request.protocols, {"chat", "superchat"});
    const std::string response = wsgate::http::make_101_response(accept, protocol);
    if (response.find("Sec-WebSocket-Extensions") != std::string::npos)
      fail("answered an extension");
  } else {
    const std::string response = wsgate::http::make_response(
        error->status, error->reason, error->status == 405 ? "Allow: GET\r\n" : "");
    if (!response.ends_with(std::string(error->reason) + "\n")) fail("response body mismatch");
  }
  (void)wsgate::http::origin_allowed(request.origin, {"https://app.example", "null"});
  (void)wsgate::http::wants_upgrade(request);
  for (const auto& [name, value] : request.headers) {
    if (request.header(name) == std::nullopt) fail("header() misses a parsed header");
    (void)value;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t seed = data[0];
  const std::span<const uint8_t> input(data + 1, size - 1);
  // The seed's top bit picks tiny limits so the limit paths are reached.
  const HeadLimits limits = (seed & 0x80) ? HeadLimits{48, 160, 6} : HeadLimits{};

  RequestHeadParser whole(limits);
  RequestHeadParser chopped(limits);
  const Result a = feed_whole(whole, input);
  const Result b = feed_chopped(chopped, input, 0x9e3779b9u ^ (uint32_t{seed} * 0x01000193u));

  if (a.status != b.status) fail("status differs between whole and chopped input");
  if (a.status != Status::NeedMore && a.position != b.position) fail("position differs");
  if (a.status == Status::Error) {
    if (whole.error().status != chopped.error().status ||
        whole.error().reason != chopped.error().reason) {
      fail("error differs between whole and chopped input");
    }
    const int status = whole.error().status;
    if (status != 400 && status != 414 && status != 431 && status != 500) fail("unexpected status");
  }
  if (!same_request(whole.request(), chopped.request())) fail("request differs");
  if (a.status == Status::Complete) {
    const std::string_view head(reinterpret_cast<const char*>(input.data()), a.position);
    if (!head.ends_with("\r\n\r\n")) fail("head does not end in CRLFCRLF");
    if (a.position > limits.max_header_bytes) fail("head larger than the limit");
    exercise(whole.request());
  }
  return 0;
}
