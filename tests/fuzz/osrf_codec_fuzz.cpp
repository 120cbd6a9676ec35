// libFuzzer target: the OpenSRF translator's parsers must answer any input
// (never crash, never loop), and what they accept must be stable: a
// normalised browser message, sent again, normalises to the same body, and
// a bus message's body parses back to the same body and statuses.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "osrf/codec.h"

namespace {

namespace osrf = wsgate::osrf;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "osrf_codec_fuzz: %s\n", what);
  std::abort();
}

void check_client(std::string_view text) {
  const osrf::ClientParse parsed = osrf::parse_client_message(text);
  if (!parsed.message) {
    if (parsed.detail.empty()) fail("a refusal without a reason");
    return;
  }
  const osrf::ClientMessage& m = *parsed.message;
  if (m.thread.empty() || m.thread.size() > osrf::kMaxThreadBytes) fail("thread out of bounds");
  if (m.log_xid && m.log_xid->size() > osrf::kMaxXidBytes) fail("log_xid out of bounds");
  if (m.service.size() > osrf::kMaxServiceBytes) fail("service out of bounds");
  if (m.messages.empty()) fail("accepted an empty osrf_msg");
  std::string again = "{\"thread\":\"t\",\"osrf_msg\":";
  again += m.body;
  again += '}';
  const osrf::ClientParse reparsed = osrf::parse_client_message(again);
  if (!reparsed.message) fail("a normalised body was refused");
  if (reparsed.message->body != m.body) fail("normalising is not idempotent");
}

void check_bus(std::string_view text) {
  std::string error;
  const auto m = osrf::parse_bus_message(text, error);
  if (!m) {
    if (error.empty()) fail("a bus refusal without a reason");
    return;
  }
  const std::string again = osrf::bus_envelope("to", m->from, m->thread, m->xid.value_or(""), m->body);
  const auto reparsed = osrf::parse_bus_message(again, error);
  if (!reparsed) fail("an envelope the gateway built was refused");
  if (reparsed->body != m->body || reparsed->statuses.size() != m->statuses.size())
    fail("a bus message changed on its way through an envelope");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  check_client(text);
  check_bus(text);
  return 0;
}
