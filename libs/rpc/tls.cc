#include "libs/rpc/tls.h"

#include <fstream>
#include <iterator>
#include <utility>

#include "absl/status/status.h"

namespace bo::rpc {

absl::StatusOr<std::string> ReadPem(const std::string& what, const std::string& path) {
  if (path.empty()) return absl::InvalidArgumentError(what + ": not given");
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(what + ": cannot read " + path);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (text.find("-----BEGIN ") == std::string::npos) {
    return absl::NotFoundError(what + ": no PEM in " + path);
  }
  return text;
}

absl::StatusOr<TlsMaterial> ReadTls(const TlsFiles& files) {
  TlsMaterial tls;
  auto ca = ReadPem("TLS CA certificate", files.ca);
  if (!ca.ok()) return ca.status();
  auto cert = ReadPem("TLS certificate", files.cert);
  if (!cert.ok()) return cert.status();
  auto key = ReadPem("TLS private key", files.key);
  if (!key.ok()) return key.status();
  tls.ca_pem = *std::move(ca);
  tls.cert_pem = *std::move(cert);
  tls.key_pem = *std::move(key);
  return tls;
}

std::shared_ptr<grpc::ServerCredentials> MutualTlsServerCredentials(const TlsMaterial& tls) {
  grpc::SslServerCredentialsOptions options(
      GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  options.pem_root_certs = tls.ca_pem;
  options.pem_key_cert_pairs.push_back({tls.key_pem, tls.cert_pem});
  return grpc::SslServerCredentials(options);
}

std::shared_ptr<grpc::ChannelCredentials> MutualTlsChannelCredentials(const TlsMaterial& tls) {
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = tls.ca_pem;
  options.pem_private_key = tls.key_pem;
  options.pem_cert_chain = tls.cert_pem;
  return grpc::SslCredentials(options);
}

absl::StatusOr<ClientIdentity> ReadClientIdentity(const TlsFiles& tls, const std::string& token,
                                                  const std::string& token_file) {
  ClientIdentity identity;
  if (tls.any()) {
    auto material = ReadTls(tls);
    if (!material.ok()) return material.status();
    identity.tls = *std::move(material);
  }
  identity.bearer_token = token;
  if (identity.bearer_token.empty() && !token_file.empty()) {
    std::ifstream in(token_file);
    if (!(in >> identity.bearer_token) || identity.bearer_token.empty()) {
      return absl::NotFoundError("cannot read a token from " + token_file);
    }
  }
  return identity;
}

std::shared_ptr<grpc::ChannelCredentials> ClientChannelCredentials(const ClientIdentity& identity) {
  if (!identity.tls.has_value()) return grpc::InsecureChannelCredentials();
  auto channel = MutualTlsChannelCredentials(*identity.tls);
  if (identity.bearer_token.empty()) return channel;
  // AccessTokenCredentials sends exactly `authorization: Bearer <token>`.
  return grpc::CompositeChannelCredentials(channel,
                                           grpc::AccessTokenCredentials(identity.bearer_token));
}

}  // namespace bo::rpc
