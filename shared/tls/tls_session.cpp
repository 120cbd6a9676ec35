// The per-connection TLS filter (see tls_session.h).
#include "tls/tls_session.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <cstring>
#include <new>
#include <span>

#include "tls/openssl_error.h"
#include "tls/ticket_keys.h"

namespace wsgate::tls {
namespace {

// Where the BIO reads from and writes to during one call into OpenSSL.
struct BioState {
  std::span<const uint8_t>* input = nullptr;
  ByteBuffer* output = nullptr;
};

// OpenSSL calls these from C: no exception may leave them. A failed
// allocation is a write error, which fails the connection.
int bio_write(BIO* bio, const char* data, int size) noexcept {
  auto* state = static_cast<BioState*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  if (state == nullptr || state->output == nullptr) return -1;
  try {
    state->output->append(data, static_cast<size_t>(size));
  } catch (const std::bad_alloc&) {
    return -1;
  }
  return size;
}

int bio_read(BIO* bio, char* data, int size) noexcept {
  auto* state = static_cast<BioState*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  if (state == nullptr || state->input == nullptr || state->input->empty()) {
    BIO_set_retry_read(bio);
    return -1;
  }
  const size_t n = std::min(state->input->size(), static_cast<size_t>(size));
  std::memcpy(data, state->input->data(), n);
  *state->input = state->input->subspan(n);
  return static_cast<int>(n);
}

long bio_ctrl(BIO* bio, int command, long, void*) noexcept {
  auto* state = static_cast<BioState*>(BIO_get_data(bio));
  switch (command) {
    case BIO_CTRL_FLUSH:
      return 1;
    case BIO_CTRL_PENDING:
      return state != nullptr && state->input != nullptr ? static_cast<long>(state->input->size())
                                                           : 0;
    default:
      return 0;
  }
}

int bio_create(BIO* bio) noexcept {
  BIO_set_init(bio, 1);
  return 1;
}

// One method table for the process, made on first use.
BIO_METHOD* bio_method() {
  static BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "wsgate memory");
    if (m == nullptr) return m;
    BIO_meth_set_write(m, bio_write);
    BIO_meth_set_read(m, bio_read);
    BIO_meth_set_ctrl(m, bio_ctrl);
    BIO_meth_set_create(m, bio_create);
    return m;
  }();
  return method;
}

// Points the session's BIO at `input` and `output` for one OpenSSL call and
// detaches it afterwards, so no dangling pointer survives the call.
class BioScope {
 public:
  BioScope(SSL* ssl, std::span<const uint8_t>* input, ByteBuffer* output)
      : bio_(SSL_get_rbio(ssl)), state_{input, output} {
    BIO_set_data(bio_, &state_);
  }
  ~BioScope() { BIO_set_data(bio_, nullptr); }
  BioScope(const BioScope&) = delete;
  BioScope& operator=(const BioScope&) = delete;

 private:
  BIO* bio_;
  BioState state_;
};

}  // namespace

std::string_view handshake_failure_name(HandshakeFailure failure) {
  switch (failure) {
    case HandshakeFailure::None:
      return "none";
    case HandshakeFailure::Version:
      return "version";
    case HandshakeFailure::Cipher:
      return "cipher";
    case HandshakeFailure::Alpn:
      return "alpn";
    case HandshakeFailure::NotTls:
      return "not_tls";
    case HandshakeFailure::ClientAlert:
      return "client_alert";
    case HandshakeFailure::Verify:
      return "verify";
    case HandshakeFailure::Other:
      return "other";
  }
  return "other";
}

void TlsSession::attach_bio() {
  BIO* bio = ssl_ != nullptr ? BIO_new(bio_method()) : nullptr;
  if (bio == nullptr) {
    SSL_free(ssl_);
    ERR_clear_error();
    throw std::bad_alloc();
  }
  SSL_set_bio(ssl_, bio, bio);  // one BIO both ways; SSL_free frees it once
}

TlsSession::TlsSession(SSL_CTX* ctx) : ssl_(SSL_new(ctx)) {
  attach_bio();
  SSL_set_accept_state(ssl_);
}

