// File: tests/fuzz/fuzz_seed_gen.cc
// Writes the seed corpus of every fuzz target: fuzz_seed_gen OUT_DIR creates
// OUT_DIR/{transaction,consensus_message,merkle_proof,key_file,node_config,genesis,ledger_request}/
// and fills them with valid inputs (signed transactions of every action, the consensus messages a
// lagging replica receives, honest and forged Merkle claims, good and broken key files, config and
// genesis files, a request of every Ledger RPC and a proposal). Deterministic: the same bytes every
// run. tests/fuzz/corpus/ is its output; regenerate after a format change (docs/fuzzing.md).
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/check.h"
#include "crypto/digest.h"
#include "crypto/keys.h"
#include "google/protobuf/util/json_util.h"
#include "tests/fuzz/consensus_world.h"
#include "tests/fuzz/ledger_world.h"
#include "tests/fuzz/node_world.h"

namespace itmo::fuzz {
namespace {

void WriteSeed(const std::filesystem::path& dir, int index, const std::string& name,
               const std::string& bytes) {
  const std::filesystem::path path = dir / absl::StrFormat("seed-%03d-%s", index, name);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ITMO_CHECK(out.good());
}

std::string KindName(const v1::ConsensusMessage& message) {
  switch (message.kind_case()) {
    case v1::ConsensusMessage::kProposal:
      return message.proposal().block().has_tc() ? "proposal-tc" : "proposal";
    case v1::ConsensusMessage::kVote:
      return "vote";
    case v1::ConsensusMessage::kTimeout:
      return "timeout";
    case v1::ConsensusMessage::kTc:
      return "tc";
    case v1::ConsensusMessage::kSyncInfo:
      return "sync-info";
    case v1::ConsensusMessage::kBlockRequest:
      return "block-request";
    case v1::ConsensusMessage::kBlockResponse:
      return "block-response";
    case v1::ConsensusMessage::kSyncRequest:
      return "sync-request";
    case v1::ConsensusMessage::kSyncResponse:
      return "sync-response";
    case v1::ConsensusMessage::KIND_NOT_SET:
      break;
  }
  return "empty";
}

void WriteKeyFiles(const std::filesystem::path& dir) {
  absl::StatusOr<crypto::KeyPair> key = crypto::KeyPair::FromSeed(std::string(32, '\x2a'));
  ITMO_CHECK(key.ok());
  const std::string public_hex = crypto::ToHex(crypto::AsStringView(key->public_key()));
  const std::string seed_hex = crypto::ToHex(key->SecretSeed());
  const std::string good =
      absl::StrCat("itmo-ed25519-v1\npublic ", public_hex, "\nsecret ", seed_hex, "\n");
  std::string other_public = public_hex;
  other_public[0] = other_public[0] == '0' ? '1' : '0';
  const std::vector<std::pair<std::string, std::string>> files = {
      {"valid", good},
      {"crlf",
       absl::StrCat("itmo-ed25519-v1\r\npublic ", public_hex, "\r\nsecret ", seed_hex, "\r\n")},
      {"no-final-newline",
       absl::StrCat("itmo-ed25519-v1\npublic ", public_hex, "\nsecret ", seed_hex)},
      {"public-mismatch",
       absl::StrCat("itmo-ed25519-v1\npublic ", other_public, "\nsecret ", seed_hex, "\n")},
      {"bad-hex",
       absl::StrCat("itmo-ed25519-v1\npublic ", public_hex, "\nsecret zz", seed_hex, "\n")},
      {"short-seed",
       absl::StrCat("itmo-ed25519-v1\npublic ", public_hex, "\nsecret ", seed_hex.substr(2), "\n")},
      {"two-lines", absl::StrCat("itmo-ed25519-v1\npublic ", public_hex, "\n")},
      {"public-only", absl::StrCat(public_hex, "\n")},
      {"swapped",
       absl::StrCat("itmo-ed25519-v1\nsecret ", seed_hex, "\npublic ", public_hex, "\n")},
  };
  int index = 0;
  for (const auto& [name, text] : files) WriteSeed(dir, index++, name, text);
}

// Config files: a validator and an observer with every section, and a few near-misses.
void WriteConfigSeeds(const std::filesystem::path& dir) {
  const std::string validator =
      "[node]\nname = \"validator-0\"\nrole = \"validator\"\ndata_dir = \"data\"\n"
      "genesis = \"genesis.json\"\nconsensus_key = \"keys/consensus.key\"\n"
      "tls_cert = \"tls/node.crt\"\ntls_key = \"tls/node.key\"\n\n"
      "[api]\nlisten = \"127.0.0.1:7100\"\n\n[peer]\nlisten = \"0.0.0.0:7200\"\n\n"
      "[[peers]]\nname = \"validator-1\"\naddress = \"10.0.0.2:7200\"\n\n"
      "[[peers]]\nname = \"validator-2\"\naddress = \"[::1]:7200\"\n\n"
      "[limits]\nmempool_txs_max = 1000\nmempool_bytes_max = 1048576\n"
      "mempool_txs_per_submitter_max = 100\nblock_txs_max = 500\nblock_bytes_max = 65536\n\n"
      "[log]\nlevel = \"debug\"\njson = true\n";
  const std::string observer =
      "[node]\nname = \"observer-0\"\nrole = \"observer\"\ndata_dir = \"/var/lib/itmo\"\n"
      "genesis = \"/etc/itmo/genesis.json\"\ntls_cert = \"a.crt\"\ntls_key = \"a.key\"\n"
      "[[peers]]\nname = \"validator-0\"\naddress = \"validator-0:7200\"\n";
  const std::vector<std::pair<std::string, std::string>> files = {
      {"validator", validator},
      {"observer", observer},
      {"limit-too-high", validator + "[limits]\nblock_txs_max = 99999999\n"},
      {"inline-tables",
       "node = { name = 'n', role = 'observer', data_dir = 'd', genesis = 'g', "
       "tls_cert = 'c', tls_key = 'k' }\npeers = [ { name = 'p', address = "
       "'h:1' } ]\n"},
      {"types",
       "[node]\nname = 1\n[limits]\nblock_txs_max = 1.5e3\n[log]\njson = \"yes\"\n"
       "when = 1979-05-27T07:32:00Z\nlist = [1, [2, 3], {a = 4}]\n"},
  };
  int index = 0;
  for (const auto& [name, text] : files) WriteSeed(dir, index++, name, text);
}

// Genesis files: the JSON of the fuzz ledger world's genesis (which the ledger accepts), and
// variants of it.
void WriteGenesisSeeds(const std::filesystem::path& dir) {
  v1::Genesis genesis = LedgerGenesis();
  if (genesis.validators_size() == 0) {
    v1::Validator* v = genesis.add_validators();
    v->set_name("validator-0");
    v->set_party("CHE");
    v->set_consensus_key(std::string(crypto::AsStringView(KeyOf("CHE").public_key())));
  }
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = false;
  int index = 0;
  std::string json;
  ITMO_CHECK(google::protobuf::util::MessageToJsonString(genesis, &json, options).ok());
  WriteSeed(dir, index++, "world", json);
  options.add_whitespace = true;
  options.always_print_primitive_fields = true;
  json.clear();
  ITMO_CHECK(google::protobuf::util::MessageToJsonString(genesis, &json, options).ok());
  WriteSeed(dir, index++, "world-verbose", json);
  genesis.mutable_validators(0)->set_consensus_key("short");
  json.clear();
  ITMO_CHECK(google::protobuf::util::MessageToJsonString(genesis, &json).ok());
  WriteSeed(dir, index++, "short-key", json);
}

void WriteMerkleSeeds(const std::filesystem::path& dir) {
  // Layout (fuzz_merkle_proof.cc): u16 tree size, u16 index, mode byte, then mode arguments.
  int index = 0;
  for (uint8_t mode = 0; mode < 6; ++mode) {
    for (uint16_t size : {1, 2, 3, 7, 64, 300}) {
      std::string bytes;
      bytes.push_back(static_cast<char>((size - 1) & 0xff));
      bytes.push_back(static_cast<char>((size - 1) >> 8));
      bytes.push_back(static_cast<char>(size / 2));
      bytes.push_back(0);
      bytes.push_back(static_cast<char>(mode));
      const crypto::Digest filler = crypto::Blake2b256(absl::StrCat("merkle-seed-", mode, size));
      for (int i = 0; i < 3; ++i) bytes += std::string(crypto::AsStringView(filler));
      WriteSeed(dir, index++, absl::StrCat("mode", mode, "-size", size), bytes);
    }
  }
}

}  // namespace
}  // namespace itmo::fuzz

