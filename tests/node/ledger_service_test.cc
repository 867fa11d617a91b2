// File: tests/node/ledger_service_test.cc
// The Ledger service handlers called directly (no network): submission error codes, transaction
// state, and the Merkle inclusion proof of a committed transaction.
#include "node/ledger_service.h"

#include <memory>
#include <string>
#include <vector>

#include "consensus/canonical.h"
#include "crypto/merkle.h"
#include "crypto/verifier.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/node/node_test_util.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace itmo::node {
namespace {

using ::testing::HasSubstr;

class LedgerServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    storage::StoreOptions options;
    options.column_families = BlockStore::ColumnFamilies();
    for (const std::string& f : ledger::StateMachine::ColumnFamilies()) {
      options.column_families.push_back(f);
    }
    store_ = storage::Store::Open(dir_.File("db"), options).value();
    ledger_ = ledger::StateMachine::Open(store_.get(), genesis_, &verifier_).value();
    blocks_ = BlockStore::Open(store_.get()).value();
    feed_ = std::make_unique<CommitFeed>();
    const crypto::Verifier* v = &verifier_;
    MempoolOptions mempool_options{2, 1 << 24, 1000, 1 << 16, kTxLifetimeMsMax, nullptr};
    mempool_options.now_ms = testing::FixedNowMs;
    mempool_ = std::make_unique<Mempool>(
        mempool_options,
        [v](const v1::SignedTransaction& tx) -> absl::StatusOr<VerifiedTx> {
          absl::StatusOr<v1::TransactionBody> body =
              ledger::VerifyTransaction(tx, testing::kChainId, *v);
          if (!body.ok()) return body.status();
          return VerifiedTx{std::string(crypto::AsStringView(ledger::TransactionId(tx))),
                            body->submitter(), body->client_tx_id(), body->submitter_kind(),
                            body->valid_until_ms()};
        },
        nullptr);
    executor_ =
        Executor::Create({100, 1 << 20}, ledger_.get(), blocks_.get(), mempool_.get(), feed_.get())
            .value();
    service_ = std::make_unique<LedgerService>(
        LedgerServiceOptions{"validator-0", "validator", testing::kChainId}, mempool_.get(),
        blocks_.get(), executor_.get(), feed_.get(), []() {
          return NodeStatus{7, 0, {"v1"}};
        });
  }

  // Commits `txs` as the next block.
  void Commit(const std::vector<std::string>& txs) {
    consensus::ExecutedHead head = executor_->executed_head();
    v1::CommittedBlock committed;
    v1::Block* block = committed.mutable_block();
    block->mutable_header()->set_height(head.height + 1);
    block->mutable_header()->set_round(head.height + 1);
    block->mutable_header()->set_timestamp_ms(1'767'225'600'000);
    block->mutable_header()->set_executed_height(head.height);
    block->mutable_header()->set_executed_state_root(
        std::string(crypto::AsStringView(head.state_root)));
    for (const std::string& tx : txs) block->add_txs(tx);
    block->mutable_header()->set_tx_root(
        std::string(crypto::AsStringView(consensus::TxRoot(block->txs()))));
    ASSERT_OK(executor_->ExecuteCommitted(committed));
  }

  v1::Genesis genesis_ = testing::TestGenesis(1);
  itmo::testing::TempDir dir_;
  crypto::Ed25519Verifier verifier_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<ledger::StateMachine> ledger_;
  std::unique_ptr<BlockStore> blocks_;
  std::unique_ptr<CommitFeed> feed_;
  std::unique_ptr<Mempool> mempool_;
  std::unique_ptr<Executor> executor_;
  std::unique_ptr<LedgerService> service_;
};

