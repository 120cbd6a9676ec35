// Tests of the parser's limits and memory rules (SEC-LIM-05..07, WS-FR-06,
// WS-FR-08, WS-FG-04) and of the control-frame rate bucket (SEC-LIM-09).
#include <gtest/gtest.h>
#include <malloc.h>

#include "ws/frame_parser.h"
#include "ws/token_bucket.h"
#include "ws_test_support.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WSGATE_TEST_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define WSGATE_TEST_ASAN 1
#endif
#ifdef WSGATE_TEST_ASAN
// From <sanitizer/allocator_interface.h>, which GCC does not install; both
// GCC's and clang's ASan runtimes export it.
extern "C" size_t __sanitizer_get_current_allocated_bytes();
#endif

namespace wsgate::ws {
namespace {

using namespace test;
using Kind = FrameEvent::Kind;

// Bytes the process has allocated from the heap right now. glibc counts
// small chunks in uordblks and mmap()ed ones (any large buffer) in hblkhd,
// so both are needed to see a big allocation. ASan has its own allocator.
size_t heap_in_use() {
#ifdef WSGATE_TEST_ASAN
  return __sanitizer_get_current_allocated_bytes();
#else
  const struct mallinfo2 info = mallinfo2();
  return info.uordblks + info.hblkhd;
#endif
}

Limits limits(uint64_t frame, uint64_t message, uint32_t fragments) {
  Limits l;
  l.max_frame = frame;
  l.max_message = message;
  l.max_fragments = fragments;
  return l;
}

Bytes fragmented(size_t fragments, size_t bytes_each) {
  Bytes wire;
  for (size_t i = 0; i < fragments; ++i) {
    const Opcode op = i == 0 ? Opcode::Binary : Opcode::Continuation;
    wire = concat({wire, frame(op, Bytes(bytes_each, 'f'), i + 1 == fragments)});
  }
  return wire;
}

TEST(Limits, SEC_LIM_05_FrameAtLimitPassesAndAboveFailsWith1009) {
  const Limits l = limits(1000, 1 << 20, 0);
  for (size_t n : {999, 1000}) {
    const auto ok = parse_all(binary(Bytes(n, 'b')), Role::Server, l);
    ASSERT_EQ(ok.size(), 1u) << n;
    EXPECT_EQ(ok[0].kind, Kind::Message);
  }
  EXPECT_EQ(error_code(parse_all(binary(Bytes(1001, 'b')), Role::Server, l)),
            close_code::kMessageTooBig);
}

TEST(Limits, SEC_LIM_05_OversizedFrameFailsOnItsHeaderAlone) {
  const Bytes wire = binary(Bytes(1001, 'b'));
  const Bytes header_only(wire.begin(), wire.begin() + 8);  // 2 + 2 length + 4 key
  EXPECT_EQ(error_code(parse_all(header_only, Role::Server, limits(1000, 1 << 20, 0))),
            close_code::kMessageTooBig);
}

TEST(Limits, SEC_LIM_06_MessageAtLimitPassesAndAboveFailsWith1009) {
  const Limits l = limits(1 << 20, 1000, 0);
  // Four fragments of 250: 1000 bytes exactly; one byte less and one more.
  for (size_t last : {249, 250}) {
    Bytes msg =
        concat({binary(Bytes(250, 'f'), false), frame(Opcode::Continuation, Bytes(250, 'f'), false),
                frame(Opcode::Continuation, Bytes(250, 'f'), false),
                frame(Opcode::Continuation, Bytes(last, 'f'), true)});
    const auto ok = parse_all(msg, Role::Server, l);
    ASSERT_EQ(ok.size(), 1u) << last;
    EXPECT_EQ(ok[0].payload.size(), 750 + last);
  }
  const Bytes over =
      concat({binary(Bytes(250, 'f'), false), frame(Opcode::Continuation, Bytes(250, 'f'), false),
              frame(Opcode::Continuation, Bytes(250, 'f'), false),
              frame(Opcode::Continuation, Bytes(251, 'f'), true)});
  EXPECT_EQ(error_code(parse_all(over, Role::Server, l)), close_code::kMessageTooBig);
}

TEST(Limits, SEC_LIM_06_MessageOverLimitFailsBeforeThePayloadArrives) {
  // The second fragment's header declares 600 more bytes than allowed.
  const FrameHeader second = make_frame_header(Role::Client, Opcode::Continuation, true, 501, kKey);
  const Bytes wire =
      concat({binary(Bytes(500, 'f'), false), Bytes(second.bytes, second.bytes + second.size)});
  EXPECT_EQ(error_code(parse_all(wire, Role::Server, limits(1 << 20, 1000, 0))),
            close_code::kMessageTooBig);
}

TEST(Limits, SEC_LIM_07_FragmentsAtLimitPassAndAboveFailWith1008) {
  const Limits l = limits(1 << 20, 1 << 20, 8);
  for (size_t n : {7, 8}) {
    const auto ok = parse_all(fragmented(n, 3), Role::Server, l);
    ASSERT_EQ(ok.size(), 1u) << n;
    EXPECT_EQ(ok[0].payload.size(), 3 * n);
  }
  EXPECT_EQ(error_code(parse_all(fragmented(9, 3), Role::Server, l)), close_code::kPolicyViolation);
}

TEST(Limits, WS_FG_04_EmptyFragmentsCountTowardTheFragmentLimit) {
  const Limits l = limits(1 << 20, 1 << 20, 8);
  EXPECT_EQ(parse_all(fragmented(8, 0), Role::Server, l).size(), 1u);
  EXPECT_EQ(error_code(parse_all(fragmented(9, 0), Role::Server, l)), close_code::kPolicyViolation);
}

TEST(Limits, SEC_LIM_07_ZeroFragmentLimitMeansUnlimited) {
  const auto events = parse_all(fragmented(3000, 1), Role::Server, limits(1 << 20, 1 << 20, 0));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].payload.size(), 3000u);
}

