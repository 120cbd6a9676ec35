// Event ids, times and the Events record format (see events.h).
#include "common/events.h"

#include <spdlog/fmt/fmt.h>

#include <ctime>

namespace wsgate {

std::string format_connection_id(uint32_t instance, uint64_t sequence) {
  return fmt::format("{}-{}", instance, sequence);
}

std::string format_event_time(uint64_t realtime_ns) {
  const time_t seconds = static_cast<time_t>(realtime_ns / 1000000000);
  const unsigned millis = static_cast<unsigned>(realtime_ns / 1000000 % 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", utc.tm_year + 1900,
                     utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, millis);
}

namespace {

void put_le(std::string& out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

uint32_t get_le(std::string_view bytes) {
  uint32_t value = 0;
  for (size_t i = 0; i < bytes.size(); ++i) {
    value |= static_cast<uint32_t>(static_cast<uint8_t>(bytes[i])) << (8 * i);
  }
  return value;
}

}  // namespace

void append_event_record(std::string& out, std::string_view route, std::string_view json) {
  // Routes are config paths (short); a longer one is cut rather than
  // framed wrongly.
  if (route.size() > 0xffff) route = route.substr(0, 0xffff);
  put_le(out, route.size(), 2);
  out.append(route);
  put_le(out, json.size(), 4);
  out.append(json);
}

bool EventRecordReader::next(std::string_view& route, std::string_view& json) {
  if (rest_.empty() || failed_) return false;
  auto take = [&](size_t size, std::string_view& part) {
    if (rest_.size() < size) return false;
    part = rest_.substr(0, size);
    rest_.remove_prefix(size);
    return true;
  };
  std::string_view length;
  if (!take(2, length) || !take(get_le(length), route) || !take(4, length) ||
      !take(get_le(length), json)) {
    failed_ = true;
    return false;
  }
  return true;
}

}  // namespace wsgate