TlsSession::TlsSession(SSL_CTX* ctx, std::string_view server_name) : ssl_(SSL_new(ctx)) {
  attach_bio();
  SSL_set_connect_state(ssl_);
  const std::string name(server_name);
  bool ok = true;
  if (!name.empty()) {
    const bool verifies = (SSL_get_verify_mode(ssl_) & SSL_VERIFY_PEER) != 0;
    unsigned char address[16];
    const bool ip = inet_pton(AF_INET, name.c_str(), address) == 1 ||
                    inet_pton(AF_INET6, name.c_str(), address) == 1;
    if (ip) {
      // RFC 6066 section 3: SNI carries host names, never addresses.
      if (verifies) ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), name.c_str()) == 1;
    } else {
      ok = SSL_set_tlsext_host_name(ssl_, name.c_str()) == 1;
      if (ok && verifies) {
        SSL_set_hostflags(ssl_, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        ok = SSL_set1_host(ssl_, name.c_str()) == 1;
      }
    }
  }
  if (!ok) {
    SSL_free(ssl_);
    ERR_clear_error();
    throw std::bad_alloc();
  }
}

TlsSession::~TlsSession() {
  SSL_free(ssl_);
}

TlsSession::Result TlsSession::read(std::span<const uint8_t>& input, uint8_t* buffer,
                                    size_t capacity, size_t& size, ByteBuffer& out) {
  size = 0;
  if (pending_error_) {
    // A fatal error came after plaintext the last call handed over.
    pending_error_ = false;
    return Result::Error;
  }
  // OpenSSL needs an empty error queue before an I/O call, or a stale
  // entry (another connection's) turns this call's WANT_READ into an error.
  ERR_clear_error();
  BioScope scope(ssl_, &input, &out);
  if (!handshake_done_) {
    const int rc = SSL_do_handshake(ssl_);
    if (rc != 1) {
      const int error = SSL_get_error(ssl_, rc);
      if (error == SSL_ERROR_WANT_READ) return Result::NeedMore;
      classify_error(error);
      return Result::Error;
    }
    handshake_done_ = true;
  }
  // Fill the buffer with as many records as the input holds, so the frame
  // parser sees many small frames at once rather than one record at a time.
  while (size < capacity) {
    size_t got = 0;
    const int rc = SSL_read_ex(ssl_, buffer + size, capacity - size, &got);
    if (rc == 1) {
      size += got;
      continue;
    }
    const int error = SSL_get_error(ssl_, rc);
    if (error == SSL_ERROR_WANT_READ) break;
    if (error == SSL_ERROR_ZERO_RETURN) {
      if (size > 0) break;  // Closed comes again on the next call
      return Result::Closed;
    }
    classify_error(error);
    if (size == 0) return Result::Error;
    pending_error_ = true;  // hand over what was read first
    break;
  }
  return size > 0 ? Result::Data : Result::NeedMore;
}

bool TlsSession::write(std::string_view plain, ByteBuffer& out) {
  ERR_clear_error();
  BioScope scope(ssl_, nullptr, &out);
  while (!plain.empty()) {
    size_t written = 0;
    if (SSL_write_ex(ssl_, plain.data(), plain.size(), &written) != 1) {
      error_text_ = openssl_reason();
      return false;
    }
    plain.remove_prefix(written);
  }
  return true;
}

void TlsSession::shutdown(ByteBuffer& out) {
  if (shutdown_sent_ || !handshake_done_) return;
  shutdown_sent_ = true;
  ERR_clear_error();
  BioScope scope(ssl_, nullptr, &out);
  SSL_shutdown(ssl_);  // sends close_notify; the peer's answer is not awaited
  ERR_clear_error();
}

bool TlsSession::plain_http_request() const {
  return failure_ == HandshakeFailure::NotTls && error_reason_ == SSL_R_HTTP_REQUEST;
}

bool TlsSession::take_handshake_completed() {
  if (!handshake_done_ || handshake_reported_) return false;
  handshake_reported_ = true;
  return true;
}

