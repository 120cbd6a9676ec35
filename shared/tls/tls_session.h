// The TLS filter of one connection: OpenSSL over a memory BIO of our own.
// Pure: ciphertext in, plaintext out and the reverse, no I/O; libuv alone
// owns the socket (SEC-TLS-07). The BIO keeps no buffer of its own: reads
// come straight from the caller's input span and writes are appended to
// the caller's output string, so an idle connection holds only what
// OpenSSL itself keeps (with SSL_MODE_RELEASE_BUFFERS, no record buffers).
#pragma once

#include <openssl/ssl.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "common/byte_buffer.h"

namespace wsgate::tls {

// Why a handshake failed, for stats and logs.
enum class HandshakeFailure : uint8_t {
  None,
  Version,      // no protocol version in common (TLS 1.1 and older)
  Cipher,       // no cipher suite, group or signature algorithm in common
  Alpn,         // ALPN offered without http/1.1 (h2 only, say)
  NotTls,       // not a TLS ClientHello: plain HTTP to a TLS port, or garbage
  ClientAlert,  // the peer gave up with an alert (it did not trust our certificate, say);
                //   for a client session, the server's alert
  Verify,       // client session: the server's certificate failed verification
                //   (chain, name or IP); error_text() says why
  Other,
};

std::string_view handshake_failure_name(HandshakeFailure failure);

class TlsSession {
 public:
  // A server session on `ctx`. Throws std::bad_alloc when OpenSSL cannot
  // allocate one.
  explicit TlsSession(SSL_CTX* ctx);
  // A client session on `ctx` (a tls::UpstreamTls context) to an upstream
  // named `server_name`. A DNS name is sent as SNI and, when `ctx` verifies
  // the peer, must match the certificate; an IP literal is not sent (SNI
  // takes names only) and must match an IP address of the certificate; ""
  // sends no SNI and checks the chain alone. The first read() call, with
  // empty input, puts the ClientHello into `out` and returns NeedMore.
  // Throws std::bad_alloc when OpenSSL cannot allocate the session.
  TlsSession(SSL_CTX* ctx, std::string_view server_name);
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;
  ~TlsSession();

  enum class Result : uint8_t {
    Data,      // plaintext was written to the buffer (count in `size`)
    NeedMore,  // every input byte is consumed; wait for the socket
    Closed,    // the peer sent close_notify
    Error,     // fatal; failure() says why during the handshake
  };

  // Decrypts what `input` holds into `buffer` (at most `capacity` bytes),
  // completing the handshake first. TLS records OpenSSL must send
  // (handshake, alerts, tickets, key updates) are appended to `out`. Call
  // repeatedly with the same input until it returns something other than
  // Data; input bytes OpenSSL has taken are not offered again. A fatal
  // error after some plaintext returns Data first and Error on the next
  // call; close_notify likewise returns Closed on the next call.
  Result read(std::span<const uint8_t>& input, uint8_t* buffer, size_t capacity, size_t& size,
              ByteBuffer& out);

  // Encrypts all of `plain`, appending records to `out`. False on a fatal
  // TLS error (the connection must close).
  bool write(std::string_view plain, ByteBuffer& out);

  // Appends close_notify to `out` (once; later calls do nothing).
  void shutdown(ByteBuffer& out);

  bool handshake_done() const { return handshake_done_; }
  // True exactly once, on the first read() call after the handshake
  // completed, so the caller can count it.
  bool take_handshake_completed();
  HandshakeFailure failure() const { return failure_; }
  // OpenSSL's reason for the failure ("unsupported protocol"); for Verify,
  // "certificate verify failed: " and the X509 reason ("self-signed
  // certificate", "hostname mismatch").
  const std::string& error_text() const { return error_text_; }
  // True when the handshake failed because the bytes were a plain HTTP
  // request, which deserves a plain-text answer.
  bool plain_http_request() const;

  // After the handshake: "TLSv1.3", "TLS_AES_128_GCM_SHA256", the SNI name
  // ("" when none; for a client, the name it sent), and how the session
  // resumed.
  std::string_view version() const;
  std::string_view cipher() const;
  std::string_view server_name() const;
  bool resumed() const;
  bool resumed_by_ticket() const;
  // The ALPN protocol agreed ("http/1.1"; "" when the client offered none).
  std::string_view alpn() const;
  // The subject of the peer's certificate, RFC 2253 style ("CN=alice,O=x");
  // "" when the peer sent none.
  std::string client_subject() const;

 private:
  // Gives the session its memory BIO; throws std::bad_alloc.
  void attach_bio();
  void classify_error(int ssl_error);

  SSL* ssl_ = nullptr;
  bool handshake_done_ = false;
  bool handshake_reported_ = false;
  bool shutdown_sent_ = false;
  bool pending_error_ = false;  // Error is due on the next read()
  HandshakeFailure failure_ = HandshakeFailure::None;
  int error_reason_ = 0;  // ERR_GET_REASON of the failure
  std::string error_text_;
};

}  // namespace wsgate::tls
