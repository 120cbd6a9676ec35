// The TLS side of a connection: feeding ciphertext through the filter,
// encrypting the connection's plaintext when its stream flushes, counting
// handshakes, and failing the connection on a TLS error.
#include <span>

#include "common/log.h"
#include "worker/connection.h"
#include "worker/worker_loop.h"

namespace wsgate {

void Connection::use_tls(SSL_CTX* ctx) {
  tls_ = std::make_unique<Tls>(ctx);
}

void Connection::handle_tls_bytes(const uint8_t* data, size_t size) {
  // After a fatal TLS error nothing more is decrypted; only EOF matters.
  if (tls_->session.failure() != tls::HandshakeFailure::None || cause_ == CloseCause::Tls) return;
  if (tls_->started_ns == 0) tls_->started_ns = uv_hrtime();
  std::span<const uint8_t> input(data, size);
  uint8_t* plain = worker().plain_buffer();
  while (state_ != State::Closed) {
    size_t got = 0;
    const tls::TlsSession::Result result =
        tls_->session.read(input, plain, Worker::kPlainBufferSize, got, client_.output_buffer());
    client_.wrote();  // handshake records, alerts, tickets
    if (tls_->session.take_handshake_completed()) tls_handshake_done();
    switch (result) {
      case tls::TlsSession::Result::Data:
        handle_bytes(plain, got);
        continue;
      case tls::TlsSession::Result::NeedMore:
        return;
      case tls::TlsSession::Result::Closed:
        // close_notify: the peer sends nothing more. After a Close frame in
        // the same read, our Close reply and close_notify still go out
        // (the stream flushes next); EOF or timeouts.close then ends it.
        if (input_deferred_) {
          // Input before the close_notify waits for a later loop turn
          // (PMD-11); the end of the stream is handled after it.
          eof_deferred_ = true;
          return;
        }
        if (state_ != State::Closing) end_of_stream(UV_EOF);
        return;
      case tls::TlsSession::Result::Error:
        tls_failed();
        return;
    }
  }
}

void Connection::tls_handshake_done() {
  WorkerStats& stats = worker().stats();
  ++stats.tls_handshakes_ok;
  ++stats.tls_connections_active;
  if (tls_->session.resumed()) {
    ++(tls_->session.resumed_by_ticket() ? stats.tls_resumed_ticket : stats.tls_resumed_cache);
  }
  ++(tls_->session.version() == "TLSv1.3" ? stats.tls_version_1_3 : stats.tls_version_1_2);
  const std::string_view cipher = tls_->session.cipher();
  if (cipher.find("AES128-GCM") != std::string_view::npos ||
      cipher.find("AES_128_GCM") != std::string_view::npos) {
    ++stats.tls_cipher_aes_128_gcm;
  } else if (cipher.find("AES256-GCM") != std::string_view::npos ||
             cipher.find("AES_256_GCM") != std::string_view::npos) {
    ++stats.tls_cipher_aes_256_gcm;
  } else if (cipher.find("CHACHA20") != std::string_view::npos) {
    ++stats.tls_cipher_chacha20_poly1305;
  } else {
    ++stats.tls_cipher_other;
  }
  const uint64_t micros = (uv_hrtime() - tls_->started_ns) / 1000;
  stats.tls_handshake_us_total += micros;
  if (micros < 1000) {
    ++stats.tls_handshake_under_1ms;
  } else if (micros < 10000) {
    ++stats.tls_handshake_under_10ms;
  } else if (micros < 100000) {
    ++stats.tls_handshake_under_100ms;
  } else {
    ++stats.tls_handshake_over_100ms;
  }
}

void Connection::tls_failed() {
  cause_ = CloseCause::Tls;
  if (tls_->session.handshake_done()) {
    // A broken record after the handshake: OpenSSL queued its alert.
    error_log().debug("TLS error: {}", tls_->session.error_text());
    close_code_ = ws::close_code::kAbnormal;
  } else {
    WorkerStats& stats = worker().stats();
    switch (tls_->session.failure()) {
      case tls::HandshakeFailure::Version:
        ++stats.tls_handshakes_failed_version;
        break;
      case tls::HandshakeFailure::Cipher:
        ++stats.tls_handshakes_failed_cipher;
        break;
      case tls::HandshakeFailure::Alpn:
        ++stats.tls_handshakes_failed_alpn;
        break;
      case tls::HandshakeFailure::NotTls:
        ++stats.tls_handshakes_failed_not_tls;
        break;
      case tls::HandshakeFailure::ClientAlert:
        ++stats.tls_handshakes_failed_client_alert;
        break;
      default:
        ++stats.tls_handshakes_failed_other;
        break;
    }
    error_log().debug("TLS handshake failed ({}): {}",
                      tls::handshake_failure_name(tls_->session.failure()),
                      tls_->session.error_text());
    if (tls_->session.plain_http_request()) {
      // A plain HTTP request on a TLS port gets a readable answer, in
      // plain text since there is no TLS session to carry it.
      http_status_ = 400;
      client_.write(http::make_response(400, "this port speaks TLS: use https:// or wss://"));
    }
  }
  if (state_ != State::Closing) enter_state(State::Closing);
  client_.shutdown_when_flushed();
}

void Connection::on_stream_flush(Stream&) noexcept {
  if (tls_) encrypt_output();
}

void Connection::encrypt_output() {
  if (cause_ == CloseCause::Tls) {
    // The session failed: nothing more can be encrypted, but the alert
    // OpenSSL queued in the stream still goes out before the FIN.
    tls_->plain.clear();
    return;
  }
  if (!tls_->plain.empty()) {
    bool ok = false;
    try {
      ok = tls_->session.write(tls_->plain.view(), client_.output_buffer());
    } catch (const std::exception& e) {
      error_log().error("connection {}: {}", peer_text(), e.what());
    }
    // An idle connection keeps no plaintext buffer.
    tls_->plain.release();
    if (!ok) {
      error_log().debug("TLS write to {} failed: {}", peer_text(), tls_->session.error_text());
      abort(CloseCause::Tls);
      return;
    }
  }
  // close_notify goes after the last record, before the FIN (clean close).
  if (client_.shutdown_wanted()) tls_->session.shutdown(client_.output_buffer());
}

}  // namespace wsgate
