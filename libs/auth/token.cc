#include "libs/auth/token.h"

#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "nlohmann/json.hpp"

namespace bo::auth {
namespace {

constexpr jwt_alg_t kAlgorithm = JWT_ALG_RS256;

struct JwtFree {
  void operator()(jwt_t* jwt) const { jwt_free(jwt); }
};
using JwtPtr = std::unique_ptr<jwt_t, JwtFree>;

// libjwt hands out malloc'd strings; 1.10.2 has no jwt_free_str.
struct CFree {
  void operator()(char* p) const { std::free(p); }
};
using CString = std::unique_ptr<char, CFree>;

absl::Status Refused(std::string_view why) {
  return absl::UnauthenticatedError(absl::StrCat("bearer token refused: ", std::string(why)));
}

// Whether `pem` holds a public key of OpenSSL type `type` (EVP_PKEY_RSA, ...).
bool IsPublicKeyOfType(std::string_view pem, int type) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free);
  if (bio == nullptr) return false;
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr), &EVP_PKEY_free);
  return key != nullptr && EVP_PKEY_base_id(key.get()) == type;
}

// A string claim, or nullopt when absent or not a string.
std::optional<std::string> StringClaim(jwt_t* jwt, const char* name) {
  const char* value = jwt_get_grant(jwt, name);
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

// The JSON of one claim (a string, number, array, ...), or null when absent.
nlohmann::json JsonClaim(jwt_t* jwt, const char* name) {
  CString text(jwt_get_grants_json(jwt, name));
  if (text == nullptr) return nullptr;
  return nlohmann::json::parse(text.get(), nullptr, /*allow_exceptions=*/false);
}

// An integer time claim (seconds since the epoch): nullopt when absent, an error when present
// but not an integer. libjwt answers 0 with errno set for both, so the JSON tells them apart.
absl::StatusOr<std::optional<absl::Time>> TimeClaim(jwt_t* jwt, const char* name) {
  const nlohmann::json value = JsonClaim(jwt, name);
  if (value.is_null()) return std::nullopt;
  if (!value.is_number_integer()) return Refused(absl::StrCat("\"", name, "\" is not an integer"));
  return absl::FromUnixSeconds(value.get<int64_t>());
}

// When a token may be used: what Verify checks against the time of each call.
struct Validity {
  absl::Time expires_at;
  std::optional<absl::Time> not_before, issued_at;
};

absl::Status CheckValidity(const Validity& v, absl::Time now, absl::Duration leeway) {
  if (now >= v.expires_at + leeway) {
    return Refused(absl::StrCat("expired at ", absl::FormatTime(v.expires_at)));
  }
  if (v.not_before.has_value() && *v.not_before > now + leeway) {
    return Refused(absl::StrCat("not valid before ", absl::FormatTime(*v.not_before)));
  }
  if (v.issued_at.has_value() && *v.issued_at > now + leeway) {
    return Refused(absl::StrCat("issued in the future, at ", absl::FormatTime(*v.issued_at)));
  }
  return absl::OkStatus();
}

}  // namespace

class VerifiedTokens {
 public:
  explicit VerifiedTokens(size_t capacity) : capacity_(capacity) {}

  struct Entry {
    Claims claims;
    Validity validity;
  };

  std::optional<Entry> Find(std::string_view token) const {
    std::lock_guard lock(mu_);
    auto it = entries_.find(std::string(token));
    if (it == entries_.end()) return std::nullopt;
    return it->second;
  }

  void Remember(std::string_view token, Entry entry) {
    if (capacity_ == 0) return;
    std::lock_guard lock(mu_);
    // Forgetting all at once keeps this bounded without bookkeeping: a forgotten token that is
    // still in use is verified in full once more.
    if (entries_.size() >= capacity_) entries_.clear();
    entries_.emplace(std::string(token), std::move(entry));
  }

 private:
  const size_t capacity_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;
};

