#include "tests/e2e/test_pki.h"

#include <cstdlib>
#include <stdexcept>
#include <utility>

#include "absl/time/clock.h"
#include "libs/auth/token.h"
#include "libs/rpc/service_host.h"

namespace bo::testing {

TestPki::TestPki(std::string dir) : dir_(std::move(dir)) {
  const std::string command = std::string(BO_PKI_SCRIPT) + " " + dir_ + " >/dev/null 2>&1";
  if (std::system(command.c_str()) != 0) throw std::runtime_error("failed: " + command);
}

std::vector<std::string> TestPki::ServiceFlags(const std::string& name) const {
  return {"--tls-ca=" + dir_ + "/ca.crt", "--tls-cert=" + dir_ + "/" + name + ".crt",
          "--tls-key=" + dir_ + "/" + name + ".key", "--token-key=" + dir_ + "/jwt.pub"};
}

rpc::ClientIdentity TestPki::Client(const std::string& subject, const std::string& role,
                                    const std::vector<std::string>& branches,
                                    const std::string& certificate) const {
  auto tls = rpc::ReadTls(
      {dir_ + "/ca.crt", dir_ + "/" + certificate + ".crt", dir_ + "/" + certificate + ".key"});
  if (!tls.ok()) throw std::runtime_error(std::string(tls.status().message()));
  auto key = rpc::ReadPem("token signing key", dir_ + "/jwt.key");
  if (!key.ok()) throw std::runtime_error(std::string(key.status().message()));
  // The issuer and audience a service expects unless told otherwise.
  const rpc::ServiceConfig defaults;
  auth::Claims claims;
  claims.subject = subject;
  claims.role = role;
  claims.branches = branches;
  claims.issuer = defaults.token_issuer;
  claims.audience = defaults.token_audience;
  claims.issued_at = absl::Now();
  claims.expires_at = claims.issued_at + absl::Hours(24);
  auto token = auth::MintToken(*key, claims);
  if (!token.ok()) throw std::runtime_error(std::string(token.status().message()));
  return {*std::move(tls), *std::move(token)};
}

http::FetchIdentity TestPki::HttpClient(const rpc::ClientIdentity& identity) const {
  return {dir_ + "/ca.crt", dir_ + "/tests.crt", dir_ + "/tests.key", identity.bearer_token};
}

}  // namespace bo::testing
