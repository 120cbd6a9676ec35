// Unit tests of the listen[].tls and tls keys: values read, defaults, and
// the errors a wrong TLS setting gets at its own line (SEC-TLS-01..04).
#include <gtest/gtest.h>

#include <string>

#include "config/config.h"
#include "config_test_support.h"

namespace wsgate::config {
namespace {

using testing::errors_of;
using testing::load_text;

// A TLS listener whose tls: block is `tls` (indented 6 spaces); the block
// starts on line 5.
std::string tls_listener(const std::string& tls) {
  return "listen:\n"
         "  - address: 127.0.0.1:8443\n"
         "    tls:\n"
         "      certificates:\n" +
         tls;
}

const char* const kOneCertificate = "        - {certificate: a.crt, key: a.key}\n";

TEST(TlsConfig, PlainListenerHasNoTls) {
  ConfigPtr config = load_text(testing::kMinimal);
  EXPECT_FALSE(config->listen[0].tls.enabled());
  EXPECT_FALSE(config->any_tls());
  EXPECT_EQ(config->ticket_key_rotation, Duration(12 * 3600 * 1000));
}

TEST(TlsConfig, DefaultsFollowMozillaIntermediate) {
  ConfigPtr config = load_text(tls_listener(kOneCertificate));
  const TlsConfig& tls = config->listen[0].tls;
  ASSERT_TRUE(tls.enabled());
  EXPECT_TRUE(config->any_tls());
  EXPECT_TRUE(tls.tls12);
  EXPECT_TRUE(tls.tls13);
  EXPECT_EQ(tls.ciphers,
            "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-"
            "SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-"
            "POLY1305");
  EXPECT_EQ(tls.ciphersuites,
            "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256");
  EXPECT_EQ(tls.groups, "X25519:P-256:P-384");
  EXPECT_EQ(tls.session_cache_size, 20000u);
  EXPECT_EQ(tls.session_timeout, Duration(3600 * 1000));
  EXPECT_TRUE(tls.session_tickets);
  EXPECT_TRUE(tls.release_buffers);
  // Paths resolve against the config file's directory; origins name the key.
  EXPECT_TRUE(tls.certificates[0].certificate.ends_with("/a.crt"));
  EXPECT_EQ(tls.certificates[0].key_origin.substr(tls.certificates[0].key_origin.find(':')),
            ":5:37: listen[0].tls.certificates[0].key");
}

TEST(TlsConfig, EverySettingIsRead) {
  ConfigPtr config = load_text(tls_listener(
      "        - certificate: a.crt\n"
      "          key: a.key\n"
      "          names: [A.Example.TEST, '*.w.test']\n"
      "      protocols: [TLSv1.3]\n"
      "      ciphers: ''\n"
      "      ciphersuites: TLS_AES_256_GCM_SHA384\n"
      "      groups: P-384\n"
      "      session_cache_size: 0\n"
      "      session_timeout: 5m\n"
      "      session_tickets: false\n"
      "      release_buffers: false\n"
      "tls:\n"
      "  ticket_key_rotation: 1s\n"));
  const TlsConfig& tls = config->listen[0].tls;
  EXPECT_EQ(tls.certificates[0].names, (std::vector<std::string>{"a.example.test", "*.w.test"}));
  EXPECT_FALSE(tls.tls12);
  EXPECT_TRUE(tls.tls13);
  EXPECT_EQ(tls.ciphers, "");
  EXPECT_EQ(tls.groups, "P-384");
  EXPECT_EQ(tls.session_cache_size, 0u);
  EXPECT_EQ(tls.session_timeout, Duration(300000));
  EXPECT_FALSE(tls.session_tickets);
  EXPECT_FALSE(tls.release_buffers);
  EXPECT_EQ(config->ticket_key_rotation, Duration(1000));
}

TEST(TlsConfig, OldProtocolVersionsAreRefused) {
  EXPECT_EQ(errors_of(tls_listener(std::string(kOneCertificate) + "      protocols: [TLSv1.1]\n")),
            "f.yaml:6:19: listen[0].tls.protocols[0]: is too old: only TLSv1.2 and TLSv1.3 are "
            "accepted (got TLSv1.1)");
  EXPECT_EQ(errors_of(tls_listener(std::string(kOneCertificate) + "      protocols: []\n")),
            "f.yaml:6:18: listen[0].tls.protocols: must name at least one of TLSv1.2, TLSv1.3 "
            "(got an empty list)");
}

TEST(TlsConfig, OpenSslChecksCipherSuiteAndGroupNames) {
  EXPECT_NE(errors_of(tls_listener(std::string(kOneCertificate) + "      ciphers: NOPE-CIPHER\n"))
                .find("f.yaml:6:16: listen[0].tls.ciphers: names no TLS 1.2 cipher OpenSSL knows"),
            std::string::npos);
  EXPECT_NE(
      errors_of(tls_listener(std::string(kOneCertificate) + "      ciphersuites: TLS_NOPE\n"))
          .find("f.yaml:6:21: listen[0].tls.ciphersuites: names no TLS 1.3 cipher suite"),
      std::string::npos);
  EXPECT_NE(errors_of(tls_listener(std::string(kOneCertificate) + "      groups: P-999\n"))
                .find("f.yaml:6:15: listen[0].tls.groups: is not a colon-separated list of groups"),
            std::string::npos);
  EXPECT_EQ(errors_of(tls_listener(std::string(kOneCertificate) + "      ciphers: ''\n")),
            "f.yaml:6:16: listen[0].tls.ciphers: must not be empty while TLSv1.2 is accepted "
            "(got \"\")");
}

TEST(TlsConfig, SettingsWithoutCertificatesAreAnError) {
  EXPECT_EQ(errors_of("listen:\n  - address: 127.0.0.1:8443\n    tls:\n      session_tickets: "
                      "false\n"),
            "f.yaml:2:5: listen[0].tls.certificates: must list at least one certificate when "
            "other tls settings are written (got nothing)");
}

TEST(TlsConfig, CertificateNeedsAKeyAndNamesMustBeDnsNames) {
  EXPECT_EQ(errors_of(tls_listener("        - certificate: a.crt\n")),
            "f.yaml:5:11: listen[0].tls.certificates[0].key: is required (got nothing)");
  EXPECT_EQ(errors_of(tls_listener(
                "        - {certificate: a.crt, key: a.key, names: ['bad name', '*.ok.test']}\n")),
            "f.yaml:5:52: listen[0].tls.certificates[0].names[0]: must be a DNS name (letters, "
            "digits, hyphens, dots), optionally starting with *. (got bad name)");
}

}  // namespace
}  // namespace wsgate::config
