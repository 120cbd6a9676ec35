// permessage-deflate's codec on zlib (see deflate.h).
#include "ws/deflate.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>

namespace wsgate::ws {
namespace {

std::atomic<size_t> g_zlib_bytes{0};

// zlib's allocator, counting what it holds. Each block carries its size in
// a header of max_align_t, so alignment is as malloc's.
voidpf counted_alloc(voidpf, uInt items, uInt size) {
  const size_t bytes = static_cast<size_t>(items) * size;
  void* block = std::malloc(bytes + sizeof(std::max_align_t));
  if (block == nullptr) return Z_NULL;
  std::memcpy(block, &bytes, sizeof bytes);
  g_zlib_bytes.fetch_add(bytes, std::memory_order_relaxed);
  return static_cast<char*>(block) + sizeof(std::max_align_t);
}

void counted_free(voidpf, voidpf address) {
  if (address == Z_NULL) return;
  char* block = static_cast<char*>(address) - sizeof(std::max_align_t);
  size_t bytes = 0;
  std::memcpy(&bytes, block, sizeof bytes);
  g_zlib_bytes.fetch_sub(bytes, std::memory_order_relaxed);
  std::free(block);
}

z_stream counted_stream() {
  z_stream stream{};
  stream.zalloc = counted_alloc;
  stream.zfree = counted_free;
  return stream;
}

constexpr uint8_t kTail[4] = {0x00, 0x00, 0xff, 0xff};
constexpr size_t kChunk = 16 * 1024;
// zlib counts in uInt; larger inputs are fed in slices of this size.
constexpr size_t kMaxSlice = size_t{1} << 30;

}  // namespace

size_t zlib_bytes_in_use() {
  return g_zlib_bytes.load(std::memory_order_relaxed);
}

// ---- MessageDeflater ----------------------------------------------------------

MessageDeflater::~MessageDeflater() {
  release();
}

void MessageDeflater::release() {
  if (ready_) deflateEnd(&stream_);
  ready_ = false;
}

bool MessageDeflater::compress(std::span<const uint8_t> message, bool reset,
                               std::vector<uint8_t>& out) {
  if (!ready_) {
    stream_ = counted_stream();
    // Negative window bits: raw deflate, no zlib header or checksum.
    if (deflateInit2(&stream_, level_, Z_DEFLATED, -window_bits_, mem_level_, Z_DEFAULT_STRATEGY) !=
        Z_OK) {
      return false;
    }
    ready_ = true;
  } else if (reset && deflateReset(&stream_) != Z_OK) {
    return false;
  }
  out.resize(std::max<size_t>(64, message.size() / 2 + 64));
  size_t produced = 0;
  size_t consumed = 0;
  for (;;) {
    const size_t slice = std::min(message.size() - consumed, kMaxSlice);
    stream_.next_in = const_cast<Bytef*>(message.data() + consumed);
    stream_.avail_in = static_cast<uInt>(slice);
    const int flush = consumed + slice == message.size() ? Z_SYNC_FLUSH : Z_NO_FLUSH;
    do {
      if (produced == out.size()) out.resize(out.size() * 2);
      const size_t room = std::min(out.size() - produced, kMaxSlice);
      stream_.next_out = out.data() + produced;
      stream_.avail_out = static_cast<uInt>(room);
      const int rc = deflate(&stream_, flush);
      if (rc == Z_STREAM_ERROR) return false;
      produced += room - stream_.avail_out;
    } while (stream_.avail_out == 0 || stream_.avail_in > 0);
    consumed += slice;
    if (flush == Z_SYNC_FLUSH) break;
  }
  // A sync flush ends with an empty stored block, 00 00 FF FF, which the
  // receiver appends itself (RFC 7692 §7.2.1).
  if (produced >= 4 && std::memcmp(out.data() + produced - 4, kTail, 4) == 0) produced -= 4;
  out.resize(produced);
  return true;
}

// ---- MessageInflater ----------------------------------------------------------

MessageInflater::~MessageInflater() {
  release();
}

void MessageInflater::release() {
  if (ready_) inflateEnd(&stream_);
  ready_ = false;
}

MessageInflater::Result MessageInflater::inflate(std::span<const uint8_t> message,
                                                 uint64_t max_size, bool reset,
                                                 std::vector<uint8_t>& out) {
  out.clear();
  const Result started = begin(reset);
  if (started != Result::Ok) return started;
  return feed(message, true, max_size, out);
}

MessageInflater::Result MessageInflater::begin(bool reset) {
  ended_ = false;
  if (!ready_) {
    stream_ = counted_stream();
    const int rc = inflateInit2(&stream_, -window_bits_);
    if (rc != Z_OK) return rc == Z_MEM_ERROR ? Result::NoMemory : Result::Corrupt;
    ready_ = true;
  } else if (reset && inflateReset(&stream_) != Z_OK) {
    return Result::Corrupt;
  }
  return Result::Ok;
}

MessageInflater::Result MessageInflater::feed(std::span<const uint8_t> part, bool last,
                                              uint64_t max_size, std::vector<uint8_t>& out) {
  if (!ready_) return Result::Corrupt;  // begin() failed or was not called
  Result result = feed_bytes(part, max_size, out);
  if (result == Result::Ok && last) result = feed_bytes({kTail, sizeof kTail}, max_size, out);
  return result;
}

MessageInflater::Result MessageInflater::feed_bytes(std::span<const uint8_t> part,
                                                    uint64_t max_size, std::vector<uint8_t>& out) {
  if (ended_) return Result::Ok;
  size_t produced = out.size();
  if (produced > max_size) return Result::TooBig;
  const uint64_t limit = max_size + 1;  // one byte more than allowed is TooBig
  size_t consumed = 0;
  while (consumed < part.size()) {
    const size_t slice = std::min(part.size() - consumed, kMaxSlice);
    stream_.next_in = const_cast<Bytef*>(part.data() + consumed);
    stream_.avail_in = static_cast<uInt>(slice);
    for (;;) {
      if (produced == out.size()) {
        // PMD-10: a fixed chunk at a time, never sized from the ratio.
        if (out.size() >= limit) return Result::TooBig;
        const size_t grown = static_cast<size_t>(std::min<uint64_t>(out.size() + kChunk, limit));
        // Doubling, but never past the limit: the buffer stays within
        // max_size + 1 bytes whatever the ratio.
        if (grown > out.capacity()) {
          out.reserve(static_cast<size_t>(
              std::min<uint64_t>(std::max<uint64_t>(grown, uint64_t{out.capacity()} * 2), limit)));
        }
        out.resize(grown);
      }
      const size_t room = std::min(out.size() - produced, kMaxSlice);
      stream_.next_out = out.data() + produced;
      stream_.avail_out = static_cast<uInt>(room);
      const int rc = ::inflate(&stream_, Z_SYNC_FLUSH);
      produced += room - stream_.avail_out;
      if (produced > max_size) {
        out.resize(produced);
        return Result::TooBig;
      }
      if (rc == Z_STREAM_END) {
        // A final block (RFC 7692 §7.2.3.4): the sender's stream ended;
        // whatever follows in this message is ignored, and the next
        // message starts a new stream.
        inflateReset(&stream_);
        ended_ = true;
        out.resize(produced);
        return Result::Ok;
      }
      if (rc == Z_MEM_ERROR) return Result::NoMemory;
      if (rc != Z_OK && rc != Z_BUF_ERROR) return Result::Corrupt;
      // All input taken and output left over: this slice is done.
      if (stream_.avail_in == 0 && stream_.avail_out > 0) break;
      if (rc == Z_BUF_ERROR && stream_.avail_out > 0) break;  // no progress possible
    }
    consumed += slice;
  }
  out.resize(produced);
  return Result::Ok;
}

}  // namespace wsgate::ws
