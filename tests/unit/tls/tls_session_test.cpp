// Unit tests of the per-connection TLS filter, the server contexts and the
// shared ticket keys, driven by an in-process OpenSSL client over memory.
// Checklist: SEC-TLS-01, -02, -04, -06, -07, WS-HS-12.
#include "tls/tls_session.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <span>

#include "tls/server_tls.h"
#include "tls/ticket_keys.h"
#include "tls_test_support.h"

namespace wsgate::tls {
namespace {

using test::KeyType;
using Result = TlsSession::Result;

config::Config tls_config(std::vector<config::CertificateConfig> certificates) {
  config::Config config;
  config::ListenConfig listen;
  listen.address = "127.0.0.1:8443";
  listen.tls.certificates = std::move(certificates);
  listen.tls.ciphers =
      "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
      "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
  listen.tls.ciphersuites =
      "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";
  listen.tls.groups = "X25519:P-256:P-384";
  config.listen.push_back(std::move(listen));
  return config;
}

// A server session and a client talking through memory.
struct Conversation {
  Conversation(SSL_CTX* server_ctx, SSL_CTX* client_ctx, const char* sni = nullptr)
      : server(server_ctx), client(client_ctx, sni) {}

  // Feeds `bytes` from the client to the server `chunk` bytes at a time and
  // hands the server's output to the client.
  void to_server(const std::string& bytes, size_t chunk = SIZE_MAX) {
    for (size_t at = 0; at < bytes.size(); at += chunk) {
      const size_t n = std::min(chunk, bytes.size() - at);
      std::span<const uint8_t> input(reinterpret_cast<const uint8_t*>(bytes.data()) + at, n);
      ByteBuffer out;
      for (;;) {
        size_t got = 0;
        last = server.read(input, buffer.data(), buffer.size(), got, out);
        if (last != Result::Data) break;
        received.append(reinterpret_cast<const char*>(buffer.data()), got);
      }
      if (last == Result::NeedMore) {
        EXPECT_TRUE(input.empty());
      }
      client.feed(out.view());
      if (last == Result::Error || last == Result::Closed) return;
    }
  }

  // Runs the handshake; true when both ends finished it.
  bool handshake(size_t chunk = SIZE_MAX) {
    for (int round = 0; round < 8; ++round) {
      const int rc = client.step();
      to_server(client.take(), chunk);
      if (last == Result::Error) return false;
      if (rc == 0 && server.handshake_done()) return true;
      if (rc != 0 && rc != SSL_ERROR_WANT_READ) return false;
    }
    return false;
  }

  // Client -> server application data.
  void client_sends(const std::string& text, size_t chunk = SIZE_MAX) {
    ASSERT_EQ(SSL_write(client.ssl(), text.data(), static_cast<int>(text.size())),
              static_cast<int>(text.size()));
    to_server(client.take(), chunk);
  }

  // Server -> client application data, read back by the client.
  std::string server_sends(const std::string& text) {
    ByteBuffer out;
    EXPECT_TRUE(server.write(text, out));
    client.feed(out.view());
    std::string got;
    std::vector<char> chunk(16384);
    int n;
    while ((n = SSL_read(client.ssl(), chunk.data(), static_cast<int>(chunk.size()))) > 0) {
      got.append(chunk.data(), static_cast<size_t>(n));
    }
    return got;
  }

  std::string peer_common_name() {
    X509* cert = SSL_get0_peer_certificate(client.ssl());
    char cn[256] = "";
    if (cert != nullptr) {
      X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn);
    }
    return cn;
  }

  TlsSession server;
  test::TestClient client;
  std::vector<uint8_t> buffer = std::vector<uint8_t>(64 * 1024);
  std::string received;
  Result last = Result::NeedMore;
};

class TlsSessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ecdsa_ = test::write_pair(dir_, "ecdsa", KeyType::Ecdsa, {"a.test", "*.w.test"});
    rsa_ = test::write_pair(dir_, "rsa", KeyType::Rsa, {"b.test"});
  }

  std::shared_ptr<ServerTls> load(const config::Config& config) {
    std::shared_ptr<ServerTls> server = ServerTls::load(config);
    server->use_ticket_keys(&ring_);
    return server;
  }

  test::TempDir dir_;
  config::CertificateConfig ecdsa_;
  config::CertificateConfig rsa_;
  TicketKeyRing ring_ = TicketKeyRing::generate();
  test::CtxPtr client_ctx_ = test::client_context();
};

