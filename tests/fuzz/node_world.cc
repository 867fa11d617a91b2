// File: tests/fuzz/node_world.cc
#include "tests/fuzz/node_world.h"

#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "consensus/canonical.h"
#include "crypto/digest.h"
#include "itmo/v1/ledger_service.pb.h"
#include "ledger/state_machine.h"
#include "tests/fuzz/ledger_world.h"

namespace itmo::fuzz {
namespace {

// The mempool's clock: five minutes before the deadline SignBody gives every transaction, so the
// seeds are admissible (node::kTxLifetimeMsMax is ten minutes).
constexpr int64_t kPoolNowMs = 1'798'761'600'000 - 5 * 60 * 1000;
constexpr uint64_t kPoolTxsMax = 64;

node::TxVerifyFn VerifyFn(const crypto::Verifier* verifier) {
  return [verifier](const v1::SignedTransaction& tx) -> absl::StatusOr<node::VerifiedTx> {
    absl::StatusOr<v1::TransactionBody> body =
        ledger::VerifyTransaction(tx, kLedgerChainId, *verifier);
    if (!body.ok()) return body.status();
    return node::VerifiedTx{std::string(crypto::AsStringView(ledger::TransactionId(tx))),
                            body->submitter(), body->client_tx_id(),
                            static_cast<int32_t>(body->submitter_kind()), body->valid_until_ms()};
  };
}

// The admission checks of node.cc (MakeMempool), on a snapshot view of the committed ledger.
node::TxAdmitFn AdmitFn(NodeUnderTest* node) {
  return [node](const v1::SignedTransaction& tx, const node::VerifiedTx& verified) -> absl::Status {
    absl::StatusOr<std::unique_ptr<ledger::LedgerView>> view = node->executor->View();
    if (!view.ok()) return view.status();
    absl::StatusOr<crypto::PublicKey> key = (*view)->SubmitterKey(
        static_cast<v1::SubmitterKind>(verified.submitter_kind), verified.submitter);
    if (!key.ok()) return absl::PermissionDeniedError("REASON_UNKNOWN_SUBMITTER");
    bool signed_by_submitter = false;
    for (const v1::Signature& signature : tx.signatures()) {
      if (signature.public_key() == crypto::AsStringView(*key)) signed_by_submitter = true;
    }
    if (!signed_by_submitter) return absl::PermissionDeniedError("REASON_MISSING_SIGNATURE");
    if ((*view)->IsClientTxIdUsed(verified.submitter, verified.client_tx_id)) {
      return absl::AlreadyExistsError("REASON_DUPLICATE_TRANSACTION");
    }
    return absl::OkStatus();
  };
}

void CommitPrelude(NodeUnderTest* node) {
  for (const v1::SignedTransaction& tx : PreludeTransactions()) {
    const consensus::ExecutedHead head = node->executor->executed_head();
    v1::CommittedBlock committed;
    v1::Block* block = committed.mutable_block();
    block->mutable_header()->set_height(head.height + 1);
    block->mutable_header()->set_round(head.height + 1);
    block->mutable_header()->set_timestamp_ms(kLedgerTimeMs);
    block->mutable_header()->set_executed_height(head.height);
    block->mutable_header()->set_executed_state_root(
        std::string(crypto::AsStringView(head.state_root)));
    block->add_txs(tx.SerializeAsString());
    block->mutable_header()->set_tx_root(
        std::string(crypto::AsStringView(consensus::TxRoot(block->txs()))));
    const absl::Status status = node->executor->ExecuteCommitted(committed);
    if (!status.ok()) std::fprintf(stderr, "prelude: %s\n", status.ToString().c_str());
    ITMO_CHECK(status.ok());
  }
  ITMO_CHECK(node->executor->executed_head().height == PreludeTransactions().size());
}

std::string Seed(RequestKind kind, const google::protobuf::Message& request) {
  return std::string(1, static_cast<char>(kind)) + request.SerializeAsString();
}

}  // namespace

std::unique_ptr<NodeUnderTest> OpenNodeUnderTest() {
  auto node = std::make_unique<NodeUnderTest>();
  storage::StoreOptions options;
  options.column_families = node::BlockStore::ColumnFamilies();
  for (const std::string& f : ledger::StateMachine::ColumnFamilies()) {
    options.column_families.push_back(f);
  }
  options.in_memory = true;
  options.block_cache_bytes = 1 << 20;
  absl::StatusOr<std::unique_ptr<storage::Store>> store =
      storage::Store::Open("fuzz-node", options);
  ITMO_CHECK(store.ok());
  node->store = *std::move(store);
  absl::StatusOr<std::unique_ptr<ledger::StateMachine>> ledger =
      ledger::StateMachine::Open(node->store.get(), LedgerGenesis(), &node->verifier);
  ITMO_CHECK(ledger.ok());
  node->ledger = *std::move(ledger);
  absl::StatusOr<std::unique_ptr<node::BlockStore>> blocks =
      node::BlockStore::Open(node->store.get());
  ITMO_CHECK(blocks.ok());
  node->blocks = *std::move(blocks);
  node->feed = std::make_unique<node::CommitFeed>();
  ResetPool(node.get());
  CommitPrelude(node.get());
  ResetPool(node.get());
  return node;
}

void ResetPool(NodeUnderTest* node) {
  ITMO_CHECK(node != nullptr);
  node->service.reset();
  node->executor.reset();
  node::MempoolOptions options;
  options.txs_max = kPoolTxsMax;
  options.bytes_max = 1 << 22;
  options.txs_per_submitter_max = kPoolTxsMax / 2;
  options.tx_bytes_max = node::kTxBytesMax;
  options.now_ms = [] { return kPoolNowMs; };
  node->mempool =
      std::make_unique<node::Mempool>(options, VerifyFn(&node->verifier), AdmitFn(node));
  absl::StatusOr<std::unique_ptr<node::Executor>> executor =
      node::Executor::Create({100, 1 << 20}, node->ledger.get(), node->blocks.get(),
                             node->mempool.get(), node->feed.get());
  ITMO_CHECK(executor.ok());
  node->executor = *std::move(executor);
  node->service = std::make_unique<node::LedgerService>(
      node::LedgerServiceOptions{"validator-0", "validator", kLedgerChainId}, node->mempool.get(),
      node->blocks.get(), node->executor.get(), node->feed.get(), [] {
        return node::NodeStatus{7, 0, {"validator-1"}};
      });
}

std::vector<std::pair<std::string, std::string>> RequestSeeds() {
  std::vector<std::pair<std::string, std::string>> seeds;
  int index = 0;
  for (const v1::SignedTransaction& tx : SeedTransactions()) {
    seeds.emplace_back(absl::StrCat("submit-", index++), Seed(RequestKind::kSubmitTransaction, tx));
  }
  const std::vector<v1::SignedTransaction> prelude = PreludeTransactions();
  v1::GetTransactionRequest get;
  get.set_tx_id(std::string(crypto::AsStringView(ledger::TransactionId(prelude.back()))));
  seeds.emplace_back("get-tx-id", Seed(RequestKind::kGetTransaction, get));
  get.mutable_client()->set_submitter("CHE-NR");
  get.mutable_client()->set_client_tx_id("p-1");
  seeds.emplace_back("get-tx-client", Seed(RequestKind::kGetTransaction, get));
  v1::GetHoldingsRequest holdings;
  holdings.mutable_account()->set_registry_id("CHE-NR");
  holdings.mutable_account()->set_account_id("che-1");
  seeds.emplace_back("holdings", Seed(RequestKind::kGetHoldings, holdings));
  v1::GetUnitHistoryRequest history;
  history.set_originating_registry("CHE-NR");
  history.set_serial(2005);
  seeds.emplace_back("unit-history", Seed(RequestKind::kGetUnitHistory, history));
  v1::GetAdjustmentsRequest adjustments;
  adjustments.set_party("CHE");
  adjustments.set_year_first(2021);
  adjustments.set_year_last(2030);
  seeds.emplace_back("adjustments", Seed(RequestKind::kGetAdjustments, adjustments));
  seeds.emplace_back("status", Seed(RequestKind::kGetStatus, v1::GetStatusRequest()));
  v1::GetAuthorizationRequest authorization;
  authorization.set_authorization_id("AUTH-1");
  seeds.emplace_back("authorization", Seed(RequestKind::kGetAuthorization, authorization));
  v1::ListAccountsRequest accounts;
  accounts.set_page_size(2);
  seeds.emplace_back("accounts", Seed(RequestKind::kListAccounts, accounts));
  accounts.set_registry_id("UN-IR");
  accounts.set_holder_party("CHE");
  seeds.emplace_back("accounts-filtered", Seed(RequestKind::kListAccounts, accounts));
  v1::ListApproachesRequest approaches;
  approaches.set_page_size(1);
  seeds.emplace_back("approaches", Seed(RequestKind::kListApproaches, approaches));
  v1::ListPartiesRequest parties;
  parties.set_page_size(2);
  seeds.emplace_back("parties", Seed(RequestKind::kListParties, parties));
  // A proposal at the next height with the seed transactions.
  v1::Block block;
  block.mutable_header()->set_height(prelude.size() + 1);
  block.mutable_header()->set_round(prelude.size() + 1);
  block.mutable_header()->set_timestamp_ms(kLedgerTimeMs);
  for (const v1::SignedTransaction& tx : SeedTransactions()) block.add_txs(tx.SerializeAsString());
  block.mutable_header()->set_tx_root(
      std::string(crypto::AsStringView(consensus::TxRoot(block.txs()))));
  block.mutable_header()->set_payload_digest(
      std::string(crypto::AsStringView(consensus::PayloadDigest(block.txs()))));
  seeds.emplace_back("proposal", Seed(RequestKind::kProposal, block));
  return seeds;
}

}  // namespace itmo::fuzz
