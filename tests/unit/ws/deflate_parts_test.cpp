// permessage-deflate on messages that arrive in parts (PMD-08): the parser
// hands out a compressed message's bytes as they arrive, and the inflater
// takes them part by part. Whatever the fragmentation and however the
// bytes are cut, the message inflates to what was sent, the size cap holds
// while inflating, and a corrupt stream is found at the part that holds it.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "ws/deflate.h"
#include "ws_test_support.h"

namespace wsgate::ws {
namespace {

using test::Bytes;
using test::concat;
using test::frame;
using Result = MessageInflater::Result;

Bytes compress(const Bytes& message, MessageDeflater& deflater, bool reset) {
  Bytes out;
  EXPECT_TRUE(deflater.compress(message, reset, out));
  return out;
}

// `payload` as a client sends it in frames of at most `fragment` bytes
// (RSV1 on the first), with an empty frame in the middle when it has two.
Bytes fragmented(Opcode opcode, const Bytes& payload, size_t fragment) {
  std::vector<Bytes> frames;
  for (size_t at = 0; at < payload.size() || frames.empty(); at += fragment) {
    const size_t end = std::min(payload.size(), at + fragment);
    frames.push_back(Bytes(payload.begin() + static_cast<std::ptrdiff_t>(at),
                           payload.begin() + static_cast<std::ptrdiff_t>(end)));
  }
  Bytes wire;
  for (size_t i = 0; i < frames.size(); ++i) {
    const bool fin = i + 1 == frames.size();
    const Bytes f = frame(i == 0 ? opcode : Opcode::Continuation, frames[i], fin, Role::Client,
                          i == 0 ? 0x40 : 0);
    wire.insert(wire.end(), f.begin(), f.end());
    if (i == 0 && !fin) {
      const Bytes empty = frame(Opcode::Continuation, {}, false);
      wire.insert(wire.end(), empty.begin(), empty.end());
    }
  }
  return wire;
}

// What a session does: parse `wire` in pieces of `chunk` bytes and inflate
// each compressed message part by part. Returns the messages, or stops at
// the first inflate result that is not Ok.
struct Received {
  std::vector<Bytes> messages;
  Result result = Result::Ok;
  size_t largest_buffer = 0;
};

Received receive(Bytes wire, size_t chunk, MessageInflater& inflater, bool reset,
                 uint64_t max_size) {
  FrameParser parser(Role::Server, {});
  parser.set_rsv1_allowed(true);
  Received got;
  Bytes inflated;
  bool started = false;
  for (size_t at = 0; at < wire.size(); at += chunk) {
    const size_t n = std::min(chunk, wire.size() - at);
    size_t off = 0;
    while (off < n) {
      FrameEvent ev;
      off += parser.parse({wire.data() + at + off, n - off}, ev);
      if (ev.kind == FrameEvent::Kind::None) break;
      EXPECT_TRUE(ev.compressed);
      if (!started) {
        EXPECT_EQ(inflater.begin(reset), Result::Ok);
        started = true;
      }
      const bool last = ev.kind == FrameEvent::Kind::Message || ev.last;
      got.result = inflater.feed(ev.payload, last, max_size, inflated);
      got.largest_buffer = std::max(got.largest_buffer, inflated.capacity());
      if (got.result != Result::Ok) return got;
      if (!last) continue;
      got.messages.push_back(std::move(inflated));
      inflated.clear();
      started = false;
    }
  }
  return got;
}

Bytes json_like(size_t size, uint32_t seed) {
  std::mt19937 random(seed);
  std::string text;
  while (text.size() < size) {
    text += "{\"__c\":\"aou\",\"__p\":[" + std::to_string(random() % 1000) + ",\"Branch\"]},";
  }
  text.resize(size);
  return Bytes(text.begin(), text.end());
}

TEST(DeflateParts, FragmentedMessagesChoppedAtEveryByteInflateToWhatWasSent) {
  const Bytes message = json_like(700, 1);
  MessageDeflater deflater(15, 6, 8);
  const Bytes payload = compress(message, deflater, true);
  for (size_t fragment : {size_t{1}, size_t{7}, payload.size()}) {
    const Bytes wire = fragmented(Opcode::Text, payload, fragment);
    for (size_t chunk = 1; chunk <= wire.size(); chunk += (chunk < 40 ? 1 : 37)) {
      MessageInflater inflater(15);
      const Received got = receive(wire, chunk, inflater, true, 1 << 20);
      ASSERT_EQ(got.result, Result::Ok) << fragment << " " << chunk;
      ASSERT_EQ(got.messages.size(), 1u) << fragment << " " << chunk;
      EXPECT_EQ(got.messages[0], message) << fragment << " " << chunk;
    }
  }
}

TEST(DeflateParts, ContextTakeoverCarriesAcrossMessagesInParts) {
  // The second message refers back into the first one's window; both are
  // fragmented and cut into 3-byte reads.
  const Bytes first = json_like(2000, 2);
  const Bytes second = first;
  MessageDeflater deflater(15, 6, 8);
  const Bytes a = compress(first, deflater, false);
  const Bytes b = compress(second, deflater, false);
  ASSERT_LT(b.size(), a.size() / 4);  // the window was used
  const Bytes wire = concat({fragmented(Opcode::Binary, a, 100), fragmented(Opcode::Binary, b, 5)});
  MessageInflater inflater(15);
  const Received got = receive(wire, 3, inflater, false, 1 << 20);
  ASSERT_EQ(got.result, Result::Ok);
  ASSERT_EQ(got.messages.size(), 2u);
  EXPECT_EQ(got.messages[0], first);
  EXPECT_EQ(got.messages[1], second);
}

TEST(DeflateParts, PMD_10_BombInPartsStopsAtTheLimit) {
  // 64 MiB of zeros deflate to about 64 KiB; sent in 4 KiB fragments and
  // 1000-byte reads, inflating stops within the first fragments.
  const Bytes zeros(64u << 20, 0);
  MessageDeflater deflater(15, 9, 9);
  const Bytes payload = compress(zeros, deflater, true);
  ASSERT_LT(payload.size(), 128u << 10);
  const Bytes wire = fragmented(Opcode::Binary, payload, 4096);
  MessageInflater inflater(15);
  const uint64_t max_size = 1 << 20;
  const Received got = receive(wire, 1000, inflater, true, max_size);
  EXPECT_EQ(got.result, Result::TooBig);
  EXPECT_LE(got.largest_buffer, max_size + 1);
}

TEST(DeflateParts, CorruptPartIsFoundBeforeTheMessageEnds) {
  // 0xFF starts a block of the reserved type 3: corrupt at the first part.
  MessageInflater inflater(15);
  const Bytes wire = concat({frame(Opcode::Binary, {0xFF, 0xFF}, false, Role::Client, 0x40),
                             frame(Opcode::Continuation, {}, false)});
  const Received got = receive(wire, wire.size(), inflater, true, 1 << 20);
  EXPECT_EQ(got.result, Result::Corrupt);
  EXPECT_TRUE(got.messages.empty());
}

TEST(DeflateParts, FinalBlockEndsTheStreamAndTheRestOfTheMessageIsIgnored) {
  // RFC 7692 §7.2.3.4's stored final block ("Hello" with BFINAL), then
  // bytes after it in a later fragment; the next message starts afresh.
  const Bytes final_block{0x01, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
  const Bytes hello{0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00};
  const Bytes wire = concat({frame(Opcode::Text, final_block, false, Role::Client, 0x40),
                             frame(Opcode::Continuation, {0x12, 0x34}, true),
                             frame(Opcode::Text, hello, true, Role::Client, 0x40)});
  MessageInflater inflater(15);
  const Received got = receive(wire, 2, inflater, false, 1 << 20);
  ASSERT_EQ(got.result, Result::Ok);
  ASSERT_EQ(got.messages.size(), 2u);
  EXPECT_EQ(got.messages[0], test::bytes_of("Hello"));
  EXPECT_EQ(got.messages[1], test::bytes_of("Hello"));
}

}  // namespace
}  // namespace wsgate::ws
