// tls_session_memory: heap bytes one idle server-side TLS session holds,
// measured with glibc's mallinfo2() around in-memory handshakes (no
// sockets, no fragmentation from concurrent handshakes). Used for
// BENCHMARKS.md; run: build/release/bench/tls_session_memory [sessions].
#include <malloc.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <span>
#include <vector>

#include "tls/server_tls.h"
#include "tls/tls_session.h"
#include "tls_test_support.h"

using namespace wsgate;

namespace {

// Completes one handshake between `session` and `client`, then lets the
// client read the session tickets, as an idle browser connection would.
void handshake(tls::TlsSession& session, tls::test::TestClient& client) {
  std::vector<uint8_t> plain(64 * 1024);
  for (int round = 0; round < 6; ++round) {
    client.step();
    const std::string in = client.take();
    ByteBuffer out;
    std::span<const uint8_t> input(reinterpret_cast<const uint8_t*>(in.data()), in.size());
    size_t got = 0;
    while (session.read(input, plain.data(), plain.size(), got, out) ==
           tls::TlsSession::Result::Data) {
    }
    client.feed(out.view());
  }
  char byte;
  SSL_read(client.ssl(), &byte, 1);
}

size_t idle_bytes_per_session(const tls::ServerTls& server, SSL_CTX* client_ctx, int count) {
  std::vector<std::unique_ptr<tls::TlsSession>> sessions;
  std::vector<std::unique_ptr<tls::test::TestClient>> clients;
  for (int i = 0; i < count; ++i) {
    sessions.push_back(std::make_unique<tls::TlsSession>(server.listener(0)->default_context()));
    clients.push_back(std::make_unique<tls::test::TestClient>(client_ctx));
    handshake(*sessions.back(), *clients.back());
  }
  clients.clear();
  const size_t with_sessions = mallinfo2().uordblks;
  sessions.clear();
  return (with_sessions - mallinfo2().uordblks) / static_cast<size_t>(count);
}

}  // namespace

int main(int argc, char** argv) {
  const int count = argc > 1 ? std::atoi(argv[1]) : 500;
  tls::test::TempDir dir;
  config::Config config;
  config::ListenConfig listen;
  listen.address = "127.0.0.1:8443";
  listen.tls.certificates = {tls::test::write_pair(dir, "leaf", tls::test::KeyType::Ecdsa,
                                                   {"localhost"})};
  listen.tls.ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256";
  listen.tls.ciphersuites = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384";
  listen.tls.groups = "X25519:P-256";
  for (bool release : {true, false}) {
    listen.tls.release_buffers = release;
    config.listen = {listen};
    auto server = tls::ServerTls::load(config);
    tls::TicketKeyRing keys = tls::TicketKeyRing::generate();
    server->use_ticket_keys(&keys);
    auto client_ctx = tls::test::client_context();
    std::printf("release_buffers=%s: %zu heap bytes per idle TLS 1.3 session (%d sessions)\n",
                release ? "true" : "false",
                idle_bytes_per_session(*server, client_ctx.get(), count), count);
  }
  return 0;
}
