// File: tests/node/ledger_service_test.cc
// The Ledger service: handlers called directly (submission error codes, transaction state, the
// Merkle inclusion proof of a committed transaction, reads that never hold up a commit), and
// through a real in-process gRPC server configured as the node's (reason codes in trailing
// metadata, oversize transactions, the authorization and listing reads).
#include "node/ledger_service.h"

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
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

// Signs `body` (chain id and deadline set here) with `key`.
v1::SignedTransaction SignedBy(v1::TransactionBody body, const crypto::KeyPair& key) {
  body.set_chain_id(testing::kChainId);
  body.set_valid_until_ms(testing::kValidUntilMs);
  v1::SignedTransaction tx;
  tx.set_body(body.SerializeAsString());
  crypto::Signature signature = key.Sign(crypto::kContextTransaction, testing::kChainId, tx.body());
  v1::Signature* s = tx.add_signatures();
  s->set_public_key(std::string(crypto::AsStringView(key.public_key())));
  s->set_signature(std::string(crypto::AsStringView(signature)));
  return tx;
}

const crypto::KeyPair& CheAuthority() {
  static const crypto::KeyPair key = testing::Key(50);
  return key;
}

v1::TransactionBody PartyBody(const std::string& client_tx_id) {
  v1::TransactionBody body;
  body.set_submitter_kind(v1::SUBMITTER_PARTY);
  body.set_submitter("CHE");
  body.set_client_tx_id(client_tx_id);
  return body;
}

// RegisterApproach CA0001 (CHE alone) and Authorize A1 (cap 1000, NDC) by CHE.
std::vector<std::string> ApproachAndAuthorizationTxs() {
  v1::TransactionBody approach = PartyBody("approach");
  approach.mutable_register_approach()->mutable_approach()->set_id("CA0001");
  approach.mutable_register_approach()->mutable_approach()->add_parties("CHE");
  v1::TransactionBody authorize = PartyBody("authorize");
  v1::Authorization* a = authorize.mutable_authorize()->mutable_authorization();
  a->set_id("A1");
  a->set_approach_id("CA0001");
  a->set_party("CHE");
  a->set_ndc(true);
  a->set_cap(1000);
  a->set_vintage_first(2021);
  a->set_vintage_last(2025);
  return {SignedBy(approach, CheAuthority()).SerializeAsString(),
          SignedBy(authorize, CheAuthority()).SerializeAsString()};
}

std::string LowerCapTx(uint64_t cap) {
  v1::TransactionBody change = PartyBody("lower-cap");
  change.mutable_change_authorization()->set_authorization_id("A1");
  change.mutable_change_authorization()->set_expected_version(1);
  change.mutable_change_authorization()->set_new_cap(cap);
  return SignedBy(change, CheAuthority()).SerializeAsString();
}

// A transaction whose serialization is exactly `bytes` long (a body of junk).
v1::SignedTransaction TxOfSize(size_t bytes) {
  v1::SignedTransaction tx = testing::OpenAccountTx("big", "acc-big");
  size_t body = bytes;
  tx.set_body(std::string(body, 'x'));
  for (int i = 0; i < 16 && tx.ByteSizeLong() != bytes; ++i) {
    body = tx.ByteSizeLong() > bytes ? body - (tx.ByteSizeLong() - bytes) : body + 1;
    tx.set_body(std::string(body, 'x'));
  }
  return tx;
}

std::string Trailing(const grpc::ClientContext& context, const std::string& key) {
  auto range = context.GetServerTrailingMetadata().equal_range(key);
  if (range.first == range.second) return "";
  return std::string(range.first->second.data(), range.first->second.size());
}

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

