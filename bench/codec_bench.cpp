// Throughput of the WebSocket codec's hot path: parse + unmask + UTF-8
// validation of masked client messages, with memcpy and the pieces alone as
// baselines. Bytes/s count payload bytes; items/s count messages.
//
// FrameParser unmasks in place, so a buffer can be parsed only once. Two
// honest ways around that are measured:
//   BM_Parse{Text,Binary}: copy a pristine batch (real key), then parse it.
//     BM_CopyBaseline is that copy alone; subtract it to get parse cost.
//   BM_ParseTextZeroKey: parse the same batch again and again. Its key is
//     00 00 00 00, so unmasking (done all the same, a word at a time) leaves
//     the buffer unchanged and no copy is needed.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "ws/frame_parser.h"
#include "ws/frame_writer.h"
#include "ws/utf8.h"

namespace {

using namespace wsgate::ws;

constexpr size_t kBatchBytes = 256 * 1024;  // fits in L2 with its copy

struct Batch {
  std::vector<uint8_t> wire;
  size_t messages = 0;
  size_t payload_bytes = 0;
};

std::vector<uint8_t> ascii_text(size_t size) {
  static const char kWords[] = "The quick brown fox jumps over the lazy dog. ";
  std::vector<uint8_t> text(size);
  for (size_t i = 0; i < size; ++i) text[i] = static_cast<uint8_t>(kWords[i % (sizeof kWords - 1)]);
  return text;
}

// Mixed 2-, 3- and 4-byte characters with some ASCII, cut at a boundary.
std::vector<uint8_t> multibyte_text(size_t size) {
  static const std::string kSample = "κόσμε Привет 世界 😀 ";
  std::vector<uint8_t> text;
  while (text.size() + kSample.size() <= size)
    text.insert(text.end(), kSample.begin(), kSample.end());
  while (text.size() < size) text.push_back('.');
  return text;
}

// Enough masked client frames of `size` payload bytes to fill a batch.
Batch make_batch(Opcode op, size_t size, const uint8_t key[4]) {
  Batch batch;
  const std::vector<uint8_t> payload = ascii_text(size);
  do {
    const FrameHeader header = make_frame_header(Role::Client, op, true, size, key);
    batch.wire.insert(batch.wire.end(), header.bytes, header.bytes + header.size);
    const size_t at = batch.wire.size();
    batch.wire.insert(batch.wire.end(), payload.begin(), payload.end());
    mask_payload({batch.wire.data() + at, size}, key);
    ++batch.messages;
    batch.payload_bytes += size;
  } while (batch.wire.size() < kBatchBytes);
  return batch;
}

Limits bench_limits() {
  Limits limits;
  limits.max_frame = 1 << 20;
  limits.max_message = 1 << 20;
  return limits;
}

// Parses `n` bytes in reads of at most `read_size` and returns the number of
// messages; anything but a Message is a bug in the benchmark.
size_t parse_batch(FrameParser& parser, uint8_t* wire, size_t n, size_t read_size) {
  size_t messages = 0;
  for (size_t at = 0; at < n; at += read_size) {
    const size_t len = std::min(read_size, n - at);
    size_t off = 0;
    while (off < len) {
      FrameEvent ev;
      off += parser.parse({wire + at + off, len - off}, ev);
      if (ev.kind == FrameEvent::Kind::None) break;
      if (ev.kind != FrameEvent::Kind::Message) std::abort();
      benchmark::DoNotOptimize(ev.payload.data());
      ++messages;
    }
  }
  return messages;
}

constexpr uint8_t kKey[4] = {0x37, 0xFA, 0x21, 0x3D};
constexpr uint8_t kZeroKey[4] = {0, 0, 0, 0};

void report(benchmark::State& state, const Batch& batch) {
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * batch.payload_bytes));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * batch.messages));
}

void parse_with_copy(benchmark::State& state, Opcode op, size_t read_size) {
  const Batch batch = make_batch(op, static_cast<size_t>(state.range(0)), kKey);
  std::vector<uint8_t> work(batch.wire.size());
  FrameParser parser(Role::Server, bench_limits());
  for (auto _ : state) {
    std::memcpy(work.data(), batch.wire.data(), work.size());
    if (parse_batch(parser, work.data(), work.size(), read_size) != batch.messages) std::abort();
  }
  report(state, batch);
}

void BM_ParseText(benchmark::State& state) {
  parse_with_copy(state, Opcode::Text, SIZE_MAX);
}
void BM_ParseBinary(benchmark::State& state) {
  parse_with_copy(state, Opcode::Binary, SIZE_MAX);
}
// Socket-sized reads: frames straddling reads go through the message buffer.
void BM_ParseTextReads16K(benchmark::State& state) {
  parse_with_copy(state, Opcode::Text, 16 * 1024);
}

void BM_ParseTextZeroKey(benchmark::State& state) {
  Batch batch = make_batch(Opcode::Text, static_cast<size_t>(state.range(0)), kZeroKey);
  FrameParser parser(Role::Server, bench_limits());
  for (auto _ : state) {
    if (parse_batch(parser, batch.wire.data(), batch.wire.size(), SIZE_MAX) != batch.messages)
      std::abort();
    benchmark::ClobberMemory();
  }
  report(state, batch);
}

void BM_CopyBaseline(benchmark::State& state) {
  const Batch batch = make_batch(Opcode::Text, static_cast<size_t>(state.range(0)), kKey);
  std::vector<uint8_t> work(batch.wire.size());
  for (auto _ : state) {
    std::memcpy(work.data(), batch.wire.data(), work.size());
    benchmark::ClobberMemory();
  }
  report(state, batch);
}

void utf8_only(benchmark::State& state, const std::vector<uint8_t>& text) {
  if (!is_valid_utf8(text)) std::abort();
  for (auto _ : state) {
    Utf8Validator validator;
    benchmark::DoNotOptimize(validator.feed(text));
    benchmark::DoNotOptimize(validator.complete());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void BM_Utf8Ascii(benchmark::State& state) {
  utf8_only(state, ascii_text(static_cast<size_t>(state.range(0))));
}
void BM_Utf8Multibyte(benchmark::State& state) {
  utf8_only(state, multibyte_text(static_cast<size_t>(state.range(0))));
}

void BM_MaskPayload(benchmark::State& state) {
  std::vector<uint8_t> data = ascii_text(static_cast<size_t>(state.range(0)));
  for (auto _ : state) {
    mask_payload(data, kKey, 1);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void BM_Memcpy(benchmark::State& state) {
  const size_t size = static_cast<size_t>(state.range(0));
  std::vector<uint8_t> from = ascii_text(size), to(size);
  for (auto _ : state) {
    benchmark::DoNotOptimize(from.data());
    std::memcpy(to.data(), from.data(), size);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * size));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

#define WSGATE_SIZES Arg(16)->Arg(1024)->Arg(64 * 1024)
BENCHMARK(BM_ParseText)->WSGATE_SIZES;
BENCHMARK(BM_ParseBinary)->WSGATE_SIZES;
BENCHMARK(BM_ParseTextZeroKey)->WSGATE_SIZES;
BENCHMARK(BM_ParseTextReads16K)->WSGATE_SIZES;
BENCHMARK(BM_CopyBaseline)->WSGATE_SIZES;
BENCHMARK(BM_Utf8Ascii)->WSGATE_SIZES;
BENCHMARK(BM_Utf8Multibyte)->WSGATE_SIZES;
BENCHMARK(BM_MaskPayload)->WSGATE_SIZES;
BENCHMARK(BM_Memcpy)->WSGATE_SIZES;

}  // namespace

BENCHMARK_MAIN();
