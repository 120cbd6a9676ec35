// Unit tests of the upstream (client) side of TLS: UpstreamTls contexts and
// their load errors, and a client TlsSession against the server
// TlsSession, in memory: handshake and data both ways, SNI, and the
// verification failures (untrusted, wrong name, wrong IP address).
#include "tls/upstream_tls.h"

#include <gtest/gtest.h>

#include <span>

#include "tls/server_tls.h"
#include "tls/ticket_keys.h"
#include "tls/tls_session.h"
#include "tls_test_support.h"

namespace wsgate::tls {
namespace {

using test::KeyType;
using Result = TlsSession::Result;

constexpr const char* kOrigin = "wsgate.yaml:8:7: routes[0].proxy.tls";

config::RouteConfig proxy_route(bool tls, bool verify = true, std::string ca = "") {
  config::RouteConfig route;
  route.path = "/vnc";
  route.relay = "proxy";
  route.proxy.upstream.kind = config::UpstreamAddress::Kind::Tcp;
  route.proxy.upstream.host = "upstream.test";
  route.proxy.upstream.port = 5901;
  route.proxy.tls.enabled = tls;
  route.proxy.tls.verify = verify;
  route.proxy.tls.ca = std::move(ca);
  route.proxy.tls.origin = kOrigin;
  return route;
}

config::Config with_routes(std::vector<config::RouteConfig> routes) {
  config::Config config;
  config.routes = std::move(routes);
  return config;
}

// The message of the TlsError UpstreamTls::load throws, or "".
std::string load_error(const config::Config& config) {
  try {
    UpstreamTls::load(config);
    return "";
  } catch (const TlsError& error) {
    return error.what();
  }
}

// A server listener (the upstream) with one certificate.
config::Config server_config(const config::CertificateConfig& certificate) {
  config::Config config;
  config::ListenConfig listen;
  listen.address = "127.0.0.1:5901";
  listen.tls.certificates = {certificate};
  listen.tls.ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256";
  listen.tls.ciphersuites = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384";
  listen.tls.groups = "X25519:P-256";
  config.listen.push_back(std::move(listen));
  return config;
}

// A client and a server TlsSession joined in memory: what one appends to
// its `out` is the other's next input.
struct Link {
  Link(SSL_CTX* client_ctx, std::string_view name, SSL_CTX* server_ctx)
      : client(client_ctx, name), server(server_ctx) {}

  // Hands `input` to `session` until it wants more; plaintext goes to `got`.
  Result feed(TlsSession& session, std::string& input, std::string& out, std::string& got) {
    std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(input.data()), input.size());
    ByteBuffer records;
    Result last;
    for (;;) {
      size_t size = 0;
      last = session.read(bytes, buffer.data(), buffer.size(), size, records);
      if (last != Result::Data) break;
      got.append(reinterpret_cast<const char*>(buffer.data()), size);
    }
    input.assign(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    out += records.view();
    return last;
  }

  // One round each way; the client's first round, with no input, sends
  // the ClientHello.
  void round() {
    client_last = feed(client, to_client, to_server, client_got);
    if (client_last == Result::Error) return;
    server_last = feed(server, to_server, to_client, server_got);
  }

  bool handshake() {
    for (int i = 0; i < 8; ++i) {
      round();
      if (client_last == Result::Error || server_last == Result::Error) return false;
      if (client.handshake_done() && server.handshake_done()) {
        round();  // the client takes the server's last flight (tickets)
        return client_last != Result::Error;
      }
    }
    return false;
  }

  TlsSession client;
  TlsSession server;
  std::string to_server;
  std::string to_client;
  std::string client_got;
  std::string server_got;
  Result client_last = Result::NeedMore;
  Result server_last = Result::NeedMore;
  std::vector<uint8_t> buffer = std::vector<uint8_t>(64 * 1024);
};

class UpstreamTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    key_ = test::make_key(KeyType::Ecdsa);
    X509Ptr cert = test::make_certificate(key_.get(), {"upstream.test", "IP:127.0.0.1"});
    cert_pem_ = test::to_pem(cert.get());
    const std::string cert_path = dir_.write("upstream.crt", cert_pem_);
    const std::string key_path = dir_.write("upstream.key", test::to_pem(key_.get()));
    server_ = ServerTls::load(server_config(test::certificate_config(cert_path, key_path)));
    server_->use_ticket_keys(&ring_);
    ca_ = cert_path;  // the self-signed upstream certificate is its own CA
  }

