// bo-admin: small operator commands used by deploy/local/stack and the tests.
//   bo-admin create-topics [--bootstrap HOST:PORT] [--partitions N]
//   bo-admin health --addr HOST:PORT [--service NAME] [--wait SECONDS] [--ca F --cert F --key F]
//   bo-admin dump --data-dir DIR [--families state,events,...|all] [--hex]
//   bo-admin mint-token --key FILE --sub WHO --role ROLE [--branches B1,B2] [--ttl SECONDS]
//                       [--iss ISSUER] [--aud AUDIENCE]
//
// mint-token prints a bearer token (an RS256 JWT, libs/auth) signed with the private key FILE
// (deploy/local/pki makes var/pki/jwt.key): for development and tests, never a way to hand out
// production credentials.
//
// dump prints a service's durable state, every key and value of the chosen column families in
// key order, so two dumps can be compared byte for byte (the reliability suites do: bad input
// must change nothing, a rebuild must give the same state). It opens the RocksDB of a *running*
// service as a secondary instance (a private, temporary secondary directory; it catches up with
// the primary's MANIFEST and WAL once, then reads), so the service keeps running; a stopped
// service's directory works the same way. Nothing is written to DIR.
//
// Output, deterministic for the same data:
//   == <family> <number of records>
//   <key>\t<value>            one line per record, keys in RocksDB's (bytewise) order
// Keys and values are escaped: printable ASCII as is, '\\' doubled, every other byte \xHH
// (with --hex values are plain lower-case hex instead).
//
// Families (DESIGN.md: one RocksDB per service): state (aggregate state and indexes), events
// (aggregate event streams), idempotency (request id -> first answer), readmodel (projections),
// outbox (events committed, not yet published). These five are the default: what a command
// changes. Left out unless asked for (by name or with "all"):
//   consumer  the exactly-once consumers' stored partition offsets and the window of seen event
//             ids: it moves whenever *another* service publishes anything the service reads
//             (even an event it ignores), so it is not a property of this service's own state.
//             Over a quiet period it is as stable as the rest; ask for it when nothing else
//             publishes (the bad-input suite does, and checks the topics' end offsets too).
//   default   RocksDB's default family: only the markers of the own-state restore and of the
//             read-model rebuild (services/common/own_state_restore.h).
// Note the outbox is empty once the relay has published everything, so dump a quiet service.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "libs/auth/token.h"
#include "libs/rpc/tls.h"
#include "rocksdb/db.h"
#include "rocksdb/options.h"
#include "services/common/topics.h"

