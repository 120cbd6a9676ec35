// A growable byte buffer for output queues. Unlike std::string it does not
// zero the bytes it grows by, so a frame is built in place, straight into
// the write buffer; and it is 16 bytes, since every connection's stream
// holds one even when idle (sizes are 32-bit: the config bounds a message
// and a queue to 1 GiB each, and growing past 4 GiB throws).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string_view>
#include <utility>

namespace wsgate {

class ByteBuffer {
 public:
  ByteBuffer() = default;
  ByteBuffer(const ByteBuffer&) = delete;
  ByteBuffer& operator=(const ByteBuffer&) = delete;
  ByteBuffer(ByteBuffer&& other) noexcept { swap(other); }
  ByteBuffer& operator=(ByteBuffer&& other) noexcept {
    ByteBuffer(std::move(other)).swap(*this);
    return *this;
  }
  ~ByteBuffer() { std::free(data_); }

  uint8_t* data() { return data_; }
  const uint8_t* data() const { return data_; }
  char* chars() { return reinterpret_cast<char*>(data_); }
  size_t size() const { return size_; }
  size_t capacity() const { return capacity_; }
  bool empty() const { return size_ == 0; }
  std::string_view view() const { return {reinterpret_cast<const char*>(data_), size_}; }
  void clear() { size_ = 0; }

  // Grows by `count` uninitialised bytes and returns where they start.
  // Throws std::bad_alloc when memory runs out or the size would pass
  // 4 GiB; the buffer is unchanged then.
  uint8_t* append(size_t count) {
    if (count > capacity_ - size_) grow(count);
    uint8_t* at = data_ + size_;
    size_ += static_cast<uint32_t>(count);
    return at;
  }
  void append(const void* bytes, size_t count) {
    if (count > 0) std::memcpy(append(count), bytes, count);
  }
  void append(std::string_view bytes) { append(bytes.data(), bytes.size()); }
  void push_back(uint8_t byte) { *append(1) = byte; }

  // Keeps only the first `size` bytes (size <= size()).
  void truncate(size_t size) {
    if (size < size_) size_ = static_cast<uint32_t>(size);
  }

  // Drops the first `count` bytes.
  void consume(size_t count) {
    if (count >= size_) {
      size_ = 0;
      return;
    }
    std::memmove(data_, data_ + count, size_ - count);
    size_ -= static_cast<uint32_t>(count);
  }

  // Frees the storage (an idle connection should hold no buffer).
  void release() {
    std::free(data_);
    data_ = nullptr;
    size_ = capacity_ = 0;
  }

  void swap(ByteBuffer& other) noexcept {
    std::swap(data_, other.data_);
    std::swap(size_, other.size_);
    std::swap(capacity_, other.capacity_);
  }

 private:
  // Never inlined: it runs once per growth, and keeping it out of append()
  // keeps the frame writer's fast path short.
  [[gnu::noinline]] void grow(size_t count) {
    constexpr size_t kMax = UINT32_MAX;
    const size_t needed = size_t{size_} + count;
    if (count > kMax || needed > kMax) throw std::bad_alloc();
    // Doubling, but never rounded up past what is needed: a 64 KiB frame
    // into an empty buffer takes 64 KiB, not 128 KiB, which glibc would
    // serve with mmap and munmap (and 32 page faults) per message.
    size_t capacity = capacity_ < 128 ? 256 : size_t{capacity_} * 2;
    if (capacity < needed) capacity = needed;
    if (capacity > kMax) capacity = kMax;
    auto* bytes = static_cast<uint8_t*>(std::realloc(data_, capacity));
    if (bytes == nullptr) throw std::bad_alloc();
    data_ = bytes;
    capacity_ = static_cast<uint32_t>(capacity);
  }

  uint8_t* data_ = nullptr;
  uint32_t size_ = 0;
  uint32_t capacity_ = 0;
};

}  // namespace wsgate
