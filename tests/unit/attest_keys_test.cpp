// Signing keys, canonical JSON, base64 and DSSE envelopes (src/attest/keys.h, src/attest/dsse.h).
//
// Besides round trips, two kinds of interop are checked against independent implementations:
//  - the openssl CLI verifies what stepseal signs, and stepseal verifies what openssl signs;
//  - securesystemslib (the in-toto 1.x reference, Debian's python3-securesystemslib) computes the
//    same key ids and canonical JSON, and verifies stepseal's signatures.
// Where a tool is missing those tests are skipped, unless STEPSEAL_REQUIRE_PRIVILEGED=1 (CI),
// where they fail instead.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "attest/dsse.h"
#include "attest/keys.h"

namespace stepseal::attest {
namespace {

using nlohmann::json;

// --- helpers -------------------------------------------------------------------------------------

class TempDir {
 public:
  TempDir() {
    std::string tmpl = std::string(::testing::TempDir()) + "/stepseal-attest-XXXXXX";
    if (::mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
  }
  ~TempDir() {
    if (!path_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(path_, ec);
    }
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

void write_file(const std::string& path, const std::string& content) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << content;
  ASSERT_TRUE(f.good()) << path;
}

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'')
      out += "'\\''";
    else
      out.push_back(c);
  }
  return out + "'";
}

// Runs `cmd` with sh, output discarded; returns its exit status (-1 if it did not exit).
int run(const std::string& cmd) {
  int rc = std::system((cmd + " >/dev/null 2>&1").c_str());
  if (rc == -1 || !WIFEXITED(rc)) return -1;
  return WEXITSTATUS(rc);
}

bool privilege_required() {
  const char* v = std::getenv("STEPSEAL_REQUIRE_PRIVILEGED");
  return v != nullptr && std::string(v) == "1";
}

bool have_openssl_cli() { return run("openssl version") == 0; }

// A python3 that can import securesystemslib (and cryptography, its dependency), or "".
const std::string& sslib_python() {
  static const std::string py = [] {
    for (const char* cand : {"/usr/bin/python3", "python3"})
      if (run(std::string(cand) + " -c 'import securesystemslib.keys, securesystemslib.interface,"
                                  " cryptography'") == 0)
        return std::string(cand);
    return std::string();
  }();
  return py;
}

#define SKIP_OR_FAIL(why)                                                   \
  do {                                                                      \
    if (privilege_required()) FAIL() << (why) << " (STEPSEAL_REQUIRE_PRIVILEGED=1)"; \
    GTEST_SKIP() << (why);                                                  \
  } while (0)

#define REQUIRE_OPENSSL_CLI() \
  if (!have_openssl_cli()) SKIP_OR_FAIL("the openssl command is not installed")

#define REQUIRE_SSLIB()    \
  if (sslib_python().empty()) \
  SKIP_OR_FAIL("python3-securesystemslib is not installed (apt-get install in-toto)")

std::string flip_byte(std::string s, size_t i) {
  s.at(i) = static_cast<char>(s.at(i) ^ 0x01);
  return s;
}

// KeyError's message from `f`, or "" if it did not throw one.
template <class F>
std::string key_error(F&& f) {
  try {
    f();
  } catch (const KeyError& e) {
    return e.what();
  }
  return "";
}

#define EXPECT_CONTAINS(haystack, needle)                                            \
  EXPECT_NE(std::string(haystack).find(needle), std::string::npos)                  \
      << "expected \"" << (needle) << "\" in: " << (haystack)

// No line of base64 from `pem` (key material) may appear in `message`.
void expect_no_key_material(const std::string& message, const std::string& pem) {
  std::istringstream lines(pem);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || line.rfind("-----", 0) == 0) continue;
    EXPECT_EQ(message.find(line.substr(0, 16)), std::string::npos)
        << "error message shows key material: " << message;
  }
}

const KeyType kBothTypes[] = {KeyType::kEcdsaP256, KeyType::kEd25519};
const char* name_of(KeyType t) { return t == KeyType::kEcdsaP256 ? "ECDSA P-256" : "Ed25519"; }

// RFC 8032 section 7.1, test 1: the Ed25519 public key, and its SubjectPublicKeyInfo PEM.
constexpr const char* kRfc8032PublicHex =
    "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
constexpr const char* kRfc8032PublicPem =
    "-----BEGIN PUBLIC KEY-----\n"
    "MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n"
    "-----END PUBLIC KEY-----\n";
// Its key id as securesystemslib 0.26 computes it:
//   keys._get_keyid("ed25519", "ed25519", {"public": kRfc8032PublicHex})
constexpr const char* kRfc8032KeyId =
    "01e8764eedab63b3593451765fc337b2cc6d2c66923845da255f448c19e2afc5";

// A P-256 public key made by `openssl genpkey`, and its key id from securesystemslib 0.26:
//   keys._get_keyid("ecdsa", "ecdsa-sha2-nistp256", {"public": kFixedEcdsaPem})
// (the PEM with its final newline, as cryptography's public_bytes() and in-toto-keygen have it).
constexpr const char* kFixedEcdsaPem =
    "-----BEGIN PUBLIC KEY-----\n"
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAErI4XmTn63tDSxiAgCz+GqkOE5AMj\n"
    "oR4iyBQcRIz+M+bUhu9q3p+mFkXRwYI6zyKpLf+gFwG18qMqlg+QXr+3Qw==\n"
    "-----END PUBLIC KEY-----\n";
constexpr const char* kFixedEcdsaKeyId =
    "c4472b29aa0ec6542c2ac3b97e0988548f7af6f01d904a2b34045ab9133aedba";

// --- keys ----------------------------------------------------------------------------------------

