// File: tests/node/mempool_test.cc
#include "node/mempool.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "crypto/digest.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/node/node_test_util.h"
#include "tests/testing/status_matchers.h"

namespace itmo::node {
namespace {

using ::itmo::testing::IsOk;
using ::itmo::testing::StatusIs;
using ::testing::HasSubstr;

// A verify function that parses the body and counts calls; a body whose client_tx_id starts with
// "bad" fails like a bad signature.
struct FakeVerifier {
  int calls = 0;
  TxVerifyFn Fn() {
    return [this](const v1::SignedTransaction& tx) -> absl::StatusOr<VerifiedTx> {
      ++calls;
      v1::TransactionBody body;
      if (!body.ParseFromString(tx.body())) return absl::InvalidArgumentError("malformed body");
      if (body.client_tx_id().rfind("bad", 0) == 0) {
        return absl::InvalidArgumentError("REASON_BAD_SIGNATURE: signature 0 does not verify");
      }
      return VerifiedTx{std::string(crypto::AsStringView(crypto::Blake2b256(tx.body()))),
                        body.submitter(), body.client_tx_id(), body.submitter_kind(),
                        body.valid_until_ms()};
    };
  }
};

std::string Tx(const std::string& submitter, const std::string& client_tx_id, size_t padding = 0,
               uint64_t valid_until_ms = testing::kValidUntilMs) {
  v1::TransactionBody body;
  body.set_chain_id("c");
  body.set_submitter(submitter);
  body.set_client_tx_id(client_tx_id);
  body.set_valid_until_ms(valid_until_ms);
  body.mutable_open_account()->mutable_account()->set_holder_entity(std::string(padding, 'x'));
  v1::SignedTransaction tx;
  tx.set_body(body.SerializeAsString());
  tx.add_signatures()->set_signature("sig");
  return tx.SerializeAsString();
}

MempoolOptions Options() {
  MempoolOptions options;
  options.txs_max = 4;
  options.bytes_max = 1 << 20;
  options.txs_per_submitter_max = 3;
  options.tx_bytes_max = 4096;
  options.now_ms = testing::FixedNowMs;
  return options;
}

TEST(MempoolTest, AddsAndDedupesByIdAndClientId) {
  FakeVerifier verifier;
  Mempool pool(Options(), verifier.Fn(), nullptr);
  ASSERT_OK_AND_ASSIGN(std::string id, pool.Add(Tx("A", "1")));
  EXPECT_EQ(id.size(), 32u);
  EXPECT_TRUE(pool.Contains(id));
  EXPECT_EQ(pool.FindByClientId("A", "1"), id);
  EXPECT_THAT(pool.Add(Tx("A", "1")), StatusIs(absl::StatusCode::kAlreadyExists));
  // Same (submitter, client_tx_id), different body: still a duplicate (R12).
  absl::StatusOr<std::string> again = pool.Add(Tx("A", "1", 10));
  EXPECT_THAT(again, StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_THAT(std::string(again.status().message()), HasSubstr("client_tx_id \"1\""));
  EXPECT_THAT(pool.Add(Tx("B", "1")), IsOk());  // Other submitter.
  EXPECT_EQ(pool.size(), 2u);
}

TEST(MempoolTest, RejectsMalformedBadAndTooLargeWithoutChange) {
  FakeVerifier verifier;
  Mempool pool(Options(), verifier.Fn(), nullptr);
  EXPECT_THAT(pool.Add("\xff\xff\xff"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(pool.Add(Tx("A", "bad-1")), StatusIs(absl::StatusCode::kInvalidArgument));
  absl::StatusOr<std::string> large = pool.Add(Tx("A", "2", 5000));
  EXPECT_THAT(large, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(std::string(large.status().message()), HasSubstr("too large"));
  EXPECT_EQ(pool.size(), 0u);
  EXPECT_EQ(pool.bytes(), 0u);
  EXPECT_TRUE(pool.TakeGossip(10).empty());
}

TEST(MempoolTest, EnforcesCountBytesAndPerSubmitterLimits) {
  FakeVerifier verifier;
  Mempool pool(Options(), verifier.Fn(), nullptr);
  for (int i = 0; i < 3; ++i) ASSERT_OK(pool.Add(Tx("A", absl::StrCat(i))));
  absl::StatusOr<std::string> share = pool.Add(Tx("A", "3"));
  EXPECT_THAT(share, StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_THAT(std::string(share.status().message()), HasSubstr("submitter \"A\""));
  ASSERT_OK(pool.Add(Tx("B", "0")));
  absl::StatusOr<std::string> full = pool.Add(Tx("C", "0"));
  EXPECT_THAT(full, StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_THAT(std::string(full.status().message()), HasSubstr("mempool full"));
  EXPECT_EQ(pool.size(), 4u);

  MempoolOptions small = Options();
  small.bytes_max = 2 * Tx("A", "0", 100).size();
  Mempool bytes_pool(small, verifier.Fn(), nullptr);
  ASSERT_OK(bytes_pool.Add(Tx("A", "0", 100)));
  ASSERT_OK(bytes_pool.Add(Tx("B", "0", 100)));
  EXPECT_THAT(bytes_pool.Add(Tx("C", "0", 100)), StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_EQ(bytes_pool.bytes(), small.bytes_max);
}

TEST(MempoolTest, AdmitFunctionRejectsCommittedDuplicates) {
  FakeVerifier verifier;
  TxAdmitFn admit = [](const v1::SignedTransaction&, const VerifiedTx& v) -> absl::Status {
    if (v.client_tx_id == "committed") return absl::AlreadyExistsError("already committed");
    if (v.submitter == "stranger") return absl::PermissionDeniedError("unknown submitter");
    return absl::OkStatus();
  };
  Mempool pool(Options(), verifier.Fn(), admit);
  EXPECT_THAT(pool.Add(Tx("A", "committed")), StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_THAT(pool.Add(Tx("stranger", "1")), StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(pool.Add(Tx("A", "1")), IsOk());
  EXPECT_EQ(pool.size(), 1u);
}

TEST(MempoolTest, BatchMarksInFlightUntilCommitOrRelease) {
  FakeVerifier verifier;
  MempoolOptions options = Options();
  options.txs_max = 10;
  Mempool pool(options, verifier.Fn(), nullptr);
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(pool.Add(Tx(absl::StrCat("S", i), "1")).value());
  std::vector<std::string> first = pool.Batch(/*height=*/5, /*txs_max=*/2, 1 << 20);
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[0], Tx("S0", "1"));  // Arrival order.
  std::vector<std::string> second = pool.Batch(6, 10, 1 << 20);
  ASSERT_EQ(second.size(), 1u);  // The first two are in flight.
  EXPECT_EQ(second[0], Tx("S2", "1"));
  EXPECT_TRUE(pool.Batch(7, 10, 1 << 20).empty());
  // Height 5 commits with only the first transaction: the second is released, the third (in
  // flight at 6) is not.
  pool.RemoveCommitted(5, {ids[0]});
  EXPECT_FALSE(pool.Contains(ids[0]));
  std::vector<std::string> third = pool.Batch(7, 10, 1 << 20);
  ASSERT_EQ(third.size(), 1u);
  EXPECT_EQ(third[0], Tx("S1", "1"));
  EXPECT_EQ(pool.size(), 2u);
}

TEST(MempoolTest, TransactionSeenInAProposalBeforeItArrivesIsNotProposedAgain) {
  // Gossip can be slower than the proposal that carries the transaction: when it then arrives, it
  // must not be batched again while that proposal is uncommitted (it would commit twice, the second
  // time rejected as a duplicate).
  FakeVerifier verifier;
  MempoolOptions options = Options();
  options.txs_max = 10;
  Mempool pool(options, verifier.Fn(), nullptr);
  const std::string tx = Tx("S0", "1");
  v1::SignedTransaction parsed;
  ASSERT_TRUE(parsed.ParseFromString(tx));
  const std::string id(crypto::AsStringView(crypto::Blake2b256(parsed.body())));
  pool.MarkInFlight(/*height=*/7, {id});  // Validated a proposal at height 7 holding it.
  ASSERT_EQ(pool.Add(tx).value(), id);
  EXPECT_TRUE(pool.Batch(8, 10, 1 << 20).empty());
  // Height 7 commits elsewhere without it (another fork won): it becomes eligible again.
  pool.RemoveCommitted(7, {});
  std::vector<std::string> batch = pool.Batch(9, 10, 1 << 20);
  ASSERT_EQ(batch.size(), 1u);
  EXPECT_EQ(batch[0], tx);
}

TEST(MempoolTest, BatchRespectsBytes) {
  FakeVerifier verifier;
  MempoolOptions options = Options();
  options.txs_per_submitter_max = 10;
  Mempool pool(options, verifier.Fn(), nullptr);
  for (int i = 0; i < 3; ++i) ASSERT_OK(pool.Add(Tx("A", absl::StrCat(i), 100)));
  const uint64_t one = Tx("A", "0", 100).size();
  EXPECT_EQ(pool.Batch(1, 10, 2 * one + 1).size(), 2u);
}

TEST(MempoolTest, VerifiesOnceAndCachesForProposals) {
  FakeVerifier verifier;
  Mempool pool(Options(), verifier.Fn(), nullptr);
  const std::string tx = Tx("A", "1");
  EXPECT_FALSE(pool.IsVerified(tx));
  ASSERT_OK(pool.Add(tx));
  EXPECT_EQ(verifier.calls, 1);
  EXPECT_TRUE(pool.IsVerified(tx));
  // Same body, other signature bytes: not the verified transaction.
  v1::SignedTransaction other;
  ASSERT_TRUE(other.ParseFromString(tx));
  other.mutable_signatures(0)->set_signature("forged");
  EXPECT_FALSE(pool.IsVerified(other.SerializeAsString()));
  const std::string foreign = Tx("B", "1");
  ASSERT_OK(pool.VerifyForProposal(foreign));
  EXPECT_TRUE(pool.IsVerified(foreign));
  EXPECT_FALSE(pool.Contains(crypto::ToHex(std::string_view("x"))));
  EXPECT_EQ(pool.size(), 1u);  // VerifyForProposal does not add.
  EXPECT_THAT(pool.VerifyForProposal(Tx("B", "bad")), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(MempoolTest, GossipQueueHoldsOnlyLocalSubmissions) {
  FakeVerifier verifier;
  Mempool pool(Options(), verifier.Fn(), nullptr);
  ASSERT_OK(pool.Add(Tx("A", "1")));
  ASSERT_OK(pool.Add(Tx("B", "1"), /*gossip=*/false));
  std::vector<std::string> gossip = pool.TakeGossip(10);
  ASSERT_EQ(gossip.size(), 1u);
  EXPECT_EQ(gossip[0], Tx("A", "1"));
  EXPECT_TRUE(pool.TakeGossip(10).empty());
}

TEST(MempoolTest, AdmissionRequiresADeadlineWithinTheMaximumLifetime) {
  FakeVerifier verifier;
  Mempool pool(Options(), verifier.Fn(), nullptr);
  EXPECT_THAT(pool.Add(Tx("A", "none", 0, /*valid_until_ms=*/0)),
              StatusIs(absl::StatusCode::kInvalidArgument));
  absl::StatusOr<std::string> past = pool.Add(Tx("A", "past", 0, testing::kNowMs - 1));
  EXPECT_THAT(past, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(std::string(past.status().message()), HasSubstr("expired"));
  EXPECT_THAT(pool.Add(Tx("A", "far", 0, testing::kNowMs + kTxLifetimeMsMax + 1)),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(pool.size(), 0u);
  EXPECT_THAT(pool.Add(Tx("A", "max", 0, testing::kNowMs + kTxLifetimeMsMax)), IsOk());
}

TEST(MempoolTest, CommittedBlockPastTheDeadlineExpiresTheTransactionForGood) {
  FakeVerifier verifier;
  Mempool pool(Options(), verifier.Fn(), nullptr);
  const uint64_t deadline = testing::kNowMs + 1000;
  ASSERT_OK_AND_ASSIGN(std::string short_id, pool.Add(Tx("A", "short", 0, deadline)));
  ASSERT_OK_AND_ASSIGN(std::string long_id, pool.Add(Tx("A", "long")));
  // A proposer never puts it in a block stamped after its deadline.
  EXPECT_EQ(pool.Batch(1, 10, 1 << 20, deadline + 1).size(), 1u);
  pool.RemoveCommitted(1, {}, /*timestamp_ms=*/deadline);  // Not past it yet.
  EXPECT_TRUE(pool.Contains(short_id));
  EXPECT_FALSE(pool.IsExpired(short_id));
  pool.RemoveCommitted(2, {}, deadline + 1);
  EXPECT_FALSE(pool.Contains(short_id));
  EXPECT_TRUE(pool.IsExpired(short_id));
  EXPECT_EQ(pool.FindExpiredByClientId("A", "short"), short_id);
  EXPECT_TRUE(pool.Contains(long_id));
  EXPECT_FALSE(pool.IsExpired(long_id));
  EXPECT_EQ(pool.expired_total(), 1u);
  // The same client_tx_id may be resubmitted with a new deadline.
  EXPECT_THAT(pool.Add(Tx("A", "short", 1)), IsOk());
}

TEST(MempoolTest, CommittedTransactionIsNotReadmittedAfterTheRemoval) {
  FakeVerifier verifier;
  Mempool pool(Options(), verifier.Fn(), nullptr);
  const std::string tx = Tx("A", "1");
  ASSERT_OK_AND_ASSIGN(std::string id, pool.Add(tx));
  pool.RemoveCommitted(1, {id}, testing::kNowMs);
  // E.g. the admission check ran before the commit, the insertion after it.
  EXPECT_THAT(pool.Add(tx), StatusIs(absl::StatusCode::kAlreadyExists));
}

}  // namespace
}  // namespace itmo::node