void TlsSession::classify_error(int ssl_error) {
  const unsigned long code = ERR_peek_last_error();
  const int reason = ERR_GET_REASON(code);
  error_reason_ = reason;
  const char* text = code != 0 ? ERR_reason_error_string(code) : nullptr;
  error_text_ = text != nullptr ? text : ssl_error == SSL_ERROR_SYSCALL ? "unexpected EOF" : "TLS error";
  ERR_clear_error();
  if (handshake_done_) return;
  switch (reason) {
    // A client session that refused the server's certificate.
    case SSL_R_CERTIFICATE_VERIFY_FAILED:
      failure_ = HandshakeFailure::Verify;
      error_text_ = std::string("certificate verify failed: ") +
                    X509_verify_cert_error_string(SSL_get_verify_result(ssl_));
      break;
    case SSL_R_UNSUPPORTED_PROTOCOL:
    case SSL_R_VERSION_TOO_LOW:
    case SSL_R_VERSION_TOO_HIGH:
      failure_ = HandshakeFailure::Version;
      break;
    case SSL_R_NO_SHARED_CIPHER:
    case SSL_R_NO_SHARED_GROUPS:
    case SSL_R_NO_SUITABLE_SIGNATURE_ALGORITHM:
    case SSL_R_NO_SUITABLE_KEY_SHARE:
      failure_ = HandshakeFailure::Cipher;
      break;
    case SSL_R_NO_APPLICATION_PROTOCOL:
      failure_ = HandshakeFailure::Alpn;
      break;
    // A record header OpenSSL cannot read at all: not TLS (garbage, SSH...).
    // Real TLS 1.0/1.1 clients arrive as SSL_R_UNSUPPORTED_PROTOCOL.
    case SSL_R_WRONG_VERSION_NUMBER:
    case SSL_R_HTTP_REQUEST:
    case SSL_R_HTTPS_PROXY_REQUEST:
    case SSL_R_PACKET_LENGTH_TOO_LONG:
    case SSL_R_RECORD_LENGTH_MISMATCH:
    case SSL_R_UNKNOWN_PROTOCOL:
      failure_ = HandshakeFailure::NotTls;
      break;
    default:
      // Alerts the client sent arrive as reasons 1000 + alert number.
      failure_ = reason >= SSL_AD_REASON_OFFSET ? HandshakeFailure::ClientAlert
                                                : HandshakeFailure::Other;
      break;
  }
}

std::string_view TlsSession::version() const {
  return handshake_done_ ? SSL_get_version(ssl_) : "";
}

std::string_view TlsSession::cipher() const {
  const char* name = handshake_done_ ? SSL_get_cipher_name(ssl_) : nullptr;
  return name != nullptr ? name : "";
}

std::string_view TlsSession::server_name() const {
  const char* name = SSL_get_servername(ssl_, TLSEXT_NAMETYPE_host_name);
  return name != nullptr ? name : "";
}

bool TlsSession::resumed() const {
  return handshake_done_ && SSL_session_reused(ssl_) == 1;
}

std::string_view TlsSession::alpn() const {
  const unsigned char* protocol = nullptr;
  unsigned int length = 0;
  SSL_get0_alpn_selected(ssl_, &protocol, &length);
  return protocol ? std::string_view(reinterpret_cast<const char*>(protocol), length) : "";
}

std::string TlsSession::client_subject() const {
  X509* certificate = SSL_get0_peer_certificate(ssl_);
  if (certificate == nullptr) return {};
  BIO* out = BIO_new(BIO_s_mem());
  if (out == nullptr) return {};
  std::string subject;
  if (X509_NAME_print_ex(out, X509_get_subject_name(certificate), 0, XN_FLAG_RFC2253) >= 0) {
    char* data = nullptr;
    const long size = BIO_get_mem_data(out, &data);
    if (size > 0) subject.assign(data, static_cast<size_t>(size));
  }
  BIO_free(out);
  return subject;
}

bool TlsSession::resumed_by_ticket() const {
  return resumed() && opened_ticket(ssl_);
}

}  // namespace wsgate::tls