int main(int argc, char** argv) {
  using namespace itmo;        // NOLINT(google-build-using-namespace)
  using namespace itmo::fuzz;  // NOLINT(google-build-using-namespace)
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
    return 2;
  }
  const std::filesystem::path out = argv[1];
  for (const char* sub : {"transaction", "consensus_message", "merkle_proof", "key_file",
                          "node_config", "genesis", "ledger_request"}) {
    std::filesystem::create_directories(out / sub);
  }
  int index = 0;
  for (const v1::SignedTransaction& tx : SeedTransactions()) {
    v1::TransactionBody body;
    ITMO_CHECK(body.ParseFromString(tx.body()));
    std::string name =
        body.action_case() == v1::TransactionBody::ACTION_NOT_SET
            ? "no-action"
            : body.GetDescriptor()->FindFieldByNumber(static_cast<int>(body.action_case()))->name();
    WriteSeed(out / "transaction", index++, name, tx.SerializeAsString());
  }
  const ConsensusWorld world = BuildConsensusWorld();
  index = 0;
  for (const v1::ConsensusMessage& message : world.seeds) {
    WriteSeed(out / "consensus_message", index++, KindName(message), message.SerializeAsString());
  }
  WriteMerkleSeeds(out / "merkle_proof");
  WriteKeyFiles(out / "key_file");
  WriteConfigSeeds(out / "node_config");
  WriteGenesisSeeds(out / "genesis");
  index = 0;
  for (const auto& [name, bytes] : RequestSeeds()) {
    WriteSeed(out / "ledger_request", index++, name, bytes);
  }
  std::printf("wrote %zu transaction and %zu consensus seeds to %s\n", SeedTransactions().size(),
              world.seeds.size(), out.c_str());
  return 0;
}
