// permessage-deflate's codec (RFC 7692 §7.2) on zlib: whole messages in,
// whole messages out. No I/O; zlib's memory is allocated on first use and
// counted (zlib_bytes_in_use) so that a worker can bound it.
#pragma once

#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace wsgate::ws {

// Bytes zlib holds for every deflater and inflater of this process.
size_t zlib_bytes_in_use();

// Compresses messages for one direction. With context takeover the window
// carries over from message to message; without, the stream is reset
// before each message, so one deflater can serve many connections.
class MessageDeflater {
 public:
  MessageDeflater(int window_bits, int level, int mem_level)
      : window_bits_(window_bits), level_(level), mem_level_(mem_level) {}
  ~MessageDeflater();
  MessageDeflater(const MessageDeflater&) = delete;
  MessageDeflater& operator=(const MessageDeflater&) = delete;

  // Replaces `out` with the permessage-deflate payload of `message`
  // (Z_SYNC_FLUSH, trailing 00 00 FF FF removed, PMD-09). `reset` drops the
  // window first (no context takeover). False if zlib fails (out of memory).
  bool compress(std::span<const uint8_t> message, bool reset, std::vector<uint8_t>& out);
  // Frees the stream; the next compress() starts a new one.
  void release();
  bool allocated() const { return ready_; }

 private:
  int window_bits_, level_, mem_level_;
  z_stream stream_{};
  bool ready_ = false;
};

// Inflates messages for one direction (PMD-08, PMD-10), whole or as their
// bytes arrive.
class MessageInflater {
 public:
  enum class Result { Ok, TooBig, Corrupt, NoMemory };

  explicit MessageInflater(int window_bits) : window_bits_(window_bits) {}
  ~MessageInflater();
  MessageInflater(const MessageInflater&) = delete;
  MessageInflater& operator=(const MessageInflater&) = delete;

  // Replaces `out` with the inflated `message` (the payloads of all its
  // frames, joined): begin(reset), then feed(message, true, ...).
  Result inflate(std::span<const uint8_t> message, uint64_t max_size, bool reset,
                 std::vector<uint8_t>& out);

  // Starts a message. `reset` starts from an empty window (the sender has
  // no context takeover).
  Result begin(bool reset);
  // Appends to `out` what `part` (the next bytes of the message's payload)
  // inflates to; `last` ends the message, and the 00 00 FF FF the sender
  // removed is fed after it. Output grows 16 KiB at a time and stops as
  // soon as out.size() would pass `max_size` (TooBig: no more is
  // inflated). A final block (BFINAL) ends the sender's stream: the rest of
  // the message is ignored, and the next message starts a fresh stream.
  Result feed(std::span<const uint8_t> part, bool last, uint64_t max_size,
              std::vector<uint8_t>& out);

  void release();
  bool allocated() const { return ready_; }

 private:
  Result feed_bytes(std::span<const uint8_t> part, uint64_t max_size, std::vector<uint8_t>& out);

  int window_bits_;
  z_stream stream_{};
  bool ready_ = false;
  bool ended_ = false;  // this message's stream hit BFINAL
};

}  // namespace wsgate::ws