TEST(AttestKeys, SignVerifyRoundTripBothTypes) {
  for (KeyType t : kBothTypes) {
    SCOPED_TRACE(name_of(t));
    Key key = Key::generate(t);
    EXPECT_EQ(key.type(), t);
    EXPECT_TRUE(key.has_private());
    const std::string msg = "the message \x00\xff with binary bytes";
    std::string sig = key.sign(msg);
    if (t == KeyType::kEd25519) {
      EXPECT_EQ(sig.size(), 64u);  // raw R || S
      EXPECT_EQ(key.sign(msg), sig) << "Ed25519 is deterministic";
    } else {
      ASSERT_GE(sig.size(), 8u);
      EXPECT_EQ(static_cast<unsigned char>(sig[0]), 0x30) << "ECDSA signature is a DER SEQUENCE";
      EXPECT_EQ(static_cast<size_t>(static_cast<unsigned char>(sig[1])), sig.size() - 2);
    }
    EXPECT_TRUE(key.verify(msg, sig));
    EXPECT_FALSE(key.verify(msg + "x", sig));
    EXPECT_FALSE(key.verify(flip_byte(msg, 3), sig));
    EXPECT_FALSE(key.verify(msg, flip_byte(sig, sig.size() - 1)));
    EXPECT_FALSE(key.verify(msg, flip_byte(sig, 0)));
    EXPECT_FALSE(key.verify(msg, ""));
    EXPECT_FALSE(key.verify(msg, sig.substr(0, sig.size() - 1)));
    EXPECT_FALSE(key.verify(msg, sig + '\0'));
    EXPECT_FALSE(key.verify(msg, std::string(200, '\x30')));
    Key other = Key::generate(t);
    EXPECT_FALSE(other.verify(msg, sig));
    EXPECT_NE(other.keyid(), key.keyid());
  }
  // A signature of one type never verifies under the other.
  Key ec = Key::generate(KeyType::kEcdsaP256), ed = Key::generate(KeyType::kEd25519);
  EXPECT_FALSE(ed.verify("m", ec.sign("m")));
  EXPECT_FALSE(ec.verify("m", ed.sign("m")));
}

TEST(AttestKeys, WriteLoadRoundTripBothTypes) {
  for (KeyType t : kBothTypes) {
    SCOPED_TRACE(name_of(t));
    TempDir dir;
    ASSERT_FALSE(dir.path().empty());
    Key key = Key::generate(t);
    key.write(dir / "signer");

    std::string priv_pem = read_file(dir / "signer.key");
    EXPECT_EQ(priv_pem.rfind("-----BEGIN PRIVATE KEY-----\n", 0), 0u) << "unencrypted PKCS#8";
    EXPECT_EQ(read_file(dir / "signer.pub"), key.public_pem());
    EXPECT_EQ(key.public_pem().rfind("-----BEGIN PUBLIC KEY-----\n", 0), 0u);

    Key priv = Key::load_private(dir / "signer.key");
    Key pub = Key::load_public(dir / "signer.pub");
    EXPECT_EQ(priv.type(), t);
    EXPECT_EQ(pub.type(), t);
    EXPECT_TRUE(priv.has_private());
    EXPECT_FALSE(pub.has_private());
    EXPECT_EQ(priv.keyid(), key.keyid());
    EXPECT_EQ(pub.keyid(), key.keyid());
    EXPECT_EQ(pub.public_pem(), key.public_pem());
    EXPECT_EQ(pub.intoto_public(), key.intoto_public());

    std::string sig = priv.sign("payload");
    EXPECT_TRUE(pub.verify("payload", sig));
    EXPECT_TRUE(key.verify("payload", sig));
    EXPECT_CONTAINS(key_error([&] { pub.sign("payload"); }), "public key");

    // A public-only key cannot be written as a key pair.
    EXPECT_CONTAINS(key_error([&] { pub.write(dir / "again"); }), "no private part");
    EXPECT_FALSE(std::filesystem::exists(dir / "again.key"));

    // Moving keeps the key usable.
    Key moved = std::move(priv);
    EXPECT_TRUE(pub.verify("payload", moved.sign("payload")));
    Key assigned = Key::generate(t);
    assigned = std::move(moved);
    EXPECT_EQ(assigned.keyid(), key.keyid());
  }
}

