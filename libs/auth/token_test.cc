#include "libs/auth/token.h"

#include <jwt.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"

namespace bo::auth {
namespace {

struct KeyPair {
  std::string private_pem;
  std::string public_pem;
};

std::string ToPem(EVP_PKEY* key, bool private_part) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
  const int ok =
      private_part ? PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr)
                   : PEM_write_bio_PUBKEY(bio.get(), key);
  EXPECT_EQ(ok, 1);
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(size));
}

// Keys are made when the tests run: none is committed.
KeyPair NewKeys(bool rsa = true) {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      rsa ? EVP_RSA_gen(2048) : EVP_EC_gen("P-256"), &EVP_PKEY_free);
  EXPECT_NE(key, nullptr);
  return {ToPem(key.get(), true), ToPem(key.get(), false)};
}

const KeyPair& Keys() {
  static const KeyPair keys = NewKeys();
  return keys;
}

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

VerifierOptions Options() {
  VerifierOptions o;
  o.public_key_pem = Keys().public_pem;
  o.issuer = "backorders-dev";
  o.audience = "backorders";
  o.roles = {"clerk", "manager", "group", "viewer", "service"};
  return o;
}

TokenVerifier Verifier() {
  auto v = TokenVerifier::Create(Options());
  EXPECT_TRUE(v.ok()) << v.status();
  return *std::move(v);
}

Claims Anna() {
  Claims c;
  c.subject = "anna@B1";
  c.role = "clerk";
  c.branches = {"B1", "B2"};
  c.issuer = "backorders-dev";
  c.audience = "backorders";
  c.issued_at = kNow - absl::Minutes(1);
  c.expires_at = kNow + absl::Hours(1);
  return c;
}

std::string Mint(const Claims& c, const std::string& key = Keys().private_pem) {
  auto token = MintToken(key, c);
  EXPECT_TRUE(token.ok()) << token.status();
  return token.value_or("");
}

// A token with exactly these claims (JSON) and this algorithm, signed with `key` as libjwt
// would: the way to make the tokens MintToken refuses to make.
std::string SignRaw(const std::string& claims_json, jwt_alg_t alg, const std::string& key) {
  jwt_t* jwt = nullptr;
  EXPECT_EQ(jwt_new(&jwt), 0);
  EXPECT_EQ(jwt_add_grants_json(jwt, claims_json.c_str()), 0);
  EXPECT_EQ(jwt_set_alg(jwt, alg,
                        key.empty() ? nullptr : reinterpret_cast<const unsigned char*>(key.data()),
                        static_cast<int>(key.size())),
            0);
  char* text = jwt_encode_str(jwt);
  jwt_free(jwt);
  EXPECT_NE(text, nullptr);
  std::string token = text == nullptr ? "" : text;
  std::free(text);
  return token;
}

std::string GoodClaimsJson() {
  return absl::StrCat(R"({"iss":"backorders-dev","aud":"backorders","sub":"anna@B1",)",
                      R"("role":"clerk","branches":["B1"],"exp":)",
                      absl::ToUnixSeconds(kNow + absl::Hours(1)), "}");
}

void ExpectRefused(const absl::StatusOr<Claims>& claims, std::string_view because) {
  ASSERT_FALSE(claims.ok()) << "accepted";
  EXPECT_EQ(claims.status().code(), absl::StatusCode::kUnauthenticated) << claims.status();
  EXPECT_NE(std::string(claims.status().message()).find(std::string(because)), std::string::npos)
      << claims.status();
}

TEST(TokenVerifier, AcceptsAMintedTokenAndReturnsItsClaims) {
  auto claims = Verifier().Verify(Mint(Anna()), kNow);
  ASSERT_TRUE(claims.ok()) << claims.status();
  EXPECT_EQ(claims->subject, "anna@B1");
  EXPECT_EQ(claims->role, "clerk");
  EXPECT_EQ(claims->branches, (std::vector<std::string>{"B1", "B2"}));
  EXPECT_EQ(claims->issuer, "backorders-dev");
  EXPECT_EQ(claims->audience, "backorders");
  EXPECT_EQ(claims->issued_at, kNow - absl::Minutes(1));
  EXPECT_EQ(claims->expires_at, kNow + absl::Hours(1));
}

TEST(TokenVerifier, RefusesAnExpiredTokenBeyondTheLeeway) {
  Claims c = Anna();
  c.issued_at = kNow - absl::Hours(2);
  c.expires_at = kNow - absl::Seconds(10);
  EXPECT_TRUE(Verifier().Verify(Mint(c), kNow).ok()) << "10 s late is within the 30 s leeway";
  c.expires_at = kNow - absl::Minutes(5);
  ExpectRefused(Verifier().Verify(Mint(c), kNow), "expired");
}