namespace {

using grpc::health::v1::HealthCheckResponse;

int CreateTopics(const std::string& bootstrap, int partitions) {
  auto topics = bo::EventTopics(partitions);
  absl::Status s = bo::kafka::EnsureTopics({{"bootstrap.servers", bootstrap}}, topics);
  if (!s.ok()) {
    std::fprintf(stderr, "create-topics: %s\n", s.ToString().c_str());
    return 1;
  }
  for (const auto& t : topics)
    std::printf("topic %s (%d partitions)\n", t.name.c_str(), t.partitions);
  return 0;
}

// Prints SERVING / NOT_SERVING / UNREACHABLE; exit 0 only when SERVING (within --wait).
// Over mutual TLS when `tls` names any file (all three are needed), else plaintext.
int Health(const std::string& addr, const std::string& service, int wait_seconds,
           const bo::rpc::TlsFiles& tls) {
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  if (tls.any()) {
    auto material = bo::rpc::ReadTls(tls);
    if (!material.ok()) {
      std::fprintf(stderr, "health: %s\n", std::string(material.status().message()).c_str());
      return 2;
    }
    credentials = bo::rpc::MutualTlsChannelCredentials(*material);
  }
  auto channel = grpc::CreateChannel(addr, credentials);
  auto stub = grpc::health::v1::Health::NewStub(channel);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(wait_seconds);
  std::string last;
  for (;;) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
    grpc::health::v1::HealthCheckRequest req;
    req.set_service(service);
    HealthCheckResponse resp;
    grpc::Status s = stub->Check(&ctx, req, &resp);
    last = s.ok() ? HealthCheckResponse::ServingStatus_Name(resp.status())
                  : "UNREACHABLE (" + s.error_message() + ")";
    if (s.ok() && resp.status() == HealthCheckResponse::SERVING) break;
    if (std::chrono::steady_clock::now() >= deadline) {
      std::printf("%s %s\n", addr.c_str(), last.c_str());
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  std::printf("%s %s\n", addr.c_str(), last.c_str());
  return 0;
}

// The default families of `dump`: what a command changes (see the header comment).
const char kDefaultDumpFamilies[] = "state,events,idempotency,readmodel,outbox";

void AppendEscaped(std::string* out, const rocksdb::Slice& bytes, bool hex) {
  static const char kHex[] = "0123456789abcdef";
  for (size_t i = 0; i < bytes.size(); ++i) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    if (hex) {
      out->push_back(kHex[c >> 4]);
      out->push_back(kHex[c & 0xF]);
    } else if (c == '\\') {
      out->append("\\\\");
    } else if (c >= 0x20 && c < 0x7f) {
      out->push_back(static_cast<char>(c));
    } else {
      out->append("\\x");
      out->push_back(kHex[c >> 4]);
      out->push_back(kHex[c & 0xF]);
    }
  }
}

std::vector<std::string> SplitList(const std::string& list) {
  std::vector<std::string> out;
  std::stringstream in(list);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

// Removes the temporary secondary directory however Dump returns.
struct TempDir {
  std::string path;
  ~TempDir() {
    std::error_code ec;
    if (!path.empty()) std::filesystem::remove_all(path, ec);
  }
};

int Dump(const std::string& data_dir, const std::string& family_list, bool hex) {
  std::vector<std::string> existing;
  rocksdb::Status s = rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), data_dir, &existing);
  if (!s.ok()) {
    std::fprintf(stderr, "dump: %s is not a service's database: %s\n", data_dir.c_str(),
                 s.ToString().c_str());
    return 1;
  }
  std::sort(existing.begin(), existing.end());
  std::vector<std::string> chosen =
      family_list == "all" ? existing
                           : SplitList(family_list.empty() ? kDefaultDumpFamilies : family_list);
  for (const auto& f : chosen) {
    if (std::find(existing.begin(), existing.end(), f) == existing.end()) {
      std::string names;
      for (const auto& e : existing) names += (names.empty() ? "" : ",") + e;
      std::fprintf(stderr, "dump: %s has no column family \"%s\" (it has %s)\n", data_dir.c_str(),
                   f.c_str(), names.c_str());
      return 2;
    }
  }

  TempDir secondary;
  std::string pattern = (std::filesystem::temp_directory_path() / "bo-admin-dump-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    std::perror("dump: mkdtemp");
    return 1;
  }
  secondary.path = pattern;

  rocksdb::Options options;
  options.max_open_files = -1;  // required of a secondary instance
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const auto& name : existing) {
    descriptors.emplace_back(name, rocksdb::ColumnFamilyOptions(options));
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  s = rocksdb::DB::OpenAsSecondary(options, data_dir, secondary.path, descriptors, &handles, &raw);
  if (!s.ok()) {
    std::fprintf(stderr, "dump: cannot open %s: %s\n", data_dir.c_str(), s.ToString().c_str());
    return 1;
  }
  std::unique_ptr<rocksdb::DB> db(raw);
  struct Handles {
    rocksdb::DB* db;
    std::vector<rocksdb::ColumnFamilyHandle*>* handles;
    ~Handles() {
      for (auto* h : *handles) db->DestroyColumnFamilyHandle(h);
    }
  } release{db.get(), &handles};
  if (s = db->TryCatchUpWithPrimary(); !s.ok()) {
    std::fprintf(stderr, "dump: catching up with %s: %s\n", data_dir.c_str(), s.ToString().c_str());
    return 1;
  }

  // A secondary instance has no snapshots, but it moves only when told to catch up (once,
  // above), so every family is read as of that one point.
  std::string out;
  int code = 0;
  for (const auto& family : chosen) {
    const size_t at = std::find(existing.begin(), existing.end(), family) - existing.begin();
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), handles[at]));
    std::string records;
    size_t count = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      AppendEscaped(&records, it->key(), /*hex=*/false);
      records.push_back('\t');
      AppendEscaped(&records, it->value(), hex);
      records.push_back('\n');
      ++count;
    }
    if (!it->status().ok()) {
      std::fprintf(stderr, "dump: reading %s: %s\n", family.c_str(),
                   it->status().ToString().c_str());
      code = 1;
      break;
    }
    out += "== " + family + " " + std::to_string(count) + "\n";
    out += records;
  }
  if (code != 0) return code;
  if (std::fwrite(out.data(), 1, out.size(), stdout) != out.size() || std::fflush(stdout) != 0) {
    std::perror("dump: writing");
    return 1;
  }
  return 0;
}

