// Static routes' path rules and content types (http/static_path.h).
#include "http/static_path.h"

#include <gtest/gtest.h>

#include <string>

namespace wsgate::http {
namespace {

TEST(StaticPath, MountItselfNamesTheRootAsADirectory) {
  const StaticPath p = resolve_static_path("/app/", "/app/", false);
  EXPECT_EQ(p.status, 0);
  EXPECT_EQ(p.relative, "");
  EXPECT_TRUE(p.trailing_slash);
}

TEST(StaticPath, MountWithoutItsSlashNamesTheRootWithoutOne) {
  const StaticPath p = resolve_static_path("/app", "/app/", false);
  EXPECT_EQ(p.status, 0);
  EXPECT_EQ(p.relative, "");
  EXPECT_FALSE(p.trailing_slash);
}

TEST(StaticPath, FileBelowTheMount) {
  const StaticPath p = resolve_static_path("/app/css/site.css", "/app/", false);
  EXPECT_EQ(p.status, 0);
  EXPECT_EQ(p.relative, "css/site.css");
  EXPECT_FALSE(p.trailing_slash);
}

TEST(StaticPath, PercentEncodingIsDecoded) {
  const StaticPath p = resolve_static_path("/a%20b/%C3%A9t%C3%A9.txt", "/", false);
  EXPECT_EQ(p.status, 0);
  EXPECT_EQ(p.relative, "a b/\xC3\xA9t\xC3\xA9.txt");
}

TEST(StaticPath, DotSegmentsAndEmptySegmentsAreResolved) {
  EXPECT_EQ(resolve_static_path("/a/./b//c/../d.txt", "/", false).relative, "a/b/d.txt");
  const StaticPath p = resolve_static_path("/a/b/..", "/", false);
  EXPECT_EQ(p.relative, "a");
  EXPECT_TRUE(p.trailing_slash);
  EXPECT_TRUE(resolve_static_path("/a/.", "/", false).trailing_slash);
  EXPECT_TRUE(resolve_static_path("/a/b/", "/", false).trailing_slash);
}

TEST(StaticPath, ClimbingAboveTheMountIs400) {
  EXPECT_EQ(resolve_static_path("/../etc/passwd", "/", false).status, 400);
  EXPECT_EQ(resolve_static_path("/app/../x", "/app/", false).status, 400);
  EXPECT_EQ(resolve_static_path("/app/a/../../x", "/app/", false).status, 400);
  // Encoded dots are dots once decoded.
  EXPECT_EQ(resolve_static_path("/%2e%2e/etc/passwd", "/", false).status, 400);
  EXPECT_EQ(resolve_static_path("/a/%2E%2E/%2e%2e/x", "/", false).status, 400);
  // Down then up stays inside.
  EXPECT_EQ(resolve_static_path("/app/a/../x", "/app/", false).relative, "x");
}

TEST(StaticPath, EncodedSlashOrNulIs400) {
  EXPECT_EQ(resolve_static_path("/a%2fb", "/", false).status, 400);
  EXPECT_EQ(resolve_static_path("/..%2fetc%2fpasswd", "/", false).status, 400);
  EXPECT_EQ(resolve_static_path("/index.html%00.png", "/", false).status, 400);
  EXPECT_EQ(resolve_static_path(std::string_view("/a\0b", 4), "/", false).status, 400);
}

TEST(StaticPath, MalformedEscapeIs400) {
  EXPECT_EQ(resolve_static_path("/a%zz", "/", false).status, 400);
  EXPECT_EQ(resolve_static_path("/a%4", "/", false).status, 400);
}

TEST(StaticPath, DotFilesAre404UnlessAllowed) {
  EXPECT_EQ(resolve_static_path("/.env", "/", false).status, 404);
  EXPECT_EQ(resolve_static_path("/.git/config", "/", false).status, 404);
  EXPECT_EQ(resolve_static_path("/a/%2egit/config", "/", false).status, 404);
  EXPECT_EQ(resolve_static_path("/a/...", "/", false).status, 404);
  const StaticPath allowed = resolve_static_path("/.well-known/x", "/", true);
  EXPECT_EQ(allowed.status, 0);
  EXPECT_EQ(allowed.relative, ".well-known/x");
  // A dot segment that is resolved away is no dot file.
  EXPECT_EQ(resolve_static_path("/.hidden/../a.txt", "/", false).relative, "a.txt");
}

TEST(DirectoryLocation, IsBuiltFromTheResolvedPathAndKeepsTheQuery) {
  EXPECT_EQ(directory_location("/", "sub", ""), "/sub/");
  EXPECT_EQ(directory_location("/app/", "", ""), "/app/");
  EXPECT_EQ(directory_location("/app/", "a b/c", "x=1&y=2"), "/app/a%20b/c/?x=1&y=2");
  EXPECT_EQ(directory_location("/", "\xC3\xA9t\xC3\xA9", ""), "/%C3%A9t%C3%A9/");
  // "//evil.example" resolves to "evil.example" below the mount: a path,
  // never another host; a backslash is encoded.
  EXPECT_EQ(directory_location("/", resolve_static_path("//evil.example", "/", false).relative, ""),
            "/evil.example/");
  EXPECT_EQ(directory_location("/", "\\evil", ""), "/%5Cevil/");
}

TEST(ContentType, KnownExtensionsCaseInsensitive) {
  EXPECT_EQ(content_type("index.html"), "text/html; charset=utf-8");
  EXPECT_EQ(content_type("INDEX.HTM"), "text/html; charset=utf-8");
  EXPECT_EQ(content_type("app.mjs"), "text/javascript; charset=utf-8");
  EXPECT_EQ(content_type("app.js.map"), "application/json; charset=utf-8");
  EXPECT_EQ(content_type("logo.svg"), "image/svg+xml; charset=utf-8");
  EXPECT_EQ(content_type("photo.JPEG"), "image/jpeg");
  EXPECT_EQ(content_type("module.wasm"), "application/wasm");
  EXPECT_EQ(content_type("font.woff2"), "font/woff2");
  EXPECT_EQ(content_type("doc.pdf"), "application/pdf");
}

TEST(ContentType, UnknownOrMissingExtensionIsOctetStream) {
  EXPECT_EQ(content_type("archive.tar.zst"), "application/octet-stream");
  EXPECT_EQ(content_type("README"), "application/octet-stream");
  EXPECT_EQ(content_type("dot."), "application/octet-stream");
  EXPECT_EQ(content_type(""), "application/octet-stream");
}

}  // namespace
}  // namespace wsgate::http
