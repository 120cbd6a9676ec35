// Static routes' validators, conditionals, ranges and response heads (see
// static_response.h).
#include "http/static_response.h"

#include <array>
#include <cinttypes>
#include <cstdio>
#include <ctime>

namespace wsgate::http {
namespace {

constexpr std::array<std::string_view, 7> kDays{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr std::array<std::string_view, 12> kMonths{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

bool is_letter(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

// Reads an HTTP-date left to right; each step fails without moving on a
// mismatch, and the caller gives up at the first failure.
class DateCursor {
 public:
  explicit DateCursor(std::string_view text) : text_(text) {}

  bool literal(std::string_view expected) {
    if (text_.substr(at_, expected.size()) != expected) return false;
    at_ += expected.size();
    return true;
  }
  bool number(size_t digits, int& value) {
    value = 0;
    for (size_t i = 0; i < digits; ++i) {
      if (at_ >= text_.size() || !is_digit(text_[at_])) return false;
      value = value * 10 + (text_[at_++] - '0');
    }
    return true;
  }
  // A day name, which is not checked against the date (RFC 9110 does not
  // ask a recipient to).
  bool day_name() {
    const size_t start = at_;
    while (at_ < text_.size() && is_letter(text_[at_])) ++at_;
    return at_ - start >= 3;
  }
  bool month(int& value) {
    for (size_t m = 0; m < kMonths.size(); ++m) {
      if (literal(kMonths[m])) {
        value = static_cast<int>(m);
        return true;
      }
    }
    return false;
  }
  bool clock(std::tm& tm) {
    return number(2, tm.tm_hour) && literal(":") && number(2, tm.tm_min) && literal(":") &&
           number(2, tm.tm_sec);
  }
  bool at_end() const { return at_ == text_.size(); }

 private:
  std::string_view text_;
  size_t at_ = 0;
};

std::optional<int64_t> to_seconds(std::tm& tm) {
  if (tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60) {
    return std::nullopt;
  }
  return static_cast<int64_t>(timegm(&tm));
}

// Comma-separated entity tags, or "*". With `weak`, W/ is ignored on both
// sides (the weak comparison of If-None-Match); without, a W/ tag matches
// nothing (the strong comparison of If-Match). Our tags hold no comma, so
// a split inside someone else's quoted tag cannot make a false match.
bool tag_list_matches(std::string_view list, std::string_view etag, bool weak) {
  list = trim(list);
  if (list == "*") return true;
  while (!list.empty()) {
    const size_t comma = list.find(',');
    std::string_view tag = trim(list.substr(0, comma));
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    if (tag.starts_with("W/")) {
      if (!weak) continue;
      tag.remove_prefix(2);
    }
    if (tag == etag) return true;
  }
  return false;
}

// If-Range: an entity tag must match strongly; a date must be exactly the
// file's Last-Modified. Anything else means "send the whole file".
bool if_range_holds(std::string_view value, std::string_view etag, int64_t mtime) {
  value = trim(value);
  if (value.starts_with("\"") || value.starts_with("W/")) return value == etag;
  const std::optional<int64_t> date = parse_http_date(value);
  return date && *date == mtime;
}

// "123" as a number, saturating at UINT64_MAX; nullopt unless all digits.
std::optional<uint64_t> position(std::string_view digits) {
  if (digits.empty()) return std::nullopt;
  uint64_t value = 0;
  for (char c : digits) {
    if (!is_digit(c)) return std::nullopt;
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    value = value > (UINT64_MAX - digit) / 10 ? UINT64_MAX : value * 10 + digit;
  }
  return value;
}

bool equal_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    const char x = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] - 'A' + 'a') : a[i];
    if (x != b[i]) return false;
  }
  return true;
}

std::string status_line(int status) {
  return "HTTP/1.1 " + std::to_string(status) + " " + std::string(status_text(status)) + "\r\n";
}

// The headers every file answer ends with.
void append_tail(std::string& head, int64_t now) {
  head.append("Date: ").append(http_date(now)).append("\r\nConnection: close\r\n\r\n");
}

// 412 and 416: a short text body (none for HEAD) and `extra` headers.
FileAnswer refusal(int status, std::string_view body, std::string_view extra, bool head_only,
                   int64_t now) {
  FileAnswer answer;
  answer.status = status;
  answer.head = status_line(status);
  answer.head.append("Content-Type: text/plain; charset=utf-8\r\nContent-Length: ")
      .append(std::to_string(body.size() + 1))
      .append("\r\n")
      .append(extra);
  append_tail(answer.head, now);
  if (!head_only) answer.head.append(body).append("\n");
  return answer;
}

}  // namespace

