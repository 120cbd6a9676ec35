// The translator: section of a route and the trusted_proxies ranges (see
// translator_settings.h).
#include "config/translator_settings.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <array>
#include <cstring>

#include "config/file_reader.h"
#include "config/upstream_address.h"

namespace wsgate::config {
namespace {

constexpr std::string_view kTranslator = "routes[].translator";
constexpr std::string_view kDomain = "routes[].translator.domain";
constexpr std::string_view kUsername = "routes[].translator.username";
constexpr std::string_view kPasswordFile = "routes[].translator.password_file";
constexpr std::string_view kRouterName = "routes[].translator.router_name";
constexpr std::string_view kLogProtect = "routes[].translator.log_protect";
constexpr std::string_view kTrustedProxies = "routes[].translator.trusted_proxies";

unsigned address_bits(int family) {
  return family == AF_INET ? 32 : 128;
}

// True when the first range.prefix bits of `address` (network order, 4 or
// 16 bytes as range.family has) equal the range's.
bool prefix_matches(const uint8_t* address, const AddressRange& range) {
  const unsigned whole = range.prefix / 8;
  const unsigned rest = range.prefix % 8;
  if (std::memcmp(address, range.bytes.data(), whole) != 0) return false;
  if (rest == 0) return true;
  const auto mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (address[whole] & mask) == (range.bytes[whole] & mask);
}

bool in_family_ranges(const std::vector<AddressRange>& ranges, int family, const uint8_t* address) {
  for (const AddressRange& range : ranges) {
    if (range.family != family || range.prefix > address_bits(family)) continue;
    if (prefix_matches(address, range)) return true;
  }
  return false;
}

// Checks a value that becomes one field of a Redis key (an ACL user name,
// a router name): not empty, and without the ':' that separates fields.
void check_key_field(SectionReader& r, std::string_view key, const std::string& value) {
  if (!r.ok(key)) return;
  if (value.empty()) {
    r.error(key, "must not be empty: it is a field of the bus's Redis keys", got_text(value));
  } else if (value.find(':') != std::string::npos) {
    r.error(key, "must not contain ':', which separates the fields of the bus's Redis keys",
            got_text(value));
  }
}

void check_domain(SectionReader& r, const std::string& domain) {
  if (!r.ok(kDomain)) return;
  if (domain.empty()) {
    r.error(kDomain,
            "is required by a relay: translator route (the bus domain, which is also "
            "the Redis host)",
            r.present(kDomain) ? got_text(domain) : "nothing");
    return;
  }
  std::array<uint8_t, 16> bytes{};
  if (inet_pton(AF_INET6, domain.c_str(), bytes.data()) == 1) {
    r.error(kDomain,
            "must not be an IPv6 address: the domain is a field of bus addresses, where ':' "
            "separates fields; use a DNS name",
            got_text(domain));
  } else if (!is_host_name(domain) && !is_ip_literal(domain)) {
    r.error(kDomain, "must be a DNS name or an IPv4 address (the Redis host of the bus)",
            got_text(domain));
  }
}

// Reads translator.password_file into translator.password; its errors name
// the file, and the key and where it was written.
void read_password(SectionReader& r, Diagnostics& errors, TranslatorConfig& translator) {
  const std::string& file = translator.password_file;
  const std::string named_by =
      " (password file of " + r.display(kPasswordFile) + " at " + r.position(kPasswordFile) + ")";
  std::string content;
  if (std::string why = read_whole_file(file, content); !why.empty()) {
    errors.add_message(r.where(kPasswordFile), file + ": cannot read: " + why + named_by);
    r.mark_failed(kPasswordFile);
    return;
  }
  // Exactly one newline, the one `echo` and editors end a file with; any
  // other byte belongs to the password.
  if (content.ends_with('\n')) content.pop_back();
  if (content.empty()) {
    errors.add_message(r.where(kPasswordFile),
                       file +
                           ": holds no password; write it in the file, or set password_file: "
                           "\"\" for no AUTH" +
                           named_by);
    r.mark_failed(kPasswordFile);
    return;
  }
  translator.password = std::move(content);
}

}  // namespace

std::optional<AddressRange> parse_address_range(std::string_view text, std::string& error) {
  AddressRange range;
  range.text = std::string(text);
  const size_t slash = text.find('/');
  const std::string address(text.substr(0, slash));
  if (inet_pton(AF_INET, address.c_str(), range.bytes.data()) == 1) {
    range.family = AF_INET;
  } else if (inet_pton(AF_INET6, address.c_str(), range.bytes.data()) == 1) {
    range.family = AF_INET6;
  } else {
    error = text.empty() ? "must be an IP address or ADDRESS/PREFIX, not empty"
            : address.empty()
                ? "needs a numeric IPv4 or IPv6 address before /"
                : "is not a numeric IPv4 or IPv6 address (names are not resolved; an IPv6 "
                  "address has no brackets)";
    return std::nullopt;
  }
  const unsigned bits = address_bits(range.family);
  range.prefix = bits;
  if (slash != std::string_view::npos) {
    const std::string_view digits = text.substr(slash + 1);
    bool ok = !digits.empty() && digits.size() <= 3;
    unsigned prefix = 0;
    for (char c : digits) {
      ok = ok && c >= '0' && c <= '9';
      prefix = prefix * 10 + static_cast<unsigned>(c - '0');
    }
    if (!ok) {
      error = "needs a prefix length (decimal digits) after /";
      return std::nullopt;
    }
    if (prefix > bits) {
      error = "has a prefix length over " + std::to_string(bits) + ", the bits of an " +
              (range.family == AF_INET ? "IPv4" : "IPv6") + " address";
      return std::nullopt;
    }
    range.prefix = prefix;
  }
  // A set bit after the prefix is most often a typo for a narrower range;
  // it is refused rather than masked, since the range decides whom to trust.
  AddressRange network = range;
  for (unsigned bit = range.prefix; bit < bits; ++bit) {
    network.bytes[bit / 8] &= static_cast<uint8_t>(~(0x80u >> (bit % 8)));
  }
  if (network.bytes != range.bytes) {
    char shown[INET6_ADDRSTRLEN] = "";
    inet_ntop(range.family, network.bytes.data(), shown, sizeof shown);
    error = "has address bits set after the /" + std::to_string(range.prefix) +
            " prefix (the network is " + shown + "/" + std::to_string(range.prefix) + ")";
    return std::nullopt;
  }
  return range;
}

bool address_in_ranges(const std::vector<AddressRange>& ranges, const sockaddr* peer) {
  if (peer == nullptr) return false;
  if (peer->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(peer);
    return in_family_ranges(ranges, AF_INET, reinterpret_cast<const uint8_t*>(&in->sin_addr));
  }
  if (peer->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(peer);
    const uint8_t* bytes = in6->sin6_addr.s6_addr;
    if (in_family_ranges(ranges, AF_INET6, bytes)) return true;
    return IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) && in_family_ranges(ranges, AF_INET, bytes + 12);
  }
  return false;
}