TEST_F(TlsSessionTest, HandshakeAndEchoAtEverySplitOfTheInput) {
  auto server = load(tls_config({ecdsa_}));
  for (size_t chunk : {size_t{1}, size_t{5}, size_t{100}, SIZE_MAX}) {
    SCOPED_TRACE(chunk);
    Conversation c(server->listener(0)->default_context(), client_ctx_.get(), "a.test");
    ASSERT_TRUE(c.handshake(chunk));
    EXPECT_TRUE(c.server.take_handshake_completed());
    EXPECT_FALSE(c.server.take_handshake_completed());
    EXPECT_EQ(c.server.version(), "TLSv1.3");
    EXPECT_EQ(c.server.server_name(), "a.test");
    EXPECT_FALSE(c.server.resumed());
    c.client_sends("GET /echo HTTP/1.1\r\n\r\n", chunk);
    EXPECT_EQ(c.received, "GET /echo HTTP/1.1\r\n\r\n");
    EXPECT_EQ(c.server_sends("HTTP/1.1 101 Switching Protocols\r\n\r\n"),
              "HTTP/1.1 101 Switching Protocols\r\n\r\n");
  }
}

TEST_F(TlsSessionTest, ManyRecordsArriveInOneReadAndLargeWritesAreWhole) {
  auto server = load(tls_config({ecdsa_}));
  Conversation c(server->listener(0)->default_context(), client_ctx_.get());
  ASSERT_TRUE(c.handshake());
  std::string records;
  for (int i = 0; i < 50; ++i) {
    const std::string text = "message " + std::to_string(i) + ";";
    SSL_write(c.client.ssl(), text.data(), static_cast<int>(text.size()));
  }
  c.to_server(c.client.take());
  EXPECT_EQ(c.received.substr(0, 10), "message 0;");
  EXPECT_EQ(c.received.substr(c.received.size() - 11), "message 49;");
  const std::string big(1 << 20, 'x');
  EXPECT_EQ(c.server_sends(big), big);
}

TEST_F(TlsSessionTest, CloseNotifyBothWays) {
  auto server = load(tls_config({ecdsa_}));
  Conversation c(server->listener(0)->default_context(), client_ctx_.get());
  ASSERT_TRUE(c.handshake());
  ByteBuffer out;
  c.server.shutdown(out);
  ByteBuffer again;
  c.server.shutdown(again);
  EXPECT_TRUE(again.empty());
  c.client.feed(out.view());
  char byte;
  EXPECT_EQ(SSL_read(c.client.ssl(), &byte, 1), 0);
  EXPECT_EQ(SSL_get_error(c.client.ssl(), 0), SSL_ERROR_ZERO_RETURN);
  SSL_shutdown(c.client.ssl());
  c.to_server(c.client.take());
  EXPECT_EQ(c.last, Result::Closed);
}

TEST_F(TlsSessionTest, Tls11IsRefusedAsAVersionFailure) {
  auto server = load(tls_config({ecdsa_}));
  test::CtxPtr old = test::client_context();
  SSL_CTX_set_security_level(old.get(), 0);
  SSL_CTX_set_min_proto_version(old.get(), TLS1_VERSION);
  SSL_CTX_set_max_proto_version(old.get(), TLS1_1_VERSION);
  SSL_CTX_set_cipher_list(old.get(), "ALL:@SECLEVEL=0");
  Conversation c(server->listener(0)->default_context(), old.get());
  EXPECT_FALSE(c.handshake());
  EXPECT_EQ(c.server.failure(), HandshakeFailure::Version);
}

TEST_F(TlsSessionTest, CipherOutsideTheIntermediateProfileIsRefused) {
  auto server = load(tls_config({ecdsa_}));
  test::CtxPtr weak = test::client_context();
  SSL_CTX_set_max_proto_version(weak.get(), TLS1_2_VERSION);
  SSL_CTX_set_cipher_list(weak.get(), "AES128-SHA");
  Conversation c(server->listener(0)->default_context(), weak.get());
  EXPECT_FALSE(c.handshake());
  EXPECT_EQ(c.server.failure(), HandshakeFailure::Cipher);
}

TEST_F(TlsSessionTest, AlpnOffersOnlyHttp11) {
  auto server = load(tls_config({ecdsa_}));
  static const unsigned char kH2[] = {2, 'h', '2'};
  static const unsigned char kBoth[] = {2, 'h', '2', 8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  {
    Conversation c(server->listener(0)->default_context(), client_ctx_.get());
    SSL_set_alpn_protos(c.client.ssl(), kH2, sizeof kH2);
    EXPECT_FALSE(c.handshake());
    EXPECT_EQ(c.server.failure(), HandshakeFailure::Alpn);
  }
  {
    Conversation c(server->listener(0)->default_context(), client_ctx_.get());
    SSL_set_alpn_protos(c.client.ssl(), kBoth, sizeof kBoth);
    ASSERT_TRUE(c.handshake());
    const unsigned char* chosen = nullptr;
    unsigned int size = 0;
    SSL_get0_alpn_selected(c.client.ssl(), &chosen, &size);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(chosen), size), "http/1.1");
  }
}

