// libFuzzer target: static routes' pure rules. For any request path the
// resolved file path stays below the mount (no empty, "." or ".." segment,
// no leading or trailing '/', no NUL, no dot file unless allowed) and the
// redirect built from it is a path on this host; for any Range value and
// size a part lies inside the file; any date that parses formats back to
// itself; and answer_file() sends no byte past the end of the file.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "http/static_path.h"
#include "http/static_response.h"

namespace {

using namespace wsgate::http;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "static_path_fuzz: %s\n", what);
  std::abort();
}

void check_path(std::string_view path, std::string_view mount, bool dot_files) {
  if (!path.starts_with(mount) && path != mount.substr(0, mount.size() - 1)) return;
  const StaticPath resolved = resolve_static_path(path, mount, dot_files);
  if (resolved.status != 0) {
    if (resolved.status != 400 && resolved.status != 404) fail("status other than 400 or 404");
    if (resolved.reason.empty()) fail("refusal without a reason");
    return;
  }
  const std::string& relative = resolved.relative;
  if (relative.find('\0') != std::string::npos) fail("NUL in a resolved path");
  if (!relative.empty() && (relative.front() == '/' || relative.back() == '/')) {
    fail("resolved path starts or ends with /");
  }
  std::string_view rest = relative;
  while (!rest.empty()) {
    const size_t slash = rest.find('/');
    const std::string_view segment = rest.substr(0, slash);
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
    if (segment.empty() || segment == "." || segment == "..") fail("bad segment kept");
    if (!dot_files && segment.front() == '.') fail("dot file kept");
  }
  const std::string location = directory_location(mount, relative, "");
  if (!location.starts_with(mount)) fail("redirect leaves the mount");
  if (location.starts_with("//")) fail("redirect to another host");
  for (const char c : location) {
    if (c <= ' ' || c >= 0x7f || c == '\\') fail("redirect with a raw byte");
  }
}

void check_range(std::string_view value, uint64_t size) {
  const ByteRange range = parse_range(value, size);
  if (range.kind == ByteRange::Kind::Part && (range.first > range.last || range.last >= size)) {
    fail("range outside the file");
  }
}

void check_date(std::string_view text) {
  const std::optional<int64_t> date = parse_http_date(text);
  if (date && *date >= 0 && *date < 253402300800) {  // years 1970..9999
    if (parse_http_date(http_date(*date)) != *date) fail("date does not format back");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  constexpr std::string_view kMounts[] = {"/", "/app/", "/a/b/"};
  const std::string_view mount = kMounts[data[0] % 3];
  const bool dot_files = (data[0] & 0x80) != 0;
  const uint64_t file_size = data[1] * 97u + data[2];
  const std::string_view input(reinterpret_cast<const char*>(data + 3), size - 3);

  check_path(input, mount, dot_files);
  check_path(std::string(mount) + std::string(input), mount, dot_files);
  check_range(input, file_size);
  check_date(input);

  FileRequest request;
  request.head = (data[1] & 1) != 0;
  request.range = std::string(input);
  if (data[2] & 1) request.if_range = std::string(input);
  if (data[2] & 2) request.if_none_match = std::string(input);
  if (data[2] & 4) request.if_modified_since = std::string(input);
  if (data[2] & 8) request.if_match = std::string(input);
  const FileAnswer answer =
      answer_file(request, FileFacts{file_size, 1700000000}, content_type(input), 1700000001);
  if (answer.offset + answer.length > file_size) fail("answer past the end of the file");
  if (answer.head.find("\r\n\r\n") == std::string::npos) fail("head without its blank line");
  return 0;
}