void read_translator(SectionReader& r, Diagnostics& errors, RouteConfig& route) {
  TranslatorConfig& translator = route.translator;
  translator.domain = r.text(kDomain);
  translator.port = static_cast<uint16_t>(r.number("routes[].translator.port"));
  translator.username = r.text(kUsername);
  translator.password_file = r.path(kPasswordFile);
  translator.router_name = r.text(kRouterName);
  translator.max_sessions = static_cast<uint32_t>(r.number("routes[].translator.max_sessions"));
  translator.max_message = static_cast<uint64_t>(r.number("routes[].translator.max_message"));
  std::vector<ListElement> log_protect = r.strings(kLogProtect);
  std::vector<ListElement> trusted_proxies = r.strings(kTrustedProxies);

  if (route.relay != "translator") {
    if (r.present(kTranslator) && r.ok("routes[].relay")) {
      r.error(kTranslator, "is only read by routes whose relay is translator",
              "relay " + got_text(route.relay));
    }
    translator = TranslatorConfig{};
    return;
  }

  check_domain(r, translator.domain);
  check_key_field(r, kUsername, translator.username);
  check_key_field(r, kRouterName, translator.router_name);
  for (ListElement& prefix : log_protect) {
    if (prefix.text.empty()) {
      r.error(prefix, kLogProtect,
              "must not be empty: an empty prefix would redact every method (write [] to "
              "redact none)",
              got_text(prefix.text));
      continue;
    }
    translator.log_protect.push_back(std::move(prefix.text));
  }
  for (const ListElement& entry : trusted_proxies) {
    std::string why;
    if (std::optional<AddressRange> range = parse_address_range(entry.text, why)) {
      translator.trusted_proxies.push_back(std::move(*range));
    } else {
      r.error(entry, kTrustedProxies, why, got_text(entry.text));
    }
  }
  if (!translator.password_file.empty() && r.ok(kPasswordFile)) {
    read_password(r, errors, translator);
  }
}

}  // namespace wsgate::config
