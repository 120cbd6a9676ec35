// permessage-deflate on a connection (see compression.h).
#include "worker/compression.h"

#include <utility>

namespace wsgate {

ws::MessageDeflater& SharedCompression::deflater(int window_bits, int level, int mem_level) {
  auto& slot = deflaters_[{window_bits, level, mem_level}];
  if (!slot) slot = std::make_unique<ws::MessageDeflater>(window_bits, level, mem_level);
  return *slot;
}

bool SharedCompression::trim() {
  if (std::exchange(used_, false)) return false;
  // A 64 KiB buffer serves most messages; a larger one is returned.
  bool freed = false;
  for (std::vector<uint8_t>* buffer : {&deflated_, &inflated_}) {
    if (buffer->capacity() > (64u << 10)) {
      std::vector<uint8_t>().swap(*buffer);
      freed = true;
    }
  }
  return freed;
}

ws::DeflatePolicy deflate_policy(const config::CompressionConfig& config) {
  return ws::DeflatePolicy{config.server_context_takeover, config.client_context_takeover,
                           config.server_max_window_bits};
}

Compression::Compression(const config::CompressionConfig& config,
                         const ws::DeflateParameters& parameters, SharedCompression& shared)
    : config_(config), parameters_(parameters), shared_(shared) {
  // The response text went out in the 101; an idle connection keeps only
  // the parameters.
  std::string().swap(parameters_.response);
}

bool Compression::compress(std::span<const uint8_t> message, std::span<const uint8_t>& out) {
  out = message;
  if (message.size() < config_.min_size) return false;
  const bool takeover = !parameters_.server_no_context_takeover;
  ws::MessageDeflater* deflater = own_deflater_.get();
  if (takeover && deflater == nullptr) {
    own_deflater_ = std::make_unique<ws::MessageDeflater>(parameters_.server_window_bits,
                                                          config_.level, config_.mem_level);
    deflater = own_deflater_.get();
  } else if (!takeover) {
    deflater = &shared_.deflater(parameters_.server_window_bits, config_.level, config_.mem_level);
  }
  std::vector<uint8_t>& scratch = shared_.deflated();
  if (!deflater->compress(message, !takeover, scratch)) {
    // Out of memory in zlib: this message goes uncompressed. A takeover
    // stream is dropped; a new one starts with an empty window, which the
    // client's (fuller) window decodes just as well.
    if (takeover) own_deflater_.reset();
    return false;
  }
  if (!takeover && scratch.size() >= message.size()) return false;
  out = scratch;
  return true;
}

ws::MessageInflater& Compression::client_inflater() {
  if (parameters_.client_no_context_takeover) return shared_.inflater();
  if (!own_inflater_) {
    own_inflater_ = std::make_unique<ws::MessageInflater>(parameters_.client_window_bits);
  }
  return *own_inflater_;
}

ws::MessageInflater::Result Compression::inflate(std::span<const uint8_t> payload,
                                                 uint64_t max_size, std::span<const uint8_t>& out) {
  std::vector<uint8_t>& scratch = shared_.inflated();
  const auto result =
      client_inflater().inflate(payload, max_size, parameters_.client_no_context_takeover, scratch);
  out = scratch;
  return result;
}

ws::MessageInflater::Result Compression::inflate_part(std::span<const uint8_t> part, bool last,
                                                      uint64_t max_size,
                                                      std::span<const uint8_t>& fresh) {
  using Result = ws::MessageInflater::Result;
  if (!parts_) {
    parts_ = std::make_unique<Parts>();
    const bool reset = parameters_.client_no_context_takeover;
    if (reset) {
      parts_->own = std::make_unique<ws::MessageInflater>(parameters_.client_window_bits);
      parts_->stream = parts_->own.get();
    } else {
      parts_->stream = &client_inflater();
    }
    const Result started = parts_->stream->begin(reset);
    if (started != Result::Ok) return started;
  }
  std::vector<uint8_t>& inflated = parts_->inflated;
  const size_t before = inflated.size();
  const Result result = parts_->stream->feed(part, last, max_size, inflated);
  fresh = std::span<const uint8_t>(inflated).subspan(before);
  return result;
}

std::span<const uint8_t> Compression::message() const {
  if (!parts_) return {};
  return parts_->inflated;
}

}  // namespace wsgate