TEST(TokenVerifier, RefusesATokenNotYetValidOrIssuedInTheFuture) {
  const std::string nbf =
      absl::StrCat(GoodClaimsJson().substr(0, GoodClaimsJson().size() - 1), R"(,"nbf":)",
                   absl::ToUnixSeconds(kNow + absl::Hours(1)), "}");
  ExpectRefused(Verifier().Verify(SignRaw(nbf, JWT_ALG_RS256, Keys().private_pem), kNow),
                "not valid before");
  Claims c = Anna();
  c.issued_at = kNow + absl::Minutes(10);
  ExpectRefused(Verifier().Verify(Mint(c), kNow), "issued in the future");
}

// A token that verified once is remembered (TokenVerifier::Verify), but every call still checks
// it against its own time, and a token differing in one character is verified in full.
TEST(TokenVerifier, ARememberedTokenIsStillCheckedAgainstTheTimeOfEachCall) {
  const TokenVerifier verifier = Verifier();
  const std::string token = Mint(Anna());  // iat kNow - 1 min, exp kNow + 1 h
  ASSERT_TRUE(verifier.Verify(token, kNow).ok());
  ASSERT_TRUE(verifier.Verify(token, kNow + absl::Minutes(30)).ok());
  ExpectRefused(verifier.Verify(token, kNow + absl::Hours(2)), "expired");
  ExpectRefused(verifier.Verify(token, kNow - absl::Hours(1)), "issued in the future");
  EXPECT_TRUE(verifier.Verify(token, kNow).ok());

  const std::string nbf = absl::StrCat(GoodClaimsJson().substr(0, GoodClaimsJson().size() - 1),
                                       R"(,"nbf":)", absl::ToUnixSeconds(kNow), "}");
  const std::string later = SignRaw(nbf, JWT_ALG_RS256, Keys().private_pem);
  ASSERT_TRUE(verifier.Verify(later, kNow + absl::Minutes(1)).ok());
  ExpectRefused(verifier.Verify(later, kNow - absl::Hours(1)), "not valid before");

  // The same payload under a signature with one character changed is another token.
  std::string forged = token;  // (not the last character: some of its bits are padding)
  char& c = forged[forged.size() - 10];
  c = c == 'A' ? 'B' : 'A';
  ExpectRefused(verifier.Verify(forged, kNow), "signature");
  // A copy of the verifier shares what it remembers, and both keep answering the same.
  const TokenVerifier copy = verifier;
  auto claims = copy.Verify(token, kNow);
  ASSERT_TRUE(claims.ok()) << claims.status();
  EXPECT_EQ(claims->subject, "anna@B1");
  EXPECT_EQ(claims->branches, (std::vector<std::string>{"B1", "B2"}));
}

// More tokens than it remembers: it forgets them, and each still verifies (or not) as before.
TEST(TokenVerifier, AnswersTheSameBeyondHowManyTokensItRemembers) {
  VerifierOptions options = Options();
  options.remembered_tokens = 2;
  auto created = TokenVerifier::Create(options);
  ASSERT_TRUE(created.ok()) << created.status();
  const TokenVerifier& verifier = *created;
  Claims c = Anna();
  const std::string first = Mint(c);
  ASSERT_TRUE(verifier.Verify(first, kNow).ok());
  for (size_t i = 0; i < 5; ++i) {
    c.subject = absl::StrCat("clerk", i, "@B1");
    ASSERT_TRUE(verifier.Verify(Mint(c), kNow).ok()) << i;
  }
  EXPECT_TRUE(verifier.Verify(first, kNow).ok());
  ExpectRefused(verifier.Verify(first, kNow + absl::Hours(2)), "expired");
}

TEST(TokenVerifier, RefusesAnotherIssuerOrAudience) {
  Claims c = Anna();
  c.issuer = "someone-else";
  ExpectRefused(Verifier().Verify(Mint(c), kNow), "issuer");
  c = Anna();
  c.audience = "payroll";
  ExpectRefused(Verifier().Verify(Mint(c), kNow), "audience");
}

TEST(TokenVerifier, TakesTheAudienceAsAStringOrAnArray) {
  const std::string exp = absl::StrCat(absl::ToUnixSeconds(kNow + absl::Hours(1)));
  const std::string base = R"({"iss":"backorders-dev","sub":"s","role":"viewer","exp":)" + exp;
  EXPECT_TRUE(Verifier()
                  .Verify(SignRaw(base + R"(,"aud":["payroll","backorders"]})", JWT_ALG_RS256,
                                  Keys().private_pem),
                          kNow)
                  .ok());
  ExpectRefused(
      Verifier().Verify(SignRaw(base + R"(,"aud":["payroll"]})", JWT_ALG_RS256, Keys().private_pem),
                        kNow),
      "audience");
  ExpectRefused(Verifier().Verify(SignRaw(base + "}", JWT_ALG_RS256, Keys().private_pem), kNow),
                "audience");
}