absl::StatusOr<TokenVerifier> TokenVerifier::Create(VerifierOptions options) {
  if (!IsPublicKeyOfType(options.public_key_pem, EVP_PKEY_RSA)) {
    return absl::InvalidArgumentError(
        "token public key: not an RSA public key in PEM (\"-----BEGIN PUBLIC KEY-----\")");
  }
  if (options.issuer.empty()) return absl::InvalidArgumentError("token issuer: empty");
  if (options.audience.empty()) return absl::InvalidArgumentError("token audience: empty");
  auto verified = std::make_shared<VerifiedTokens>(options.remembered_tokens);
  return TokenVerifier(std::move(options), std::move(verified));
}

absl::StatusOr<Claims> TokenVerifier::Verify(std::string_view token, absl::Time now) const {
  if (token.empty()) return Refused("empty");
  if (token.size() > kMaxTokenBytes) {
    return Refused(absl::StrCat("longer than ", kMaxTokenBytes, " bytes"));
  }
  if (auto seen = verified_->Find(token)) {
    if (absl::Status s = CheckValidity(seen->validity, now, options_.leeway); !s.ok()) return s;
    return std::move(seen->claims);
  }
  // libjwt wants a NUL-terminated string; never an empty key (it would skip the signature).
  const std::string text(token);
  jwt_t* raw = nullptr;
  const int error = jwt_decode(
      &raw, text.c_str(), reinterpret_cast<const unsigned char*>(options_.public_key_pem.data()),
      static_cast<int>(options_.public_key_pem.size()));
  JwtPtr jwt(raw);
  if (error != 0 || jwt == nullptr) return Refused("malformed, or its signature does not verify");
  // Pinned: a token that names another algorithm was checked by another rule (HS256 keyed with
  // our public key, which anyone can do), so its signature proves nothing.
  if (jwt_get_alg(jwt.get()) != kAlgorithm) {
    return Refused(absl::StrCat("signed with ", jwt_alg_str(jwt_get_alg(jwt.get())), ", not ",
                                jwt_alg_str(kAlgorithm)));
  }

  Claims claims;
  const auto exp = TimeClaim(jwt.get(), "exp");
  if (!exp.ok()) return exp.status();
  if (!exp->has_value()) return Refused("no \"exp\": a token must expire");
  const auto nbf = TimeClaim(jwt.get(), "nbf");
  if (!nbf.ok()) return nbf.status();
  const auto iat = TimeClaim(jwt.get(), "iat");
  if (!iat.ok()) return iat.status();
  const Validity validity{**exp, *nbf, *iat};
  if (absl::Status s = CheckValidity(validity, now, options_.leeway); !s.ok()) return s;
  claims.expires_at = **exp;
  if (iat->has_value()) claims.issued_at = **iat;

  claims.issuer = StringClaim(jwt.get(), "iss").value_or("");
  if (claims.issuer != options_.issuer) {
    return Refused(absl::StrCat("issuer \"", claims.issuer, "\" is not \"", options_.issuer, "\""));
  }
  // "aud" is a string or an array of strings (RFC 7519 section 4.1.3).
  const nlohmann::json aud = JsonClaim(jwt.get(), "aud");
  const bool for_us =
      (aud.is_string() && aud.get<std::string>() == options_.audience) ||
      (aud.is_array() && std::any_of(aud.begin(), aud.end(), [&](const nlohmann::json& a) {
         return a.is_string() && a.get<std::string>() == options_.audience;
       }));
  if (!for_us) return Refused(absl::StrCat("not meant for audience \"", options_.audience, "\""));
  claims.audience = options_.audience;

  claims.subject = StringClaim(jwt.get(), "sub").value_or("");
  if (claims.subject.empty()) return Refused("no \"sub\" naming the caller");
  claims.role = StringClaim(jwt.get(), "role").value_or("");
  if (claims.role.empty()) return Refused("no \"role\"");
  if (!options_.roles.empty() && std::find(options_.roles.begin(), options_.roles.end(),
                                           claims.role) == options_.roles.end()) {
    return Refused(absl::StrCat("role \"", claims.role, "\" is not one of ",
                                absl::StrJoin(options_.roles, ", ")));
  }
  const nlohmann::json branches = JsonClaim(jwt.get(), "branches");
  if (!branches.is_null()) {
    if (!branches.is_array()) return Refused("\"branches\" is not an array");
    for (const nlohmann::json& b : branches) {
      if (!b.is_string() || b.get<std::string>().empty()) {
        return Refused("\"branches\" holds something other than branch ids");
      }
      claims.branches.push_back(b.get<std::string>());
    }
  }
  verified_->Remember(token, {claims, validity});
  return claims;
}

