// Framing of the supervisor <-> worker channel: u32 little-endian length,
// u8 type, payload. Pure byte manipulation; no I/O.
#include "common/channel.h"

namespace wsgate {
namespace {

constexpr size_t kHeaderBytes = 4;

uint32_t read_le32(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return static_cast<uint32_t>(u[0]) | static_cast<uint32_t>(u[1]) << 8 |
         static_cast<uint32_t>(u[2]) << 16 | static_cast<uint32_t>(u[3]) << 24;
}

}  // namespace

// The caller keeps payload.size() <= kMaxChannelPayload; a larger payload is
// still framed, and the receiving decoder then marks its stream corrupt.
void channel_encode(std::string& out, ChannelMessage type, std::string_view payload) {
  const uint32_t length = static_cast<uint32_t>(payload.size() + 1);
  const char header[kHeaderBytes + 1] = {
      static_cast<char>(length & 0xff), static_cast<char>((length >> 8) & 0xff),
      static_cast<char>((length >> 16) & 0xff), static_cast<char>((length >> 24) & 0xff),
      static_cast<char>(type)};
  out.append(header, sizeof header);
  out.append(payload);
}

void ChannelDecoder::feed(std::span<const char> bytes) {
  if (failed_) return;
  // Drop what next() already handed out; views from earlier calls die here,
  // as the header promises.
  if (offset_ == buffer_.size()) {
    buffer_.clear();
  } else if (offset_ > 0) {
    buffer_.erase(0, offset_);
  }
  offset_ = 0;
  buffer_.append(bytes.data(), bytes.size());
}

bool ChannelDecoder::next(ChannelMessage& type, std::string_view& payload) {
  if (failed_) return false;
  const size_t available = buffer_.size() - offset_;
  if (available < kHeaderBytes) return false;
  const uint32_t length = read_le32(buffer_.data() + offset_);
  // A frame always carries its type byte, and never more than the cap.
  if (length == 0 || length > kMaxChannelPayload + 1) {
    failed_ = true;
    return false;
  }
  if (available - kHeaderBytes < length) return false;
  const char* frame = buffer_.data() + offset_ + kHeaderBytes;
  type = static_cast<ChannelMessage>(static_cast<unsigned char>(frame[0]));
  payload = std::string_view(frame + 1, length - 1);
  offset_ += kHeaderBytes + length;
  return true;
}

std::string encode_accept_slots(const std::vector<unsigned>& slots) {
  std::string payload;
  for (unsigned slot : slots) {
    payload.push_back(static_cast<char>(slot & 0xff));
    payload.push_back(static_cast<char>((slot >> 8) & 0xff));
  }
  return payload;
}

bool decode_accept_slots(std::string_view payload, std::vector<unsigned>& slots) {
  slots.clear();
  if (payload.size() % 2 != 0) return false;
  const auto* bytes = reinterpret_cast<const unsigned char*>(payload.data());
  for (size_t i = 0; i < payload.size(); i += 2) slots.push_back(bytes[i] | bytes[i + 1] << 8u);
  return true;
}

}  // namespace wsgate