FileRequest file_request_of(const Request& request) {
  FileRequest out;
  out.head = request.method == "HEAD";
  auto copy = [&](std::string_view name) -> std::optional<std::string> {
    const std::optional<std::string_view> value = request.header(name);
    if (!value) return std::nullopt;
    return std::string(*value);
  };
  out.if_match = copy("if-match");
  out.if_none_match = copy("if-none-match");
  out.if_modified_since = copy("if-modified-since");
  out.if_unmodified_since = copy("if-unmodified-since");
  out.range = copy("range");
  out.if_range = copy("if-range");
  return out;
}

std::string make_etag(const FileFacts& file) {
  char text[48];
  std::snprintf(text, sizeof text, "\"%" PRIx64 "-%" PRIx64 "\"", static_cast<uint64_t>(file.mtime),
                file.size);
  return text;
}

std::string http_date(int64_t unix_seconds) {
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[40];
  std::snprintf(text, sizeof text, "%s, %02d %s %04d %02d:%02d:%02d GMT",
                kDays[static_cast<size_t>(tm.tm_wday)].data(), tm.tm_mday,
                kMonths[static_cast<size_t>(tm.tm_mon)].data(), tm.tm_year + 1900, tm.tm_hour,
                tm.tm_min, tm.tm_sec);
  return text;
}

std::optional<int64_t> parse_http_date(std::string_view text) {
  text = trim(text);
  std::tm tm{};
  int year = 0;
  {
    // IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
    DateCursor c(text);
    if (c.day_name() && c.literal(", ") && c.number(2, tm.tm_mday) && c.literal(" ") &&
        c.month(tm.tm_mon) && c.literal(" ") && c.number(4, year) && c.literal(" ") &&
        c.clock(tm) && c.literal(" GMT") && c.at_end()) {
      tm.tm_year = year - 1900;
      return to_seconds(tm);
    }
  }
  {
    // RFC 850: Sunday, 06-Nov-94 08:49:37 GMT; a two-digit year below 70
    // is 20xx (RFC 9110 asks for the nearest past century's reading).
    DateCursor c(text);
    if (c.day_name() && c.literal(", ") && c.number(2, tm.tm_mday) && c.literal("-") &&
        c.month(tm.tm_mon) && c.literal("-") && c.number(2, year) && c.literal(" ") &&
        c.clock(tm) && c.literal(" GMT") && c.at_end()) {
      tm.tm_year = year < 70 ? year + 100 : year;
      return to_seconds(tm);
    }
  }
  {
    // asctime: Sun Nov  6 08:49:37 1994
    DateCursor c(text);
    if (c.day_name() && c.literal(" ") && c.month(tm.tm_mon) && c.literal(" ") &&
        (c.literal(" ") ? c.number(1, tm.tm_mday) : c.number(2, tm.tm_mday)) && c.literal(" ") &&
        c.clock(tm) && c.literal(" ") && c.number(4, year) && c.at_end()) {
      tm.tm_year = year - 1900;
      return to_seconds(tm);
    }
  }
  return std::nullopt;
}