absl::StatusOr<std::string_view> BearerToken(std::string_view authorization) {
  constexpr std::string_view kScheme = "bearer ";
  if (authorization.empty()) return Refused("none given (metadata \"authorization: Bearer ...\")");
  const absl::string_view scheme(authorization.data(),
                                 std::min(authorization.size(), kScheme.size()));
  if (!absl::EqualsIgnoreCase(scheme, absl::string_view(kScheme.data(), kScheme.size()))) {
    return Refused("\"authorization\" is not \"Bearer <token>\"");
  }
  std::string_view token = authorization.substr(scheme.size());
  while (!token.empty() && absl::ascii_isspace(static_cast<unsigned char>(token.front()))) {
    token.remove_prefix(1);
  }
  while (!token.empty() && absl::ascii_isspace(static_cast<unsigned char>(token.back()))) {
    token.remove_suffix(1);
  }
  if (token.empty()) return Refused("\"authorization\" is \"Bearer\" with no token");
  return token;
}

absl::StatusOr<std::string> MintToken(std::string_view private_key_pem, const Claims& claims) {
  if (claims.subject.empty()) return absl::InvalidArgumentError("sub: empty");
  if (claims.role.empty()) return absl::InvalidArgumentError("role: empty");
  if (claims.issuer.empty()) return absl::InvalidArgumentError("iss: empty");
  if (claims.audience.empty()) return absl::InvalidArgumentError("aud: empty");
  if (claims.expires_at <= claims.issued_at) {
    return absl::InvalidArgumentError("exp: not after iat");
  }
  jwt_t* raw = nullptr;
  if (jwt_new(&raw) != 0) return absl::InternalError("jwt_new failed");
  JwtPtr jwt(raw);
  const nlohmann::json branches = {{"branches", claims.branches}};
  const bool added =
      jwt_add_grant(jwt.get(), "iss", claims.issuer.c_str()) == 0 &&
      jwt_add_grant(jwt.get(), "sub", claims.subject.c_str()) == 0 &&
      jwt_add_grant(jwt.get(), "aud", claims.audience.c_str()) == 0 &&
      jwt_add_grant(jwt.get(), "role", claims.role.c_str()) == 0 &&
      jwt_add_grant_int(jwt.get(), "iat", absl::ToUnixSeconds(claims.issued_at)) == 0 &&
      jwt_add_grant_int(jwt.get(), "exp", absl::ToUnixSeconds(claims.expires_at)) == 0 &&
      jwt_add_grants_json(jwt.get(), branches.dump().c_str()) == 0;
  if (!added) return absl::InternalError("libjwt refused a claim");
  const std::string key(private_key_pem);
  if (jwt_set_alg(jwt.get(), kAlgorithm, reinterpret_cast<const unsigned char*>(key.data()),
                  static_cast<int>(key.size())) != 0) {
    return absl::InternalError("libjwt refused the signing key");
  }
  errno = 0;
  CString token(jwt_encode_str(jwt.get()));
  if (token == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot sign with the key (an RSA private key in PEM?), errno ", errno));
  }
  return std::string(token.get());
}

}  // namespace bo::auth