TEST_F(LedgerServiceTest, SubmitMapsErrorsToPreciseCodes) {
  v1::SignedTransaction tx = testing::OpenAccountTx("c1", "acc-1");
  v1::SubmitTransactionResponse response;
  grpc::Status status = service_->SubmitTransaction(nullptr, &tx, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.tx_id().size(), 32u);
  status = service_->SubmitTransaction(nullptr, &tx, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  v1::SignedTransaction forged = testing::OpenAccountTx("c2", "acc-2");
  (*forged.mutable_signatures(0)->mutable_signature())[3] ^= 1;
  status = service_->SubmitTransaction(nullptr, &forged, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("REASON_BAD_SIGNATURE"));
  v1::SignedTransaction second = testing::OpenAccountTx("c3", "acc-3");
  ASSERT_TRUE(service_->SubmitTransaction(nullptr, &second, &response).ok());
  v1::SignedTransaction third = testing::OpenAccountTx("c4", "acc-4");
  status = service_->SubmitTransaction(nullptr, &third, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);  // Pool of 2 is full.
  EXPECT_EQ(mempool_->size(), 2u);
}

TEST_F(LedgerServiceTest, GetTransactionReportsStatesAndAVerifiableProof) {
  std::vector<std::string> txs;
  for (int i = 0; i < 5; ++i) {
    txs.push_back(testing::OpenAccountTx("c" + std::to_string(i), "acc-" + std::to_string(i))
                      .SerializeAsString());
  }
  Commit({txs[0], txs[1]});
  Commit({txs[2], txs[3], txs[4]});
  v1::SignedTransaction pending = testing::OpenAccountTx("p1", "acc-p");
  v1::SubmitTransactionResponse submitted;
  ASSERT_TRUE(service_->SubmitTransaction(nullptr, &pending, &submitted).ok());

  v1::GetTransactionRequest request;
  request.mutable_client()->set_submitter(testing::kRegistry);
  request.mutable_client()->set_client_tx_id("c3");
  v1::GetTransactionResponse response;
  ASSERT_TRUE(service_->GetTransaction(nullptr, &request, &response).ok());
  EXPECT_EQ(response.state(), v1::TRANSACTION_STATE_COMMITTED);
  EXPECT_EQ(response.height(), 2u);
  EXPECT_EQ(response.index(), 1u);
  EXPECT_EQ(response.outcome().status(), v1::TX_ACCEPTED);
  EXPECT_EQ(response.transaction(), txs[3]);
  // The proof verifies against the header's tx_root, and fails for another leaf.
  const v1::InclusionProof& proof = response.proof();
  std::vector<crypto::Digest> path;
  for (const std::string& node : proof.path())
    path.push_back(crypto::DigestFromBytes(node).value());
  crypto::Digest root = crypto::DigestFromBytes(response.block_header().tx_root()).value();
  EXPECT_EQ(proof.tree_size(), 3u);
  EXPECT_TRUE(crypto::VerifyInclusion(crypto::LeafHash(response.transaction()), proof.leaf_index(),
                                      proof.tree_size(), path, root));
  EXPECT_FALSE(crypto::VerifyInclusion(crypto::LeafHash(txs[2]), proof.leaf_index(),
                                       proof.tree_size(), path, root));
  EXPECT_EQ(response.state_root().size(), 32u);

  v1::GetTransactionRequest by_id;
  by_id.set_tx_id(submitted.tx_id());
  v1::GetTransactionResponse pending_response;
  ASSERT_TRUE(service_->GetTransaction(nullptr, &by_id, &pending_response).ok());
  EXPECT_EQ(pending_response.state(), v1::TRANSACTION_STATE_PENDING);
  by_id.set_tx_id(std::string(32, 'u'));
  v1::GetTransactionResponse unknown;
  ASSERT_TRUE(service_->GetTransaction(nullptr, &by_id, &unknown).ok());
  EXPECT_EQ(unknown.state(), v1::TRANSACTION_STATE_UNKNOWN);
  by_id.set_tx_id("short");
  EXPECT_EQ(service_->GetTransaction(nullptr, &by_id, &unknown).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(LedgerServiceTest, StatusAndQueriesAnswerFromCommittedState) {
  Commit({testing::OpenAccountTx("c1", "acc-1").SerializeAsString()});
  v1::GetStatusRequest status_request;
  v1::GetStatusResponse status;
  ASSERT_TRUE(service_->GetStatus(nullptr, &status_request, &status).ok());
  EXPECT_EQ(status.height(), 1u);
  EXPECT_EQ(status.round(), 7u);
  EXPECT_EQ(status.peers_connected(), 1u);
  EXPECT_EQ(status.chain_id(), testing::kChainId);
  EXPECT_EQ(status.state_root(), crypto::ToHex(executor_->executed_head().state_root));
  v1::GetHoldingsRequest holdings_request;
  holdings_request.mutable_account()->set_registry_id(testing::kRegistry);
  holdings_request.mutable_account()->set_account_id("acc-1");
  v1::Holdings holdings;
  ASSERT_TRUE(service_->GetHoldings(nullptr, &holdings_request, &holdings).ok());
  EXPECT_EQ(holdings.held_units(), "0");
  holdings_request.mutable_account()->set_account_id("nobody");
  EXPECT_EQ(service_->GetHoldings(nullptr, &holdings_request, &holdings).error_code(),
            grpc::StatusCode::NOT_FOUND);
  v1::GetAdjustmentsRequest adjustments_request;
  adjustments_request.set_party("CHE");
  adjustments_request.set_year_first(2030);
  adjustments_request.set_year_last(2021);
  v1::GetAdjustmentsResponse adjustments;
  EXPECT_EQ(service_->GetAdjustments(nullptr, &adjustments_request, &adjustments).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

}  // namespace
}  // namespace itmo::node
