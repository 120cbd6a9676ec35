// A growable byte buffer that, unlike std::vector, does not zero the bytes
// it grows by: frames are built in place, straight into the write buffer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>

namespace wsgate::loadgen {

class ByteBuffer {
 public:
  ByteBuffer() = default;
  ByteBuffer(const ByteBuffer&) = delete;
  ByteBuffer& operator=(const ByteBuffer&) = delete;
  ~ByteBuffer() { std::free(data_); }

  uint8_t* data() { return data_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  void clear() { size_ = 0; }

  // Grows by `count` uninitialised bytes and returns where they start.
  // Aborts when memory runs out (a load generator has nothing better to do).
  uint8_t* append(size_t count) {
    if (size_ + count > capacity_) grow(size_ + count);
    uint8_t* at = data_ + size_;
    size_ += count;
    return at;
  }

  void append(const void* bytes, size_t count) { std::memcpy(append(count), bytes, count); }

  // Keeps only the first `size` bytes (size <= size()).
  void truncate(size_t size) {
    if (size < size_) size_ = size;
  }

  // Drops the first `count` bytes.
  void consume(size_t count) {
    if (count >= size_) {
      size_ = 0;
      return;
    }
    std::memmove(data_, data_ + count, size_ - count);
    size_ -= count;
  }

  // Frees the storage (idle connections should hold no buffers).
  void release() {
    std::free(data_);
    data_ = nullptr;
    size_ = capacity_ = 0;
  }

  void swap(ByteBuffer& other) {
    std::swap(data_, other.data_);
    std::swap(size_, other.size_);
    std::swap(capacity_, other.capacity_);
  }

 private:
  void grow(size_t needed) {
    size_t capacity = capacity_ < 256 ? 256 : capacity_ * 2;
    while (capacity < needed) capacity *= 2;
    auto* bytes = static_cast<uint8_t*>(std::realloc(data_, capacity));
    if (bytes == nullptr) std::abort();
    data_ = bytes;
    capacity_ = capacity;
  }

  uint8_t* data_ = nullptr;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

}  // namespace wsgate::loadgen
