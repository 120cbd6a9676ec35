// Static routes' validators, conditionals, ranges and heads
// (http/static_response.h).
#include "http/static_response.h"

#include <gtest/gtest.h>

#include <string>

namespace wsgate::http {
namespace {

constexpr int64_t kMtime = 784111777;  // Sun, 06 Nov 1994 08:49:37 GMT
constexpr int64_t kNow = 784111800;
const FileFacts kFile{1000, kMtime};

FileAnswer answer(const FileRequest& request) {
  return answer_file(request, kFile, "text/plain; charset=utf-8", kNow);
}

TEST(HttpDate, FormatsImfFixdate) {
  EXPECT_EQ(http_date(kMtime), "Sun, 06 Nov 1994 08:49:37 GMT");
  EXPECT_EQ(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
}

TEST(HttpDate, ParsesTheThreeForms) {
  EXPECT_EQ(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), kMtime);
  EXPECT_EQ(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), kMtime);
  EXPECT_EQ(parse_http_date("Sun Nov  6 08:49:37 1994"), kMtime);
  EXPECT_EQ(parse_http_date(http_date(1700000000)), 1700000000);
}

TEST(HttpDate, RejectsOtherText) {
  EXPECT_FALSE(parse_http_date(""));
  EXPECT_FALSE(parse_http_date("yesterday"));
  EXPECT_FALSE(parse_http_date("Sun, 06 Nov 1994 08:49:37 UTC"));
  EXPECT_FALSE(parse_http_date("Sun, 06 Nov 1994 25:49:37 GMT"));
  EXPECT_FALSE(parse_http_date("Sun, 06 Foo 1994 08:49:37 GMT"));
  EXPECT_FALSE(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT trailing"));
}

TEST(Etag, IsNginxStyleHex) {
  EXPECT_EQ(make_etag(FileFacts{1000, kMtime}), "\"2ebc98a1-3e8\"");
  EXPECT_EQ(make_etag(FileFacts{0, 0}), "\"0-0\"");
}

TEST(Range, SingleRangesOfEachForm) {
  ByteRange r = parse_range("bytes=0-99", 1000);
  EXPECT_EQ(r.kind, ByteRange::Kind::Part);
  EXPECT_EQ(r.first, 0u);
  EXPECT_EQ(r.last, 99u);
  r = parse_range("bytes=900-", 1000);
  EXPECT_EQ(r.kind, ByteRange::Kind::Part);
  EXPECT_EQ(r.first, 900u);
  EXPECT_EQ(r.last, 999u);
  r = parse_range("bytes=-100", 1000);
  EXPECT_EQ(r.kind, ByteRange::Kind::Part);
  EXPECT_EQ(r.first, 900u);
  EXPECT_EQ(r.last, 999u);
  r = parse_range("Bytes = 10-20 ", 1000);
  EXPECT_EQ(r.kind, ByteRange::Kind::Part);
  EXPECT_EQ(r.first, 10u);
}

TEST(Range, EndsPastTheFileAreCut) {
  ByteRange r = parse_range("bytes=500-5000", 1000);
  EXPECT_EQ(r.kind, ByteRange::Kind::Part);
  EXPECT_EQ(r.last, 999u);
  r = parse_range("bytes=-5000", 1000);
  EXPECT_EQ(r.first, 0u);
  EXPECT_EQ(r.last, 999u);
  r = parse_range("bytes=0-99999999999999999999999", 1000);
  EXPECT_EQ(r.kind, ByteRange::Kind::Part);
  EXPECT_EQ(r.last, 999u);
}

TEST(Range, StartAtOrPastTheEndIsUnsatisfiable) {
  EXPECT_EQ(parse_range("bytes=1000-", 1000).kind, ByteRange::Kind::Unsatisfiable);
  EXPECT_EQ(parse_range("bytes=2000-3000", 1000).kind, ByteRange::Kind::Unsatisfiable);
  EXPECT_EQ(parse_range("bytes=-0", 1000).kind, ByteRange::Kind::Unsatisfiable);
  EXPECT_EQ(parse_range("bytes=0-", 0).kind, ByteRange::Kind::Unsatisfiable);
  EXPECT_EQ(parse_range("bytes=-5", 0).kind, ByteRange::Kind::Unsatisfiable);
  EXPECT_EQ(parse_range("bytes=99999999999999999999999-", 1000).kind,
            ByteRange::Kind::Unsatisfiable);
}

TEST(Range, SeveralOrMalformedRangesMeanTheWholeFile) {
  for (const char* value : {"bytes=0-1,5-6", "bytes=0-1, 2000-3000", "bytes=5-1", "bytes=a-b",
                            "bytes=", "bytes=-", "items=0-1", "0-1", "bytes=1-2-3", "bytes=+1-2"}) {
    EXPECT_EQ(parse_range(value, 1000).kind, ByteRange::Kind::Whole) << value;
  }
}

TEST(AnswerFile, PlainGetIs200WithValidators) {
  const FileAnswer a = answer(FileRequest{});
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.offset, 0u);
  EXPECT_EQ(a.length, 1000u);
  EXPECT_EQ(a.head,
            "HTTP/1.1 200 OK\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            "Content-Length: 1000\r\n"
            "Last-Modified: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
            "ETag: \"2ebc98a1-3e8\"\r\n"
            "Accept-Ranges: bytes\r\n"
            "Date: Sun, 06 Nov 1994 08:50:00 GMT\r\n"
            "Connection: close\r\n"
            "\r\n");
}

TEST(AnswerFile, HeadHasTheSameHeadAndNoBody) {
  FileRequest request;
  request.head = true;
  request.range = "bytes=0-9";  // ignored: ranges are for GET
  const FileAnswer a = answer(request);
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.length, 0u);
  EXPECT_EQ(a.head, answer(FileRequest{}).head);
}

