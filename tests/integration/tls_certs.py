"""Throw-away certificates for the TLS integration tests, made at test time
with the `openssl` command: an ECDSA test CA, ECDSA and RSA leaves it signs
for chosen DNS names, and the broken files an operator can put in a config
(expired certificate, key of another certificate, encrypted key, garbage).

Nothing here is secret or long-lived: keys are unencrypted (except the one
meant to be) and certificates live 30 days."""
import datetime
import os
import subprocess

OPENSSL = "openssl"


def _run(*args, cwd=None):
    result = subprocess.run([OPENSSL, *args], capture_output=True, text=True, timeout=60,
                            cwd=cwd)
    if result.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout


def _new_key_args(key_type):
    if key_type == "ecdsa":
        return ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
    if key_type == "rsa":
        return ["-newkey", "rsa:2048"]
    raise ValueError(key_type)


class CertKit:
    """Certificates under `directory`. ca_cert/ca_key are the test CA; leaf()
    makes a leaf signed by it and returns (cert path, key path)."""

    def __init__(self, directory):
        self.dir = directory
        os.makedirs(directory, exist_ok=True)
        self.ca_cert = os.path.join(directory, "ca.crt")
        self.ca_key = os.path.join(directory, "ca.key")
        self._serial = 1000
        _run("req", "-x509", *_new_key_args("ecdsa"), "-nodes", "-keyout", self.ca_key,
             "-out", self.ca_cert, "-days", "30", "-subj", "/CN=wsgate test CA",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign")

    def path(self, name):
        return os.path.join(self.dir, name)

    def next_serial(self):
        self._serial += 1
        return self._serial

    def leaf(self, stem, names, key_type="ecdsa", serial=None, days=30, common_name=None):
        """Makes stem.crt/stem.key: a server certificate for the DNS names
        `names` (subjectAltName; the CN is the first name unless
        common_name is given) with the given serial (a fresh one by
        default). days=-1 gives a certificate that has already expired."""
        cert, key, csr = (self.path(stem + ext) for ext in (".crt", ".key", ".csr"))
        ext = self.path(stem + ".ext")
        serial = serial if serial is not None else self.next_serial()
        usage = "digitalSignature" + (",keyEncipherment" if key_type == "rsa" else "")
        with open(ext, "w", encoding="ascii") as out:
            out.write("basicConstraints=CA:FALSE\n"
                      f"keyUsage=critical,{usage}\n"
                      "extendedKeyUsage=serverAuth\n"
                      "subjectAltName=" + ",".join(f"DNS:{n}" for n in names) + "\n")
        _run("req", "-new", *_new_key_args(key_type), "-nodes", "-keyout", key, "-out", csr,
             "-subj", f"/CN={common_name or names[0]}")
        _run("x509", "-req", "-in", csr, "-CA", self.ca_cert, "-CAkey", self.ca_key,
             "-set_serial", str(serial), "-days", str(days), "-extfile", ext, "-out", cert)
        os.chmod(key, 0o600)
        return cert, key

    def expired_leaf(self, stem, names):
        """A leaf whose validity ended yesterday (notBefore ten days ago)."""
        try:
            return self._expired_with_cryptography(stem, names)
        except ImportError:
            # OpenSSL 3.0's x509 -req takes a negative -days: notAfter lands
            # before "now", so the certificate is expired from the start.
            return self.leaf(stem, names, days=-1)

    def _expired_with_cryptography(self, stem, names):
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        with open(self.ca_key, "rb") as f:
            ca_key = serialization.load_pem_private_key(f.read(), password=None)
        with open(self.ca_cert, "rb") as f:
            ca_cert = x509.load_pem_x509_certificate(f.read())
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
                .issuer_name(ca_cert.subject)
                .public_key(key.public_key())
                .serial_number(self.next_serial())
                .not_valid_before(now - datetime.timedelta(days=10))
                .not_valid_after(now - datetime.timedelta(days=1))
                .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]),
                               critical=False)
                .sign(ca_key, hashes.SHA256()))
        cert_path, key_path = self.path(stem + ".crt"), self.path(stem + ".key")
        with open(cert_path, "wb") as out:
            out.write(cert.public_bytes(serialization.Encoding.PEM))
        with open(key_path, "wb") as out:
            out.write(key.private_bytes(serialization.Encoding.PEM,
                                        serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption()))
        os.chmod(key_path, 0o600)
        return cert_path, key_path

    def encrypted_copy(self, key, stem):
        """A copy of `key` encrypted with AES-256 (passphrase "secret")."""
        out = self.path(stem + ".key")
        _run("pkey", "-in", key, "-aes256", "-passout", "pass:secret", "-out", out)
        os.chmod(out, 0o600)
        return out

    def garbage_pem(self, stem):
        """A file that looks like a PEM certificate but holds no valid DER."""
        out = self.path(stem + ".crt")
        with open(out, "w", encoding="ascii") as f:
            f.write("-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGUgYXQgYWxs\n"
                    "-----END CERTIFICATE-----\n")
        return out


def serial_of(cert_path):
    """The serial of a PEM certificate file, as an upper-case hex string
    (the form ssl.getpeercert() gives)."""
    text = _run("x509", "-in", cert_path, "-noout", "-serial").strip()
    return text.split("=", 1)[1].upper()
