#include "tests/sim/sim_app.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "consensus/canonical.h"

namespace itmo::sim {

SimApplication::SimApplication(uint64_t payload_seed) : prng_(payload_seed) {
  crypto::Hasher hasher;
  hasher.Update("itmo-sim/genesis-state");
  roots_.push_back(hasher.Finish());
}

std::vector<std::string> SimApplication::Payload(uint64_t height, uint32_t txs_max,
                                                 uint64_t bytes_max) {
  const uint64_t txs = std::min<uint64_t>(prng_.Below(kPayloadTxsMax + 1), txs_max);
  std::vector<std::string> payload;
  payload.reserve(txs);
  uint64_t bytes = 0;
  for (uint64_t i = 0; i < txs; ++i) {
    std::string tx = absl::StrCat("tx/", height, "/");
    const uint64_t extra = prng_.Range(1, kTxBytesMax);
    for (uint64_t b = 0; b < extra; ++b) tx.push_back(static_cast<char>(prng_.Below(256)));
    if (bytes + tx.size() > bytes_max) break;
    bytes += tx.size();
    payload.push_back(std::move(tx));
  }
  ITMO_CHECK(payload.size() <= txs_max);
  ITMO_CHECK(bytes <= bytes_max);
  return payload;
}

absl::Status SimApplication::ValidateProposal(const v1::Block& block) {
  const crypto::Digest root = consensus::TxRoot(block.txs());
  if (block.header().tx_root() != crypto::AsStringView(root)) {
    return absl::InvalidArgumentError("sim app: tx_root does not match the transactions");
  }
  return absl::OkStatus();
}

std::optional<crypto::Digest> SimApplication::ExecutedRootAt(uint64_t h) {
  if (h > height()) return std::nullopt;
  return RootAt(h);
}

consensus::ExecutedHead SimApplication::executed_head() const {
  return consensus::ExecutedHead{height(), roots_.back()};
}

std::vector<v1::CommittedBlock> SimApplication::CommittedRange(uint64_t from_height,
                                                               uint32_t count_max,
                                                               uint64_t bytes_max) {
  std::vector<v1::CommittedBlock> range;
  if (from_height == 0) from_height = 1;
  uint64_t bytes = 0;
  for (uint64_t h = from_height; h <= height() && range.size() < count_max; ++h) {
    bytes += committed_[h - 1].ByteSizeLong();
    if (!range.empty() && bytes > bytes_max) break;  // At least one block, then within bytes_max.
    range.push_back(committed_[h - 1]);
  }
  ITMO_CHECK(range.size() <= count_max);
  return range;
}

void SimApplication::Apply(const v1::CommittedBlock& committed) {
  ITMO_CHECK(committed.block().header().height() == height() + 1);
  ITMO_CHECK(committed_.size() < kCommittedBlocksMax);
  const crypto::Digest id = consensus::BlockId(committed.block());
  crypto::Hasher hasher;
  hasher.Update(std::span<const uint8_t>(roots_.back()));
  hasher.Update(std::span<const uint8_t>(id));
  roots_.push_back(hasher.Finish());
  committed_.push_back(committed);
  ITMO_CHECK(roots_.size() == committed_.size() + 1);
}

const crypto::Digest& SimApplication::RootAt(uint64_t h) const {
  ITMO_CHECK(h < roots_.size());
  return roots_[h];
}

}  // namespace itmo::sim
