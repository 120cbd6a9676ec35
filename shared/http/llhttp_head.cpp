// Drives llhttp over a complete request head; callbacks append to bounded strings.
#include "http/llhttp_head.h"

#include <llhttp.h>

#include <new>

namespace wsgate::http::detail {
namespace {

// Callback state. Spans may arrive in pieces, so each piece is appended;
// a field name is closed by on_header_field_complete, so the next name
// starts a new entry even when a value was empty and had no callback.
struct Capture {
  RawHead* head = nullptr;
  bool field_open = false;
  bool headers_complete = false;
  bool out_of_memory = false;
};

Capture& capture(llhttp_t* parser) {
  return *static_cast<Capture*>(parser->data);
}

// Appending can only fail with bad_alloc; it must not unwind through C.
template <class Append>
int guarded(llhttp_t* parser, Append&& append) noexcept {
  try {
    append(capture(parser));
    return HPE_OK;
  } catch (const std::bad_alloc&) {
    capture(parser).out_of_memory = true;
    return HPE_USER;
  }
}

int on_url(llhttp_t* parser, const char* at, size_t length) noexcept {
  return guarded(parser, [&](Capture& c) { c.head->url.append(at, length); });
}

int on_header_field(llhttp_t* parser, const char* at, size_t length) noexcept {
  return guarded(parser, [&](Capture& c) {
    if (!c.field_open) {
      c.head->fields.emplace_back();
      c.field_open = true;
    }
    c.head->fields.back().first.append(at, length);
  });
}

int on_header_field_complete(llhttp_t* parser) noexcept {
  capture(parser).field_open = false;
  return HPE_OK;
}

int on_header_value(llhttp_t* parser, const char* at, size_t length) noexcept {
  return guarded(parser, [&](Capture& c) {
    if (!c.head->fields.empty()) c.head->fields.back().second.append(at, length);
  });
}

int on_headers_complete(llhttp_t* parser) noexcept {
  Capture& c = capture(parser);
  c.headers_complete = true;
  c.head->http_major = parser->http_major;
  c.head->http_minor = parser->http_minor;
  c.head->has_content_length = (parser->flags & F_CONTENT_LENGTH) != 0;
  c.head->content_length = parser->content_length;
  c.head->has_transfer_encoding = (parser->flags & (F_TRANSFER_ENCODING | F_CHUNKED)) != 0;
  // Stop here: no body is ever read, whatever the headers announce.
  return HPE_PAUSED;
}

const llhttp_settings_t& settings() {
  static const llhttp_settings_t instance = [] {
    llhttp_settings_t s;
    llhttp_settings_init(&s);
    s.on_url = on_url;
    s.on_header_field = on_header_field;
    s.on_header_field_complete = on_header_field_complete;
    s.on_header_value = on_header_value;
    s.on_headers_complete = on_headers_complete;
    return s;
  }();
  return instance;
}

}  // namespace

std::optional<HttpError> run_llhttp(std::string_view head, RawHead& out) {
  out = RawHead{};
  out.method.assign(head.substr(0, head.find(' ')));

  Capture state;
  state.head = &out;
  llhttp_t parser;
  llhttp_init(&parser, HTTP_REQUEST, &settings());
  parser.data = &state;
  const llhttp_errno_t result = llhttp_execute(&parser, head.data(), head.size());

  if (state.out_of_memory) return HttpError{500, "out of memory while parsing request head"};
  if (result != HPE_PAUSED || !state.headers_complete) {
    // llhttp's reasons are string literals (static storage).
    const char* reason = llhttp_get_error_reason(&parser);
    if (result == HPE_OK) reason = "request head incomplete for llhttp";
    if (result == HPE_PAUSED_H2_UPGRADE) reason = "HTTP/2 connection preface not supported";
    return HttpError{400, reason != nullptr ? std::string_view(reason) : "malformed request head"};
  }
  if (llhttp_get_error_pos(&parser) != head.data() + head.size()) {
    return HttpError{400, "llhttp stopped before the end of the request head"};
  }
  return std::nullopt;
}

}  // namespace wsgate::http::detail