// Issue 7 defect 9: a query holds its snapshot, not the ledger mutex; a commit runs to completion
// while the query is in progress, and the query answers at its one height.
TEST_F(LedgerServiceTest, AQueryInProgressDoesNotHoldUpCommits) {
  Commit({testing::OpenAccountTx("c1", "acc-1").SerializeAsString()});
  absl::Notification in_query;
  absl::Notification release;
  service_->TEST_SetReadHook([&](uint64_t) {
    if (in_query.HasBeenNotified()) return;
    in_query.Notify();
    release.WaitForNotification();
  });
  v1::GetHoldingsRequest request;
  request.mutable_account()->set_registry_id(testing::kRegistry);
  request.mutable_account()->set_account_id("acc-1");
  v1::Holdings holdings;
  grpc::Status status;
  std::thread reader([&] { status = service_->GetHoldings(nullptr, &request, &holdings); });
  in_query.WaitForNotification();
  absl::Notification committed;
  std::thread writer([&] {
    Commit({testing::OpenAccountTx("c2", "acc-2").SerializeAsString()});
    committed.Notify();
  });
  // Generous bound: the commit itself takes milliseconds; it only times out if it waits for the
  // query (the old code held the ledger mutex for the whole query).
  EXPECT_TRUE(committed.WaitForNotificationWithTimeout(absl::Seconds(20)))
      << "the commit waited for a query in progress";
  EXPECT_EQ(executor_->executed_head().height, 2u);
  release.Notify();
  reader.join();
  writer.join();
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(holdings.height(), 1u);  // The query's snapshot: one height, not the newer commit.
  service_->TEST_SetReadHook(nullptr);
  ASSERT_TRUE(service_->GetHoldings(nullptr, &request, &holdings).ok());
  EXPECT_EQ(holdings.height(), 2u);
}

// The service behind a real in-process gRPC server configured as the node's (ConfigureApiServer).
class LedgerServiceGrpcTest : public LedgerServiceTest {
 protected:
  void SetUp() override {
    LedgerServiceTest::SetUp();
    grpc::ServerBuilder builder;
    ConfigureApiServer(&builder);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    grpc::ChannelArguments args;
    args.SetMaxSendMessageSize(-1);  // The client sends whatever the test asks.
    args.SetMaxReceiveMessageSize(64 << 20);
    stub_ = v1::Ledger::NewStub(server_->InProcessChannel(args));
  }
  void TearDown() override {
    service_->Shutdown();
    server_->Shutdown();
  }
  // Expects `status` to be `code` with `reason` in the trailing metadata (REASON_OK: none).
  static void ExpectReason(const grpc::Status& status, const grpc::ClientContext& context,
                           grpc::StatusCode code, v1::ReasonCode reason) {
    EXPECT_EQ(status.error_code(), code) << status.error_message();
    if (reason == v1::REASON_OK) {
      EXPECT_EQ(Trailing(context, kReasonCodeKey), "");
      EXPECT_EQ(Trailing(context, kReasonNameKey), "");
      return;
    }
    EXPECT_EQ(Trailing(context, kReasonCodeKey), std::to_string(static_cast<int>(reason)))
        << status.error_message();
    EXPECT_EQ(Trailing(context, kReasonNameKey), v1::ReasonCode_Name(reason));
    EXPECT_THAT(status.error_message(), HasSubstr(v1::ReasonCode_Name(reason)));
  }
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::Ledger::Stub> stub_;
};

