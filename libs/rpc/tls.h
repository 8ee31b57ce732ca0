// Transport security for gRPC (DESIGN.md section 7, issue 8): TLS on every port, and mutual TLS,
// so a server accepts only callers holding a certificate of the deployment's CA and a caller
// talks only to a server holding one. deploy/local/pki makes the files for development.
//
//   auto tls = bo::rpc::ReadTls({"var/pki/ca.crt", "var/pki/boctl.crt", "var/pki/boctl.key"});
//   auto channel = grpc::CreateChannel(addr, bo::rpc::MutualTlsChannelCredentials(*tls));
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"

namespace bo::rpc {

// Where the PEM files are.
struct TlsFiles {
  std::string ca;    // the CA that signs every certificate of the deployment
  std::string cert;  // this process's certificate
  std::string key;   // its private key
  bool any() const { return !ca.empty() || !cert.empty() || !key.empty(); }
};

// The PEM text of the three files.
struct TlsMaterial {
  std::string ca_pem;
  std::string cert_pem;
  std::string key_pem;
};

// The text of the PEM file at `path`; `what` names it in errors ("TLS private key: not given").
// INVALID_ARGUMENT when no path is given; NOT_FOUND when the file cannot be read or holds no PEM.
absl::StatusOr<std::string> ReadPem(const std::string& what, const std::string& path);

// Reads all three. INVALID_ARGUMENT naming a missing one ("TLS private key: not given");
// NOT_FOUND naming a file that cannot be read or holds no PEM.
absl::StatusOr<TlsMaterial> ReadTls(const TlsFiles& files);

// Server: presents the certificate; every caller must present one signed by the CA, checked
// during the handshake (a caller without one never reaches a handler).
std::shared_ptr<grpc::ServerCredentials> MutualTlsServerCredentials(const TlsMaterial& tls);

// Client: checks the server against the CA and presents the certificate.
std::shared_ptr<grpc::ChannelCredentials> MutualTlsChannelCredentials(const TlsMaterial& tls);

// Who a client is to the services: its certificate (mutual TLS) and the bearer token that names
// the caller on every call. Neither, for services started --insecure.
struct ClientIdentity {
  std::optional<TlsMaterial> tls;
  std::string bearer_token;
};

// Reads the identity a client was given: the three TLS files when any is named (all three are
// then needed), and the token itself or else the first word of `token_file` (a file holds one
// token; trailing newline and spaces are not part of it). Errors as ReadTls, or NOT_FOUND naming
// a token file that cannot be read or is empty.
absl::StatusOr<ClientIdentity> ReadClientIdentity(const TlsFiles& tls, const std::string& token,
                                                  const std::string& token_file);

// The channel credentials of `identity`: mutual TLS, with its token sent on every call as
// `authorization: Bearer ...`. Without TLS, plaintext and no token: gRPC sends call credentials
// only over a secure channel, and a service started --insecure checks none.
std::shared_ptr<grpc::ChannelCredentials> ClientChannelCredentials(const ClientIdentity& identity);

}  // namespace bo::rpc