TEST(Limits, SEC_LIM_07_FragmentCountRestartsWithEachMessage) {
  const Limits l = limits(1 << 20, 1 << 20, 4);
  const Bytes wire = concat({fragmented(4, 1), fragmented(4, 1), fragmented(4, 1)});
  EXPECT_EQ(parse_all(wire, Role::Server, l).size(), 3u);
}

// WS-FR-08: a 15-byte header declaring 1 GiB, plus a few payload bytes, must
// not make the parser allocate anything like the declared length.
TEST(Limits, WS_FR_08_DeclaredGigabyteAllocatesOnlyWhatArrived) {
  const uint64_t gib = uint64_t{1} << 30;
  Bytes wire{0x82, 0x80 | 127};
  for (int i = 7; i >= 0; --i) wire.push_back(static_cast<uint8_t>(gib >> (8 * i)));
  wire.insert(wire.end(), kKey, kKey + 4);
  ASSERT_EQ(wire.size(), 14u);
  wire.push_back(0x11);  // 15 bytes: header plus 1 payload byte
  for (int i = 0; i < 8; ++i) wire.push_back(0x22);

  FrameParser parser(Role::Server, limits(2 * gib, 2 * gib, 0));
  const size_t before = heap_in_use();
  FrameEvent ev;
  EXPECT_EQ(parser.parse(wire, ev), wire.size());
  EXPECT_EQ(ev.kind, Kind::None);
  EXPECT_FALSE(parser.failed());
  EXPECT_LE(parser.buffered_bytes(), 4096u);
  const size_t after = heap_in_use();
  EXPECT_LT(after > before ? after - before : 0, size_t{1} << 20);
}

