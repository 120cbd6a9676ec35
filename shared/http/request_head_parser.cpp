// RequestHeadParser: bounded accumulation of the request head, then one strict parse.
#include <string>

#include "http/handshake.h"
#include "http/head_prescan.h"
#include "http/llhttp_head.h"
#include "http/request_fields.h"

namespace wsgate::http {

RequestHeadParser::Status RequestHeadParser::fail(int status, std::string_view reason) {
  error_ = HttpError{status, reason};
  request_ = Request{};
  std::string().swap(head_);
  status_ = Status::Error;
  return status_;
}

// One pass over new bytes, in order, so the first violation wins whatever
// the chunking. Per byte at head offset `pos`: the head may not grow past
// max_header_bytes (431); CR must be followed by LF and LF preceded by CR
// (HTTP-04: bare CR and bare LF are refused here, as soon as they are seen,
// rather than after a terminator that might never come); the request line
// may hold at most max_request_line bytes before its CRLF (414); at most
// max_headers header lines may end (431); an empty line ends the head,
// except as the first line (policy: no leading CRLF is skipped).
RequestHeadParser::Status RequestHeadParser::scan(std::span<const uint8_t> data, size_t& scanned) {
  const size_t base = head_.size();
  for (size_t i = 0; i < data.size(); ++i) {
    scanned = i + 1;
    const size_t pos = base + i;
    if (pos >= limits_.max_header_bytes) return fail(431, "request head too large");
    const uint8_t c = data[i];
    if (after_cr_) {
      if (c != '\n') return fail(400, "bare CR in request head");
      after_cr_ = false;
      const size_t line_length = pos - 1 - line_start_;
      line_start_ = pos + 1;
      if (in_request_line_) {
        if (line_length == 0) return fail(400, "empty request line");
        in_request_line_ = false;
      } else if (line_length == 0) {
        return Status::Complete;
      } else if (++header_lines_ > limits_.max_headers) {
        return fail(431, "too many header fields");
      }
      continue;
    }
    if (c == '\r') {
      after_cr_ = true;
      continue;
    }
    if (c == '\n') return fail(400, "bare LF in request head");
    if (in_request_line_ && pos - line_start_ >= limits_.max_request_line) {
      return fail(414, "request line too long");
    }
  }
  return Status::NeedMore;
}

RequestHeadParser::Status RequestHeadParser::feed(std::span<const uint8_t> data, size_t& consumed) {
  consumed = 0;
  if (status_ != Status::NeedMore) return status_;
  size_t scanned = 0;
  const Status framed = scan(data, scanned);
  consumed = scanned;
  if (framed == Status::Error) return framed;
  // Only bytes up to the terminator are kept; the tail stays with the caller.
  head_.append(reinterpret_cast<const char*>(data.data()), scanned);
  if (framed == Status::NeedMore) return framed;
  return parse_head();
}

// The head is complete and bounded: pre-scan it, let llhttp parse it, then
// apply the handshake header rules. A body announced by Content-Length > 0
// or any Transfer-Encoding is refused here for every request (policy,
// WS-HS-10, HTTP-01): the gateway serves only GET/HEAD without bodies, so no
// caller can forget the check and no body byte is ever read as a frame.
RequestHeadParser::Status RequestHeadParser::parse_head() {
  if (auto error = detail::prescan_head(head_)) return fail(error->status, error->reason);
  detail::RawHead raw;
  if (auto error = detail::run_llhttp(head_, raw)) return fail(error->status, error->reason);
  Request request;
  if (auto error = detail::build_request(raw, request)) return fail(error->status, error->reason);
  if (request.has_body) return fail(400, "request body not accepted");
  request_ = std::move(request);
  std::string().swap(head_);  // everything needed now lives in request_
  status_ = Status::Complete;
  return status_;
}

}  // namespace wsgate::http
