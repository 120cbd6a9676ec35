// TLS client over memory BIOs (see tls_client.h).
#include "loadgen/tls_client.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "loadgen/options.h"

namespace wsgate::loadgen {

namespace {
int context_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}
}  // namespace

TlsContext::~TlsContext() {
  if (session_ != nullptr) SSL_SESSION_free(session_);
  if (context_ != nullptr) SSL_CTX_free(context_);
}

bool TlsContext::init(const Options& options, std::string& error) {
  context_ = SSL_CTX_new(TLS_client_method());
  if (context_ == nullptr) {
    error = "SSL_CTX_new failed";
    return false;
  }
  SSL_CTX_set_min_proto_version(context_, TLS1_2_VERSION);
  verify_ = !options.insecure;
  if (verify_) {
    const int loaded = options.ca_file.empty() ? SSL_CTX_set_default_verify_paths(context_)
                                               : SSL_CTX_load_verify_locations(
                                                     context_, options.ca_file.c_str(), nullptr);
    if (loaded != 1) {
      error = "cannot load CA file " + options.ca_file;
      return false;
    }
    SSL_CTX_set_verify(context_, SSL_VERIFY_PEER, nullptr);
  } else {
    SSL_CTX_set_verify(context_, SSL_VERIFY_NONE, nullptr);
  }
  resume_ = options.resume;
  if (resume_) {
    // Sessions arrive after the handshake in TLS 1.3 (NewSessionTicket), so
    // they are caught by the callback rather than asked for once.
    SSL_CTX_set_ex_data(context_, context_index(), this);
    SSL_CTX_set_session_cache_mode(context_,
                                   SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(context_, on_new_session);
  }
  return true;
}

// Keeps a copy of the first session offered. A copy, because OpenSSL marks
// a TLS 1.3 client session non-resumable when a later ticket replaces it on
// its connection; the copy is never attached to a connection itself.
int TlsContext::on_new_session(SSL* ssl, SSL_SESSION* session) {
  auto* self = static_cast<TlsContext*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), context_index()));
  if (self != nullptr && self->session_ == nullptr) self->session_ = SSL_SESSION_dup(session);
  return 0;
}

bool TlsClient::start(const TlsContext& context, const std::string& servername) {
  reset();
  ssl_ = SSL_new(context.get());
  if (ssl_ == nullptr) {
    record_error("SSL_new");
    return false;
  }
  network_in_ = BIO_new(BIO_s_mem());
  network_out_ = BIO_new(BIO_s_mem());
  if (network_in_ == nullptr || network_out_ == nullptr) {
    BIO_free(network_in_);
    BIO_free(network_out_);
    network_in_ = network_out_ = nullptr;
    record_error("BIO_new");
    return false;
  }
  BIO_set_mem_eof_return(network_in_, -1);  // empty means "retry", not EOF
  SSL_set_bio(ssl_, network_in_, network_out_);
  SSL_set_connect_state(ssl_);
  SSL_set_tlsext_host_name(ssl_, servername.c_str());
  if (context.verify() && SSL_set1_host(ssl_, servername.c_str()) != 1) {
    record_error("SSL_set1_host");
    return false;
  }
  if (context.resume_session() != nullptr) {
    // Each connection gets its own copy of the saved session (see
    // on_new_session); SSL_set_session takes its own reference.
    SSL_SESSION* copy = SSL_SESSION_dup(context.resume_session());
    if (copy != nullptr) {
      SSL_set_session(ssl_, copy);
      SSL_SESSION_free(copy);
    }
  }
  return handshake() >= 0;
}

void TlsClient::reset() {
  if (ssl_ != nullptr) {
    // Marks the connection as shut down cleanly: SSL_free would otherwise
    // remove the session from the cache and make it non-resumable, which
    // would stop --resume from working after the first connection ends.
    SSL_set_shutdown(ssl_, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    SSL_free(ssl_);  // frees both BIOs
  }
  ssl_ = nullptr;
  network_in_ = network_out_ = nullptr;
}

bool TlsClient::feed(const uint8_t* data, size_t length) {
  while (length > 0) {
    const int written = BIO_write(network_in_, data, static_cast<int>(length));
    if (written <= 0) {
      record_error("BIO_write");
      return false;
    }
    data += written;
    length -= static_cast<size_t>(written);
  }
  return true;
}

int TlsClient::handshake() {
  const int result = SSL_do_handshake(ssl_);
  if (result == 1) return 1;
  const int error = SSL_get_error(ssl_, result);
  if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) return 0;
  record_error("handshake");
  return -1;
}

int TlsClient::read(uint8_t* out, size_t capacity) {
  const int result = SSL_read(ssl_, out, static_cast<int>(capacity));
  if (result > 0) return result;
  const int error = SSL_get_error(ssl_, result);
  if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) return 0;
  if (error == SSL_ERROR_ZERO_RETURN) {
    error_ = "close_notify";
    return -1;
  }
  record_error("SSL_read");
  return -1;
}

bool TlsClient::write(const uint8_t* data, size_t length) {
  while (length > 0) {
    const int result = SSL_write(ssl_, data, static_cast<int>(length));
    if (result <= 0) {
      record_error("SSL_write");
      return false;
    }
    data += result;
    length -= static_cast<size_t>(result);
  }
  return true;
}

void TlsClient::take_output(ByteBuffer& out) {
  const size_t pending = BIO_ctrl_pending(network_out_);
  if (pending == 0) return;
  uint8_t* at = out.append(pending);
  const int got = BIO_read(network_out_, at, static_cast<int>(pending));
  // A memory BIO hands over all it holds; trim anyway if it did not.
  if (got < static_cast<int>(pending)) {
    out.truncate(out.size() - pending + static_cast<size_t>(got < 0 ? 0 : got));
  }
}

void TlsClient::record_error(const char* what) {
  char text[256];
  const unsigned long code = ERR_get_error();
  ERR_error_string_n(code, text, sizeof text);
  error_ = std::string(what) + ": " + (code != 0 ? text : "failed");
  if (ssl_ != nullptr && SSL_get_verify_result(ssl_) != X509_V_OK) {
    error_ += " (";
    error_ += X509_verify_cert_error_string(SSL_get_verify_result(ssl_));
    error_ += ")";
  }
  ERR_clear_error();
}

}  // namespace wsgate::loadgen
