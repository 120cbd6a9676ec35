// Private: our own strict pass over a complete, bounded request head before
// llhttp sees it (checklist HTTP-02/03/06/09).
#pragma once

#include <optional>
#include <string_view>

#include "http/handshake.h"

namespace wsgate::http::detail {

// Checks `head`: the request line and header lines, each ending in CRLF,
// then the blank line. The caller's framing has already refused bare CR and
// bare LF (HTTP-04), so CRLF splits lines exactly. Refuses, with 400 and a
// precise reason: a request line that is not `method SP target SP version`
// or holds control characters; obs-fold (a line starting with SP or HTAB,
// CVE-2024-27982); whitespace or any other non-tchar in a field name,
// including before the colon; an empty field name; a line without a colon;
// NUL, other controls and DEL in a field value. Returns nullopt when the
// head passes.
std::optional<HttpError> prescan_head(std::string_view head);

}  // namespace wsgate::http::detail