TEST(Limits, WS_FR_08_BufferGrowsOnlyWithReceivedBytes) {
  const Bytes wire = binary(Bytes(1 << 20, 'x'));
  FrameParser parser(Role::Server, limits(1 << 20, 1 << 20, 0));
  Bytes copy = wire;
  size_t received = 0;
  for (size_t at = 0; at < copy.size(); at += 1024) {
    FrameEvent ev;
    const size_t n = std::min<size_t>(1024, copy.size() - at);
    parser.parse({copy.data() + at, n}, ev);
    received += n;
    ASSERT_LE(parser.buffered_bytes(), std::max<size_t>(2 * received, 256)) << received;
  }
}

TEST(Limits, WS_FR_06_HugeLimitsAndLengthsDoNotOverflow) {
  FrameParser parser(Role::Server, limits(UINT64_MAX, UINT64_MAX, 0));
  // A FIN=0 fragment declaring 2^63 - 1 bytes, then a few bytes of it.
  Bytes wire = raw_frame(0x02, 127, {0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}, {});
  wire.insert(wire.end(), 100, 0x00);
  FrameEvent ev;
  EXPECT_EQ(parser.parse(wire, ev), wire.size());
  EXPECT_EQ(ev.kind, Kind::None);
  EXPECT_FALSE(parser.failed());
  EXPECT_LE(parser.buffered_bytes(), 4096u);
}

TEST(Limits, IdleParserHoldsNoBufferAfterItsLastMessage) {
  FrameParser parser(Role::Server, {});
  Bytes wire = concat({text("first part ", false), cont("second part", true)});
  feed_chunks(parser, wire, 3);  // every byte went through the message buffer
  FrameEvent ev;
  parser.parse({}, ev);
  EXPECT_EQ(parser.buffered_bytes(), 0u);
  EXPECT_FALSE(parser.in_message());
}

TEST(Limits, SEC_LIM_09_TokenBucketAllowsBurstThenRate) {
  const TokenRate rate(50, 100);  // the proposed default: 50/s, burst 100
  TokenBucket bucket(rate);
  const uint64_t t0 = 1'000'000;
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(bucket.take(t0, rate)) << i;
  EXPECT_FALSE(bucket.take(t0, rate));
  EXPECT_FALSE(bucket.take(t0 + 19, rate));  // 0.95 tokens
  EXPECT_TRUE(bucket.take(t0 + 20, rate));   // one token per 20 ms
  EXPECT_FALSE(bucket.take(t0 + 20, rate));
  // One second refills 50, not more.
  int taken = 0;
  while (bucket.take(t0 + 1020, rate)) ++taken;
  EXPECT_EQ(taken, 50);
}

TEST(Limits, SEC_LIM_09_TokenBucketRefillsExactlyUpToBurst) {
  // 1000/s is one token per millisecond; the burst of 3 caps every refill.
  for (uint64_t elapsed = 0; elapsed <= 10; ++elapsed) {
    const TokenRate rate(1000, 3);
    TokenBucket bucket(rate);
    while (bucket.take(100, rate)) {
    }
    int taken = 0;
    while (bucket.take(100 + elapsed, rate)) ++taken;
    EXPECT_EQ(taken, static_cast<int>(std::min<uint64_t>(elapsed, 3))) << elapsed;
  }
}

TEST(Limits, SEC_LIM_09_TokenBucketCapsAtBurstAndSurvivesClockJumps) {
  const TokenRate rate(1000, 3);
  TokenBucket bucket(rate);
  EXPECT_TRUE(bucket.take(0, rate));
  // A huge elapsed time neither overflows nor exceeds the burst.
  int taken = 0;
  while (bucket.take(UINT64_MAX / 2, rate)) ++taken;
  EXPECT_EQ(taken, 3);
  // Time going backwards refills nothing.
  EXPECT_FALSE(bucket.take(5, rate));
  const TokenRate none(0, 2);
  TokenBucket never(none);
  EXPECT_TRUE(never.take(0, none));
  EXPECT_TRUE(never.take(1'000'000, none));
  EXPECT_FALSE(never.take(2'000'000, none));
}

}  // namespace
}  // namespace wsgate::ws
