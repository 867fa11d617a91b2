// Unit tests of the itmoctl library (node/ctl_*): flags, transaction building and signing, local
// network generation and the inclusion-proof check. No network, no processes.
#include <sys/stat.h>

#include <string>
#include <vector>

#include "base/check.h"
#include "crypto/digest.h"
#include "crypto/keys.h"
#include "crypto/merkle.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "node/ctl_client.h"
#include "node/ctl_flags.h"
#include "node/ctl_localnet.h"
#include "node/ctl_tx.h"
#include "node/ctl_util.h"
#include "node/tls.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace itmo::node::ctl {
namespace {

using ::itmo::testing::StatusIs;
using ::testing::HasSubstr;

TEST(FlagsTest, ParsesValuesBooleansAndRepeats) {
  ASSERT_OK_AND_ASSIGN(Flags flags,
                       Flags::Parse({"--node", "a:1", "--key=k1", "--key", "k2", "--json", "pos"},
                                    {.values = {"node", "key"}, .booleans = {"json"}}));
  EXPECT_EQ(flags.Get("node"), "a:1");
  EXPECT_EQ(flags.GetAll("key"), (std::vector<std::string>{"k1", "k2"}));
  EXPECT_TRUE(flags.Has("json"));
  EXPECT_FALSE(flags.Has("help"));
  EXPECT_EQ(flags.positional(), std::vector<std::string>{"pos"});
  EXPECT_EQ(flags.Get("missing", "fallback"), "fallback");
}

TEST(FlagsTest, RejectsUnknownFlagMissingValueAndBadNumber) {
  EXPECT_THAT(Flags::Parse({"--bogus"}, {.values = {"node"}, .booleans = {}}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Flags::Parse({"--node"}, {.values = {"node"}, .booleans = {}}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Flags::Parse({"--json=maybe"}, {.values = {}, .booleans = {"json"}}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  ASSERT_OK_AND_ASSIGN(Flags flags,
                       Flags::Parse({"--txs", "-5"}, {.values = {"txs"}, .booleans = {}}));
  EXPECT_THAT(flags.GetUint("txs", 1), StatusIs(absl::StatusCode::kInvalidArgument));
  ASSERT_OK_AND_ASSIGN(Flags good, Flags::Parse({"--txs=42"}, {.values = {"txs"}, .booleans = {}}));
  ASSERT_OK_AND_ASSIGN(uint64_t txs, good.GetUint("txs", 1));
  EXPECT_EQ(txs, 42u);
}

TxOptions Options(const std::string& chain_id, const std::string& action,
                  const std::string& client_tx_id = "") {
  TxOptions options;
  options.chain_id = chain_id;
  options.action = action;
  options.client_tx_id = client_tx_id;
  return options;
}

LocalnetOptions Net(const std::string& dir, uint32_t validators, uint32_t observers,
                    uint32_t base_port = 9100, bool force = false) {
  LocalnetOptions options;
  options.dir = dir;
  options.validators = validators;
  options.observers = observers;
  options.base_port = base_port;
  options.chain_id = "test-chain";
  options.force = force;
  return options;
}

constexpr const char* kTransferJson =
    R"({"from": {"registry_id": "GHA-NR", "account_id": "GHA-HOLDING"},
        "to": {"registry_id": "CHE-NR", "account_id": "CHE-HOLDING"},
        "ranges": [{"originating_registry": "GHA-NR", "first": "1", "last": "5"}]})";

TEST(TxTest, BuildsBodyFromActionJsonAndInfersSubmitter) {
  ASSERT_OK_AND_ASSIGN(v1::TransactionBody body,
                       BuildTransactionBody(kTransferJson, Options("chain-a", "transfer", "t-1")));
  EXPECT_EQ(body.chain_id(), "chain-a");
  EXPECT_EQ(body.submitter_kind(), v1::SUBMITTER_REGISTRY);
  EXPECT_EQ(body.submitter(), "GHA-NR");
  EXPECT_EQ(body.client_tx_id(), "t-1");
  ASSERT_EQ(body.transfer().ranges_size(), 1);
  EXPECT_EQ(body.transfer().ranges(0).last(), 5u);
}

TEST(TxTest, BuildsBodyFromWholeBodyJsonAndGeneratesClientTxId) {
  std::string json = std::string(R"({"chain_id": "c", "use": {"purpose": "PURPOSE_NDC",
      "using_party": "CHE", "from": {"registry_id": "CHE-NR", "account_id": "X"}}})");
  ASSERT_OK_AND_ASSIGN(v1::TransactionBody body, BuildTransactionBody(json, TxOptions()));
  EXPECT_EQ(body.submitter_kind(), v1::SUBMITTER_PARTY);
  EXPECT_EQ(body.submitter(), "CHE");
  EXPECT_THAT(body.client_tx_id(), HasSubstr("ctl-"));
  ASSERT_OK_AND_ASSIGN(v1::TransactionBody other, BuildTransactionBody(json, TxOptions()));
  EXPECT_NE(body.client_tx_id(), other.client_tx_id());
}

TEST(TxTest, RejectsBadJsonUnknownActionMissingChainAndUninferableSubmitter) {
  EXPECT_THAT(BuildTransactionBody("{not json", Options("c", "")),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(BuildTransactionBody("{}", Options("c", "teleport")),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(BuildTransactionBody("{}", Options("c", "")),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(BuildTransactionBody(kTransferJson, Options("", "transfer")),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(
      BuildTransactionBody(R"({"authorization_id": "A"})", Options("c", "change_authorization")),
      StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(TxTest, SignsExactBodyBytesUnderChainContext) {
  ASSERT_OK_AND_ASSIGN(v1::TransactionBody body,
                       BuildTransactionBody(kTransferJson, Options("chain-a", "transfer")));
  crypto::KeyPair a = crypto::KeyPair::Generate();
  crypto::KeyPair b = crypto::KeyPair::Generate();
  std::vector<crypto::KeyPair> keys = {a, b};
  v1::SignedTransaction tx = SignTransaction(body, keys);
  ASSERT_EQ(tx.signatures_size(), 2);
  v1::TransactionBody parsed;
  ASSERT_TRUE(parsed.ParseFromString(tx.body()));
  EXPECT_EQ(parsed.submitter(), "GHA-NR");
  for (int i = 0; i < 2; ++i) {
    ASSERT_OK_AND_ASSIGN(crypto::PublicKey key,
                         crypto::PublicKeyFromBytes(tx.signatures(i).public_key()));
    ASSERT_OK_AND_ASSIGN(crypto::Signature sig,
                         crypto::SignatureFromBytes(tx.signatures(i).signature()));
    EXPECT_EQ(key, keys[i].public_key());
    EXPECT_TRUE(crypto::Verify(key, crypto::kContextTransaction, "chain-a", tx.body(), sig));
    EXPECT_FALSE(crypto::Verify(key, crypto::kContextTransaction, "chain-b", tx.body(), sig));
  }
  EXPECT_EQ(TransactionIdOf(tx), std::string(crypto::AsStringView(crypto::Blake2b256(tx.body()))));
}

TEST(TxTest, NamesReasonCodes) {
  EXPECT_EQ(ReasonCodeText(4004), "REASON_UNITS_TERMINAL (4004)");
  EXPECT_EQ(ReasonCodeText(99999), "reason 99999");
  EXPECT_THAT(ParseSubmitterKind("nobody"), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(LocalnetTest, WritesGenesisConfigsAndPrivateKeys) {
  itmo::testing::TempDir tmp;
  const std::string dir = tmp.File("net");
  ASSERT_OK_AND_ASSIGN(Localnet net, CreateLocalnet(Net(dir, 4, 1)));
  ASSERT_EQ(net.nodes.size(), 5u);
  EXPECT_EQ(net.nodes[3].api_address, "127.0.0.1:9103");
  EXPECT_EQ(net.nodes[3].peer_address, "127.0.0.1:9203");
  EXPECT_EQ(net.nodes[4].name, "observer-0");
  EXPECT_EQ(net.nodes[4].api_address, "127.0.0.1:9150");

  ASSERT_OK_AND_ASSIGN(Localnet loaded, LoadLocalnet(dir));
  EXPECT_EQ(loaded.genesis.chain_id(), "test-chain");
  ASSERT_EQ(loaded.genesis.validators_size(), 4);
  ASSERT_EQ(loaded.genesis.observers_size(), 1);
  ASSERT_EQ(loaded.nodes.size(), 5u);
  EXPECT_EQ(loaded.nodes[1].config_path, dir + "/validator-1/config.toml");
  EXPECT_EQ(loaded.genesis.parties_size(), 4);
  EXPECT_EQ(loaded.genesis.registries_size(), 5);
  EXPECT_EQ(loaded.genesis.parties(0).code(), "CHE");
  EXPECT_EQ(loaded.genesis.parties(0).ndc_periods(0).first_year(), 2021u);
  EXPECT_EQ(loaded.genesis.parties(3).ca_method(), v1::CA_METHOD_AVERAGING);

  // Every key file loads, is private, and matches the public key pinned in genesis.
  ASSERT_OK_AND_ASSIGN(crypto::KeyPair che, LoadLocalnetKey(dir, "CHE-authority"));
  EXPECT_EQ(std::string(crypto::AsStringView(che.public_key())),
            loaded.genesis.parties(0).authority_key());
  ASSERT_OK_AND_ASSIGN(crypto::KeyPair un, LoadLocalnetKey(dir, "UN-IR"));
  EXPECT_EQ(std::string(crypto::AsStringView(un.public_key())),
            loaded.genesis.registries(4).registry_key());
  ASSERT_OK_AND_ASSIGN(crypto::KeyPair secretariat, LoadLocalnetKey(dir, "secretariat"));
  EXPECT_EQ(std::string(crypto::AsStringView(secretariat.public_key())),
            loaded.genesis.secretariat_key());
  ASSERT_OK_AND_ASSIGN(crypto::KeyPair consensus,
                       crypto::LoadKeyPair(dir + "/validator-2/consensus.key"));
  EXPECT_EQ(std::string(crypto::AsStringView(consensus.public_key())),
            loaded.genesis.validators(2).consensus_key());
  struct stat st;
  ASSERT_EQ(::stat(LocalnetKeyPath(dir, "GHA-NR").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_OK(LoadTlsIdentity(dir + "/observer-0/tls.key", dir + "/observer-0/tls.crt"));
  ASSERT_OK_AND_ASSIGN(std::string cn,
                       CertificateCommonName(loaded.genesis.validators(0).tls_certificate_pem()));
  EXPECT_EQ(cn, "validator-0");

  ASSERT_OK_AND_ASSIGN(std::string toml, ReadWholeFile(dir + "/observer-0/config.toml"));
  EXPECT_THAT(toml, HasSubstr("role = \"observer\""));
  EXPECT_THAT(toml, HasSubstr("address = \"127.0.0.1:9203\""));
  EXPECT_THAT(toml, ::testing::Not(HasSubstr("consensus_key")));
}

TEST(LocalnetTest, RefusesToOverwriteWithoutForceAndBadCounts) {
  itmo::testing::TempDir tmp;
  const std::string dir = tmp.File("net");
  ASSERT_OK(CreateLocalnet(Net(dir, 1, 0)).status());
  EXPECT_THAT(CreateLocalnet(Net(dir, 1, 0)), StatusIs(absl::StatusCode::kAlreadyExists));
  ASSERT_OK_AND_ASSIGN(Localnet again, CreateLocalnet(Net(dir, 2, 0, 9100, true)));
  EXPECT_EQ(again.genesis.validators_size(), 2);
  EXPECT_THAT(CreateLocalnet(Net(tmp.File("x"), 0, 0)),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(CreateLocalnet(Net(tmp.File("y"), 1, 0, 65500)),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

// A committed GetTransactionResponse for leaf `index` of a block of `n` transactions.
v1::GetTransactionResponse Committed(const std::vector<std::string>& txs, uint64_t index) {
  std::vector<crypto::Digest> leaves;
  for (const std::string& tx : txs) leaves.push_back(crypto::LeafHash(tx));
  crypto::Digest root = crypto::MerkleRoot(leaves);
  v1::GetTransactionResponse response;
  response.set_state(v1::TRANSACTION_STATE_COMMITTED);
  response.set_transaction(txs[index]);
  response.mutable_block_header()->set_tx_root(std::string(crypto::AsStringView(root)));
  v1::InclusionProof* proof = response.mutable_proof();
  proof->set_leaf_index(index);
  proof->set_tree_size(txs.size());
  proof->set_leaf_hash(std::string(crypto::AsStringView(leaves[index])));
  proof->set_root(std::string(crypto::AsStringView(root)));
  absl::StatusOr<std::vector<crypto::Digest>> path = crypto::InclusionProof(leaves, index);
  ITMO_CHECK(path.ok());
  for (const crypto::Digest& d : path.value()) {
    proof->add_path(std::string(crypto::AsStringView(d)));
  }
  return response;
}

TEST(InclusionProofTest, AcceptsValidProofAndRejectsTampering) {
  std::vector<std::string> txs = {"tx-a", "tx-b", "tx-c", "tx-d", "tx-e"};
  for (uint64_t i = 0; i < txs.size(); ++i) EXPECT_OK(VerifyInclusionProof(Committed(txs, i)));

  v1::GetTransactionResponse other_tx = Committed(txs, 2);
  other_tx.set_transaction("tx-x");
  EXPECT_THAT(VerifyInclusionProof(other_tx), StatusIs(absl::StatusCode::kDataLoss));
  v1::GetTransactionResponse bad_path = Committed(txs, 2);
  std::string node = bad_path.proof().path(0);
  node[0] ^= 1;
  bad_path.mutable_proof()->set_path(0, node);
  EXPECT_THAT(VerifyInclusionProof(bad_path), StatusIs(absl::StatusCode::kDataLoss));
  v1::GetTransactionResponse bad_index = Committed(txs, 2);
  bad_index.mutable_proof()->set_leaf_index(3);
  EXPECT_THAT(VerifyInclusionProof(bad_index), StatusIs(absl::StatusCode::kDataLoss));
  v1::GetTransactionResponse pending;
  pending.set_state(v1::TRANSACTION_STATE_PENDING);
  EXPECT_THAT(VerifyInclusionProof(pending), StatusIs(absl::StatusCode::kFailedPrecondition));
}

}  // namespace
}  // namespace itmo::node::ctl
