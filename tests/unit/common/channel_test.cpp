// ChannelDecoder and channel_encode: framing survives any chunking, and a
// corrupt length stops the stream.
#include "common/channel.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace wsgate {
namespace {

struct Decoded {
  ChannelMessage type;
  std::string payload;
};

std::vector<Decoded> drain(ChannelDecoder& decoder) {
  std::vector<Decoded> out;
  ChannelMessage type;
  std::string_view payload;
  while (decoder.next(type, payload)) out.push_back({type, std::string(payload)});
  return out;
}

TEST(ChannelDecoder, DecodesOneMessageWithPayload) {
  std::string wire;
  channel_encode(wire, ChannelMessage::Stats, "abc");
  ASSERT_EQ(wire.size(), 4u + 1u + 3u);
  EXPECT_EQ(wire[0], 4);  // little-endian length of type + payload
  ChannelDecoder decoder;
  decoder.feed(wire);
  const auto messages = drain(decoder);
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0].type, ChannelMessage::Stats);
  EXPECT_EQ(messages[0].payload, "abc");
  EXPECT_FALSE(decoder.failed());
}

TEST(ChannelDecoder, DecodesMessagesSplitAtEveryByte) {
  std::string wire;
  channel_encode(wire, ChannelMessage::Ready);
  channel_encode(wire, ChannelMessage::Stats, std::string(300, 'x'));
  channel_encode(wire, ChannelMessage::Drain);
  ChannelDecoder decoder;
  std::vector<Decoded> messages;
  for (char byte : wire) {
    decoder.feed(std::span<const char>(&byte, 1));
    for (auto& m : drain(decoder)) messages.push_back(std::move(m));
  }
  ASSERT_EQ(messages.size(), 3u);
  EXPECT_EQ(messages[0].type, ChannelMessage::Ready);
  EXPECT_TRUE(messages[0].payload.empty());
  EXPECT_EQ(messages[1].payload, std::string(300, 'x'));
  EXPECT_EQ(messages[2].type, ChannelMessage::Drain);
}

TEST(ChannelDecoder, DecodesRandomChunking) {
  std::mt19937 random(42);
  std::string wire;
  std::vector<std::string> sent;
  for (int i = 0; i < 200; ++i) {
    std::string payload(random() % 2000, static_cast<char>('a' + i % 26));
    channel_encode(wire, ChannelMessage::Stats, payload);
    sent.push_back(payload);
  }
  ChannelDecoder decoder;
  std::vector<Decoded> messages;
  for (size_t at = 0; at < wire.size();) {
    const size_t chunk = std::min<size_t>(1 + random() % 700, wire.size() - at);
    decoder.feed(std::span<const char>(wire.data() + at, chunk));
    at += chunk;
    for (auto& m : drain(decoder)) messages.push_back(std::move(m));
  }
  ASSERT_EQ(messages.size(), sent.size());
  for (size_t i = 0; i < sent.size(); ++i) EXPECT_EQ(messages[i].payload, sent[i]);
}

TEST(ChannelDecoder, AcceptsLargestPayload) {
  std::string wire;
  channel_encode(wire, ChannelMessage::Stats, std::string(kMaxChannelPayload, 'p'));
  ChannelDecoder decoder;
  decoder.feed(wire);
  const auto messages = drain(decoder);
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0].payload.size(), kMaxChannelPayload);
}

TEST(ChannelDecoder, FailsOnLengthAboveCap) {
  std::string wire;
  channel_encode(wire, ChannelMessage::Stats, std::string(kMaxChannelPayload + 1, 'p'));
  ChannelDecoder decoder;
  decoder.feed(std::span<const char>(wire.data(), 4));  // the header alone is enough
  ChannelMessage type;
  std::string_view payload;
  EXPECT_FALSE(decoder.next(type, payload));
  EXPECT_TRUE(decoder.failed());
  decoder.feed(wire);
  EXPECT_FALSE(decoder.next(type, payload));
}

TEST(ChannelDecoder, FailsOnZeroLength) {
  const char wire[4] = {0, 0, 0, 0};
  ChannelDecoder decoder;
  decoder.feed(wire);
  ChannelMessage type;
  std::string_view payload;
  EXPECT_FALSE(decoder.next(type, payload));
  EXPECT_TRUE(decoder.failed());
}

TEST(ChannelDecoder, WaitsForIncompleteMessage) {
  std::string wire;
  channel_encode(wire, ChannelMessage::Stats, "hello");
  ChannelDecoder decoder;
  decoder.feed(std::span<const char>(wire.data(), wire.size() - 1));
  ChannelMessage type;
  std::string_view payload;
  EXPECT_FALSE(decoder.next(type, payload));
  EXPECT_FALSE(decoder.failed());
  decoder.feed(std::span<const char>(wire.data() + wire.size() - 1, 1));
  ASSERT_TRUE(decoder.next(type, payload));
  EXPECT_EQ(payload, "hello");
}

}  // namespace
}  // namespace wsgate

namespace wsgate {
namespace {

TEST(AcceptSlots, RoundTrip) {
  const std::vector<unsigned> slots = {0, 1, 255, 256, 65535};
  const std::string payload = encode_accept_slots(slots);
  EXPECT_EQ(payload.size(), 10u);
  std::vector<unsigned> decoded = {7};
  ASSERT_TRUE(decode_accept_slots(payload, decoded));
  EXPECT_EQ(decoded, slots);
  ASSERT_TRUE(decode_accept_slots("", decoded));
  EXPECT_TRUE(decoded.empty());
  EXPECT_FALSE(decode_accept_slots(std::string_view("\x01\x00\x02", 3), decoded));
}

}  // namespace
}  // namespace wsgate
