#include "consensus/canonical.h"

#include <cstring>

#include "base/check.h"
#include "consensus/limits.h"
#include "crypto/merkle.h"

namespace itmo::consensus {
namespace {

void AppendU64(std::string* out, uint64_t value) {
  for (int i = 0; i < 8; ++i) {
    out->push_back(static_cast<char>((value >> (8 * i)) & 0xff));
  }
}

void AppendField(std::string* out, std::string_view field) {
  AppendU64(out, field.size());
  out->append(field.data(), field.size());
}

}  // namespace

crypto::Digest QcContentDigest(const v1::QuorumCert& qc) {
  crypto::Hasher h;
  h.UpdateField("itmo/v1/qc-content");
  h.UpdateU64(qc.epoch());
  h.UpdateU64(qc.round());
  h.UpdateField(qc.block_id());
  h.UpdateU64(qc.height());
  return h.Finish();
}

crypto::Digest QcFullDigest(const v1::QuorumCert& qc) {
  crypto::Hasher h;
  h.UpdateField("itmo/v1/qc-full");
  h.Update(crypto::AsStringView(QcContentDigest(qc)));
  h.UpdateField(qc.signers());
  h.UpdateU64(static_cast<uint64_t>(qc.signatures_size()));
  for (const std::string& sig : qc.signatures()) h.UpdateField(sig);
  return h.Finish();
}

crypto::Digest TcFullDigest(const v1::TimeoutCertificate& tc) {
  crypto::Hasher h;
  h.UpdateField("itmo/v1/tc-full");
  h.UpdateU64(tc.epoch());
  h.UpdateU64(tc.round());
  h.UpdateField(tc.signers());
  h.UpdateU64(static_cast<uint64_t>(tc.high_qc_rounds_size()));
  for (uint64_t r : tc.high_qc_rounds()) h.UpdateU64(r);
  h.UpdateU64(static_cast<uint64_t>(tc.signatures_size()));
  for (const std::string& sig : tc.signatures()) h.UpdateField(sig);
  return h.Finish();
}

crypto::Digest BlockId(const v1::BlockHeader& header, const v1::QuorumCert& parent_qc) {
  crypto::Hasher h;
  h.UpdateField("itmo/v1/block");
  h.UpdateField(header.parent_id());
  h.UpdateU64(header.round());
  h.UpdateU64(header.height());
  h.UpdateU64(header.epoch());
  h.UpdateU64(header.proposer());
  h.UpdateU64(static_cast<uint64_t>(header.timestamp_ms()));
  h.UpdateField(header.payload_digest());
  h.UpdateField(header.tx_root());
  h.UpdateU64(header.executed_height());
  h.UpdateField(header.executed_state_root());
  h.Update(crypto::AsStringView(QcContentDigest(parent_qc)));
  return h.Finish();
}

crypto::Digest PayloadDigest(const google::protobuf::RepeatedPtrField<std::string>& txs) {
  crypto::Hasher h;
  h.UpdateField("itmo/v1/payload");
  h.UpdateU64(static_cast<uint64_t>(txs.size()));
  for (const std::string& tx : txs) h.UpdateField(tx);
  return h.Finish();
}

crypto::Digest TxRoot(const google::protobuf::RepeatedPtrField<std::string>& txs) {
  std::vector<crypto::Digest> leaves;
  leaves.reserve(static_cast<size_t>(txs.size()));
  for (const std::string& tx : txs) leaves.push_back(crypto::LeafHash(tx));
  return crypto::MerkleRoot(leaves);
}

std::string VoteMessage(uint64_t epoch, uint64_t round, std::string_view block_id,
                        uint64_t height) {
  std::string out;
  out.reserve(80);
  AppendField(&out, "vote");
  AppendU64(&out, epoch);
  AppendU64(&out, round);
  AppendField(&out, block_id);
  AppendU64(&out, height);
  return out;
}

std::string TimeoutMessage(uint64_t epoch, uint64_t round, uint64_t high_qc_round) {
  std::string out;
  out.reserve(48);
  AppendField(&out, "timeout");
  AppendU64(&out, epoch);
  AppendU64(&out, round);
  AppendU64(&out, high_qc_round);
  return out;
}

std::string ProposalMessage(uint64_t epoch, uint64_t round, std::string_view block_id) {
  std::string out;
  out.reserve(72);
  AppendField(&out, "proposal");
  AppendU64(&out, epoch);
  AppendU64(&out, round);
  AppendField(&out, block_id);
  return out;
}

v1::Block GenesisBlock(std::string_view chain_id, uint64_t epoch) {
  v1::Block block;
  v1::BlockHeader* header = block.mutable_header();
  crypto::Hasher h;
  h.UpdateField("itmo/v1/genesis");
  h.UpdateField(chain_id);
  h.UpdateU64(epoch);
  header->set_parent_id(std::string(crypto::AsStringView(h.Finish())));
  header->set_epoch(epoch);
  header->set_payload_digest(std::string(crypto::AsStringView(PayloadDigest(block.txs()))));
  header->set_tx_root(std::string(crypto::AsStringView(TxRoot(block.txs()))));
  // The genesis block's own qc is empty (round 0 certifying nothing); it is never verified.
  block.mutable_qc()->set_epoch(epoch);
  ITMO_CHECK(header->round() == 0);
  ITMO_CHECK(header->height() == 0);
  return block;
}

v1::QuorumCert GenesisQc(std::string_view chain_id, uint64_t epoch) {
  v1::Block genesis = GenesisBlock(chain_id, epoch);
  v1::QuorumCert qc;
  qc.set_epoch(epoch);
  qc.set_round(0);
  qc.set_height(0);
  qc.set_block_id(std::string(crypto::AsStringView(BlockId(genesis))));
  ITMO_CHECK(qc.block_id().size() == crypto::kDigestBytes);
  ITMO_CHECK(qc.signatures_size() == 0);
  return qc;
}

std::string MakeBitmap(const std::vector<uint32_t>& signers, uint32_t validators) {
  ITMO_CHECK(validators <= kValidatorsMax);
  std::string bitmap((validators + 7) / 8, '\0');
  for (uint32_t s : signers) {
    ITMO_CHECK(s < validators);
    bitmap[s / 8] = static_cast<char>(static_cast<uint8_t>(bitmap[s / 8]) | (1u << (s % 8)));
  }
  return bitmap;
}

std::vector<uint32_t> BitmapSigners(std::string_view bitmap) {
  ITMO_CHECK(bitmap.size() <= kSignerBitmapBytesMax);
  std::vector<uint32_t> out;
  for (uint32_t i = 0; i < bitmap.size() * 8; ++i) {
    if ((static_cast<uint8_t>(bitmap[i / 8]) >> (i % 8)) & 1u) out.push_back(i);
  }
  ITMO_CHECK(out.size() <= kValidatorsMax);
  return out;
}

}  // namespace itmo::consensus
