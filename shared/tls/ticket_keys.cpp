// Session ticket keys and the OpenSSL 3 ticket callback (see ticket_keys.h).
#include "tls/ticket_keys.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstring>
#include <stdexcept>

namespace wsgate::tls {
namespace {

// SSL ex_data slot marking a handshake that opened a ticket; -1 until init.
int g_opened_ticket_index = -1;

TicketKey random_key() {
  TicketKey key;
  if (RAND_bytes(key.name.data(), static_cast<int>(key.name.size())) != 1 ||
      RAND_bytes(key.aes.data(), static_cast<int>(key.aes.size())) != 1 ||
      RAND_bytes(key.hmac.data(), static_cast<int>(key.hmac.size())) != 1) {
    throw std::runtime_error("RAND_bytes failed making a session ticket key");
  }
  return key;
}

// Sets up the cipher and MAC of `key` for sealing (enc 1) or opening.
bool init_contexts(const TicketKey& key, const unsigned char* iv, EVP_CIPHER_CTX* cipher,
                   EVP_MAC_CTX* mac, int enc) {
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, const_cast<uint8_t*>(key.hmac.data()),
                                        key.hmac.size()),
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>("SHA256"), 0),
      OSSL_PARAM_construct_end(),
  };
  if (EVP_MAC_CTX_set_params(mac, params) != 1) return false;
  return EVP_CipherInit_ex(cipher, EVP_aes_256_cbc(), nullptr, key.aes.data(), iv, enc) == 1;
}

// OpenSSL's ticket callback. Sealing: name the current key, make an IV,
// return 1. Opening: 1 for the current key, 2 for the previous one (open,
// then issue a new ticket under the current key), 0 for an unknown name
// (a full handshake), -1 on an internal error.
int ticket_callback(SSL* ssl, unsigned char key_name[16], unsigned char* iv,
                    EVP_CIPHER_CTX* cipher, EVP_MAC_CTX* mac, int enc) noexcept {
  const auto* ring = static_cast<const TicketKeyRing*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
  if (ring == nullptr) return 0;
  if (enc == 1) {
    const TicketKey& key = ring->current();
    const int iv_size = EVP_CIPHER_get_iv_length(EVP_aes_256_cbc());
    if (RAND_bytes(iv, iv_size) != 1) return -1;
    std::memcpy(key_name, key.name.data(), key.name.size());
    return init_contexts(key, iv, cipher, mac, 1) ? 1 : -1;
  }
  const TicketKey* key = nullptr;
  int result = 0;
  if (std::memcmp(key_name, ring->current().name.data(), 16) == 0) {
    key = &ring->current();
    result = 1;
  } else if (ring->previous() != nullptr &&
             std::memcmp(key_name, ring->previous()->name.data(), 16) == 0) {
    key = ring->previous();
    result = 2;
  }
  if (key == nullptr) return 0;
  if (!init_contexts(*key, iv, cipher, mac, 0)) return -1;
  if (g_opened_ticket_index >= 0) {
    SSL_set_ex_data(ssl, g_opened_ticket_index, reinterpret_cast<void*>(1));
  }
  return result;
}

}  // namespace

TicketKeyRing TicketKeyRing::generate() {
  TicketKeyRing ring;
  ring.current_ = random_key();
  return ring;
}

void TicketKeyRing::rotate() {
  TicketKey next = random_key();
  previous_ = current_;
  current_ = next;
}

std::string TicketKeyRing::encode() const {
  std::string out;
  const auto append = [&](const TicketKey& key) {
    out.append(reinterpret_cast<const char*>(key.name.data()), key.name.size());
    out.append(reinterpret_cast<const char*>(key.aes.data()), key.aes.size());
    out.append(reinterpret_cast<const char*>(key.hmac.data()), key.hmac.size());
  };
  out.push_back(previous_ ? 2 : 1);
  append(current_);
  if (previous_) append(*previous_);
  return out;
}

std::optional<TicketKeyRing> TicketKeyRing::decode(std::string_view bytes) {
  constexpr size_t kKeySize = 16 + 32 + 32;
  if (bytes.empty() || (bytes[0] != 1 && bytes[0] != 2)) return std::nullopt;
  const size_t count = static_cast<size_t>(bytes[0]);
  if (bytes.size() != 1 + count * kKeySize) return std::nullopt;
  const auto read = [&](size_t index) {
    TicketKey key;
    const char* at = bytes.data() + 1 + index * kKeySize;
    std::memcpy(key.name.data(), at, 16);
    std::memcpy(key.aes.data(), at + 16, 32);
    std::memcpy(key.hmac.data(), at + 48, 32);
    return key;
  };
  TicketKeyRing ring;
  ring.current_ = read(0);
  if (count == 2) ring.previous_ = read(1);
  return ring;
}

void use_ticket_keys(SSL_CTX* ctx, const TicketKeyRing* ring) {
  SSL_CTX_set_app_data(ctx, const_cast<TicketKeyRing*>(ring));
  SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticket_callback);
}

void init_ticket_ex_data() {
  if (g_opened_ticket_index < 0) {
    g_opened_ticket_index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  }
}

bool opened_ticket(const SSL* ssl) {
  return g_opened_ticket_index >= 0 && SSL_get_ex_data(ssl, g_opened_ticket_index) != nullptr;
}

}  // namespace wsgate::tls
