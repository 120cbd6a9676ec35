// Tests of the incremental UTF-8 validator: RFC 3629 rules, fail-fast
// positions, Kuhn's stress cases (Autobahn 6.x) and the ASCII fast path.
#include "ws/utf8.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "ws_test_support.h"

namespace wsgate::ws {
namespace {

using test::Bytes;

Bytes hex(std::string_view text) {
  Bytes out;
  for (size_t i = 0; i + 2 <= text.size(); i += 3) {
    out.push_back(static_cast<uint8_t>(std::stoi(std::string(text.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

// Index of the first byte at which feeding one byte at a time fails, or
// nullopt when every feed() succeeds.
std::optional<size_t> fail_index(const Bytes& bytes, bool* complete = nullptr) {
  Utf8Validator v;
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (!v.feed({&bytes[i], 1})) return i;
  }
  if (complete != nullptr) *complete = v.complete();
  return std::nullopt;
}

// Independent encoder of a Unicode scalar value.
Bytes encode(uint32_t cp) {
  if (cp < 0x80) return {static_cast<uint8_t>(cp)};
  if (cp < 0x800)
    return {static_cast<uint8_t>(0xC0 | (cp >> 6)), static_cast<uint8_t>(0x80 | (cp & 0x3F))};
  if (cp < 0x10000) {
    return {static_cast<uint8_t>(0xE0 | (cp >> 12)),
            static_cast<uint8_t>(0x80 | ((cp >> 6) & 0x3F)),
            static_cast<uint8_t>(0x80 | (cp & 0x3F))};
  }
  return {static_cast<uint8_t>(0xF0 | (cp >> 18)), static_cast<uint8_t>(0x80 | ((cp >> 12) & 0x3F)),
          static_cast<uint8_t>(0x80 | ((cp >> 6) & 0x3F)),
          static_cast<uint8_t>(0x80 | (cp & 0x3F))};
}

struct Case {
  const char* name;
  const char* bytes;
  int fail_at;  // index of the first impossible byte; -1 valid; -2 incomplete
};

// Markus Kuhn's UTF-8 decoder stress test, as Autobahn 6.3-6.23 uses it.
const Case kKuhn[] = {
    {"kosme", "CE BA E1 BD B9 CF 83 CE BC CE B5", -1},
    {"6.4.1 kosme then F4 90 (above U+10FFFF)",
     "CE BA E1 BD B9 CF 83 CE BC CE B5 F4 90 80 80 65 64", 12},
    {"6.4.3 kosme then ED A0 (surrogate)", "CE BA E1 BD B9 CF 83 CE BC CE B5 ED A0 80 65 64", 12},
    {"first 1-byte U+0000", "00", -1},
    {"first 2-byte U+0080", "C2 80", -1},
    {"first 3-byte U+0800", "E0 A0 80", -1},
    {"first 4-byte U+10000", "F0 90 80 80", -1},
    {"5-byte U+200000", "F8 88 80 80 80", 0},
    {"6-byte U+4000000", "FC 84 80 80 80 80", 0},
    {"last 1-byte U+007F", "7F", -1},
    {"last 2-byte U+07FF", "DF BF", -1},
    {"last 3-byte U+FFFF", "EF BF BF", -1},
    {"U+1FFFFF", "F7 BF BF BF", 0},
    {"U+D7FF", "ED 9F BF", -1},
    {"U+E000", "EE 80 80", -1},
    {"U+FFFD", "EF BF BD", -1},
    {"U+10FFFF", "F4 8F BF BF", -1},
    {"U+110000", "F4 90 80 80", 1},
    {"lone continuation 80", "80", 0},
    {"lone continuation BF", "BF", 0},
    {"continuations 80 BF", "80 BF", 0},
    {"lonely C0 then space", "C0 20", 0},
    {"lonely C2 then space", "C2 20", 1},
    {"lonely E1 then space", "E1 20", 1},
    {"lonely F1 then space", "F1 20", 1},
    {"2-byte missing last", "C2", -2},
    {"3-byte missing last", "E1 80", -2},
    {"4-byte missing last", "F1 80 80", -2},
    {"E2 82 (euro sign cut)", "E2 82", -2},
    {"impossible FE", "FE", 0},
    {"impossible FF", "FF", 0},
    {"impossible FE FE FF FF", "FE FE FF FF", 0},
    {"overlong slash C0 AF", "C0 AF", 0},
    {"overlong slash E0 80 AF", "E0 80 AF", 1},
    {"overlong slash F0 80 80 AF", "F0 80 80 AF", 1},
    {"overlong slash F8", "F8 80 80 80 AF", 0},
    {"max overlong C1 BF", "C1 BF", 0},
    {"max overlong E0 9F BF", "E0 9F BF", 1},
    {"max overlong F0 8F BF BF", "F0 8F BF BF", 1},
    {"overlong NUL C0 80", "C0 80", 0},
    {"overlong NUL E0 80 80", "E0 80 80", 1},
    {"overlong NUL F0 80 80 80", "F0 80 80 80", 1},
    {"surrogate U+D800", "ED A0 80", 1},
    {"surrogate U+DB7F", "ED AD BF", 1},
    {"surrogate U+DB80", "ED AE 80", 1},
    {"surrogate U+DBFF", "ED AF BF", 1},
    {"surrogate U+DC00", "ED B0 80", 1},
    {"surrogate U+DF80", "ED BE 80", 1},
    {"surrogate U+DFFF", "ED BF BF", 1},
    {"surrogate pair", "ED A0 80 ED B0 80", 1},
    {"noncharacter U+FFFE", "EF BF BE", -1},
    {"noncharacter U+FFFF", "EF BF BF", -1},
    {"noncharacter U+FDD0", "EF B7 90", -1},
    {"noncharacter U+1FFFE", "F0 9F BF BE", -1},
    {"noncharacter U+10FFFE", "F4 8F BF BE", -1},
    {"specials U+FFF9..FFFD", "EF BF B9 EF BF BA EF BF BB EF BF BC EF BF BD", -1},
    {"valid then F5", "41 42 F5", 2},
    {"text after a bad sequence is not reached", "41 ED A0 80 41 41 41 41 41 41 41 41 41", 2},
};

TEST(Utf8, WS_U8_04_KuhnStressCasesFailAtTheFirstImpossibleByte) {
  for (const Case& c : kKuhn) {
    SCOPED_TRACE(c.name);
    const Bytes bytes = hex(c.bytes);
    bool complete = false;
    const auto at = fail_index(bytes, &complete);
    if (c.fail_at >= 0) {
      ASSERT_TRUE(at.has_value());
      EXPECT_EQ(*at, static_cast<size_t>(c.fail_at));
      EXPECT_FALSE(is_valid_utf8(bytes));
    } else {
      EXPECT_FALSE(at.has_value());
      EXPECT_EQ(complete, c.fail_at == -1);
      EXPECT_EQ(is_valid_utf8(bytes), c.fail_at == -1);
    }
  }
}

TEST(Utf8, WS_U8_02_FailsFastMidSequence) {
  // F4 90 can never become valid: fail at 90, before the sequence would end.
  Utf8Validator v;
  const uint8_t f4 = 0xF4, x90 = 0x90;
  EXPECT_TRUE(v.feed({&f4, 1}));
  EXPECT_FALSE(v.complete());
  EXPECT_FALSE(v.feed({&x90, 1}));
  EXPECT_TRUE(v.failed());
  // Rejection is final.
  const uint8_t a = 'a';
  EXPECT_FALSE(v.feed({&a, 1}));
  v.reset();
  EXPECT_TRUE(v.feed({&a, 1}));
  EXPECT_TRUE(v.complete());
}

TEST(Utf8, WS_U8_03_IncompleteSequenceIsNotComplete) {
  Utf8Validator v;
  const Bytes cut = hex("E2 82");
  EXPECT_TRUE(v.feed(cut));
  EXPECT_FALSE(v.complete());
  EXPECT_FALSE(v.failed());
  const Bytes rest = hex("AC");
  EXPECT_TRUE(v.feed(rest));
  EXPECT_TRUE(v.complete());
}

TEST(Utf8, WS_U8_04_EveryScalarValueIsValidAndEverySurrogateIsNot) {
  for (uint32_t cp = 0; cp <= 0x10FFFF; ++cp) {
    const Bytes b = encode(cp);
    const bool surrogate = cp >= 0xD800 && cp <= 0xDFFF;
    ASSERT_EQ(is_valid_utf8(b), !surrogate) << std::hex << cp;
  }
}

// Compares the validator with a reference built from the encoder: a byte
// string is viable exactly when it is a prefix of some scalar's encoding.
TEST(Utf8, WS_U8_04_MatchesReferenceOnAllShortSequencesOfInterestingBytes) {
  std::unordered_set<uint64_t> full, prefix;
  auto key = [](const Bytes& b, size_t n) {
    uint64_t k = n;
    for (size_t i = 0; i < n; ++i) k = (k << 8) | b[i];
    return k;
  };
  for (uint32_t cp = 0; cp <= 0x10FFFF; ++cp) {
    if (cp >= 0xD800 && cp <= 0xDFFF) continue;
    const Bytes b = encode(cp);
    full.insert(key(b, b.size()));
    for (size_t n = 1; n < b.size(); ++n) prefix.insert(key(b, n));
  }
  const uint8_t alphabet[] = {0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0,
                              0xC1, 0xC2, 0xDF, 0xE0, 0xE1, 0xEC, 0xED, 0xEE, 0xEF, 0xF0,
                              0xF1, 0xF3, 0xF4, 0xF5, 0xF7, 0xF8, 0xFB, 0xFC, 0xFE, 0xFF};
  const size_t k = sizeof alphabet;
  size_t checked = 0;
  for (size_t len = 1; len <= 4; ++len) {
    size_t total = 1;
    for (size_t i = 0; i < len; ++i) total *= k;
    for (size_t index = 0; index < total; ++index) {
      Bytes s(len);
      for (size_t i = 0, x = index; i < len; ++i, x /= k) s[i] = alphabet[x % k];
      // Reference: walk characters; fail where the pending bytes stop being viable.
      std::optional<size_t> expected_fail;
      Bytes pending;
      for (size_t i = 0; i < len && !expected_fail; ++i) {
        pending.push_back(s[i]);
        if (full.count(key(pending, pending.size())) != 0) {
          pending.clear();
        } else if (prefix.count(key(pending, pending.size())) == 0) {
          expected_fail = i;
        }
      }
      bool complete = false;
      const auto got = fail_index(s, &complete);
      ASSERT_EQ(got, expected_fail) << "sequence index " << index << " len " << len;
      if (!got) {
        ASSERT_EQ(complete, pending.empty());
      }
      ASSERT_EQ(is_valid_utf8(s), !expected_fail && pending.empty());
      ++checked;
    }
  }
  EXPECT_GT(checked, 800000u);
}

// The word-at-a-time path must not skip a bad byte in any lane, nor lose the
// DFA state when a sequence crosses a word or call boundary.
TEST(Utf8, WS_U8_02_AsciiFastPathFindsBadByteAtEveryPosition) {
  for (size_t len = 1; len <= 80; ++len) {
    for (size_t at = 0; at < len; ++at) {
      Bytes s(len, 'a');
      s[at] = 0xFF;
      ASSERT_FALSE(is_valid_utf8(s)) << len << " " << at;
      s[at] = 0xC2;  // truncated at the end, or followed by 'a'
      ASSERT_FALSE(is_valid_utf8(s)) << len << " " << at;
      s[at] = 0x80;  // stray continuation
      ASSERT_FALSE(is_valid_utf8(s)) << len << " " << at;
    }
  }
}

TEST(Utf8, WS_U8_02_StateIsCarriedAcrossEverySplitPoint) {
  // ASCII runs around multibyte characters of every length, long enough to
  // use the 32- and 8-byte paths on both sides.
  const std::string valid = std::string(37, 'x') + "\xC3\xA9" + std::string(9, 'y') +
                            "\xE2\x82\xAC" + std::string(40, 'z') + "\xF0\x9F\x98\x80" + "tail";
  const Bytes good = test::bytes_of(valid);
  Bytes bad = good;
  bad[good.size() - 6] = 0x41;  // breaks the 4-byte sequence at its last byte
  for (size_t split = 0; split <= good.size(); ++split) {
    Utf8Validator v;
    EXPECT_TRUE(v.feed({good.data(), split}));
    EXPECT_TRUE(v.feed({good.data() + split, good.size() - split}));
    EXPECT_TRUE(v.complete()) << split;

    Utf8Validator w;
    const bool first = w.feed({bad.data(), split});
    const bool second = first && w.feed({bad.data() + split, bad.size() - split});
    EXPECT_FALSE(second) << split;
    // The first piece fails alone exactly when it contains the bad byte.
    EXPECT_EQ(first, split <= bad.size() - 6) << split;
  }
}

TEST(Utf8, WS_U8_07_OutboundTextCheckIsWholeBuffer) {
  // The gateway checks outbound text with is_valid_utf8 before sending it as
  // Text; a truncated or invalid buffer must be refused.
  EXPECT_TRUE(is_valid_utf8(test::bytes_of("plain text \xE2\x82\xAC")));
  EXPECT_TRUE(is_valid_utf8({}));
  EXPECT_FALSE(is_valid_utf8(test::bytes_of("cut \xE2\x82")));
  EXPECT_FALSE(is_valid_utf8(test::bytes_of("bad \xC0\x80")));
}

}  // namespace
}  // namespace wsgate::ws
