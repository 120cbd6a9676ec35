// A connection's permessage-deflate state: what it holds while a compressed
// message arrives in parts (counted for limits.worker_buffer_memory), and
// that nothing is left once the message is delivered.
#include "worker/compression.h"

#include <gtest/gtest.h>

#include <vector>

namespace wsgate {
namespace {

std::vector<uint8_t> deflated(size_t size) {
  ws::MessageDeflater deflater(15, 6, 8);
  std::vector<uint8_t> out;
  EXPECT_TRUE(deflater.compress(std::vector<uint8_t>(size, 'a'), true, out));
  return out;
}

TEST(Compression, MessageInPartsCountsItsInflaterAndBufferUntilDelivered) {
  config::CompressionConfig config;
  ws::DeflateParameters parameters;  // no context takeover either way
  SharedCompression shared;
  Compression compression(config, parameters, shared);
  EXPECT_EQ(compression.buffered_bytes(), 0u);

  const std::vector<uint8_t> payload = deflated(100000);
  const size_t half = payload.size() / 2;
  std::span<const uint8_t> fresh;
  ASSERT_EQ(compression.inflate_part({payload.data(), half}, false, 1 << 20, fresh),
            ws::MessageInflater::Result::Ok);
  // Its own inflater (a 32 KiB window and its state) and the bytes so far.
  EXPECT_GE(compression.buffered_bytes(), (32u << 10) + 7168 + fresh.size());
  ASSERT_EQ(compression.inflate_part({payload.data() + half, payload.size() - half}, true, 1 << 20,
                                     fresh),
            ws::MessageInflater::Result::Ok);
  EXPECT_EQ(compression.message().size(), 100000u);
  compression.finish_parts();
  EXPECT_EQ(compression.buffered_bytes(), 0u);
}

}  // namespace
}  // namespace wsgate
