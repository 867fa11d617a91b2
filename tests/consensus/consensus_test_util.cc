#include "tests/consensus/consensus_test_util.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "consensus/canonical.h"
#include "consensus/quorum.h"
#include "gtest/gtest.h"

namespace itmo::consensus::testing {

Keys::Keys(uint32_t n) {
  for (uint32_t i = 0; i < n; ++i) {
    std::string seed(32, static_cast<char>(i + 1));
    absl::StatusOr<crypto::KeyPair> key = crypto::KeyPair::FromSeed(seed);
    EXPECT_TRUE(key.ok());
    signers_.push_back(std::make_unique<crypto::Ed25519Signer>(*std::move(key)));
    public_keys_.push_back(signers_.back()->public_key());
  }
}

std::string Id(const v1::Block& block) { return std::string(crypto::AsStringView(BlockId(block))); }

v1::QuorumCert MakeQc(const Keys& keys, const v1::Block& block,
                      const std::vector<uint32_t>& signers, uint64_t epoch) {
  v1::QuorumCert qc;
  qc.set_epoch(epoch);
  qc.set_round(block.header().round());
  qc.set_height(block.header().height());
  qc.set_block_id(Id(block));
  std::vector<uint32_t> sorted = signers;
  std::sort(sorted.begin(), sorted.end());
  qc.set_signers(MakeBitmap(sorted, keys.size()));
  for (uint32_t s : sorted) {
    crypto::Signature sig = keys.signer(s)->Sign(
        crypto::kContextVote, kChainId, VoteMessage(epoch, qc.round(), qc.block_id(), qc.height()));
    qc.add_signatures(std::string(crypto::AsStringView(sig)));
  }
  return qc;
}

v1::TimeoutCertificate MakeTc(const Keys& keys, uint64_t round,
                              const std::vector<uint32_t>& signers,
                              const std::vector<uint64_t>& high_qc_rounds, uint64_t epoch) {
  v1::TimeoutCertificate tc;
  tc.set_epoch(epoch);
  tc.set_round(round);
  tc.set_signers(MakeBitmap(signers, keys.size()));
  for (size_t i = 0; i < signers.size(); ++i) {
    tc.add_high_qc_rounds(high_qc_rounds[i]);
    crypto::Signature sig = keys.signer(signers[i])
                                ->Sign(crypto::kContextTimeout, kChainId,
                                       TimeoutMessage(epoch, round, high_qc_rounds[i]));
    tc.add_signatures(std::string(crypto::AsStringView(sig)));
  }
  return tc;
}

v1::Block MakeBlock(const v1::Block& parent, const v1::QuorumCert& qc, uint64_t round, uint32_t n,
                    std::vector<std::string> txs, const v1::TimeoutCertificate* tc,
                    uint64_t epoch) {
  v1::Block block;
  v1::BlockHeader* h = block.mutable_header();
  h->set_parent_id(Id(parent));
  h->set_round(round);
  h->set_height(parent.header().height() + 1);
  h->set_epoch(epoch);
  h->set_proposer(static_cast<uint32_t>((round + epoch) % n));
  h->set_timestamp_ms(parent.header().timestamp_ms() + 1);
  h->set_executed_height(parent.header().executed_height());
  h->set_executed_state_root(
      std::string(crypto::AsStringView(FakeRoot(parent.header().executed_height()))));
  for (std::string& tx : txs) block.add_txs(std::move(tx));
  h->set_payload_digest(std::string(crypto::AsStringView(PayloadDigest(block.txs()))));
  h->set_tx_root(std::string(crypto::AsStringView(TxRoot(block.txs()))));
  *block.mutable_qc() = qc;
  if (tc != nullptr) *block.mutable_tc() = *tc;
  return block;
}

v1::Proposal MakeProposal(const Keys& keys, const v1::Block& block, uint64_t epoch) {
  v1::Proposal proposal;
  *proposal.mutable_block() = block;
  crypto::Signature sig = keys.signer(block.header().proposer())
                              ->Sign(crypto::kContextProposal, kChainId,
                                     ProposalMessage(epoch, block.header().round(), Id(block)));
  proposal.set_signature(std::string(crypto::AsStringView(sig)));
  return proposal;
}

std::vector<std::string> FakeApp::Payload(uint64_t height, uint32_t txs_max, uint64_t bytes_max) {
  std::vector<std::string> txs;
  uint64_t bytes = 0;
  for (uint32_t i = 0; i < txs_per_block && i < txs_max; ++i) {
    std::string tx = absl::StrCat("tx-", height, "-", i);
    if (tx_bytes > tx.size()) tx.resize(tx_bytes, 'x');
    if (bytes + tx.size() > bytes_max) break;
    bytes += tx.size();
    txs.push_back(std::move(tx));
  }
  return txs;
}

absl::Status FakeApp::ValidateProposal(const v1::Block& block) {
  (void)block;
  return refuse ? absl::FailedPreconditionError("refused") : absl::OkStatus();
}

std::vector<Action> MustHandle(Replica& replica, const Event& event) {
  absl::StatusOr<std::vector<Action>> actions = replica.Handle(event);
  EXPECT_TRUE(actions.ok()) << actions.status();
  return actions.ok() ? *std::move(actions) : std::vector<Action>{};
}

crypto::Digest FakeRoot(uint64_t height) {
  crypto::Hasher hasher;
  hasher.Update(absl::StrCat("fake-root/", height));
  return hasher.Finish();
}

std::optional<crypto::Digest> FakeApp::ExecutedRootAt(uint64_t height) {
  if (height > executed_head().height) return std::nullopt;
  return FakeRoot(height);
}

ExecutedHead FakeApp::executed_head() const {
  ExecutedHead head;
  head.height = base_height + committed_.size();
  head.state_root = FakeRoot(head.height);
  return head;
}

std::vector<v1::CommittedBlock> FakeApp::CommittedRange(uint64_t from_height, uint32_t count_max,
                                                        uint64_t bytes_max) {
  std::vector<v1::CommittedBlock> out;
  uint64_t bytes = 0;
  for (const v1::CommittedBlock& c : committed_) {
    if (out.size() >= count_max) break;
    if (c.block().header().height() < from_height) continue;
    bytes += c.ByteSizeLong();
    if (!out.empty() && bytes > bytes_max) break;
    out.push_back(c);
  }
  return out;
}

void FakeApp::OnCommit(const v1::CommittedBlock& committed) {
  const uint64_t expected = base_height + committed_.size() + 1;
  EXPECT_EQ(committed.block().header().height(), expected) << "commits must be gap-free";
  committed_.push_back(committed);
}

ReplicaOptions Options(const Keys& keys, std::optional<uint32_t> me, Mutation mutation) {
  ReplicaOptions options;
  options.chain_id = kChainId;
  options.epoch = 0;
  options.validators = keys.public_keys();
  options.my_index = me;
  options.round_timeout_ticks_base = 4;
  options.round_timeout_ticks_max = 32;
  options.mutation = mutation;
  return options;
}

Cluster::Cluster(uint32_t n, uint32_t observers, Mutation mutation, uint32_t empty_block_wait_ticks)
    : keys(n), n_(n), mutation_(mutation), empty_block_wait_ticks_(empty_block_wait_ticks) {
  persisted.resize(n + observers);
  block_store.resize(n + observers);
  for (uint32_t i = 0; i < n + observers; ++i) {
    apps_.push_back(std::make_unique<FakeApp>());
    const bool validator = i < n;
    replicas_.push_back(std::make_unique<Replica>(OptionsFor(i), v1::SafetyState(),
                                                  validator ? keys.signer(i) : nullptr, &verifier_,
                                                  apps_.back().get(), RecoveredChain{}));
  }
}

ReplicaOptions Cluster::OptionsFor(uint32_t peer) const {
  ReplicaOptions options =
      Options(keys, peer < n_ ? std::optional<uint32_t>(peer) : std::nullopt, mutation_);
  options.empty_block_wait_ticks = empty_block_wait_ticks_;
  return options;
}

void Cluster::Restart(uint32_t i) {
  RecoveredChain chain;
  if (!apps_[i]->committed().empty()) chain.head = apps_[i]->committed().back();
  const uint64_t head = apps_[i]->base_height + apps_[i]->committed().size();
  for (const v1::Block& block : block_store[i]) {
    if (keep_blocks && block.header().height() > head) chain.pending_blocks.push_back(block);
  }
  const bool validator = i < n_;
  replicas_[i] =
      std::make_unique<Replica>(OptionsFor(i), persisted[i], validator ? keys.signer(i) : nullptr,
                                &verifier_, apps_[i].get(), std::move(chain));
  absl::StatusOr<std::vector<Action>> actions = replicas_[i]->Handle(consensus::Start{now_ms_});
  ASSERT_TRUE(actions.ok());
  Execute(i, *std::move(actions));
}

void Cluster::Start() {
  for (uint32_t i = 0; i < peers(); ++i) {
    absl::StatusOr<std::vector<Action>> actions = replicas_[i]->Handle(consensus::Start{now_ms_});
    ASSERT_TRUE(actions.ok());
    Execute(i, *std::move(actions));
  }
}

void Cluster::Execute(uint32_t peer, std::vector<Action> actions) {
  const uint32_t from = PeerId(peer);
  for (Action& action : actions) {
    if (auto* persist = std::get_if<PersistSafetyState>(&action)) {
      persisted[peer] = persist->state;
    } else if (auto* commit = std::get_if<Commit>(&action)) {
      apps_[peer]->OnCommit(commit->committed);
    } else if (auto* keep = std::get_if<KeepBlock>(&action)) {
      block_store[peer].push_back(keep->block);  // As the node's driver: verified blocks only.
    } else {
      v1::ConsensusMessage* message = nullptr;
      std::vector<uint32_t> targets;
      if (auto* send = std::get_if<SendTo>(&action)) {
        message = &send->message;
        targets.push_back(send->to);
      } else {
        message = &std::get<Broadcast>(action).message;
        for (uint32_t p = 0; p < peers(); ++p) {
          if (p != peer) targets.push_back(PeerId(p));
        }
      }
      if (message->has_vote()) {
        const v1::Vote& last = persisted[peer].last_vote();
        if (last.round() != message->vote().round() ||
            last.block_id() != message->vote().block_id()) {
          ++order_violations;
        }
      }
      if (message->has_timeout() &&
          persisted[peer].last_timeout().round() != message->timeout().round()) {
        ++order_violations;
      }
      for (uint32_t to : targets) queue.push_back(Envelope{from, to, *message});
    }
  }
}

void Cluster::Deliver(const Envelope& envelope) {
  if (drop(envelope)) return;
  const uint32_t peer = envelope.to < n_ ? envelope.to : n_ + (envelope.to - kValidatorsMax);
  ASSERT_LT(peer, peers());
  if (envelope.message.has_proposal()) {
    block_store[peer].push_back(envelope.message.proposal().block());
  }
  absl::StatusOr<std::vector<Action>> actions =
      replicas_[peer]->Handle(MessageReceived{envelope.from, envelope.message});
  if (!actions.ok()) {
    ++errors;
    return;
  }
  Execute(peer, *std::move(actions));
}

void Cluster::Run(uint64_t steps_max, const std::function<bool()>& done) {
  for (uint64_t step = 0; step < steps_max && !done(); ++step) {
    if (!queue.empty()) {
      Envelope envelope = std::move(queue.front());
      queue.pop_front();
      Deliver(envelope);
      continue;
    }
    now_ms_ += 10;
    for (uint32_t i = 0; i < peers(); ++i) {
      absl::StatusOr<std::vector<Action>> actions = replicas_[i]->Handle(Tick{now_ms_});
      ASSERT_TRUE(actions.ok());
      Execute(i, *std::move(actions));
    }
  }
}

uint64_t Cluster::MinCommitted() const {
  uint64_t low = UINT64_MAX;
  for (uint32_t i = 0; i < n_; ++i) low = std::min(low, replicas_[i]->committed_height());
  return low;
}

}  // namespace itmo::consensus::testing
