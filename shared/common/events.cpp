// Event ids, times and the Events record format (see events.h).
#include "common/events.h"

#include <spdlog/fmt/fmt.h>

#include <algorithm>
#include <charconv>
#include <ctime>

namespace wsgate {

void append_connection_id(std::string& out, uint32_t instance, uint64_t sequence) {
  char text[48];
  char* end = std::to_chars(text, text + 16, instance).ptr;
  *end++ = '-';
  end = std::to_chars(end, text + sizeof text, sequence).ptr;
  out.append(text, static_cast<size_t>(end - text));
}

std::string format_connection_id(uint32_t instance, uint64_t sequence) {
  std::string id;
  append_connection_id(id, instance, sequence);
  return id;
}

void append_event_time(std::string& out, uint64_t realtime_ns) {
  // "YYYY-MM-DDTHH:MM:SS." of the last second formatted, per thread.
  thread_local uint64_t cached_second = ~uint64_t{0};
  thread_local char prefix[32];
  thread_local size_t prefix_size = 0;
  const uint64_t second = realtime_ns / 1000000000;
  if (second != cached_second) {
    const time_t seconds = static_cast<time_t>(second);
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    const auto written = fmt::format_to_n(
        prefix, sizeof prefix, "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.", utc.tm_year + 1900,
        utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec);
    prefix_size = std::min(written.size, sizeof prefix);
    cached_second = second;
  }
  const unsigned millis = static_cast<unsigned>(realtime_ns / 1000000 % 1000);
  const char tail[5] = {static_cast<char>('0' + millis / 100),
                        static_cast<char>('0' + millis / 10 % 10),
                        static_cast<char>('0' + millis % 10), 'Z', 0};
  out.append(prefix, prefix_size).append(tail, 4);
}

std::string format_event_time(uint64_t realtime_ns) {
  std::string time;
  append_event_time(time, realtime_ns);
  return time;
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
  const size_t length_at = begin_event_record(out, route);
  out.append(json);
  end_event_record(out, length_at);
}

size_t begin_event_record(std::string& out, std::string_view route) {
  // Routes are config paths (short); a longer one is cut rather than
  // framed wrongly.
  if (route.size() > 0xffff) route = route.substr(0, 0xffff);
  put_le(out, route.size(), 2);
  out.append(route);
  const size_t length_at = out.size();
  put_le(out, 0, 4);
  return length_at;
}

void end_event_record(std::string& out, size_t length_at) {
  const uint64_t length = out.size() - length_at - 4;
  for (int i = 0; i < 4; ++i) out[length_at + i] = static_cast<char>((length >> (8 * i)) & 0xff);
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
