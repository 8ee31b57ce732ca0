// Bearer tokens: JSON Web Tokens signed RS256 that name a caller, a role and branches
// (DESIGN.md section 7; issue 8). The services verify with the public key only, so none of them
// can mint a token; `bo-admin mint-token` signs with the private key for development.
//
// Debian 12's libjwt (1.10.2) checks a token's format and signature and nothing else, and lets
// the token's own header choose the algorithm: given an RSA public key and a token that says
// "HS256", it checks an HMAC keyed with the public key's PEM text, which anyone can compute.
// TokenVerifier therefore pins the algorithm and checks every claim itself: exp (required),
// nbf and iat (when present), iss, aud (a string or an array), sub and role.
//
// This lib knows nothing of back orders: which roles exist and what they may do is the
// caller's policy. Errors are UNAUTHENTICATED with a reason a developer can act on; the reason
// never echoes the token.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace bo::auth {

// What a token says about its bearer.
struct Claims {
  std::string subject;                // "sub": who, e.g. "anna@B1" or "invoicing"
  std::string role;                   // "role": e.g. "clerk"; the policy gives it meaning
  std::vector<std::string> branches;  // "branches": the branches the bearer acts for (may be empty)
  std::string issuer;                 // "iss"
  std::string audience;               // "aud" (one audience when minting)
  absl::Time issued_at;               // "iat"
  absl::Time expires_at;              // "exp"
};

struct VerifierOptions {
  std::string public_key_pem;  // RSA public key, SPKI PEM ("-----BEGIN PUBLIC KEY-----")
  std::string issuer;          // required "iss"
  std::string audience;        // "aud" must be, or contain, this
  // The roles a token may carry; a token with another role is refused. Empty: any non-empty role.
  std::vector<std::string> roles;
  // Clock skew allowed between the minter and this verifier, for exp, nbf and iat.
  absl::Duration leeway = absl::Seconds(30);
  // How many verified tokens Verify remembers (below) before it forgets them all; 0: none.
  size_t remembered_tokens = 4096;
};

// Tokens longer than this are refused before any parsing (a header is not a place for megabytes).
inline constexpr size_t kMaxTokenBytes = 8192;

// Remembers the tokens that verified (see TokenVerifier::Verify); shared by copies of a verifier.
class VerifiedTokens;

class TokenVerifier {
 public:
  // INVALID_ARGUMENT if the key is not an RSA public key in PEM, or issuer or audience is empty.
  static absl::StatusOr<TokenVerifier> Create(VerifierOptions options);

  // The claims of `token` (the compact JWT, without "Bearer "), if its RS256 signature verifies
  // with the key and every claim holds at `now`; else UNAUTHENTICATED saying which check failed.
  //
  // A caller sends the same token on every call, and checking its signature costs far more than
  // the call's own work (libjwt takes the key as PEM text and parses it again each time; in
  // OpenSSL 3 that lookup dominates). So the tokens that verified are remembered by their exact
  // text (at most VerifierOptions::remembered_tokens, then forgotten all at once), and a token seen
  // before is checked again only against `now`: exp, nbf and iat, exactly as the first time.
  // Everything else a verification checks depends only on the token's text and the options, which
  // do not change. Thread-safe.
  absl::StatusOr<Claims> Verify(std::string_view token, absl::Time now) const;

 private:
  TokenVerifier(VerifierOptions options, std::shared_ptr<VerifiedTokens> verified)
      : options_(std::move(options)), verified_(std::move(verified)) {}
  VerifierOptions options_;
  std::shared_ptr<VerifiedTokens> verified_;
};

// The token in an Authorization header value "Bearer <token>" (the scheme in any case);
// UNAUTHENTICATED when the value is empty or another scheme.
absl::StatusOr<std::string_view> BearerToken(std::string_view authorization);

// An RS256 token carrying `claims`, signed with `private_key_pem` (an RSA private key in PEM).
// INVALID_ARGUMENT for an empty subject, role, issuer or audience, or expiry not after issue;
// INTERNAL if libjwt cannot sign with the key.
absl::StatusOr<std::string> MintToken(std::string_view private_key_pem, const Claims& claims);

}  // namespace bo::auth
