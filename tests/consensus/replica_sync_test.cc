// Regression test for issue 7, defect 7: sync and retrieval responses were bounded by a count of
// blocks only. 64 large committed blocks made a SyncResponse far above the message limit, which
// the node dropped on send (and a replica refuses on receipt): a node behind a run of large blocks
// never caught up. Responses are now bounded by kResponseBytesMax too, with at least one block.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "consensus/canonical.h"
#include "consensus/limits.h"
#include "consensus/replica.h"
#include "gtest/gtest.h"
#include "tests/consensus/consensus_test_util.h"

namespace itmo::consensus {
namespace {

using ::itmo::consensus::testing::FakeApp;
using ::itmo::consensus::testing::Keys;
using ::itmo::consensus::testing::MakeBlock;
using ::itmo::consensus::testing::MakeQc;
using ::itmo::consensus::testing::Options;

constexpr uint64_t kBlockBytes = 8ull << 20;  // The block byte limit of the sync test.

ReplicaOptions LargeBlockOptions(const Keys& keys, uint32_t me, uint64_t block_bytes) {
  ReplicaOptions options = Options(keys, me);
  options.block_bytes_max = block_bytes;
  return options;
}

// `count` directly committed blocks of just under block_bytes each (txs of at most kTxBytesMax),
// rounds 1..count, each with its 2-chain proof (the child of the last one is certified too).
std::vector<v1::CommittedBlock> LargeCommittedChain(const Keys& keys, uint32_t count,
                                                    uint64_t block_bytes) {
  const uint32_t txs_per_block = static_cast<uint32_t>(block_bytes / kTxBytesMax);
  const uint64_t tx_bytes = block_bytes / txs_per_block - 64;
  std::vector<v1::Block> blocks;
  std::vector<v1::QuorumCert> qcs;
  v1::Block parent = GenesisBlock(testing::kChainId, 0);
  v1::QuorumCert parent_qc = GenesisQc(testing::kChainId, 0);
  for (uint32_t i = 1; i <= count + 1; ++i) {
    std::vector<std::string> txs;
    for (uint32_t t = 0; t < txs_per_block; ++t) {
      txs.push_back(std::string(tx_bytes, static_cast<char>('a' + (i + t) % 26)));
    }
    blocks.push_back(MakeBlock(parent, parent_qc, i, keys.size(), std::move(txs)));
    qcs.push_back(MakeQc(keys, blocks.back(), {0, 1, 2}));
    parent = blocks.back();
    parent_qc = qcs.back();
  }
  std::vector<v1::CommittedBlock> chain;
  for (uint32_t i = 0; i < count; ++i) {
    v1::CommittedBlock committed;
    *committed.mutable_block() = blocks[i];
    *committed.mutable_qc() = qcs[i];
    *committed.mutable_child_header() = blocks[i + 1].header();
    *committed.mutable_child_qc() = qcs[i + 1];
    chain.push_back(std::move(committed));
  }
  return chain;
}

TEST(ReplicaSyncTest, NodeBehindARunOfLargeBlocksCatchesUpThroughSync) {
  constexpr uint32_t kBlocks = 12;  // ~96 MiB in all: above kMessageBytesMax in one response.
  Keys keys(4);
  crypto::Ed25519Verifier verifier;
  const std::vector<v1::CommittedBlock> chain = LargeCommittedChain(keys, kBlocks, kBlockBytes);
  ASSERT_GT(kBlocks * kBlockBytes, kMessageBytesMax);
  FakeApp served;
  for (const v1::CommittedBlock& committed : chain) served.OnCommit(committed);
  RecoveredChain recovered;
  recovered.head = chain.back();
  Replica responder(LargeBlockOptions(keys, 0, kBlockBytes), {}, keys.signer(0), &verifier, &served,
                    std::move(recovered));
  FakeApp app;
  Replica lagging(LargeBlockOptions(keys, 3, kBlockBytes), {}, keys.signer(3), &verifier, &app,
                  RecoveredChain{});
  ASSERT_TRUE(responder.Handle(Start{}).ok());
  ASSERT_TRUE(lagging.Handle(Start{}).ok());

  uint32_t responses = 0;
  for (uint32_t attempt = 0; attempt < 2 * kBlocks && lagging.committed_height() < kBlocks;
       ++attempt) {
    MessageReceived request;
    request.from = 3;
    request.message.mutable_sync_request()->set_from_height(lagging.committed_height() + 1);
    request.message.mutable_sync_request()->set_count(kSyncBlocksMax);
    absl::StatusOr<std::vector<Action>> served_actions = responder.Handle(request);
    ASSERT_TRUE(served_actions.ok()) << served_actions.status();
    std::optional<v1::ConsensusMessage> response;
    for (const Action& action : *served_actions) {
      if (const auto* send = std::get_if<SendTo>(&action);
          send && send->message.has_sync_response()) {
        response = send->message;
      }
    }
    ASSERT_TRUE(response.has_value());
    ASSERT_GE(response->sync_response().blocks_size(), 1) << "at least one block per response";
    EXPECT_LE(response->ByteSizeLong(), kResponseBytesMax) << "bounded by bytes";
    ++responses;
    MessageReceived delivered;
    delivered.from = 0;
    delivered.message = *std::move(response);
    absl::StatusOr<std::vector<Action>> actions = lagging.Handle(delivered);
    ASSERT_TRUE(actions.ok()) << "the response was refused: " << actions.status();
    for (const Action& action : *actions) {
      if (const auto* commit = std::get_if<Commit>(&action)) app.OnCommit(commit->committed);
    }
  }
  EXPECT_EQ(lagging.committed_height(), kBlocks) << "caught up through sync";
  EXPECT_EQ(app.committed().size(), kBlocks);
  EXPECT_GE(responses, 3u) << "more than one response: each bounded by bytes";
}

// Retrieval of uncommitted ancestors is bounded the same way: the newest blocks first, at least
// one, never above kResponseBytesMax. Two pending blocks of the maximum size do not fit in one.
TEST(ReplicaSyncTest, BlockRetrievalResponseBoundedByBytes) {
  constexpr uint32_t kBlocks = 3;  // Block 1 commits; blocks 2 and 3 stay pending.
  constexpr uint64_t kBytes = kBlockBytesMax - (1ull << 20);
  static_assert(2 * kBytes > kResponseBytesMax);
  Keys keys(4);
  crypto::Ed25519Verifier verifier;
  const std::vector<v1::CommittedBlock> chain = LargeCommittedChain(keys, kBlocks, kBytes);
  FakeApp app;
  Replica responder(LargeBlockOptions(keys, 0, kBlockBytesMax), {}, keys.signer(0), &verifier, &app,
                    RecoveredChain{});
  ASSERT_TRUE(responder.Handle(Start{}).ok());
  for (const v1::CommittedBlock& committed : chain) {
    MessageReceived proposal;
    proposal.from = committed.block().header().proposer();
    *proposal.message.mutable_proposal() = testing::MakeProposal(keys, committed.block());
    if (proposal.from == 0) proposal.from = 1;  // Never "from itself"; any validator may relay it.
    ASSERT_TRUE(responder.Handle(proposal).ok());
  }
  MessageReceived request;
  request.from = 3;
  request.message.mutable_block_request()->set_block_id(
      std::string(crypto::AsStringView(BlockId(chain.back().block()))));
  request.message.mutable_block_request()->set_count(kRetrievalBlocksMax);
  absl::StatusOr<std::vector<Action>> actions = responder.Handle(request);
  ASSERT_TRUE(actions.ok()) << actions.status();
  std::optional<v1::ConsensusMessage> response;
  for (const Action& action : *actions) {
    if (const auto* send = std::get_if<SendTo>(&action);
        send && send->message.has_block_response()) {
      response = send->message;
    }
  }
  ASSERT_TRUE(response.has_value());
  ASSERT_EQ(responder.committed_height(), 1u);
  EXPECT_EQ(response->block_response().blocks_size(), 1) << "the newest block only";
  EXPECT_LE(response->ByteSizeLong(), kResponseBytesMax);
}

}  // namespace
}  // namespace itmo::consensus
