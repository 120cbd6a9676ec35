// ByteBuffer: the output queues' buffer. What it keeps, how it grows, and
// that a size past its 32-bit limit throws without touching what it holds.
#include "common/byte_buffer.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <new>
#include <string>

namespace wsgate {
namespace {

TEST(ByteBuffer, IsSixteenBytesAndHoldsNothingWhenEmpty) {
  static_assert(sizeof(ByteBuffer) == 16);
  ByteBuffer buffer;
  EXPECT_TRUE(buffer.empty());
  EXPECT_EQ(buffer.capacity(), 0u);
  EXPECT_EQ(buffer.view(), "");
}

TEST(ByteBuffer, GrowingKeepsEveryByteWritten) {
  ByteBuffer buffer;
  std::string expected;
  for (int i = 0; i < 5000; ++i) {
    const std::string piece(static_cast<size_t>(i % 37), static_cast<char>('a' + i % 26));
    buffer.append(piece);
    expected += piece;
    ASSERT_GE(buffer.capacity(), buffer.size());
  }
  EXPECT_EQ(buffer.view(), expected);
}

TEST(ByteBuffer, GrowsByDoublingButNeverPastWhatIsNeeded) {
  // A 64 KiB frame into a small buffer takes what it needs, not 128 KiB
  // (which glibc would mmap and munmap per message).
  ByteBuffer buffer;
  buffer.append(std::string(4096, 'x'));
  buffer.clear();
  buffer.append(65546);
  EXPECT_EQ(buffer.capacity(), 65546u);
  ByteBuffer doubling;
  doubling.append(300);
  EXPECT_EQ(doubling.capacity(), 300u);
  doubling.append(1);
  EXPECT_EQ(doubling.capacity(), 600u);
}

TEST(ByteBuffer, AppendReturnsRoomThatIsWrittenInPlace) {
  ByteBuffer buffer;
  buffer.append(std::string_view("ab"));
  uint8_t* room = buffer.append(3);
  room[0] = 'c';
  room[1] = 'd';
  room[2] = 'e';
  buffer.push_back('f');
  EXPECT_EQ(buffer.view(), "abcdef");
}

TEST(ByteBuffer, ConsumeTruncateAndClear) {
  ByteBuffer buffer;
  buffer.append(std::string_view("0123456789"));
  buffer.consume(3);
  EXPECT_EQ(buffer.view(), "3456789");
  buffer.truncate(4);
  EXPECT_EQ(buffer.view(), "3456");
  buffer.truncate(10);  // longer than it is: unchanged
  EXPECT_EQ(buffer.view(), "3456");
  buffer.consume(100);
  EXPECT_TRUE(buffer.empty());
  buffer.append(std::string_view("x"));
  const size_t capacity = buffer.capacity();
  buffer.clear();
  EXPECT_TRUE(buffer.empty());
  EXPECT_EQ(buffer.capacity(), capacity);  // clear keeps the storage
  buffer.release();
  EXPECT_EQ(buffer.capacity(), 0u);  // release frees it
}

TEST(ByteBuffer, SwapAndMoveHandOverTheStorage) {
  ByteBuffer a;
  ByteBuffer b;
  a.append(std::string_view("first"));
  b.append(std::string_view("second"));
  a.swap(b);
  EXPECT_EQ(a.view(), "second");
  EXPECT_EQ(b.view(), "first");
  ByteBuffer c(std::move(a));
  EXPECT_EQ(c.view(), "second");
  EXPECT_EQ(a.capacity(), 0u);  // NOLINT(bugprone-use-after-move): moved-from is empty
  b = std::move(c);
  EXPECT_EQ(b.view(), "second");
}

TEST(ByteBuffer, PastFourGibibytesThrowsAndKeepsWhatItHeld) {
  ByteBuffer buffer;
  buffer.append(std::string_view("kept"));
  EXPECT_THROW(buffer.append(size_t{UINT32_MAX}), std::bad_alloc);
  EXPECT_THROW(buffer.append(SIZE_MAX), std::bad_alloc);
  EXPECT_EQ(buffer.view(), "kept");
}

}  // namespace
}  // namespace wsgate
