// permessage-deflate on a connection (RFC 7692): the parameters negotiated
// in the handshake and the zlib streams that apply them. With no context
// takeover (the default), the streams are the worker's shared ones, reset
// before each message, so an idle connection holds no zlib memory; with
// takeover, the connection gets its own, on its first compressed message.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <tuple>
#include <vector>

#include "config/config.h"
#include "ws/deflate.h"
#include "ws/deflate_negotiation.h"
#include "ws/utf8.h"

namespace wsgate {

// One worker's shared streams and scratch buffers (the loop is one thread,
// and a message is compressed or inflated in one go, so they are never in
// use twice at once).
class SharedCompression {
 public:
  ws::MessageDeflater& deflater(int window_bits, int level, int mem_level);
  ws::MessageInflater& inflater() { return inflater_; }
  // Output of the last deflate and of the last inflate, each valid until
  // the next of its kind: separate, because a relay (echo) compresses the
  // message it is handed while that message is still the inflate output.
  std::vector<uint8_t>& deflated() {
    used_ = true;
    return deflated_;
  }
  std::vector<uint8_t>& inflated() {
    used_ = true;
    return inflated_;
  }
  // Called once per idle check: frees the scratch buffers a large message
  // left behind, once a whole interval went by without any message using
  // them (a run of large messages keeps them). True when it freed one.
  bool trim();
  // Heap bytes the scratch buffers hold.
  size_t buffer_bytes() const { return deflated_.capacity() + inflated_.capacity(); }

 private:
  std::map<std::tuple<int, int, int>, std::unique_ptr<ws::MessageDeflater>> deflaters_;
  ws::MessageInflater inflater_{15};
  std::vector<uint8_t> deflated_;
  std::vector<uint8_t> inflated_;
  bool used_ = false;  // since the last trim()
};

class Compression {
 public:
  Compression(const config::CompressionConfig& config, const ws::DeflateParameters& parameters,
              SharedCompression& shared);

  // The payload to send for `message`: compressed (true, in the shared
  // deflated() buffer) or not (false, `message` itself): below min_size,
  // when compressing would not shrink it (only without server takeover:
  // with it, the client's window must see every compressed byte), or when
  // zlib runs out of memory.
  bool compress(std::span<const uint8_t> message, std::span<const uint8_t>& out);
  // Inflates a whole compressed message into the shared inflated() buffer.
  ws::MessageInflater::Result inflate(std::span<const uint8_t> payload, uint64_t max_size,
                                      std::span<const uint8_t>& out);

  // A compressed message that arrives in parts (fragmented, or one frame
  // split across reads) is inflated part by part into a buffer of this
  // connection's (PMD-08): the shared streams serve other connections
  // between the parts. Without client context takeover the connection gets
  // a stream of its own for the message, freed with the buffer at its end.
  // `fresh` gets what this part inflated to; after the last part,
  // message() is the whole inflated message until finish_parts().
  ws::MessageInflater::Result inflate_part(std::span<const uint8_t> part, bool last,
                                           uint64_t max_size, std::span<const uint8_t>& fresh);
  std::span<const uint8_t> message() const;
  // Frees what the message in parts holds (after delivery or on failure).
  void finish_parts() { parts_.reset(); }
  // Text messages in parts are UTF-8 checked as they inflate (WS-U8-06).
  ws::Utf8Validator* parts_utf8() { return parts_ ? &parts_->utf8 : nullptr; }
  // Heap bytes held for a message in parts (0 between messages): the
  // inflated bytes so far and, without client takeover, its own inflater
  // (its window and about 7 KiB of state, whether touched yet or not).
  size_t buffered_bytes() const {
    if (!parts_) return 0;
    const size_t inflater = parts_->own ? (size_t{1} << parameters_.client_window_bits) + 7168 : 0;
    return parts_->inflated.capacity() + inflater;
  }

 private:
  const config::CompressionConfig& config_;
  ws::DeflateParameters parameters_;
  SharedCompression& shared_;
  std::unique_ptr<ws::MessageDeflater> own_deflater_;  // server context takeover
  std::unique_ptr<ws::MessageInflater> own_inflater_;  // client context takeover

  struct Parts {
    ws::MessageInflater* stream = nullptr;     // own, or own_inflater_ (client takeover)
    std::unique_ptr<ws::MessageInflater> own;  // without client takeover
    std::vector<uint8_t> inflated;
    ws::Utf8Validator utf8;
  };
  ws::MessageInflater& client_inflater();
  std::unique_ptr<Parts> parts_;  // a message in parts is in progress
};

// The route's policy for negotiate_deflate().
ws::DeflatePolicy deflate_policy(const config::CompressionConfig& config);

}  // namespace wsgate