TEST(AnswerFile, IfNoneMatchGives304OnAWeakMatch) {
  FileRequest request;
  request.if_none_match = "\"other\", W/\"2ebc98a1-3e8\"";
  const FileAnswer a = answer(request);
  EXPECT_EQ(a.status, 304);
  EXPECT_EQ(a.length, 0u);
  EXPECT_TRUE(a.head.starts_with("HTTP/1.1 304 Not Modified\r\nETag: \"2ebc98a1-3e8\"\r\n"));
  EXPECT_EQ(a.head.find("Content-Length"), std::string::npos);
  request.if_none_match = "*";
  EXPECT_EQ(answer(request).status, 304);
  request.if_none_match = "\"other\"";
  EXPECT_EQ(answer(request).status, 200);
}

TEST(AnswerFile, IfNoneMatchOverridesIfModifiedSince) {
  FileRequest request;
  request.if_none_match = "\"other\"";
  request.if_modified_since = "Sun, 06 Nov 1994 08:49:37 GMT";
  EXPECT_EQ(answer(request).status, 200);
}

TEST(AnswerFile, IfModifiedSince) {
  FileRequest request;
  request.if_modified_since = "Sun, 06 Nov 1994 08:49:37 GMT";
  EXPECT_EQ(answer(request).status, 304);
  request.if_modified_since = "Mon, 07 Nov 1994 00:00:00 GMT";
  EXPECT_EQ(answer(request).status, 304);
  request.if_modified_since = "Sun, 06 Nov 1994 08:49:36 GMT";
  EXPECT_EQ(answer(request).status, 200);
  request.if_modified_since = "garbage";
  EXPECT_EQ(answer(request).status, 200);
}

TEST(AnswerFile, IfMatchAndIfUnmodifiedSinceGive412) {
  FileRequest request;
  request.if_match = "\"other\"";
  FileAnswer a = answer(request);
  EXPECT_EQ(a.status, 412);
  EXPECT_EQ(a.length, 0u);
  EXPECT_TRUE(a.head.ends_with("\r\n\r\nthe file does not meet the request's precondition\n"));
  request.if_match = "W/\"2ebc98a1-3e8\"";  // strong comparison: a weak tag never matches
  EXPECT_EQ(answer(request).status, 412);
  request.if_match = "\"2ebc98a1-3e8\"";
  EXPECT_EQ(answer(request).status, 200);
  FileRequest since;
  since.if_unmodified_since = "Sun, 06 Nov 1994 08:00:00 GMT";
  EXPECT_EQ(answer(since).status, 412);
  since.if_unmodified_since = "Sun, 06 Nov 1994 08:49:37 GMT";
  EXPECT_EQ(answer(since).status, 200);
}

TEST(AnswerFile, RangeGives206WithContentRange) {
  FileRequest request;
  request.range = "bytes=100-199";
  const FileAnswer a = answer(request);
  EXPECT_EQ(a.status, 206);
  EXPECT_EQ(a.offset, 100u);
  EXPECT_EQ(a.length, 100u);
  EXPECT_NE(a.head.find("\r\nContent-Length: 100\r\nContent-Range: bytes 100-199/1000\r\n"),
            std::string::npos);
}

TEST(AnswerFile, UnsatisfiableRangeGives416WithTheSize) {
  FileRequest request;
  request.range = "bytes=5000-";
  const FileAnswer a = answer(request);
  EXPECT_EQ(a.status, 416);
  EXPECT_EQ(a.length, 0u);
  EXPECT_NE(a.head.find("\r\nContent-Range: bytes */1000\r\n"), std::string::npos);
  EXPECT_TRUE(a.head.ends_with("\r\n\r\nrange not satisfiable\n"));
}

TEST(AnswerFile, MultipleRangesGiveTheWholeFile) {
  FileRequest request;
  request.range = "bytes=0-1,5-6";
  const FileAnswer a = answer(request);
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.length, 1000u);
}

TEST(AnswerFile, IfRangeHonouredOnlyWhileItHolds) {
  FileRequest request;
  request.range = "bytes=0-9";
  request.if_range = "\"2ebc98a1-3e8\"";
  EXPECT_EQ(answer(request).status, 206);
  request.if_range = "\"stale\"";
  EXPECT_EQ(answer(request).status, 200);
  request.if_range = "W/\"2ebc98a1-3e8\"";
  EXPECT_EQ(answer(request).status, 200);
  request.if_range = "Sun, 06 Nov 1994 08:49:37 GMT";
  EXPECT_EQ(answer(request).status, 206);
  request.if_range = "Sun, 06 Nov 1994 08:49:38 GMT";
  EXPECT_EQ(answer(request).status, 200);
}

TEST(FileRequestOf, CopiesTheHeadersItNeeds) {
  Request request;
  request.method = "HEAD";
  request.headers = {{"range", "bytes=1-2"}, {"if-none-match", "\"x\""}};
  const FileRequest copy = file_request_of(request);
  EXPECT_TRUE(copy.head);
  EXPECT_EQ(copy.range, "bytes=1-2");
  EXPECT_EQ(copy.if_none_match, "\"x\"");
  EXPECT_FALSE(copy.if_modified_since);
}

}  // namespace
}  // namespace wsgate::http