  SSL_CTX* server_context() const { return server_->listener(0)->default_context(); }

  test::TempDir dir_;
  PkeyPtr key_;
  std::string cert_pem_;
  std::string ca_;
  std::shared_ptr<ServerTls> server_;
  TicketKeyRing ring_ = TicketKeyRing::generate();
};

TEST(UpstreamTlsLoad, NullWhenNoRouteSpeaksTlsToItsUpstream) {
  config::RouteConfig echo;
  echo.path = "/echo";
  EXPECT_EQ(UpstreamTls::load(with_routes({})), nullptr);
  EXPECT_EQ(UpstreamTls::load(with_routes({echo, proxy_route(false)})), nullptr);
  // An echo route's proxy settings are never used.
  echo.proxy.tls.enabled = true;
  EXPECT_EQ(UpstreamTls::load(with_routes({echo})), nullptr);
}

TEST(UpstreamTlsLoad, OneContextPerRouteWithUpstreamTls) {
  config::RouteConfig echo;
  echo.path = "/echo";
  auto upstream = UpstreamTls::load(
      with_routes({echo, proxy_route(true, false), proxy_route(false), proxy_route(true)}));
  ASSERT_NE(upstream, nullptr);
  EXPECT_EQ(upstream->route_count(), 4u);
  EXPECT_EQ(upstream->context(0), nullptr);
  ASSERT_NE(upstream->context(1), nullptr);
  EXPECT_EQ(upstream->context(2), nullptr);
  ASSERT_NE(upstream->context(3), nullptr);
  EXPECT_EQ(upstream->context(4), nullptr);
  EXPECT_EQ(SSL_CTX_get_verify_mode(upstream->context(1)), SSL_VERIFY_NONE);
  EXPECT_EQ(SSL_CTX_get_verify_mode(upstream->context(3)), SSL_VERIFY_PEER);
  EXPECT_EQ(SSL_CTX_get_min_proto_version(upstream->context(3)), TLS1_2_VERSION);
}

TEST(UpstreamTlsLoad, MissingCaFileNamesTheRouteAndTheReason) {
  test::TempDir dir;
  const std::string missing = dir.path() + "/absent.pem";
  EXPECT_EQ(load_error(with_routes({proxy_route(true, true, missing)})),
            std::string(kOrigin) + ": " + missing + ": cannot open: No such file or directory");
}

TEST(UpstreamTlsLoad, CaFileWithoutACertificateIsAnError) {
  test::TempDir dir;
  const std::string empty = dir.write("empty.pem", "not a certificate\n");
  EXPECT_EQ(load_error(with_routes({proxy_route(true, true, empty)})),
            std::string(kOrigin) + ": " + empty + ": has no PEM certificate");
  const std::string key_only =
      dir.write("key.pem", test::to_pem(test::make_key(KeyType::Ecdsa).get()));
  EXPECT_EQ(load_error(with_routes({proxy_route(true, true, key_only)})),
            std::string(kOrigin) + ": " + key_only + ": has no PEM certificate");
}

TEST_F(UpstreamTlsTest, ClientHandshakeAndDataBothWays) {
  auto upstream = UpstreamTls::load(with_routes({proxy_route(true, true, ca_)}));
  Link link(upstream->context(0), "upstream.test", server_context());
  // The first read, with no input, produces the ClientHello.
  link.client_last = link.feed(link.client, link.to_client, link.to_server, link.client_got);
  EXPECT_EQ(link.client_last, Result::NeedMore);
  ASSERT_FALSE(link.to_server.empty());
  EXPECT_EQ(link.to_server[0], 0x16);  // a handshake record
  ASSERT_TRUE(link.handshake()) << link.client.error_text() << " / " << link.server.error_text();
  EXPECT_EQ(link.client.version(), "TLSv1.3");
  EXPECT_EQ(link.server.server_name(), "upstream.test");
  EXPECT_EQ(link.client.server_name(), "upstream.test");
  EXPECT_EQ(link.client.failure(), HandshakeFailure::None);

  ByteBuffer out;
  ASSERT_TRUE(link.client.write("RFB 003.008\n", out));
  link.to_server += out.view();
  link.round();
  EXPECT_EQ(link.server_got, "RFB 003.008\n");
  out.clear();
  const std::string big(200000, 'v');
  ASSERT_TRUE(link.server.write(big, out));
  link.to_client += out.view();
  link.round();
  EXPECT_EQ(link.client_got, big);

  // close_notify from the upstream reaches the client as Closed.
  out.clear();
  link.server.shutdown(out);
  link.to_client += out.view();
  link.round();
  EXPECT_EQ(link.client_last, Result::Closed);
}