TEST_F(LedgerServiceGrpcTest, ErrorsCarryTheReasonCodeInTrailingMetadata) {
  v1::SubmitTransactionResponse submitted;
  {
    v1::SignedTransaction forged = testing::OpenAccountTx("c1", "acc-1");
    (*forged.mutable_signatures(0)->mutable_signature())[3] ^= 1;
    grpc::ClientContext context;
    grpc::Status status = stub_->SubmitTransaction(&context, forged, &submitted);
    ExpectReason(status, context, grpc::StatusCode::INVALID_ARGUMENT, v1::REASON_BAD_SIGNATURE);
  }
  v1::SignedTransaction tx = testing::OpenAccountTx("c1", "acc-1");
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->SubmitTransaction(&context, tx, &submitted).ok());
  }
  {
    grpc::ClientContext context;
    grpc::Status status = stub_->SubmitTransaction(&context, tx, &submitted);
    ExpectReason(status, context, grpc::StatusCode::ALREADY_EXISTS,
                 v1::REASON_DUPLICATE_TRANSACTION);
  }
  {
    v1::GetHoldingsRequest request;
    request.mutable_account()->set_registry_id(testing::kRegistry);
    request.mutable_account()->set_account_id("nobody");
    v1::Holdings holdings;
    grpc::ClientContext context;
    grpc::Status status = stub_->GetHoldings(&context, request, &holdings);
    ExpectReason(status, context, grpc::StatusCode::NOT_FOUND, v1::REASON_UNKNOWN_ACCOUNT);
  }
  {
    v1::GetUnitHistoryRequest request;
    request.set_originating_registry(testing::kRegistry);
    request.set_serial(5);
    v1::GetUnitHistoryResponse response;
    grpc::ClientContext context;
    grpc::Status status = stub_->GetUnitHistory(&context, request, &response);
    ExpectReason(status, context, grpc::StatusCode::NOT_FOUND, v1::REASON_UNITS_NOT_FOUND);
  }
  {
    v1::GetAuthorizationRequest request;
    request.set_authorization_id("nope");
    v1::GetAuthorizationResponse response;
    grpc::ClientContext context;
    grpc::Status status = stub_->GetAuthorization(&context, request, &response);
    ExpectReason(status, context, grpc::StatusCode::NOT_FOUND, v1::REASON_UNKNOWN_AUTHORIZATION);
  }
  {  // A request error without a ledger reason: precise code, no reason metadata.
    v1::ListAccountsRequest request;
    request.set_page_size(ledger::kPageSizeMax + 1);
    v1::ListAccountsResponse response;
    grpc::ClientContext context;
    grpc::Status status = stub_->ListAccounts(&context, request, &response);
    ExpectReason(status, context, grpc::StatusCode::INVALID_ARGUMENT, v1::REASON_OK);
  }
  {  // The stream lists each rejection with its reason code.
    grpc::ClientContext context;
    v1::SubmitTransactionsResponse response;
    auto writer = stub_->SubmitTransactions(&context, &response);
    v1::SignedTransaction forged = testing::OpenAccountTx("c2", "acc-2");
    (*forged.mutable_signatures(0)->mutable_signature())[3] ^= 1;
    ASSERT_TRUE(writer->Write(forged));
    ASSERT_TRUE(writer->Write(tx));
    ASSERT_TRUE(writer->WritesDone());
    ASSERT_TRUE(writer->Finish().ok());
    ASSERT_EQ(response.rejections_size(), 2);
    EXPECT_EQ(response.rejections(0).reason_code(), v1::REASON_BAD_SIGNATURE);
    EXPECT_EQ(response.rejections(0).reason_name(), "REASON_BAD_SIGNATURE");
    EXPECT_EQ(response.rejections(1).reason_code(), v1::REASON_DUPLICATE_TRANSACTION);
  }
}