TEST_F(TlsSessionTest, PlainHttpIsRecognisedAsNotTls) {
  auto server = load(tls_config({ecdsa_}));
  TlsSession session(server->listener(0)->default_context());
  const std::string request = "GET /echo HTTP/1.1\r\nHost: x\r\n\r\n";
  std::span<const uint8_t> input(reinterpret_cast<const uint8_t*>(request.data()), request.size());
  std::vector<uint8_t> buffer(1024);
  size_t got = 0;
  ByteBuffer out;
  EXPECT_EQ(session.read(input, buffer.data(), buffer.size(), got, out), Result::Error);
  EXPECT_EQ(session.failure(), HandshakeFailure::NotTls);
  EXPECT_EQ(session.error_text(), "http request");
}

TEST_F(TlsSessionTest, BytesThatAreNoTlsRecordAreNotTls) {
  auto server = load(tls_config({ecdsa_}));
  for (const std::string& garbage : {std::string(64, '\0'), std::string("SSH-2.0-OpenSSH_9.2\r\n")}) {
    TlsSession session(server->listener(0)->default_context());
    std::span<const uint8_t> input(reinterpret_cast<const uint8_t*>(garbage.data()),
                                   garbage.size());
    std::vector<uint8_t> buffer(1024);
    size_t got = 0;
    ByteBuffer out;
    EXPECT_EQ(session.read(input, buffer.data(), buffer.size(), got, out), Result::Error);
    EXPECT_EQ(session.failure(), HandshakeFailure::NotTls);
  }
}

TEST_F(TlsSessionTest, SniPicksExactThenWildcardElseTheFirstCertificate) {
  auto server = load(tls_config({ecdsa_, rsa_}));
  const struct {
    const char* sni;
    const char* cn;
  } cases[] = {{"b.test", "b.test"},     {"B.TEST", "b.test"},  {"a.test", "a.test"},
               {"x.w.test", "a.test"},   {"y.b.test", "a.test"}, {"unknown.test", "a.test"},
               {nullptr, "a.test"}};
  for (const auto& each : cases) {
    SCOPED_TRACE(each.sni != nullptr ? each.sni : "(no SNI)");
    Conversation c(server->listener(0)->default_context(), client_ctx_.get(), each.sni);
    ASSERT_TRUE(c.handshake());
    EXPECT_EQ(c.peer_common_name(), each.cn);
  }
}

TEST_F(TlsSessionTest, EcdsaAndRsaForTheSameNamesSitSideBySide) {
  auto rsa_same = test::write_pair(dir_, "rsa-a", KeyType::Rsa, {"a.test", "*.w.test"});
  auto server = load(tls_config({ecdsa_, rsa_same}));
  ASSERT_EQ(server->listener(0)->contexts().size(), 1u);
  {
    Conversation c(server->listener(0)->default_context(), client_ctx_.get(), "a.test");
    ASSERT_TRUE(c.handshake());
    EXPECT_EQ(EVP_PKEY_get_base_id(X509_get0_pubkey(SSL_get0_peer_certificate(c.client.ssl()))),
              EVP_PKEY_EC);
  }
  test::CtxPtr rsa_only = test::client_context();
  SSL_CTX_set_max_proto_version(rsa_only.get(), TLS1_2_VERSION);
  SSL_CTX_set_cipher_list(rsa_only.get(), "ECDHE-RSA-AES128-GCM-SHA256");
  Conversation c(server->listener(0)->default_context(), rsa_only.get(), "a.test");
  ASSERT_TRUE(c.handshake());
  EXPECT_EQ(EVP_PKEY_get_base_id(X509_get0_pubkey(SSL_get0_peer_certificate(c.client.ssl()))),
            EVP_PKEY_RSA);
  EXPECT_EQ(c.server.version(), "TLSv1.2");
}

TEST_F(TlsSessionTest, TwoCertificatesOfOneTypeForTheSameNamesAreRefused) {
  auto again = test::write_pair(dir_, "ecdsa-again", KeyType::Ecdsa, {"a.test", "*.w.test"});
  try {
    ServerTls::load(tls_config({ecdsa_, again}));
    FAIL() << "loaded";
  } catch (const TlsError& e) {
    EXPECT_NE(std::string(e.what()).find("a second ECDSA certificate"), std::string::npos);
  }
}

// A session from a finished conversation, for resumption.
SSL_SESSION* session_of(Conversation& c) {
  // TLS 1.3 tickets arrive after the handshake; a read makes the client take them.
  char byte;
  SSL_read(c.client.ssl(), &byte, 1);
  return SSL_get1_session(c.client.ssl());
}

