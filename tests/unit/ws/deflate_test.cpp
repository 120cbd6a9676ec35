// permessage-deflate: negotiation rules (RFC 7692 §5, §7.1; PMD-01..05) and
// the codec against the RFC's §7.2.3 worked examples, byte for byte.
#include "ws/deflate.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "ws/deflate_negotiation.h"

namespace wsgate::ws {
namespace {

std::vector<uint8_t> bytes(std::initializer_list<int> list) {
  std::vector<uint8_t> out;
  for (int b : list) out.push_back(static_cast<uint8_t>(b));
  return out;
}

std::span<const uint8_t> view(const std::string& text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

using Bytes = std::vector<uint8_t>;

std::string str(const Bytes& data) {
  return std::string(data.begin(), data.end());
}

std::optional<DeflateParameters> negotiate(std::vector<std::string> offers,
                                           DeflatePolicy policy = {}) {
  return negotiate_deflate(offers, policy);
}

std::string answer(std::vector<std::string> offers, DeflatePolicy policy = {}) {
  auto accepted = negotiate(std::move(offers), policy);
  return accepted ? accepted->response : "(declined)";
}

// ---- negotiation ---------------------------------------------------------------

TEST(DeflateNegotiation, DefaultPolicyAnswersNoContextTakeoverBothWays) {
  // Chromium's and Node ws's offer.
  EXPECT_EQ(answer({"permessage-deflate; client_max_window_bits"}),
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover");
  EXPECT_EQ(answer({"permessage-deflate"}),
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover");
}

TEST(DeflateNegotiation, TakeoverAllowedByPolicyIsAnsweredOnlyWhenOffered) {
  DeflatePolicy takeover{true, true, 15};
  EXPECT_EQ(answer({"permessage-deflate"}, takeover), "permessage-deflate");
  EXPECT_EQ(answer({"permessage-deflate; client_no_context_takeover"}, takeover),
            "permessage-deflate; client_no_context_takeover");
  auto p = negotiate({"permessage-deflate; server_no_context_takeover"}, takeover);
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->server_no_context_takeover);
  EXPECT_FALSE(p->client_no_context_takeover);
}

TEST(DeflateNegotiation, ServerMaxWindowBitsIsHonouredAndNeverEight) {
  auto p = negotiate({"permessage-deflate; server_max_window_bits=10"});
  ASSERT_TRUE(p);
  EXPECT_EQ(p->server_window_bits, 10);
  EXPECT_NE(p->response.find("server_max_window_bits=10"), std::string::npos);
  // Quoted values are the same value (RFC 7692 §7.1.2.1, quoted-string).
  EXPECT_EQ(negotiate({"permessage-deflate; server_max_window_bits=\"9\""})->server_window_bits, 9);
  // zlib cannot deflate with 2^8: declined, not silently widened (PMD-04).
  EXPECT_FALSE(negotiate({"permessage-deflate; server_max_window_bits=8"}));
  // The policy narrows it, and says so unasked.
  EXPECT_EQ(answer({"permessage-deflate"}, DeflatePolicy{false, false, 12}),
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
            "server_max_window_bits=12");
  EXPECT_EQ(negotiate({"permessage-deflate; server_max_window_bits=14"}, {false, false, 11})
                ->server_window_bits,
            11);
}

TEST(DeflateNegotiation, ClientMaxWindowBitsIsNeverAnswered) {
  for (const char* offer : {"permessage-deflate; client_max_window_bits",
                            "permessage-deflate; client_max_window_bits=10"}) {
    auto p = negotiate({offer});
    ASSERT_TRUE(p) << offer;
    EXPECT_EQ(p->response.find("client_max_window_bits"), std::string::npos) << offer;
  }
  EXPECT_EQ(negotiate({"permessage-deflate; client_max_window_bits=10"})->client_window_bits, 10);
  EXPECT_EQ(negotiate({"permessage-deflate; client_max_window_bits"})->client_window_bits, 15);
}

TEST(DeflateNegotiation, PMD_01_DeclinesInvalidOffersAndTriesTheNext) {
  for (const char* bad : {
           "permessage-deflate; foo",  // unknown
           "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
           "permessage-deflate; client_max_window_bits=10; client_max_window_bits=11",
           "permessage-deflate; server_no_context_takeover=1",  // value not allowed
           "permessage-deflate; client_no_context_takeover=\"\"",
           "permessage-deflate; server_max_window_bits",  // value required
           "permessage-deflate; server_max_window_bits=16",
           "permessage-deflate; server_max_window_bits=7",
           "permessage-deflate; server_max_window_bits=010",
           "permessage-deflate; server_max_window_bits=+9",
           "permessage-deflate; client_max_window_bits=0",
           "permessage-deflate; client_max_window_bits=abc",
       }) {
    EXPECT_FALSE(negotiate({bad})) << bad;
    // Autobahn 13.7: several offers in order of preference.
    auto p = negotiate({bad, "permessage-deflate; server_max_window_bits=9"});
    ASSERT_TRUE(p) << bad;
    EXPECT_EQ(p->server_window_bits, 9) << bad;
  }
}

TEST(DeflateNegotiation, OtherExtensionsAreIgnoredAndTheFirstGoodOfferWins) {
  EXPECT_FALSE(negotiate({"x-webkit-deflate-frame", "foo; bar=1"}));
  auto p = negotiate({"x-webkit-deflate-frame", "permessage-deflate; server_max_window_bits=11",
                      "permessage-deflate"});
  ASSERT_TRUE(p);
  EXPECT_EQ(p->server_window_bits, 11);
  EXPECT_EQ(answer({"Permessage-Deflate"}),
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover");
  EXPECT_FALSE(negotiate({}));
}

// ---- the codec: RFC 7692 §7.2.3 ----------------------------------------------

TEST(Deflate, Rfc7692_7_2_3_1_HelloCompressed) {
  MessageDeflater deflater(15, Z_DEFAULT_COMPRESSION, 8);
  Bytes out;
  ASSERT_TRUE(deflater.compress(view("Hello"), true, out));
  EXPECT_EQ(out, bytes({0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}));

  MessageInflater inflater(15);
  Bytes text;
  const auto payload = bytes({0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00});
  ASSERT_EQ(inflater.inflate(payload, 1024, true, text), MessageInflater::Result::Ok);
  EXPECT_EQ(str(text), "Hello");
}

TEST(Deflate, Rfc7692_7_2_3_2_SharingTheWindowAcrossMessages) {
  MessageDeflater deflater(15, Z_DEFAULT_COMPRESSION, 8);
  Bytes first, second;
  ASSERT_TRUE(deflater.compress(view("Hello"), false, first));
  ASSERT_TRUE(deflater.compress(view("Hello"), false, second));
  EXPECT_EQ(second, bytes({0xf2, 0x00, 0x11, 0x00, 0x00}));
  // Without takeover the second is the first again.
  ASSERT_TRUE(deflater.compress(view("Hello"), true, second));
  EXPECT_EQ(second, first);

  MessageInflater inflater(15);
  Bytes text;
  ASSERT_EQ(inflater.inflate(first, 1024, false, text), MessageInflater::Result::Ok);
  EXPECT_EQ(str(text), "Hello");
  ASSERT_EQ(inflater.inflate(bytes({0xf2, 0x00, 0x11, 0x00, 0x00}), 1024, false, text),
            MessageInflater::Result::Ok);
  EXPECT_EQ(str(text), "Hello");
}

TEST(Deflate, Rfc7692_7_2_3_3_to_6_StoredFinalTwoBlocksAndEmpty) {
  MessageInflater inflater(15);
  Bytes text;
  // §7.2.3.3: a stored (uncompressed) block.
  ASSERT_EQ(
      inflater.inflate(bytes({0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00}),
                       1024, true, text),
      MessageInflater::Result::Ok);
  EXPECT_EQ(str(text), "Hello");
  // §7.2.3.4: BFINAL set; the stream ends and the next message starts anew.
  ASSERT_EQ(
      inflater.inflate(bytes({0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00}), 1024, false, text),
      MessageInflater::Result::Ok);
  EXPECT_EQ(str(text), "Hello");
  ASSERT_EQ(inflater.inflate(bytes({0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}), 1024, false, text),
            MessageInflater::Result::Ok);
  EXPECT_EQ(str(text), "Hello");
  // §7.2.3.5: two DEFLATE blocks in one message.
  ASSERT_EQ(inflater.inflate(bytes({0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9,
                                    0xc9, 0x07, 0x00}),
                             1024, true, text),
            MessageInflater::Result::Ok);
  EXPECT_EQ(str(text), "Hello");
  // §7.2.3.6: an empty message is one empty block, 0x00.
  ASSERT_EQ(inflater.inflate(bytes({0x00}), 1024, true, text), MessageInflater::Result::Ok);
  EXPECT_EQ(str(text), "");
  MessageDeflater deflater(15, Z_DEFAULT_COMPRESSION, 8);
  Bytes empty;
  ASSERT_TRUE(deflater.compress({}, true, empty));
  ASSERT_EQ(inflater.inflate(empty, 1024, true, text), MessageInflater::Result::Ok);
  EXPECT_EQ(str(text), "");
}

TEST(Deflate, PMD_10_BombStopsAtTheLimitWithoutInflatingFurther) {
  // 128 MiB of zeros compress to ~128 KiB.
  const std::string zeros(128u << 20, '\0');
  MessageDeflater deflater(15, 9, 9);
  Bytes bomb;
  ASSERT_TRUE(deflater.compress(view(zeros), true, bomb));
  EXPECT_LT(bomb.size(), 200u << 10);
  MessageInflater inflater(15);
  Bytes out;
  EXPECT_EQ(inflater.inflate(bomb, 1u << 20, true, out), MessageInflater::Result::TooBig);
  // It stopped one chunk past the limit at most, not at 128 MiB.
  EXPECT_LE(out.capacity(), (1u << 20) + 64 * 1024);
  // At the limit exactly, it is fine.
  std::string exact(1u << 20, 'a');
  Bytes compressed;
  ASSERT_TRUE(deflater.compress(view(exact), true, compressed));
  EXPECT_EQ(inflater.inflate(compressed, 1u << 20, true, out), MessageInflater::Result::Ok);
  EXPECT_EQ(str(out), exact);
  EXPECT_EQ(inflater.inflate(compressed, (1u << 20) - 1, true, out),
            MessageInflater::Result::TooBig);
}

TEST(Deflate, CorruptStreamIsReported) {
  MessageInflater inflater(15);
  Bytes out;
  // BTYPE 11 is reserved: an invalid block type.
  EXPECT_EQ(inflater.inflate(bytes({0xff, 0xff, 0xff}), 1024, true, out),
            MessageInflater::Result::Corrupt);
  // A fresh message after a reset inflates again.
  EXPECT_EQ(inflater.inflate(bytes({0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}), 1024, true, out),
            MessageInflater::Result::Ok);
  EXPECT_EQ(str(out), "Hello");
}

TEST(Deflate, RoundTripsRandomMessagesWithAndWithoutTakeover) {
  std::mt19937 random(7);
  for (bool takeover : {false, true}) {
    for (int window : {9, 12, 15}) {
      MessageDeflater deflater(window, 6, 8);
      MessageInflater inflater(15);
      for (int i = 0; i < 50; ++i) {
        std::string message;
        const size_t size = random() % 70000;
        for (size_t j = 0; j < size; ++j) message += "abcdefgh{}\":,0123"[random() % 17];
        Bytes compressed, inflated;
        ASSERT_TRUE(deflater.compress(view(message), !takeover, compressed));
        ASSERT_EQ(inflater.inflate(compressed, 1u << 20, !takeover, inflated),
                  MessageInflater::Result::Ok);
        ASSERT_EQ(str(inflated), message) << window << " " << takeover << " " << i;
      }
    }
  }
}

TEST(Deflate, MemoryIsCountedAndReturned) {
  const size_t before = zlib_bytes_in_use();
  {
    MessageDeflater deflater(15, Z_DEFAULT_COMPRESSION, 8);
    MessageInflater inflater(15);
    EXPECT_EQ(zlib_bytes_in_use(), before);  // nothing until first use
    Bytes out, text;
    ASSERT_TRUE(deflater.compress(view("Hello"), true, out));
    ASSERT_EQ(inflater.inflate(out, 100, true, text), MessageInflater::Result::Ok);
    // deflate: 2^(15+2) + 2^(8+9) + state; inflate: 2^15 + state.
    EXPECT_GT(zlib_bytes_in_use(), before + (256u << 10) + (32u << 10));
    EXPECT_LT(zlib_bytes_in_use(), before + (320u << 10));
  }
  EXPECT_EQ(zlib_bytes_in_use(), before);
}

}  // namespace
}  // namespace wsgate::ws
