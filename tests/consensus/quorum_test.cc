#include "consensus/quorum.h"

#include "consensus/canonical.h"
#include "gtest/gtest.h"
#include "tests/consensus/consensus_test_util.h"
#include "tests/testing/status_matchers.h"

namespace itmo::consensus {
namespace {

using ::itmo::consensus::testing::Keys;
using ::itmo::consensus::testing::MakeQc;
using ::itmo::consensus::testing::MakeTc;
using ::itmo::testing::StatusIs;

TEST(QuorumSizeTest, MatchesFloorOfNPlusFOverTwoPlusOne) {
  EXPECT_EQ(QuorumSize(1), 1u);
  EXPECT_EQ(QuorumSize(2), 2u);
  EXPECT_EQ(QuorumSize(3), 2u);
  EXPECT_EQ(QuorumSize(4), 3u);
  EXPECT_EQ(QuorumSize(5), 4u);
  EXPECT_EQ(QuorumSize(6), 4u);
  EXPECT_EQ(QuorumSize(7), 5u);
  EXPECT_EQ(QuorumSize(10), 7u);
  EXPECT_EQ(QuorumSize(256), 171u);
  EXPECT_EQ(FaultsMax(4), 1u);
  EXPECT_EQ(FaultsMax(256), 85u);
}

class ValidatorSetTest : public ::testing::Test {
 protected:
  ValidatorSetTest() : keys_(5), set_(testing::kChainId, 0, keys_.public_keys(), &verifier_) {
    block_ = GenesisBlock(testing::kChainId, 0);
    block_.mutable_header()->set_round(7);
    block_.mutable_header()->set_height(3);
  }
  Keys keys_;
  crypto::Ed25519Verifier verifier_;
  ValidatorSet set_;
  v1::Block block_;
};

TEST_F(ValidatorSetTest, LeaderRotatesWithRoundAndEpoch) {
  EXPECT_EQ(set_.LeaderOf(0), 0u);
  EXPECT_EQ(set_.LeaderOf(7), 2u);
  ValidatorSet epoch3(testing::kChainId, 3, keys_.public_keys(), &verifier_);
  EXPECT_EQ(epoch3.LeaderOf(7), 0u);
}

TEST_F(ValidatorSetTest, AcceptsQuorumAndCachesIt) {
  v1::QuorumCert qc = MakeQc(keys_, block_, {0, 2, 3, 4});
  ASSERT_OK(set_.VerifyQc(qc));
  EXPECT_EQ(set_.verifications(), 4u);
  ASSERT_OK(set_.VerifyQc(qc));
  EXPECT_EQ(set_.verifications(), 4u) << "a verified QC is not verified again";
}

TEST_F(ValidatorSetTest, AcceptsTheGenesisQcOnly) {
  EXPECT_OK(set_.VerifyQc(GenesisQc(testing::kChainId, 0)));
  v1::QuorumCert fake = GenesisQc(testing::kChainId, 0);
  fake.set_block_id(std::string(32, 'x'));
  EXPECT_THAT(set_.VerifyQc(fake), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(ValidatorSetTest, RejectsBadSignature) {
  v1::QuorumCert qc = MakeQc(keys_, block_, {0, 1, 2, 3});
  std::string sig = qc.signatures(2);
  sig[5] ^= 1;
  qc.set_signatures(2, sig);
  absl::Status status = set_.VerifyQc(qc);
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_NE(status.message().find("validator 2"), std::string::npos);
}

TEST_F(ValidatorSetTest, RejectsTooFewSigners) {
  v1::QuorumCert qc = MakeQc(keys_, block_, {0, 1, 2});  // q = 4 for n = 5.
  absl::Status status = set_.VerifyQc(qc);
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_NE(status.message().find("too few signers"), std::string::npos);
}

TEST_F(ValidatorSetTest, RejectsDuplicateSigner) {
  // Three distinct signers padded with a repeat of one signature: counts do not match the bitmap.
  v1::QuorumCert qc = MakeQc(keys_, block_, {0, 1, 2});
  qc.add_signatures(qc.signatures(0));
  absl::Status status = set_.VerifyQc(qc);
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_NE(status.message().find("duplicate"), std::string::npos);
}

TEST_F(ValidatorSetTest, RejectsNonValidatorSigner) {
  v1::QuorumCert qc = MakeQc(keys_, block_, {0, 1, 2, 3});
  std::string bitmap = qc.signers();
  bitmap[0] = static_cast<char>(static_cast<uint8_t>(bitmap[0]) | 0x80);  // Validator 7 of 5.
  qc.set_signers(bitmap);
  qc.add_signatures(qc.signatures(0));
  absl::Status status = set_.VerifyQc(qc);
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_NE(status.message().find("not a validator"), std::string::npos);
}

TEST_F(ValidatorSetTest, RejectsWrongEpoch) {
  v1::QuorumCert qc = MakeQc(keys_, block_, {0, 1, 2, 3}, /*epoch=*/1);
  EXPECT_THAT(set_.VerifyQc(qc), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(ValidatorSetTest, RejectsBitmapOfWrongLengthOrMismatch) {
  v1::QuorumCert qc = MakeQc(keys_, block_, {0, 1, 2, 3});
  v1::QuorumCert longer = qc;
  longer.set_signers(qc.signers() + std::string(1, '\0'));
  EXPECT_THAT(set_.VerifyQc(longer), StatusIs(absl::StatusCode::kInvalidArgument));
  v1::QuorumCert swapped = qc;  // Bitmap names 1..4 but signatures are of 0..3.
  swapped.set_signers(MakeBitmap({1, 2, 3, 4}, 5));
  EXPECT_THAT(set_.VerifyQc(swapped), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(ValidatorSetTest, VerifiesTimeoutCertificates) {
  v1::TimeoutCertificate tc = MakeTc(keys_, 9, {0, 1, 3, 4}, {7, 8, 8, 5});
  ASSERT_OK(set_.VerifyTc(tc));
  EXPECT_EQ(TcHighQcRound(tc), 8u);
  v1::TimeoutCertificate bad_round = MakeTc(keys_, 9, {0, 1, 3, 4}, {7, 9, 8, 5});
  EXPECT_THAT(set_.VerifyTc(bad_round), StatusIs(absl::StatusCode::kInvalidArgument));
  v1::TimeoutCertificate lying = tc;
  lying.set_high_qc_rounds(0, 8);  // Not what validator 0 signed.
  EXPECT_THAT(set_.VerifyTc(lying), StatusIs(absl::StatusCode::kInvalidArgument));
  v1::TimeoutCertificate few = MakeTc(keys_, 9, {0, 1, 3}, {7, 8, 8});
  EXPECT_THAT(set_.VerifyTc(few), StatusIs(absl::StatusCode::kInvalidArgument));
}

v1::Vote SignedVote(const Keys& keys, const v1::Block& block, uint32_t voter) {
  v1::Vote vote;
  vote.set_round(block.header().round());
  vote.set_height(block.header().height());
  vote.set_block_id(testing::Id(block));
  vote.set_voter(voter);
  vote.set_signature(std::string(crypto::AsStringView(
      keys.signer(voter)->Sign(crypto::kContextVote, testing::kChainId,
                               VoteMessage(0, vote.round(), vote.block_id(), vote.height())))));
  return vote;
}

TEST_F(ValidatorSetTest, VoteCollectorFormsAVerifiableQcAtQuorum) {
  VoteCollector collector(&set_);
  for (uint32_t voter : {4u, 0u, 2u}) {
    v1::Vote vote = SignedVote(keys_, block_, voter);
    ASSERT_OK(set_.VerifyVote(vote));
    ASSERT_OK_AND_ASSIGN(std::optional<v1::QuorumCert> qc, collector.Add(vote));
    EXPECT_FALSE(qc.has_value());
  }
  EXPECT_THAT(collector.Add(SignedVote(keys_, block_, 2)),
              StatusIs(absl::StatusCode::kAlreadyExists));
  v1::Block other = block_;
  other.mutable_header()->set_timestamp_ms(99);
  EXPECT_THAT(collector.Add(SignedVote(keys_, other, 0)),
              StatusIs(absl::StatusCode::kInvalidArgument));  // Equivocation.
  ASSERT_OK_AND_ASSIGN(std::optional<v1::QuorumCert> qc,
                       collector.Add(SignedVote(keys_, block_, 1)));
  ASSERT_TRUE(qc.has_value());
  EXPECT_EQ(BitmapSigners(qc->signers()), (std::vector<uint32_t>{0, 1, 2, 4}));
  EXPECT_OK(set_.VerifyQc(*qc));
  // Only one QC per round.
  ASSERT_OK_AND_ASSIGN(std::optional<v1::QuorumCert> none,
                       collector.Add(SignedVote(keys_, block_, 3)));
  EXPECT_FALSE(none.has_value());
  collector.PruneBelow(8);
  EXPECT_THAT(collector.Add(SignedVote(keys_, block_, 3)), StatusIs(absl::StatusCode::kOutOfRange));
}

TEST_F(ValidatorSetTest, RejectsVoteWithBadSignatureOrVoter) {
  v1::Vote vote = SignedVote(keys_, block_, 1);
  vote.set_voter(2);
  EXPECT_THAT(set_.VerifyVote(vote), StatusIs(absl::StatusCode::kInvalidArgument));
  vote.set_voter(9);
  EXPECT_THAT(set_.VerifyVote(vote), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(ValidatorSetTest, TimeoutCollectorFormsAVerifiableTc) {
  TimeoutCollector collector(&set_);
  v1::QuorumCert high_qc = MakeQc(keys_, block_, {0, 1, 2, 3});  // Round 7.
  std::optional<v1::TimeoutCertificate> tc;
  for (uint32_t signer : {3u, 1u, 0u, 4u}) {
    v1::Timeout timeout;
    timeout.set_round(8);
    *timeout.mutable_high_qc() = high_qc;
    timeout.set_signer(signer);
    timeout.set_signature(std::string(crypto::AsStringView(keys_.signer(signer)->Sign(
        crypto::kContextTimeout, testing::kChainId, TimeoutMessage(0, 8, 7)))));
    ASSERT_OK(set_.VerifyTimeout(timeout));
    ASSERT_FALSE(tc.has_value());
    ASSERT_OK_AND_ASSIGN(tc, collector.Add(timeout));
  }
  ASSERT_TRUE(tc.has_value());
  EXPECT_EQ(collector.SignersOf(8), 4u);
  EXPECT_EQ(tc->round(), 8u);
  EXPECT_EQ(TcHighQcRound(*tc), 7u);
  EXPECT_OK(set_.VerifyTc(*tc));
}

}  // namespace
}  // namespace itmo::consensus
