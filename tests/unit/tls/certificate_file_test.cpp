// Unit tests of certificate and key loading: every failure names the file
// and says why (issue #4, `wsgated -t`).
#include "tls/certificate_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tls_test_support.h"

namespace wsgate::tls {
namespace {

using test::KeyType;
using ::testing::HasSubstr;

std::string load_error(const config::CertificateConfig& config) {
  try {
    load_certificate(config);
  } catch (const TlsError& e) {
    return e.what();
  }
  return "";
}

TEST(CertificateFile, LoadsEcdsaAndRsaPairsWithTheirNames) {
  test::TempDir dir;
  for (KeyType type : {KeyType::Ecdsa, KeyType::Rsa}) {
    config::CertificateConfig config =
        test::write_pair(dir, "leaf", type, {"a.example.test", "*.b.example.test"});
    LoadedCertificate loaded = load_certificate(config);
    EXPECT_EQ(loaded.key_type, type == KeyType::Ecdsa ? "ECDSA" : "RSA");
    EXPECT_EQ(loaded.names, (std::vector<std::string>{"a.example.test", "*.b.example.test"}));
  }
}

TEST(CertificateFile, ConfiguredNamesReplaceTheCertificates) {
  test::TempDir dir;
  config::CertificateConfig config = test::write_pair(dir, "leaf", KeyType::Ecdsa, {"a.test"});
  config.names = {"other.test"};
  EXPECT_EQ(load_certificate(config).names, (std::vector<std::string>{"other.test"}));
}

TEST(CertificateFile, KeepsTheChainAfterTheLeaf) {
  test::TempDir dir;
  PkeyPtr ca_key = test::make_key(KeyType::Ecdsa);
  X509Ptr ca = test::make_certificate(ca_key.get(), {"Test CA"});
  PkeyPtr key = test::make_key(KeyType::Ecdsa);
  X509Ptr leaf = test::make_certificate(key.get(), {"a.test"}, -1, 30, ca_key.get());
  auto config = test::certificate_config(
      dir.write("chain.crt", test::to_pem(leaf.get()) + test::to_pem(ca.get())),
      dir.write("leaf.key", test::to_pem(key.get())));
  EXPECT_EQ(load_certificate(config).chain.size(), 1u);
}

TEST(CertificateFile, MissingFileIsNamedWithTheConfigPosition) {
  test::TempDir dir;
  auto config = test::certificate_config(dir.path() + "/nope.crt", dir.path() + "/nope.key");
  const std::string error = load_error(config);
  EXPECT_THAT(error, HasSubstr("wsgate.yaml:7:24: listen[0].tls.certificates[0].certificate: "));
  EXPECT_THAT(error, HasSubstr("nope.crt: cannot open: No such file or directory"));
}

TEST(CertificateFile, UnreadableKeyIsNamed) {
  if (geteuid() == 0) GTEST_SKIP() << "root reads any file";
  test::TempDir dir;
  auto config = test::write_pair(dir, "leaf", KeyType::Ecdsa, {"a.test"});
  chmod(config.key.c_str(), 0);
  EXPECT_THAT(load_error(config), HasSubstr("leaf.key: cannot open: Permission denied"));
}

TEST(CertificateFile, KeyThatDoesNotMatchIsNamed) {
  test::TempDir dir;
  auto first = test::write_pair(dir, "one", KeyType::Ecdsa, {"a.test"});
  auto second = test::write_pair(dir, "two", KeyType::Ecdsa, {"a.test"});
  auto config = test::certificate_config(first.certificate, second.key);
  const std::string error = load_error(config);
  EXPECT_THAT(error, HasSubstr("listen[0].tls.certificates[0].key: "));
  EXPECT_THAT(error, HasSubstr("two.key: the key does not match the certificate"));
}

TEST(CertificateFile, ExpiredAndNotYetValidCertificatesAreRefused) {
  test::TempDir dir;
  PkeyPtr key = test::make_key(KeyType::Ecdsa);
  const std::string key_path = dir.write("leaf.key", test::to_pem(key.get()));
  X509Ptr expired = test::make_certificate(key.get(), {"a.test"}, -30, -1);
  EXPECT_THAT(load_error(test::certificate_config(
                  dir.write("expired.crt", test::to_pem(expired.get())), key_path)),
              HasSubstr("expired.crt: the certificate expired on "));
  X509Ptr future = test::make_certificate(key.get(), {"a.test"}, 2, 30);
  EXPECT_THAT(load_error(test::certificate_config(
                  dir.write("future.crt", test::to_pem(future.get())), key_path)),
              HasSubstr("future.crt: the certificate is not valid before "));
}

TEST(CertificateFile, EncryptedKeyAndGarbageAreExplained) {
  test::TempDir dir;
  PkeyPtr key = test::make_key(KeyType::Ecdsa);
  X509Ptr cert = test::make_certificate(key.get(), {"a.test"});
  const std::string cert_path = dir.write("leaf.crt", test::to_pem(cert.get()));
  EXPECT_THAT(load_error(test::certificate_config(
                  cert_path, dir.write("enc.key", test::to_pem(key.get(), "secret")))),
              HasSubstr("enc.key: the key is encrypted"));
  EXPECT_THAT(load_error(test::certificate_config(dir.write("junk.crt", "hello\n"), cert_path)),
              HasSubstr("junk.crt: no PEM certificate in it"));
  EXPECT_THAT(load_error(test::certificate_config(cert_path, dir.write("junk.key", "hello\n"))),
              HasSubstr("junk.key: no PEM private key in it"));
}

}  // namespace
}  // namespace wsgate::tls