// Issue 8 defect 9: INVALID_ARGUMENT with REASON_TRANSACTION_TOO_LARGE at every size the server
// receives, not a transport RESOURCE_EXHAUSTED; only above kApiMessageBytesMax does the transport
// refuse (documented in docs/integrators.md).
TEST_F(LedgerServiceGrpcTest, OversizeTransactionIsInvalidArgumentWithItsReasonAtEverySize) {
  const std::vector<size_t> sizes = {kTxBytesMax + 1, kTxBytesMax + 4097, 2 * kTxBytesMax,
                                     ledger::kTransactionBytesMax + 1,
                                     static_cast<size_t>(kApiMessageBytesMax) - 64};
  for (size_t size : sizes) {
    v1::SignedTransaction tx = TxOfSize(size);
    ASSERT_EQ(tx.ByteSizeLong(), size);
    v1::SubmitTransactionResponse response;
    grpc::ClientContext context;
    grpc::Status status = stub_->SubmitTransaction(&context, tx, &response);
    SCOPED_TRACE(size);
    ExpectReason(status, context, grpc::StatusCode::INVALID_ARGUMENT,
                 v1::REASON_TRANSACTION_TOO_LARGE);
  }
  {  // In a stream too.
    grpc::ClientContext context;
    v1::SubmitTransactionsResponse response;
    auto writer = stub_->SubmitTransactions(&context, &response);
    ASSERT_TRUE(writer->Write(TxOfSize(2 * kTxBytesMax)));
    ASSERT_TRUE(writer->WritesDone());
    ASSERT_TRUE(writer->Finish().ok());
    ASSERT_EQ(response.rejections_size(), 1);
    EXPECT_EQ(response.rejections(0).code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(response.rejections(0).reason_code(), v1::REASON_TRANSACTION_TOO_LARGE);
  }
  {  // Above the server's receive limit: the transport's error, no reason code.
    v1::SubmitTransactionResponse response;
    grpc::ClientContext context;
    grpc::Status status = stub_->SubmitTransaction(
        &context, TxOfSize(static_cast<size_t>(kApiMessageBytesMax) + 1024), &response);
    ExpectReason(status, context, grpc::StatusCode::RESOURCE_EXHAUSTED, v1::REASON_OK);
  }
}

TEST_F(LedgerServiceGrpcTest, GetAuthorizationReturnsTermsVersionsAndCapUsed) {
  Commit(ApproachAndAuthorizationTxs());
  Commit({LowerCapTx(600)});
  v1::GetAuthorizationRequest request;
  request.set_authorization_id("A1");
  v1::GetAuthorizationResponse response;
  {
    grpc::ClientContext context;
    grpc::Status status = stub_->GetAuthorization(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  EXPECT_EQ(response.height(), 2u);
  EXPECT_EQ(response.current_version(), 2u);
  EXPECT_EQ(response.status(), v1::AUTHORIZATION_ACTIVE);
  EXPECT_EQ(response.cap(), 600u);
  EXPECT_EQ(response.cap_used(), 0u);
  EXPECT_EQ(response.cap_remaining(), 600u);
  EXPECT_EQ(response.authorization().cap(), 600u);
  ASSERT_EQ(response.versions_size(), 2);
  EXPECT_EQ(response.versions(0).terms().cap(), 1000u);
  EXPECT_EQ(response.versions(0).height(), 1u);
  EXPECT_EQ(response.versions(1).terms().cap(), 600u);
  EXPECT_EQ(response.versions(1).height(), 2u);
  EXPECT_EQ(response.versions(1).submitter(), "CHE");
  ASSERT_EQ(response.versions(1).changes_size(), 1);
  EXPECT_EQ(response.versions(1).changes(0), v1::AUTHORIZATION_CHANGE_CAP_LOWERED);
  request.set_version(1);
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->GetAuthorization(&context, request, &response).ok());
    ASSERT_EQ(response.versions_size(), 1);
    EXPECT_EQ(response.versions(0).version(), 1u);
    EXPECT_EQ(response.versions(0).terms().cap(), 1000u);
    EXPECT_EQ(response.current_version(), 2u);
  }
  request.set_version(3);
  {
    grpc::ClientContext context;
    grpc::Status status = stub_->GetAuthorization(&context, request, &response);
    ExpectReason(status, context, grpc::StatusCode::NOT_FOUND,
                 v1::REASON_AUTHORIZATION_VERSION_MISMATCH);
  }
}

TEST_F(LedgerServiceGrpcTest, ListsAccountsApproachesAndPartiesByPage) {
  std::vector<std::string> txs;
  for (int i = 1; i <= 5; ++i) {
    txs.push_back(testing::OpenAccountTx("c" + std::to_string(i), "acc-" + std::to_string(i))
                      .SerializeAsString());
  }
  Commit(txs);
  Commit(ApproachAndAuthorizationTxs());
  std::vector<std::string> ids;
  v1::ListAccountsRequest request;
  request.set_registry_id(testing::kRegistry);
  request.set_holder_party("CHE");
  request.set_page_size(2);
  int pages = 0;
  do {
    v1::ListAccountsResponse response;
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->ListAccounts(&context, request, &response).ok());
    EXPECT_LE(response.accounts_size(), 2);
    EXPECT_EQ(response.height(), 2u);
    for (const v1::Account& a : response.accounts()) ids.push_back(a.ref().account_id());
    request.set_page_token(response.next_page_token());
    ++pages;
  } while (!request.page_token().empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  EXPECT_THAT(ids, ::testing::ElementsAre("acc-1", "acc-2", "acc-3", "acc-4", "acc-5"));
  request.Clear();
  request.set_holder_party("GHA");
  {
    v1::ListAccountsResponse response;
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->ListAccounts(&context, request, &response).ok());
    EXPECT_EQ(response.accounts_size(), 0);
  }
  request.Clear();
  request.set_page_token("not-a-token");
  {
    v1::ListAccountsResponse response;
    grpc::ClientContext context;
    EXPECT_EQ(stub_->ListAccounts(&context, request, &response).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
  }
  {
    v1::ListApproachesResponse response;
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->ListApproaches(&context, v1::ListApproachesRequest(), &response).ok());
    ASSERT_EQ(response.approaches_size(), 1);
    EXPECT_EQ(response.approaches(0).id(), "CA0001");
    EXPECT_TRUE(response.next_page_token().empty());
  }
  {
    v1::ListPartiesResponse response;
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->ListParties(&context, v1::ListPartiesRequest(), &response).ok());
    ASSERT_EQ(response.parties_size(), 1);
    EXPECT_EQ(response.parties(0).code(), "CHE");
    EXPECT_EQ(response.parties(0).name(), "Switzerland");
  }
}

}  // namespace
}  // namespace itmo::node
