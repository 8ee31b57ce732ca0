// TestPki: a deployment's certificates and token key for one test run, made by the real
// deploy/local/pki, and tokens minted with that key. The services a test starts and the clients
// it calls them with then hold what they hold on the local stack: mutual TLS and a bearer token
// on every call (issue 8).
#pragma once

#include <string>
#include <vector>

#include "libs/http/http_server.h"
#include "libs/rpc/tls.h"

namespace bo::testing {

class TestPki {
 public:
  // Makes the files under `dir` (deploy/local/pki keeps what exists). Throws std::runtime_error
  // when they cannot be made: a test cannot go on without them.
  explicit TestPki(std::string dir);

  // The flags that give service `name` ("invoicing", ...) its certificate, the CA, and the key
  // that verifies tokens: --tls-ca, --tls-cert, --tls-key, --token-key.
  std::vector<std::string> ServiceFlags(const std::string& name) const;

  // A client holding `certificate`'s certificate ("tests", or a service's to act as it) and a
  // token of `subject` in `role` at `branches` (none: all, for a group token), valid for a day.
  // Throws std::runtime_error if it cannot be made.
  rpc::ClientIdentity Client(const std::string& subject, const std::string& role,
                             const std::vector<std::string>& branches = {},
                             const std::string& certificate = "tests") const;

  // The same client on the services' HTTPS side: the tests certificate and `identity`'s token.
  http::FetchIdentity HttpClient(const rpc::ClientIdentity& identity) const;

  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
};

}  // namespace bo::testing