TEST_F(TlsSessionTest, TicketsFromOneWorkerResumeOnAnotherUntilTheKeyIsDropped) {
  // SEC-TLS-06: two workers are two copies of the contexts with the same keys.
  auto worker_a = load(tls_config({ecdsa_}));
  auto worker_b = load(tls_config({ecdsa_}));
  Conversation first(worker_a->listener(0)->default_context(), client_ctx_.get(), "a.test");
  ASSERT_TRUE(first.handshake());
  SSL_SESSION* session = session_of(first);
  ASSERT_NE(session, nullptr);

  // Each attempt starts from the saved bytes, as `openssl s_client
  // -sess_in` does: an OpenSSL client uses a TLS 1.3 session object once.
  std::vector<unsigned char> saved(static_cast<size_t>(i2d_SSL_SESSION(session, nullptr)));
  unsigned char* write_at = saved.data();
  i2d_SSL_SESSION(session, &write_at);
  const auto resume = [&](ServerTls& worker) {
    Conversation c(worker.listener(0)->default_context(), client_ctx_.get(), "a.test");
    const unsigned char* read_at = saved.data();
    SSL_SESSION* copy = d2i_SSL_SESSION(nullptr, &read_at, static_cast<long>(saved.size()));
    SSL_set_session(c.client.ssl(), copy);
    SSL_SESSION_free(copy);
    EXPECT_TRUE(c.handshake());
    return std::pair{c.server.resumed(), c.server.resumed_by_ticket()};
  };
  EXPECT_EQ(resume(*worker_b), std::pair(true, true));
  ring_.rotate();  // the ticket's key is now the previous one: still opens
  EXPECT_EQ(resume(*worker_b), std::pair(true, true));
  ring_.rotate();  // dropped: a full handshake
  EXPECT_EQ(resume(*worker_b), std::pair(false, false));
  SSL_SESSION_free(session);
}

TEST_F(TlsSessionTest, TicketsOffMeansNoTls13ResumptionAndTls12ByCacheOnly) {
  config::Config config = tls_config({ecdsa_});
  config.listen[0].tls.session_tickets = false;
  auto server = load(config);
  for (int max_version : {TLS1_3_VERSION, TLS1_2_VERSION}) {
    SCOPED_TRACE(max_version);
    test::CtxPtr client = test::client_context();
    SSL_CTX_set_max_proto_version(client.get(), max_version);
    Conversation first(server->listener(0)->default_context(), client.get());
    ASSERT_TRUE(first.handshake());
    SSL_SESSION* session = session_of(first);
    Conversation second(server->listener(0)->default_context(), client.get());
    if (session != nullptr) SSL_set_session(second.client.ssl(), session);
    ASSERT_TRUE(second.handshake());
    EXPECT_EQ(second.server.resumed(), max_version == TLS1_2_VERSION);
    EXPECT_FALSE(second.server.resumed_by_ticket());
    SSL_SESSION_free(session);
  }
}

TEST_F(TlsSessionTest, RenegotiationIsRefusedAndTheConnectionGoesOn) {
  // SEC-TLS-04: a TLS 1.2 client asking to renegotiate gets a warning alert.
  auto server = load(tls_config({ecdsa_}));
  test::CtxPtr tls12 = test::client_context();
  SSL_CTX_set_max_proto_version(tls12.get(), TLS1_2_VERSION);
  Conversation c(server->listener(0)->default_context(), tls12.get());
  ASSERT_TRUE(c.handshake());
  ASSERT_EQ(SSL_renegotiate(c.client.ssl()), 1);
  SSL_do_handshake(c.client.ssl());
  c.to_server(c.client.take());
  // The server answered with an alert and stays usable; the OpenSSL client
  // gives up on its own when its renegotiation is refused.
  EXPECT_EQ(c.last, Result::NeedMore);
  ByteBuffer out;
  EXPECT_TRUE(c.server.write("still here", out));
  EXPECT_FALSE(out.empty());
}

TEST(TicketKeys, EncodeDecodeRoundTripsAndRejectsOtherBytes) {
  TicketKeyRing ring = TicketKeyRing::generate();
  std::optional<TicketKeyRing> copy = TicketKeyRing::decode(ring.encode());
  ASSERT_TRUE(copy);
  EXPECT_EQ(copy->current().name, ring.current().name);
  EXPECT_EQ(copy->previous(), nullptr);
  ring.rotate();
  copy = TicketKeyRing::decode(ring.encode());
  ASSERT_TRUE(copy && copy->previous() != nullptr);
  EXPECT_EQ(copy->previous()->aes, ring.previous()->aes);
  EXPECT_EQ(copy->current().hmac, ring.current().hmac);
  EXPECT_NE(ring.current().name, ring.previous()->name);
  EXPECT_FALSE(TicketKeyRing::decode(""));
  EXPECT_FALSE(TicketKeyRing::decode(ring.encode().substr(1)));
  EXPECT_FALSE(TicketKeyRing::decode(ring.encode() + "x"));
}

}  // namespace
}  // namespace wsgate::tls