TEST(AttestKeys, PrivateKeyIsWritten0600AndNeverOverwritten) {
  TempDir dir;
  Key first = Key::generate(KeyType::kEcdsaP256);
  mode_t old = ::umask(0);  // the modes must not depend on the caller's umask
  first.write(dir / "k");
  ::umask(old);
  struct stat st{};
  ASSERT_EQ(::stat((dir / "k.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  ASSERT_EQ(::stat((dir / "k.pub").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0644u);

  old = ::umask(077);
  Key second = Key::generate(KeyType::kEd25519);
  second.write(dir / "k2");
  ::umask(old);
  ASSERT_EQ(::stat((dir / "k2.pub").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0644u);

  const std::string key_before = read_file(dir / "k.key");
  const std::string pub_before = read_file(dir / "k.pub");
  Key third = Key::generate(KeyType::kEcdsaP256);
  std::string err = key_error([&] { third.write(dir / "k"); });
  EXPECT_CONTAINS(err, "already exists");
  EXPECT_CONTAINS(err, dir / "k.key");
  EXPECT_EQ(read_file(dir / "k.key"), key_before) << "the existing private key was changed";
  EXPECT_EQ(read_file(dir / "k.pub"), pub_before) << "the existing public key was changed";

  // Not even through a symlink to an existing file, nor a dangling one.
  write_file(dir / "victim", "precious");
  ASSERT_EQ(::symlink((dir / "victim").c_str(), (dir / "link.key").c_str()), 0);
  EXPECT_CONTAINS(key_error([&] { third.write(dir / "link"); }), "already exists");
  EXPECT_EQ(read_file(dir / "victim"), "precious");
  ASSERT_EQ(::symlink((dir / "nowhere").c_str(), (dir / "dangling.key").c_str()), 0);
  EXPECT_FALSE(key_error([&] { third.write(dir / "dangling"); }).empty());
  EXPECT_FALSE(std::filesystem::exists(dir / "nowhere"));

  // An unwritable place gives a message naming the file, and leaves no half key pair.
  err = key_error([&] { third.write(dir / "no/such/dir/k"); });
  EXPECT_CONTAINS(err, "cannot create");
  EXPECT_CONTAINS(err, dir / "no/such/dir/k.key");
  expect_no_key_material(err, key_before);
}

TEST(AttestKeys, IntotoPublicAndKeyIdMatchSecuresystemslibVectors) {
  TempDir dir;
  write_file(dir / "ed.pub", kRfc8032PublicPem);
  Key ed = Key::load_public(dir / "ed.pub");
  EXPECT_EQ(ed.type(), KeyType::kEd25519);
  EXPECT_EQ(ed.intoto_public(),
            json::parse(R"({"keytype":"ed25519","scheme":"ed25519",
                            "keyid_hash_algorithms":["sha256","sha512"],
                            "keyval":{"public":")" +
                        std::string(kRfc8032PublicHex) + R"("}})"));
  EXPECT_EQ(ed.keyid(), kRfc8032KeyId);
  EXPECT_EQ(ed.public_pem(), kRfc8032PublicPem);

  write_file(dir / "ec.pub", kFixedEcdsaPem);
  Key ec = Key::load_public(dir / "ec.pub");
  EXPECT_EQ(ec.type(), KeyType::kEcdsaP256);
  json expected = {{"keytype", "ecdsa"},
                   {"scheme", "ecdsa-sha2-nistp256"},
                   {"keyid_hash_algorithms", {"sha256", "sha512"}},
                   {"keyval", {{"public", kFixedEcdsaPem}}}};
  EXPECT_EQ(ec.intoto_public(), expected);
  EXPECT_EQ(ec.keyid(), kFixedEcdsaKeyId);

  // The key id is the sha256 of exactly this canonical form.
  EXPECT_EQ(canonical_json(ed.intoto_public()),
            std::string(R"({"keyid_hash_algorithms":["sha256","sha512"],"keytype":"ed25519",)") +
                R"("keyval":{"public":")" + kRfc8032PublicHex + R"("},"scheme":"ed25519"})");
  // Generated keys have the same shape.
  for (KeyType t : kBothTypes) {
    Key k = Key::generate(t);
    json j = k.intoto_public();
    EXPECT_EQ(j.size(), 4u);
    EXPECT_EQ(j["keyval"].size(), 1u) << "no private part in the public form";
    EXPECT_EQ(k.keyid().size(), 64u);
    if (t == KeyType::kEd25519) {
      std::string hex = j["keyval"]["public"];
      EXPECT_EQ(hex.size(), 64u);
      EXPECT_EQ(hex.find_first_not_of("0123456789abcdef"), std::string::npos);
    } else {
      EXPECT_EQ(j["keyval"]["public"], k.public_pem());
    }
  }
}

// --- key file errors -----------------------------------------------------------------------------

TEST(KeyFiles, MissingEmptyDirectoryAndNotPem) {
  TempDir dir;
  std::string err = key_error([&] { Key::load_private(dir / "absent.key"); });
  EXPECT_CONTAINS(err, dir / "absent.key");
  EXPECT_CONTAINS(err, "does not exist");
  EXPECT_CONTAINS(key_error([&] { Key::load_public(dir / "absent.pub"); }), "does not exist");

  EXPECT_CONTAINS(key_error([&] { Key::load_private(dir.path()); }), "is a directory");

  write_file(dir / "empty.key", "");
  EXPECT_CONTAINS(key_error([&] { Key::load_private(dir / "empty.key"); }), "is empty");

  write_file(dir / "text.key", "this is not a key\n");
  err = key_error([&] { Key::load_private(dir / "text.key"); });
  EXPECT_CONTAINS(err, dir / "text.key");
  EXPECT_CONTAINS(err, "not a PEM file");
  EXPECT_CONTAINS(key_error([&] { Key::load_public(dir / "text.key"); }), "not a PEM file");

  // Binary DER is not PEM either.
  write_file(dir / "der.key", std::string("\x30\x2e\x02\x01\x00\x30\x05", 7));
  EXPECT_CONTAINS(key_error([&] { Key::load_private(dir / "der.key"); }), "not a PEM file");
}

TEST(KeyFiles, UnreadableFile) {
  TempDir dir;
  Key::generate(KeyType::kEd25519).write(dir / "k");
  ASSERT_EQ(::chmod((dir / "k.key").c_str(), 0), 0);
  auto check = [&] {
    std::string err = key_error([&] { Key::load_private(dir / "k.key"); });
    return err.find("cannot open key file " + (dir / "k.key")) != std::string::npos &&
           err.find("Permission denied") != std::string::npos;
  };
  if (::geteuid() != 0) {
    EXPECT_TRUE(check());
    return;
  }
  // root reads any file: try it as nobody, in a child
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(2);
    ::_exit(check() ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "as nobody, loading an unreadable key did not say so";
}

TEST(KeyFiles, CorruptPem) {
  for (KeyType t : kBothTypes) {
    SCOPED_TRACE(name_of(t));
    TempDir dir;
    Key::generate(t).write(dir / "k");
    std::string priv = read_file(dir / "k.key");
    std::string pub = read_file(dir / "k.pub");

    // Damage the base64 body: a character outside the alphabet, then a truncated body.
    std::string bad = priv;
    bad[40] = '*';
    write_file(dir / "bad.key", bad);
    std::string err = key_error([&] { Key::load_private(dir / "bad.key"); });
    EXPECT_CONTAINS(err, dir / "bad.key");
    EXPECT_CONTAINS(err, "corrupt");
    expect_no_key_material(err, priv);

    std::string truncated = priv.substr(0, 40) + "\n-----END PRIVATE KEY-----\n";
    write_file(dir / "trunc.key", truncated);
    EXPECT_CONTAINS(key_error([&] { Key::load_private(dir / "trunc.key"); }), "corrupt");

    std::string no_end = priv.substr(0, priv.find("-----END"));
    write_file(dir / "noend.key", no_end);
    EXPECT_CONTAINS(key_error([&] { Key::load_private(dir / "noend.key"); }), "corrupt");

    std::string badpub = pub;
    badpub[30] = '*';
    write_file(dir / "bad.pub", badpub);
    EXPECT_CONTAINS(key_error([&] { Key::load_public(dir / "bad.pub"); }), "corrupt");
  }
}

TEST(KeyFiles, PublicWherePrivateIsNeededAndViceVersa) {
  TempDir dir;
  Key::generate(KeyType::kEcdsaP256).write(dir / "k");
  std::string priv = read_file(dir / "k.key");
  std::string err = key_error([&] { Key::load_private(dir / "k.pub"); });
  EXPECT_CONTAINS(err, dir / "k.pub");
  EXPECT_CONTAINS(err, "holds a public key");
  EXPECT_CONTAINS(err, "private key is needed");

  err = key_error([&] { Key::load_public(dir / "k.key"); });
  EXPECT_CONTAINS(err, dir / "k.key");
  EXPECT_CONTAINS(err, "holds a private key");
  EXPECT_CONTAINS(err, "public key is expected");
  expect_no_key_material(err, priv);
}

TEST(KeyFiles, UnsupportedKeyTypesFromOpenssl) {
  REQUIRE_OPENSSL_CLI();
  TempDir dir;
  const std::string supported = "(stepseal uses ECDSA P-256 or Ed25519)";
  struct Case {
    const char* name;
    const char* genpkey_args;
    const char* expected;  // in the message
  } cases[] = {
      {"rsa", "-algorithm RSA -pkeyopt rsa_keygen_bits:2048", "unsupported key type RSA-2048"},
      {"p384", "-algorithm EC -pkeyopt ec_paramgen_curve:P-384",
       "unsupported key type ECDSA secp384r1"},
      {"ed448", "-algorithm ED448", "unsupported key type ED448"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    std::string key = dir / (std::string(c.name) + ".key");
    std::string pub = dir / (std::string(c.name) + ".pub");
    ASSERT_EQ(run("openssl genpkey " + std::string(c.genpkey_args) + " -out " + quote(key)), 0);
    ASSERT_EQ(run("openssl pkey -in " + quote(key) + " -pubout -out " + quote(pub)), 0);
    std::string err = key_error([&] { Key::load_private(key); });
    EXPECT_CONTAINS(err, key);
    EXPECT_CONTAINS(err, c.expected);
    EXPECT_CONTAINS(err, supported);
    expect_no_key_material(err, read_file(key));
    err = key_error([&] { Key::load_public(pub); });
    EXPECT_CONTAINS(err, pub);
    EXPECT_CONTAINS(err, c.expected);
    EXPECT_CONTAINS(err, supported);
  }
  // PKCS#1 "RSA PUBLIC KEY" is named as RSA too.
  std::string pkcs1 = dir / "rsa1.pub";
  ASSERT_EQ(run("openssl rsa -in " + quote(dir / "rsa.key") + " -RSAPublicKey_out -out " +
                quote(pkcs1)),
            0);
  std::string err = key_error([&] { Key::load_public(pkcs1); });
  EXPECT_CONTAINS(err, "unsupported key type RSA");
  EXPECT_CONTAINS(err, supported);
}

TEST(KeyFiles, OpensslMadeKeysLoadIncludingTraditionalEcFormat) {
  REQUIRE_OPENSSL_CLI();
  TempDir dir;
  // `openssl ecparam -genkey` writes an EC PARAMETERS block and a SEC1 "EC PRIVATE KEY".
  ASSERT_EQ(run("openssl ecparam -name prime256v1 -genkey -out " + quote(dir / "sec1.key")), 0);
  ASSERT_NE(read_file(dir / "sec1.key").find("BEGIN EC PRIVATE KEY"), std::string::npos);
  Key sec1 = Key::load_private(dir / "sec1.key");
  EXPECT_EQ(sec1.type(), KeyType::kEcdsaP256);
  ASSERT_EQ(run("openssl genpkey -algorithm ED25519 -out " + quote(dir / "ed.key")), 0);
  ASSERT_EQ(run("openssl pkey -in " + quote(dir / "ed.key") + " -pubout -out " +
                quote(dir / "ed.pub")),
            0);
  Key ed = Key::load_private(dir / "ed.key");
  EXPECT_EQ(ed.type(), KeyType::kEd25519);
  EXPECT_EQ(Key::load_public(dir / "ed.pub").keyid(), ed.keyid());
  EXPECT_EQ(ed.public_pem(), read_file(dir / "ed.pub"));
}

TEST(KeyFiles, EncryptedPrivateKeyIsRefusedWithoutPrompting) {
  REQUIRE_OPENSSL_CLI();
  TempDir dir;
  ASSERT_EQ(run("openssl genpkey -algorithm ED25519 -aes256 -pass pass:secret -out " +
                quote(dir / "enc.key")),
            0);
  // Refused by its PEM label, and the passphrase callback refuses too: nothing can prompt.
  std::string err = key_error([&] { Key::load_private(dir / "enc.key"); });
  EXPECT_CONTAINS(err, "encrypted");
  EXPECT_CONTAINS(err, dir / "enc.key");
}

// --- canonical JSON ------------------------------------------------------------------------------

TEST(CanonicalJson, SortsKeysAndDropsWhitespace) {
  json j = json::parse(R"({ "b": 1, "a": [3, 2, 1], "c": { "z": null, "y": true, "x": false },
                            "B": "upper", "aa": {}, "": [] })");
  EXPECT_EQ(canonical_json(j),
            R"({"":[],"B":"upper","a":[3,2,1],"aa":{},"b":1,"c":{"x":false,"y":true,"z":null}})");
  EXPECT_EQ(canonical_json(json::array()), "[]");
  EXPECT_EQ(canonical_json(json::object()), "{}");
  EXPECT_EQ(canonical_json(""), R"("")");
  EXPECT_EQ(canonical_json(nullptr), "null");
  EXPECT_EQ(canonical_json(true), "true");
  EXPECT_EQ(canonical_json(false), "false");
}

TEST(CanonicalJson, EscapesOnlyQuoteAndBackslash) {
  std::string s = "q\"b\\n\nt\tc\x01/d\x7f";
  EXPECT_EQ(canonical_json(s), "\"q\\\"b\\\\n\nt\tc\x01/d\x7f\"");
  EXPECT_EQ(canonical_json(json{{"k\"ey", "v\\"}}), "{\"k\\\"ey\":\"v\\\\\"}");
}

TEST(CanonicalJson, UnicodeIsRawUtf8AndSortedByCodePoint) {
  json j = {{"\xc3\xa9", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"}, {"z", 1}, {"Z", 2}};
  // U+00E9 sorts after 'z' (code point order, as Python's sorted() on str).
  EXPECT_EQ(canonical_json(j),
            "{\"Z\":2,\"z\":1,\"\xc3\xa9\":\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"}");
  // Parsed \u escapes come out as raw UTF-8 too.
  EXPECT_EQ(canonical_json(json::parse(R"("\u00e9\ud83d\ude00")")),
            "\"\xc3\xa9\xf0\x9f\x98\x80\"");
  // Strings that are not UTF-8 have no canonical form.
  EXPECT_FALSE(key_error([] { canonical_json(std::string("\xff")); }).empty());
  EXPECT_FALSE(key_error([] { canonical_json(std::string("\xc3")); }).empty());
  EXPECT_FALSE(key_error([] { canonical_json(std::string("\xed\xa0\x80")); }).empty());  // surrogate
  EXPECT_FALSE(key_error([] { canonical_json(std::string("\xc0\xaf")); }).empty());  // overlong
}

TEST(CanonicalJson, IntegersAllowedFloatsRejected) {
  EXPECT_EQ(canonical_json(json{{"n", -42}, {"u", 18446744073709551615ull}, {"z", 0}}),
            R"({"n":-42,"u":18446744073709551615,"z":0})");
  EXPECT_EQ(canonical_json(json::parse("-9223372036854775808")), "-9223372036854775808");
  std::string err = key_error([] { canonical_json(json::parse("1.5")); });
  EXPECT_CONTAINS(err, "floating-point");
  EXPECT_FALSE(key_error([] { canonical_json(json::parse("1.0")); }).empty());
  EXPECT_FALSE(key_error([] { canonical_json(json::parse(R"({"a":[1,{"b":2e3}]})")); }).empty());
  EXPECT_FALSE(key_error([] { canonical_json(json::binary({1, 2})); }).empty());
}

// --- base64, hex ---------------------------------------------------------------------------------

TEST(AttestBase64, Rfc4648Vectors) {
  const std::pair<const char*, const char*> v[] = {{"", ""},         {"f", "Zg=="},
                                                   {"fo", "Zm8="},   {"foo", "Zm9v"},
                                                   {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="},
                                                   {"foobar", "Zm9vYmFy"}};
  for (auto [plain, enc] : v) {
    EXPECT_EQ(base64_encode(plain), enc);
    EXPECT_EQ(base64_decode(enc), plain);
    std::string unpadded(enc);
    unpadded.erase(unpadded.find_last_not_of('=') + 1);
    EXPECT_EQ(base64_decode(unpadded), plain) << unpadded;
  }
}

TEST(AttestBase64, BothAlphabetsAllBytes) {
  EXPECT_EQ(base64_encode("\xfb\xff\xbf"), "+/+/");
  EXPECT_EQ(base64_decode("+/+/"), "\xfb\xff\xbf");
  EXPECT_EQ(base64_decode("-_-_"), "\xfb\xff\xbf");
  EXPECT_EQ(base64_encode("\xfb\xff"), "+/8=");
  EXPECT_EQ(base64_decode("-_8"), "\xfb\xff");
  EXPECT_EQ(base64_decode("-_8="), "\xfb\xff");
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  for (size_t n = 0; n <= all.size(); n += 37) {
    std::string part = all.substr(0, n) + all.substr(all.size() - n % 5);
    std::string std_enc = base64_encode(part);
    EXPECT_EQ(std_enc.find_first_not_of(
                  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="),
              std::string::npos);
    EXPECT_EQ(std_enc.size() % 4, 0u);
    EXPECT_EQ(base64_decode(std_enc), part);
    std::string url = std_enc;
    for (char& c : url) c = c == '+' ? '-' : c == '/' ? '_' : c;
    url.erase(url.find_last_not_of('=') + 1);
    EXPECT_EQ(base64_decode(url), part);
  }
}

TEST(AttestBase64, RejectsInvalidInput) {
  for (const char* bad : {"Zm9v!", "Zm 9v", "Zm9v\n", "Z", "Zm9vY", "Zg=", "Zg===", "=Zg=",
                          "Zg==Zg==", "Z===", "Zh==", "Zm9=", "Zm\xc3\xa9"}) {
    SCOPED_TRACE(bad);
    EXPECT_FALSE(key_error([&] { base64_decode(bad); }).empty()) << "accepted: " << bad;
  }
  EXPECT_CONTAINS(key_error([] { base64_decode("Zm9v!"); }), "'!' at offset 4");
}

TEST(AttestBase64, HexIsLowercase) {
  EXPECT_EQ(hex_encode(std::string("\x00\xff\xab\x10", 4)), "00ffab10");
  EXPECT_EQ(hex_encode(""), "");
}

// --- DSSE ----------------------------------------------------------------------------------------

TEST(Dsse, PaeSpecVector) {
  EXPECT_EQ(pae("http://example.com/HelloWorld", "hello world"),
            "DSSEv1 29 http://example.com/HelloWorld 11 hello world");
  EXPECT_EQ(pae("", ""), "DSSEv1 0  0 ");
  // Lengths are in bytes.
  EXPECT_EQ(pae("t", "\xc3\xa9"), "DSSEv1 1 t 2 \xc3\xa9");
  EXPECT_EQ(pae("t", std::string("a\0b", 3)), std::string("DSSEv1 1 t 3 a\0b", 16));
}

TEST(Dsse, SignAndVerifyBothTypes) {
  const std::string body = R"({"_type":"https://in-toto.io/Statement/v1","subject":[]})";
  for (KeyType t : kBothTypes) {
    SCOPED_TRACE(name_of(t));
    Key key = Key::generate(t);
    json env = sign_envelope(body, kInTotoPayloadType, key);
    EXPECT_EQ(env.size(), 3u);
    EXPECT_EQ(env["payloadType"], "application/vnd.in-toto+json");
    EXPECT_EQ(env["payload"], base64_encode(body));
    ASSERT_EQ(env["signatures"].size(), 1u);
    EXPECT_EQ(env["signatures"][0].size(), 2u);
    EXPECT_EQ(env["signatures"][0]["keyid"], key.keyid());
    std::string sig = base64_decode(env["signatures"][0]["sig"].get<std::string>());
    EXPECT_TRUE(key.verify(pae(kInTotoPayloadType, body), sig)) << "the signature is over PAE";
    EXPECT_FALSE(key.verify(body, sig));

    // Through JSON text and back, with only the public key.
    TempDir dir;
    key.write(dir / "k");
    Key pub = Key::load_public(dir / "k.pub");
    EnvelopeCheck c = verify_envelope(json::parse(env.dump(2)), kInTotoPayloadType, pub);
    EXPECT_TRUE(c.ok) << c.error;
    EXPECT_EQ(c.error, "");
    EXPECT_EQ(c.payload, body);
    EXPECT_EQ(c.payload_type, kInTotoPayloadType);

    // Payload and sig in URL-safe unpadded base64 are the same bytes.
    json url = env;
    for (const char* f : {"payload"}) {
      std::string s = url[f];
      for (char& ch : s) ch = ch == '+' ? '-' : ch == '/' ? '_' : ch;
      s.erase(s.find_last_not_of('=') + 1);
      url[f] = s;
    }
    EXPECT_TRUE(verify_envelope(url, kInTotoPayloadType, pub).ok);
  }
}

TEST(Dsse, TamperedPayloadSignatureKeyAndTypeFail) {
  const std::string body = R"({"predicateType":"https://slsa.dev/provenance/v1"})";
  for (KeyType t : kBothTypes) {
    SCOPED_TRACE(name_of(t));
    Key key = Key::generate(t);
    const json env = sign_envelope(body, kInTotoPayloadType, key);
    const std::string want = "no signature verifies with key " + key.keyid();

    // One payload byte.
    json e = env;
    e["payload"] = base64_encode(flip_byte(body, 10));
    EnvelopeCheck c = verify_envelope(e, kInTotoPayloadType, key);
    EXPECT_FALSE(c.ok);
    EXPECT_CONTAINS(c.error, want);
    EXPECT_EQ(c.payload, flip_byte(body, 10)) << "the payload is reported even when unsigned";

    // One signature byte (first, middle, last).
    std::string sig = base64_decode(env["signatures"][0]["sig"].get<std::string>());
    for (size_t i : {size_t{0}, sig.size() / 2, sig.size() - 1}) {
      e = env;
      e["signatures"][0]["sig"] = base64_encode(flip_byte(sig, i));
      c = verify_envelope(e, kInTotoPayloadType, key);
      EXPECT_FALSE(c.ok) << "byte " << i;
      EXPECT_CONTAINS(c.error, want);
    }

    // Another key: named in the message, with the keyid the envelope claims.
    Key other = Key::generate(t);
    c = verify_envelope(env, kInTotoPayloadType, other);
    EXPECT_FALSE(c.ok);
    EXPECT_CONTAINS(c.error, "no signature verifies with key " + other.keyid());
    EXPECT_CONTAINS(c.error, "signed by keyid " + key.keyid());

    // The keyid is only a hint: relabelling a signature does not make it verify.
    e = env;
    e["signatures"][0]["keyid"] = other.keyid();
    EXPECT_FALSE(verify_envelope(e, kInTotoPayloadType, other).ok);
    // ... and a missing keyid does not stop a good signature verifying.
    e = env;
    e["signatures"][0].erase("keyid");
    EXPECT_TRUE(verify_envelope(e, kInTotoPayloadType, key).ok);

    // Wrong payloadType: reported as such.
    c = verify_envelope(env, "application/json", key);
    EXPECT_FALSE(c.ok);
    EXPECT_EQ(c.error, "payloadType is application/vnd.in-toto+json, expected application/json");
    // PAE binds the type: changing it in the envelope breaks the signature.
    e = env;
    e["payloadType"] = "application/json";
    c = verify_envelope(e, "application/json", key);
    EXPECT_FALSE(c.ok);
    EXPECT_CONTAINS(c.error, want);

    // A good signature beside another key's that does not verify is enough ...
    e = env;
    e["signatures"] = json::array({{{"keyid", "x"}, {"sig", base64_encode("junk")}},
                                   env["signatures"][0]});
    c = verify_envelope(e, kInTotoPayloadType, key);
    EXPECT_TRUE(c.ok) << c.error;
    // ... but not beside a malformed entry: every entry is read, and the envelope is judged
    // whole, so verifiers that stop at different entries cannot disagree (issue 14).
    e["signatures"].push_back(17);
    c = verify_envelope(e, kInTotoPayloadType, key);
    EXPECT_FALSE(c.ok);
    EXPECT_CONTAINS(c.error, "signature #3 is not an object");
  }
}

TEST(Dsse, MalformedEnvelopesGivePreciseErrorsAndNeverThrow) {
  Key key = Key::generate(KeyType::kEd25519);
  const json env = sign_envelope("body", kInTotoPayloadType, key);
  auto check = [&](const json& e) {
    EnvelopeCheck c;
    EXPECT_NO_THROW(c = verify_envelope(e, kInTotoPayloadType, key));
    EXPECT_FALSE(c.ok);
    return c.error;
  };
  EXPECT_CONTAINS(check(json::array()), "not a JSON object");
  EXPECT_CONTAINS(check("text"), "not a JSON object");
  EXPECT_CONTAINS(check(nullptr), "not a JSON object");

  json e = env;
  e.erase("payloadType");
  EXPECT_EQ(check(e), "envelope has no payloadType");
  e["payloadType"] = 5;
  EXPECT_CONTAINS(check(e), "payloadType is not a string");

  e = env;
  e.erase("payload");
  EXPECT_EQ(check(e), "envelope has no payload");
  e["payload"] = json::array();
  EXPECT_CONTAINS(check(e), "payload is not a string");
  e["payload"] = "Ym9keQ==!";
  EXPECT_CONTAINS(check(e), "payload is not base64");

  e = env;
  e.erase("signatures");
  EXPECT_EQ(check(e), "envelope has no signatures");
  e["signatures"] = json::array();
  EXPECT_EQ(check(e), "envelope has no signatures");
  e["signatures"] = json::object();
  EXPECT_EQ(check(e), "envelope has no signatures");

  // Each malformed entry is named: the first one refuses the envelope.
  e["signatures"] = json::array({"x"});
  EXPECT_CONTAINS(check(e), "signature #1 is not an object");
  e["signatures"] = json::array({{{"keyid", key.keyid()}}});
  EXPECT_CONTAINS(check(e), "signature #1 has no \"sig\" string");
  e["signatures"] = json::array({{{"sig", 3}}});
  EXPECT_CONTAINS(check(e), "signature #1 has no \"sig\" string");
  e["signatures"] = json::array({{{"sig", "%%"}}});
  EXPECT_CONTAINS(check(e), "signature #1: sig is not base64");
  e["signatures"] = json::array({{{"keyid", 5}, {"sig", "AAAA"}}});
  EXPECT_CONTAINS(check(e), "signature #1: keyid is not a string");

  // And the good envelope is fine.
  EXPECT_TRUE(verify_envelope(env, kInTotoPayloadType, key).ok);
}

// --- interop with the openssl CLI ----------------------------------------------------------------

TEST(AttestInterop, OpensslVerifiesOurEnvelopeSignatures) {
  REQUIRE_OPENSSL_CLI();
  for (KeyType t : kBothTypes) {
    SCOPED_TRACE(name_of(t));
    TempDir dir;
    Key key = Key::generate(t);
    key.write(dir / "k");
    const std::string body = R"({"_type":"https://in-toto.io/Statement/v1"})";
    json env = sign_envelope(body, kInTotoPayloadType, key);
    // What a verifier reconstructs from the envelope alone.
    std::string pae_bytes = pae(env["payloadType"].get<std::string>(),
                                base64_decode(env["payload"].get<std::string>()));
    std::string sig = base64_decode(env["signatures"][0]["sig"].get<std::string>());
    write_file(dir / "pae.bin", pae_bytes);
    write_file(dir / "sig.bin", sig);
    write_file(dir / "pae-flipped.bin", flip_byte(pae_bytes, pae_bytes.size() - 3));
    write_file(dir / "sig-flipped.bin", flip_byte(sig, sig.size() / 2));

    auto openssl_verify = [&](const std::string& data, const std::string& signature) {
      if (t == KeyType::kEcdsaP256)
        return run("openssl dgst -sha256 -verify " + quote(dir / "k.pub") + " -signature " +
                   quote(dir / signature) + " " + quote(dir / data));
      return run("openssl pkeyutl -verify -pubin -inkey " + quote(dir / "k.pub") +
                 " -rawin -in " + quote(dir / data) + " -sigfile " + quote(dir / signature));
    };
    EXPECT_EQ(openssl_verify("pae.bin", "sig.bin"), 0);
    EXPECT_NE(openssl_verify("pae-flipped.bin", "sig.bin"), 0);
    EXPECT_NE(openssl_verify("pae.bin", "sig-flipped.bin"), 0);
  }
}

TEST(AttestInterop, WeVerifyOpensslSignatures) {
  REQUIRE_OPENSSL_CLI();
  TempDir dir;
  write_file(dir / "msg.bin", pae(kInTotoPayloadType, "{}"));
  ASSERT_EQ(run("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out " +
                quote(dir / "ec.key")),
            0);
  ASSERT_EQ(run("openssl genpkey -algorithm ED25519 -out " + quote(dir / "ed.key")), 0);
  for (const char* k : {"ec", "ed"})
    ASSERT_EQ(run("openssl pkey -in " + quote(dir / (std::string(k) + ".key")) + " -pubout -out " +
                  quote(dir / (std::string(k) + ".pub"))),
              0);
  ASSERT_EQ(run("openssl dgst -sha256 -sign " + quote(dir / "ec.key") + " -out " +
                quote(dir / "ec.sig") + " " + quote(dir / "msg.bin")),
            0);
  ASSERT_EQ(run("openssl pkeyutl -sign -inkey " + quote(dir / "ed.key") + " -rawin -in " +
                quote(dir / "msg.bin") + " -out " + quote(dir / "ed.sig")),
            0);
  Key ec = Key::load_public(dir / "ec.pub");
  Key ed = Key::load_public(dir / "ed.pub");
  std::string msg = read_file(dir / "msg.bin");
  EXPECT_TRUE(ec.verify(msg, read_file(dir / "ec.sig")));
  EXPECT_TRUE(ed.verify(msg, read_file(dir / "ed.sig")));
  EXPECT_FALSE(ec.verify(msg + " ", read_file(dir / "ec.sig")));
  EXPECT_FALSE(ed.verify(msg + " ", read_file(dir / "ed.sig")));
  // Ed25519 signatures are deterministic: ours equals openssl's for the same key.
  EXPECT_EQ(Key::load_private(dir / "ed.key").sign(msg), read_file(dir / "ed.sig"));
}

// --- interop with securesystemslib (in-toto 1.x reference implementation) ------------------------

// Run by sslib_python() in DIR. Reads our keys and signatures, writes sslib's view as JSON.
constexpr const char* kSslibCheck = R"PY(
import json, sys
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from securesystemslib import keys, interface, formats

d = sys.argv[1]
ours = json.load(open(d + "/ours.json"))
out = {}

# Our public keys, as securesystemslib would hold them: the PEM as cryptography writes it
# (ECDSA), the raw key in hex (Ed25519).
pem = serialization.load_pem_public_key(open(d + "/ec.pub", "rb").read()).public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
out["ec_keyid"] = keys._get_keyid("ecdsa", "ecdsa-sha2-nistp256", {"public": pem})
raw = serialization.load_pem_public_key(open(d + "/ed.pub", "rb").read()).public_bytes(
    serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()
out["ed_keyid"] = keys._get_keyid("ed25519", "ed25519", {"public": raw})

# Through the on-disk key format the in-toto 1.x CLI reads (our intoto_public()).
ec = interface.import_ecdsa_publickey_from_file(d + "/ec.json")
ed = interface.import_ed25519_publickey_from_file(d + "/ed.json")
out["ec_keyid_from_json"] = ec["keyid"]
out["ed_keyid_from_json"] = ed["keyid"]

# Our signatures over PAE, verified by securesystemslib.
msg = bytes.fromhex(ours["pae_hex"])
def check(key, sig_hex, data):
    return keys.verify_signature(key, {"keyid": key["keyid"], "sig": sig_hex}, data)
out["ec_sig_ok"] = check(ec, ours["ec_sig_hex"], msg)
out["ed_sig_ok"] = check(ed, ours["ed_sig_hex"], msg)
out["ec_sig_tampered_ok"] = check(ec, ours["ec_sig_hex"], msg + b"x")
out["ed_sig_tampered_ok"] = check(ed, ours["ed_sig_hex"], msg + b"x")

# Keys securesystemslib generates, for us to load.
g = keys.generate_ecdsa_key()
open(d + "/sslib-ec.pub", "w").write(g["keyval"]["public"])
out["sslib_ec_keyid"] = g["keyid"]
h = keys.generate_ed25519_key()
open(d + "/sslib-ed.pub", "wb").write(
    ed25519.Ed25519PublicKey.from_public_bytes(bytes.fromhex(h["keyval"]["public"])).public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
out["sslib_ed_keyid"] = h["keyid"]

# Canonical JSON of the same document.
doc = json.load(open(d + "/canon.json", encoding="utf-8"))
out["canonical"] = formats.encode_canonical(doc)

json.dump(out, open(d + "/sslib.json", "w"))
)PY";

TEST(AttestSecuresystemslib, KeyIdsSignaturesAndCanonicalJsonAgree) {
  REQUIRE_SSLIB();
  TempDir dir;
  Key ec = Key::generate(KeyType::kEcdsaP256);
  Key ed = Key::generate(KeyType::kEd25519);
  ec.write(dir / "ec");
  ed.write(dir / "ed");
  write_file(dir / "ec.json", ec.intoto_public().dump());
  write_file(dir / "ed.json", ed.intoto_public().dump());
  const std::string msg = pae(kInTotoPayloadType, R"({"x":"\u00e9"})");
  write_file(dir / "ours.json", json{{"pae_hex", hex_encode(msg)},
                                     {"ec_sig_hex", hex_encode(ec.sign(msg))},
                                     {"ed_sig_hex", hex_encode(ed.sign(msg))}}
                                    .dump());
  const json canon_doc = json::parse(
      "{\"zeta\":[1,-2,{\"b\":null,\"a\":true}],\"\xc3\xa9t\xc3\xa9\":\"q\\\"b\\\\s\\n\\u0001 "
      "\xe2\x82\xac\xf0\x9f\x98\x80\",\"Alpha\":false,\"big\":18446744073709551615,\"\":\"\"}");
  write_file(dir / "canon.json", canon_doc.dump());
  write_file(dir / "check.py", kSslibCheck);

  ASSERT_EQ(run(sslib_python() + " " + quote(dir / "check.py") + " " + quote(dir.path())), 0)
      << "the securesystemslib check script failed; run it by hand: " << sslib_python() << " "
      << (dir / "check.py");
  json s = json::parse(read_file(dir / "sslib.json"));

  EXPECT_EQ(s["ec_keyid"], ec.keyid());
  EXPECT_EQ(s["ed_keyid"], ed.keyid());
  EXPECT_EQ(s["ec_keyid_from_json"], ec.keyid());
  EXPECT_EQ(s["ed_keyid_from_json"], ed.keyid());
  EXPECT_EQ(s["ec_sig_ok"], true);
  EXPECT_EQ(s["ed_sig_ok"], true);
  EXPECT_EQ(s["ec_sig_tampered_ok"], false);
  EXPECT_EQ(s["ed_sig_tampered_ok"], false);

  EXPECT_EQ(Key::load_public(dir / "sslib-ec.pub").keyid(), s["sslib_ec_keyid"]);
  EXPECT_EQ(Key::load_public(dir / "sslib-ed.pub").keyid(), s["sslib_ed_keyid"]);

  EXPECT_EQ(canonical_json(canon_doc), s["canonical"].get<std::string>());
}

}  // namespace
}  // namespace stepseal::attest
