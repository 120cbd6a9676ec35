// Session ticket keys shared by every worker (SEC-TLS-06, option a): the
// supervisor makes them and hands them to the workers, so a ticket sealed
// by one worker opens on any other, and rotates them. The current key seals
// and opens; the previous one only opens, and tickets it opens are renewed
// under the current key. A key is dropped one period after it stopped
// being current.
#pragma once

#include <openssl/ssl.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace wsgate::tls {

struct TicketKey {
  std::array<uint8_t, 16> name{};  // sent in the clear inside the ticket
  std::array<uint8_t, 32> aes{};   // AES-256-CBC key
  std::array<uint8_t, 32> hmac{};  // HMAC-SHA256 key
};

class TicketKeyRing {
 public:
  // Makes the first key from OpenSSL's CSPRNG. Throws std::runtime_error
  // when RAND_bytes fails.
  static TicketKeyRing generate();

  // The current key becomes the previous one; the old previous is dropped.
  // Throws std::runtime_error when RAND_bytes fails (nothing changes then).
  void rotate();

  const TicketKey& current() const { return current_; }
  const TicketKey* previous() const { return previous_ ? &*previous_ : nullptr; }

  // The ring as bytes for the supervisor -> worker channel, and back.
  // decode() returns nullopt for bytes encode() did not make.
  std::string encode() const;
  static std::optional<TicketKeyRing> decode(std::string_view bytes);

 private:
  TicketKey current_;
  std::optional<TicketKey> previous_;
};

// Installs the ticket callback on `ctx`, reading keys from `ring`, which
// must outlive every connection of `ctx`; a null ring refuses every ticket
// (full handshakes) and issues none.
void use_ticket_keys(SSL_CTX* ctx, const TicketKeyRing* ring);

// True when the handshake of `ssl` opened a ticket (a resumption by ticket,
// not by session ID). Valid after the handshake.
bool opened_ticket(const SSL* ssl);

// Allocates the SSL ex_data slot opened_ticket() uses. Call once, before
// the first handshake (the TLS loader does); idempotent.
void init_ticket_ex_data();

}  // namespace wsgate::tls