// Prints a token for `claims` signed with the PEM key in `key_file`.
int MintToken(const std::string& key_file, bo::auth::Claims claims, int64_t ttl_seconds) {
  auto key = bo::rpc::ReadPem("--key", key_file);
  if (!key.ok()) {
    std::fprintf(stderr, "mint-token: %s\n", std::string(key.status().message()).c_str());
    return 1;
  }
  claims.issued_at = absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()));
  claims.expires_at = claims.issued_at + absl::Seconds(ttl_seconds);
  auto token = bo::auth::MintToken(*key, claims);
  if (!token.ok()) {
    std::fprintf(stderr, "mint-token: %s\n", token.status().ToString().c_str());
    return 1;
  }
  std::printf("%s\n", token->c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bo-admin: operator commands for the back-order system"};
  app.require_subcommand(1);
  const char* env_bootstrap = std::getenv("KAFKA_BOOTSTRAP");
  std::string bootstrap = env_bootstrap ? env_bootstrap : "127.0.0.1:19092";
  int partitions = 6;
  auto* create = app.add_subcommand("create-topics", "create the event topics (idempotent)");
  create->add_option("--bootstrap", bootstrap, "Kafka bootstrap servers (env KAFKA_BOOTSTRAP)");
  create->add_option("--partitions", partitions, "partitions per topic")
      ->check(CLI::Range(1, 1000));

  std::string addr, service;
  int wait_seconds = 0;
  auto* health = app.add_subcommand("health", "check a service's gRPC health");
  health->add_option("--addr", addr, "gRPC address host:port")->required();
  health->add_option("--service", service, "service name ('' = the whole server)");
  health->add_option("--wait", wait_seconds, "keep trying this many seconds");
  const auto env = [](const char* name) {
    const char* v = std::getenv(name);
    return std::string(v == nullptr ? "" : v);
  };
  bo::rpc::TlsFiles tls{env("BO_CA"), env("BO_CERT"), env("BO_KEY")};
  health->add_option("--ca", tls.ca, "CA certificate, PEM, for mutual TLS (env BO_CA)");
  health->add_option("--cert", tls.cert, "client certificate, PEM (env BO_CERT)");
  health->add_option("--key", tls.key, "its private key, PEM (env BO_KEY)");

  std::string data_dir, families = kDefaultDumpFamilies;
  bool hex = false;
  auto* dump = app.add_subcommand(
      "dump", "print a service's durable state, key by key (a running service is not disturbed)");
  dump->add_option("--data-dir", data_dir, "the service's --data-dir")->required();
  dump->add_option("--families", families,
                   "comma-separated column families, or \"all\" (default " +
                       std::string(kDefaultDumpFamilies) + ")");
  dump->add_flag("--hex", hex, "values as plain hex instead of escaped text");

  std::string key_file, branches;
  bo::auth::Claims claims;
  claims.issuer = "backorders-dev";
  claims.audience = "backorders";
  int64_t ttl_seconds = 8 * 3600;
  auto* mint = app.add_subcommand("mint-token", "print a bearer token for development and tests");
  mint->add_option("--key", key_file, "RSA private key, PEM (var/pki/jwt.key)")->required();
  mint->add_option("--sub", claims.subject, "who, e.g. anna@B1")->required();
  mint->add_option("--role", claims.role, "clerk, manager, group, viewer or service")->required();
  mint->add_option("--branches", branches, "comma-separated branch ids");
  mint->add_option("--ttl", ttl_seconds, "seconds until it expires")
      ->check(CLI::Range(int64_t{1}, int64_t{366} * 86400));
  mint->add_option("--iss", claims.issuer, "issuer the services expect");
  mint->add_option("--aud", claims.audience, "audience the services expect");

  CLI11_PARSE(app, argc, argv);
  if (*mint) {
    claims.branches = absl::StrSplit(branches, ',', absl::SkipEmpty());
    return MintToken(key_file, claims, ttl_seconds);
  }
  if (*create) return CreateTopics(bootstrap, partitions);
  if (*dump) return Dump(data_dir, families, hex);
  return Health(addr, service, wait_seconds, tls);
}
