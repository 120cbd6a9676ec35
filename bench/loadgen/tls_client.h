// The client side of TLS as a filter on buffers (STYLE: TLS is a buffer
// filter): ciphertext in from the socket, plaintext out, and back. libuv
// alone touches the socket; OpenSSL only sees two memory BIOs.
#pragma once

#include <openssl/ssl.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "common/byte_buffer.h"

namespace wsgate::loadgen {

struct Options;

// The run's client context: trust (--ca, system default or --insecure) and,
// with --resume, a store for the first session the server hands out.
class TlsContext {
 public:
  TlsContext() = default;
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;
  ~TlsContext();

  // Builds the context. Returns false and sets `error` on failure.
  bool init(const Options& options, std::string& error);

  SSL_CTX* get() const { return context_; }
  bool verify() const { return verify_; }
  // The session to resume (nullptr until the first one arrives, or without
  // --resume). Owned by the context.
  SSL_SESSION* resume_session() const { return session_; }

 private:
  static int on_new_session(SSL* ssl, SSL_SESSION* session);

  SSL_CTX* context_ = nullptr;
  SSL_SESSION* session_ = nullptr;
  bool verify_ = true;
  bool resume_ = false;
};

// One connection's TLS state. Usage: start(); feed() what the socket reads;
// handshake() until it returns 1; then read() plaintext and write() replies;
// after each step move take_output() to the socket.
class TlsClient {
 public:
  TlsClient() = default;
  TlsClient(const TlsClient&) = delete;
  TlsClient& operator=(const TlsClient&) = delete;
  ~TlsClient() { reset(); }

  // Creates the SSL object (SNI and, when verifying, host name check on
  // `servername`) and queues the ClientHello. False on failure.
  bool start(const TlsContext& context, const std::string& servername);
  void reset();

  // Hands ciphertext read from the socket to OpenSSL. False on failure.
  bool feed(const uint8_t* data, size_t length);
  // Advances the handshake: 1 done, 0 needs more input, -1 failed.
  int handshake();
  // Decrypts into `out`: bytes read, 0 when nothing is available, -1 on a
  // TLS error or the peer's close_notify.
  int read(uint8_t* out, size_t capacity);
  // Encrypts all of `data`. False on failure.
  bool write(const uint8_t* data, size_t length);
  // Appends the ciphertext waiting to be sent to `out`.
  void take_output(ByteBuffer& out);

  bool resumed() const { return ssl_ != nullptr && SSL_session_reused(ssl_) == 1; }
  // The last OpenSSL error as text (for the human report's first error).
  const std::string& error() const { return error_; }

 private:
  void record_error(const char* what);

  SSL* ssl_ = nullptr;
  BIO* network_in_ = nullptr;   // owned by ssl_
  BIO* network_out_ = nullptr;  // owned by ssl_
  std::string error_;
};

}  // namespace wsgate::loadgen