TEST_F(UpstreamTlsTest, AnIpAddressIsVerifiedAndNotSentAsSni) {
  auto upstream = UpstreamTls::load(with_routes({proxy_route(true, true, ca_)}));
  Link link(upstream->context(0), "127.0.0.1", server_context());
  ASSERT_TRUE(link.handshake()) << link.client.error_text();
  EXPECT_EQ(link.server.server_name(), "");

  Link wrong(upstream->context(0), "127.0.0.2", server_context());
  EXPECT_FALSE(wrong.handshake());
  EXPECT_EQ(wrong.client.failure(), HandshakeFailure::Verify);
  EXPECT_EQ(wrong.client.error_text(), "certificate verify failed: IP address mismatch");
}

TEST_F(UpstreamTlsTest, AnUntrustedSelfSignedCertificateFailsVerification) {
  // OpenSSL's default verify paths do not hold the test certificate.
  auto upstream = UpstreamTls::load(with_routes({proxy_route(true)}));
  Link link(upstream->context(0), "upstream.test", server_context());
  EXPECT_FALSE(link.handshake());
  EXPECT_EQ(link.client.failure(), HandshakeFailure::Verify);
  EXPECT_EQ(link.client.error_text(), "certificate verify failed: self-signed certificate");
  EXPECT_EQ(handshake_failure_name(link.client.failure()), "verify");

  // A CA file holding another certificate does not help.
  PkeyPtr other_key = test::make_key(KeyType::Ecdsa);
  X509Ptr other = test::make_certificate(other_key.get(), {"upstream.test"});
  const std::string other_ca = dir_.write("other.pem", test::to_pem(other.get()));
  auto other_upstream = UpstreamTls::load(with_routes({proxy_route(true, true, other_ca)}));
  Link again(other_upstream->context(0), "upstream.test", server_context());
  EXPECT_FALSE(again.handshake());
  EXPECT_EQ(again.client.failure(), HandshakeFailure::Verify);
}

TEST_F(UpstreamTlsTest, AHostnameMismatchFailsVerification) {
  auto upstream = UpstreamTls::load(with_routes({proxy_route(true, true, ca_)}));
  Link link(upstream->context(0), "other.test", server_context());
  EXPECT_FALSE(link.handshake());
  EXPECT_EQ(link.client.failure(), HandshakeFailure::Verify);
  EXPECT_EQ(link.client.error_text(), "certificate verify failed: hostname mismatch");
  EXPECT_EQ(link.server.server_name(), "other.test");
}

TEST_F(UpstreamTlsTest, VerifyFalseAcceptsAnyCertificateAndName) {
  auto upstream = UpstreamTls::load(with_routes({proxy_route(true, false)}));
  Link link(upstream->context(0), "other.test", server_context());
  ASSERT_TRUE(link.handshake()) << link.client.error_text();
  EXPECT_EQ(link.server.server_name(), "other.test");
}

TEST_F(UpstreamTlsTest, ServerRoleIsUnchangedByTheClientRole) {
  // A server session still takes a client's hello first: reading nothing
  // sends nothing.
  TlsSession server(server_context());
  std::span<const uint8_t> none;
  std::vector<uint8_t> buffer(16);
  size_t size = 0;
  ByteBuffer out;
  EXPECT_EQ(server.read(none, buffer.data(), buffer.size(), size, out), Result::NeedMore);
  EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace wsgate::tls