ByteRange parse_range(std::string_view value, uint64_t size) {
  ByteRange whole;
  value = trim(value);
  const size_t equals = value.find('=');
  if (equals == std::string_view::npos ||
      !equal_ignoring_case(trim(value.substr(0, equals)), "bytes")) {
    return whole;
  }
  const std::string_view spec = trim(value.substr(equals + 1));
  if (spec.find(',') != std::string_view::npos) return whole;  // several ranges
  const size_t dash = spec.find('-');
  if (dash == std::string_view::npos) return whole;
  const std::string_view first_text = spec.substr(0, dash);
  const std::string_view last_text = spec.substr(dash + 1);
  ByteRange out;
  out.kind = ByteRange::Kind::Part;
  if (first_text.empty()) {
    // bytes=-n: the last n bytes.
    const std::optional<uint64_t> suffix = position(last_text);
    if (!suffix) return whole;
    if (*suffix == 0 || size == 0) return {ByteRange::Kind::Unsatisfiable, 0, 0};
    out.first = *suffix >= size ? 0 : size - *suffix;
    out.last = size - 1;
    return out;
  }
  const std::optional<uint64_t> first = position(first_text);
  if (!first) return whole;
  std::optional<uint64_t> last;
  if (!last_text.empty()) {
    last = position(last_text);
    if (!last || *last < *first) return whole;  // malformed: ignored
  }
  if (*first >= size) return {ByteRange::Kind::Unsatisfiable, 0, 0};
  out.first = *first;
  out.last = last && *last < size - 1 ? *last : size - 1;
  return out;
}

FileAnswer answer_file(const FileRequest& request, const FileFacts& file,
                       std::string_view content_type, int64_t now) {
  const std::string etag = make_etag(file);
  const std::string last_modified = http_date(file.mtime);
  constexpr std::string_view kFailed = "the file does not meet the request's precondition";
  if (request.if_match) {
    if (!tag_list_matches(*request.if_match, etag, false)) {
      return refusal(412, kFailed, "", request.head, now);
    }
  } else if (request.if_unmodified_since) {
    const std::optional<int64_t> date = parse_http_date(*request.if_unmodified_since);
    if (date && file.mtime > *date) return refusal(412, kFailed, "", request.head, now);
  }
  bool not_modified = false;
  if (request.if_none_match) {
    not_modified = tag_list_matches(*request.if_none_match, etag, true);
  } else if (request.if_modified_since) {
    const std::optional<int64_t> date = parse_http_date(*request.if_modified_since);
    not_modified = date && file.mtime <= *date;
  }
  FileAnswer answer;
  if (not_modified) {
    answer.status = 304;
    answer.head = status_line(304);
    answer.head.append("ETag: ").append(etag).append("\r\nLast-Modified: ").append(last_modified);
    answer.head.append("\r\n");
    append_tail(answer.head, now);
    return answer;
  }
  ByteRange range;
  if (!request.head && request.range &&
      (!request.if_range || if_range_holds(*request.if_range, etag, file.mtime))) {
    range = parse_range(*request.range, file.size);
  }
  if (range.kind == ByteRange::Kind::Unsatisfiable) {
    return refusal(416, "range not satisfiable",
                   "Content-Range: bytes */" + std::to_string(file.size) + "\r\n", request.head,
                   now);
  }
  const bool part = range.kind == ByteRange::Kind::Part;
  answer.status = part ? 206 : 200;
  answer.offset = part ? range.first : 0;
  const uint64_t length = part ? range.last - range.first + 1 : file.size;
  answer.length = request.head ? 0 : length;
  answer.head = status_line(answer.status);
  answer.head.append("Content-Type: ").append(content_type);
  answer.head.append("\r\nContent-Length: ").append(std::to_string(length)).append("\r\n");
  if (part) {
    answer.head.append("Content-Range: bytes ")
        .append(std::to_string(range.first))
        .append("-")
        .append(std::to_string(range.last))
        .append("/")
        .append(std::to_string(file.size))
        .append("\r\n");
  }
  answer.head.append("Last-Modified: ").append(last_modified);
  answer.head.append("\r\nETag: ").append(etag).append("\r\nAccept-Ranges: bytes\r\n");
  append_tail(answer.head, now);
  return answer;
}

}  // namespace wsgate::http