TEST(TokenVerifier, RefusesMissingOrMalformedClaims) {
  const std::string exp = absl::StrCat(absl::ToUnixSeconds(kNow + absl::Hours(1)));
  const std::string head = R"({"iss":"backorders-dev","aud":"backorders",)";
  const struct {
    std::string claims;
    std::string because;
  } cases[] = {
      {head + R"("sub":"anna","role":"clerk"})", "no \"exp\""},
      {head + R"("sub":"anna","role":"clerk","exp":")" + exp + "\"}", "\"exp\" is not an integer"},
      {head + R"("role":"clerk","exp":)" + exp + "}", "\"sub\""},
      {head + R"("sub":"","role":"clerk","exp":)" + exp + "}", "\"sub\""},
      {head + R"("sub":"anna","exp":)" + exp + "}", "no \"role\""},
      {head + R"("sub":"anna","role":"admin","exp":)" + exp + "}", "role \"admin\""},
      {head + R"("sub":"anna","role":"clerk","branches":"B1","exp":)" + exp + "}", "not an array"},
      {head + R"("sub":"anna","role":"clerk","branches":["B1",7],"exp":)" + exp + "}",
       "other than branch ids"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.claims);
    ExpectRefused(Verifier().Verify(SignRaw(c.claims, JWT_ALG_RS256, Keys().private_pem), kNow),
                  c.because);
  }
}

TEST(TokenVerifier, RefusesATamperedPayload) {
  const std::vector<std::string> parts = absl::StrSplit(Mint(Anna()), '.');
  ASSERT_EQ(parts.size(), 3u);
  std::string payload;
  ASSERT_TRUE(absl::WebSafeBase64Unescape(parts[1], &payload));
  const size_t at = payload.find("\"clerk\"");
  ASSERT_NE(at, std::string::npos) << payload;
  payload.replace(at, 7, "\"group\"");
  const std::string forged =
      absl::StrCat(parts[0], ".", absl::WebSafeBase64Escape(payload), ".", parts[2]);
  ExpectRefused(Verifier().Verify(forged, kNow), "signature");
}

TEST(TokenVerifier, RefusesATokenSignedWithAnotherKey) {
  const KeyPair other = NewKeys();
  ExpectRefused(Verifier().Verify(Mint(Anna(), other.private_pem), kNow), "signature");
}

TEST(TokenVerifier, RefusesAnUnsignedToken) {
  ExpectRefused(Verifier().Verify(SignRaw(GoodClaimsJson(), JWT_ALG_NONE, ""), kNow), "");
}

// The forgery libjwt 1.10 lets through by itself: HS256 keyed with the public key's PEM, which
// every service holds. Its signature does verify under libjwt's rule for HS256, so only the
// pinned algorithm stops it (the message says so).
TEST(TokenVerifier, RefusesAnHs256TokenKeyedWithThePublicKey) {
  const std::string forged = SignRaw(GoodClaimsJson(), JWT_ALG_HS256, Keys().public_pem);
  ExpectRefused(Verifier().Verify(forged, kNow), "signed with HS256, not RS256");
}

TEST(TokenVerifier, RefusesGarbage) {
  ExpectRefused(Verifier().Verify("", kNow), "empty");
  ExpectRefused(Verifier().Verify("not-a-token", kNow), "malformed");
  ExpectRefused(Verifier().Verify("a.b.c", kNow), "malformed");
  ExpectRefused(Verifier().Verify(std::string(kMaxTokenBytes + 1, 'a'), kNow), "longer than");
}

TEST(TokenVerifier, WantsAnRsaPublicKeyAnIssuerAndAnAudience) {
  VerifierOptions o = Options();
  o.public_key_pem = NewKeys(/*rsa=*/false).public_pem;
  EXPECT_EQ(TokenVerifier::Create(o).status().code(), absl::StatusCode::kInvalidArgument);
  o.public_key_pem = Keys().private_pem;
  EXPECT_EQ(TokenVerifier::Create(o).status().code(), absl::StatusCode::kInvalidArgument);
  o = Options();
  o.issuer.clear();
  EXPECT_EQ(TokenVerifier::Create(o).status().code(), absl::StatusCode::kInvalidArgument);
  o = Options();
  o.audience.clear();
  EXPECT_EQ(TokenVerifier::Create(o).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(BearerToken, TakesTheTokenOutOfTheHeader) {
  EXPECT_EQ(BearerToken("Bearer abc.def.ghi").value_or(""), "abc.def.ghi");
  EXPECT_EQ(BearerToken("bearer  abc ").value_or(""), "abc");
  EXPECT_EQ(BearerToken("").status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(BearerToken("Basic dXNlcjpwYXNz").status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(BearerToken("Bearer").status().code(), absl::StatusCode::kUnauthenticated);
}

TEST(MintToken, RefusesIncompleteClaimsAndKeysItCannotSignWith) {
  Claims c = Anna();
  c.subject.clear();
  EXPECT_EQ(MintToken(Keys().private_pem, c).status().code(), absl::StatusCode::kInvalidArgument);
  c = Anna();
  c.expires_at = c.issued_at;
  EXPECT_EQ(MintToken(Keys().private_pem, c).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(MintToken("not a key", Anna()).ok());
  EXPECT_FALSE(MintToken(Keys().public_pem, Anna()).ok());
}

}  // namespace
}  // namespace bo::auth
