#include "tests/fuzz/ledger_world.h"

#include <cstdio>
#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "crypto/digest.h"

namespace itmo::fuzz {
namespace {

constexpr int64_t kGenesisTimeMs = kLedgerTimeMs - 31'536'000'000;  // One year earlier.

const std::vector<std::string>& PartyCodes() {
  static const std::vector<std::string> codes = {"CHE", "GHA", "SWE"};
  return codes;
}

std::string KeyBytes(const std::string& signer) {
  return std::string(crypto::AsStringView(KeyOf(signer).public_key()));
}

v1::AccountRef Ref(const std::string& registry, const std::string& account) {
  v1::AccountRef ref;
  ref.set_registry_id(registry);
  ref.set_account_id(account);
  return ref;
}

v1::UnitRange Range(const std::string& registry, uint64_t first, uint64_t last) {
  v1::UnitRange range;
  range.set_originating_registry(registry);
  range.set_first(first);
  range.set_last(last);
  return range;
}

std::pair<v1::SubmitterKind, std::string> DefaultSubmitter(const v1::TransactionBody& body) {
  switch (body.action_case()) {
    case v1::TransactionBody::kRegisterApproach:
      return {v1::SUBMITTER_PARTY, body.register_approach().approach().parties(0)};
    case v1::TransactionBody::kOpenAccount:
      return {v1::SUBMITTER_REGISTRY, body.open_account().account().ref().registry_id()};
    case v1::TransactionBody::kIssue:
      return {v1::SUBMITTER_REGISTRY, body.issue().to().registry_id()};
    case v1::TransactionBody::kAuthorize:
      return {v1::SUBMITTER_PARTY, body.authorize().authorization().party()};
    case v1::TransactionBody::kTransfer:
      return {v1::SUBMITTER_REGISTRY, body.transfer().from().registry_id()};
    case v1::TransactionBody::kUse:
      if (body.use().purpose() == v1::PURPOSE_NDC) {
        return {v1::SUBMITTER_PARTY, body.use().using_party()};
      }
      return {v1::SUBMITTER_REGISTRY, body.use().from().registry_id()};
    case v1::TransactionBody::kCancel:
      return {v1::SUBMITTER_REGISTRY, body.cancel().from().registry_id()};
    case v1::TransactionBody::kSetQuarantine:
      return {v1::SUBMITTER_SECRETARIAT, "SECRETARIAT"};
    default:
      return {v1::SUBMITTER_PARTY, "CHE"};  // ChangeAuthorization: set explicitly by callers.
  }
}

v1::TransactionBody IssueBody(const std::string& registry, const std::string& account,
                              uint64_t first, uint64_t last, uint32_t vintage,
                              const std::string& authorization_id) {
  v1::TransactionBody body;
  v1::Issue* issue = body.mutable_issue();
  *issue->mutable_to() = Ref(registry, account);
  v1::IssuanceSpec* spec = issue->add_blocks();
  spec->set_approach_id("CA0001");
  spec->set_vintage(vintage);
  spec->set_first(first);
  spec->set_last(last);
  spec->set_metric("tCO2e");
  spec->set_conversion_numerator(1);
  spec->set_conversion_denominator(1);
  spec->set_sector("energy");
  spec->set_activity_type("cookstoves");
  spec->add_underlying_block_ids(absl::StrCat("VCS-", first, "-", last));
  spec->set_authorization_id(authorization_id);
  return body;
}

v1::TransactionBody AuthorizeBody(const std::string& party, const std::string& id, uint64_t cap) {
  v1::TransactionBody body;
  v1::Authorization* a = body.mutable_authorize()->mutable_authorization();
  a->set_id(id);
  a->set_approach_id("CA0001");
  a->set_party(party);
  a->set_ndc(true);
  a->add_oimp_purposes("CORSIA");
  a->set_first_transfer_definition(v1::FIRST_TRANSFER_USE_OR_CANCELLATION);
  a->set_cap(cap);
  a->set_vintage_first(2021);
  a->set_vintage_last(2030);
  return body;
}

v1::TransactionBody TransferBody(const v1::AccountRef& from, const v1::AccountRef& to,
                                 const v1::UnitRange& range) {
  v1::TransactionBody body;
  *body.mutable_transfer()->mutable_from() = from;
  *body.mutable_transfer()->mutable_to() = to;
  *body.mutable_transfer()->add_ranges() = range;
  return body;
}

v1::TransactionBody CancelBody(const v1::AccountRef& from, const v1::UnitRange& range) {
  v1::TransactionBody body;
  *body.mutable_cancel()->mutable_from() = from;
  *body.mutable_cancel()->add_ranges() = range;
  body.mutable_cancel()->set_reason(v1::CANCELLATION_OMGE);
  body.mutable_cancel()->set_note("fuzz");
  return body;
}

v1::TransactionBody UseNdcBody(const std::string& party, const v1::AccountRef& from,
                               const v1::UnitRange& range) {
  v1::TransactionBody body;
  v1::Use* use = body.mutable_use();
  *use->mutable_from() = from;
  *use->add_ranges() = range;
  use->set_purpose(v1::PURPOSE_NDC);
  use->set_using_party(party);
  use->mutable_ndc_period()->set_first_year(2021);
  use->mutable_ndc_period()->set_last_year(2030);
  return body;
}

v1::TransactionBody UseOimpBody(const v1::AccountRef& from, const v1::UnitRange& range) {
  v1::TransactionBody body;
  v1::Use* use = body.mutable_use();
  *use->mutable_from() = from;
  *use->add_ranges() = range;
  use->set_purpose(v1::PURPOSE_OIMP);
  use->set_oimp_purpose("CORSIA");
  use->set_using_entity("airline-1");
  return body;
}

v1::TransactionBody QuarantineBody(const v1::UnitRange& range, bool quarantined) {
  v1::TransactionBody body;
  *body.mutable_set_quarantine()->add_ranges() = range;
  body.mutable_set_quarantine()->set_quarantined(quarantined);
  body.mutable_set_quarantine()->set_reason("reconciliation");
  return body;
}

v1::TransactionBody WithClientId(v1::TransactionBody body, const std::string& client_tx_id) {
  body.set_client_tx_id(client_tx_id);
  return body;
}

}  // namespace

const crypto::KeyPair& KeyOf(const std::string& signer) {
  static auto* keys = new std::map<std::string, crypto::KeyPair>();
  auto it = keys->find(signer);
  if (it == keys->end()) {
    const crypto::Digest seed = crypto::Blake2b256(absl::StrCat("itmo-fuzz-key:", signer));
    absl::StatusOr<crypto::KeyPair> key = crypto::KeyPair::FromSeed(crypto::AsStringView(seed));
    ITMO_CHECK(key.ok());
    it = keys->emplace(signer, *std::move(key)).first;
  }
  return it->second;
}

std::optional<std::string> SignerOf(const crypto::PublicKey& key) {
  static const std::vector<std::string> kSigners = {
      "CHE", "GHA", "SWE", "CHE-NR", "GHA-NR", "SWE-NR", "UN-IR", "SECRETARIAT", "rogue"};
  for (const std::string& signer : kSigners) {
    if (KeyOf(signer).public_key() == key) return signer;
  }
  return std::nullopt;
}

v1::Genesis LedgerGenesis() {
  v1::Genesis g;
  g.set_chain_id(kLedgerChainId);
  g.set_genesis_time_ms(kGenesisTimeMs);
  g.set_secretariat_key(KeyBytes("SECRETARIAT"));
  for (const std::string& code : PartyCodes()) {
    v1::Party* p = g.add_parties();
    p->set_code(code);
    p->set_name(code);
    p->set_authority_key(KeyBytes(code));
    v1::NdcPeriod* period = p->add_ndc_periods();
    period->set_first_year(2021);
    period->set_last_year(2030);
    p->set_ca_method(v1::CA_METHOD_MULTI_YEAR);
    v1::Registry* r = g.add_registries();
    r->set_id(code + "-NR");
    r->set_party(code);
    r->set_registry_key(KeyBytes(code + "-NR"));
  }
  v1::Registry* ir = g.add_registries();
  ir->set_id("UN-IR");
  ir->set_registry_key(KeyBytes("UN-IR"));
  ir->set_international(true);
  const std::vector<std::vector<std::string>> accounts = {
      {"CHE-NR", "che-1", "CHE"}, {"CHE-NR", "che-2", "CHE"}, {"GHA-NR", "gha-1", "GHA"},
      {"SWE-NR", "swe-1", "SWE"}, {"UN-IR", "che-ir", "CHE"}, {"UN-IR", "gha-ir", "GHA"}};
  for (const auto& a : accounts) {
    v1::Account* account = g.add_accounts();
    *account->mutable_ref() = Ref(a[0], a[1]);
    account->set_holder_party(a[2]);
  }
  v1::CooperativeApproach* c = g.add_approaches();
  c->set_id("CA0001");
  c->set_name("first");
  c->add_parties("CHE");
  c->add_parties("GHA");
  c->add_parties("SWE");
  c->set_ndc_vintage_rule(v1::VINTAGE_RULE_WITHIN_NDC_PERIOD);
  c = g.add_approaches();
  c->set_id("CA0002");
  c->set_name("flagging");
  c->add_parties("CHE");
  c->add_parties("GHA");
  c->set_ndc_vintage_rule(v1::VINTAGE_RULE_FLAG_OUTSIDE_NDC_PERIOD);
  return g;
}

v1::SignedTransaction SignBody(v1::TransactionBody body, const std::vector<std::string>& signers) {
  if (body.chain_id().empty()) body.set_chain_id(kLedgerChainId);
  if (body.submitter().empty()) {
    auto [kind, submitter] = DefaultSubmitter(body);
    body.set_submitter_kind(kind);
    body.set_submitter(submitter);
  }
  if (body.client_tx_id().empty()) {
    body.set_client_tx_id(
        crypto::ToHex(crypto::Blake2b256(body.SerializeAsString())).substr(0, 16));
  }
  // Every producer sets the signed deadline (the ledger ignores it; node mempools require it).
  if (body.valid_until_ms() == 0) body.set_valid_until_ms(1'798'761'600'000);  // 2027-01-01.

  std::vector<std::string> names = signers;
  if (names.empty()) names.push_back(body.submitter());
  v1::SignedTransaction tx;
  tx.set_body(body.SerializeAsString());
  for (const std::string& name : names) {
    const crypto::KeyPair& key = KeyOf(name);
    v1::Signature* s = tx.add_signatures();
    s->set_public_key(std::string(crypto::AsStringView(key.public_key())));
    const crypto::Signature sig = key.Sign(crypto::kContextTransaction, kLedgerChainId, tx.body());
    s->set_signature(std::string(crypto::AsStringView(sig)));
  }
  return tx;
}

std::vector<v1::SignedTransaction> PreludeTransactions() {
  const v1::AccountRef che1 = Ref("CHE-NR", "che-1");
  const v1::AccountRef che2 = Ref("CHE-NR", "che-2");
  const v1::AccountRef gha1 = Ref("GHA-NR", "gha-1");
  std::vector<v1::SignedTransaction> txs;
  txs.push_back(SignBody(WithClientId(IssueBody("CHE-NR", "che-1", 1, 1000, 2025, ""), "p-1")));
  txs.push_back(SignBody(WithClientId(AuthorizeBody("CHE", "AUTH-1", 5000), "p-2")));
  txs.push_back(
      SignBody(WithClientId(IssueBody("CHE-NR", "che-1", 2001, 3000, 2026, "AUTH-1"), "p-3")));
  txs.push_back(
      SignBody(WithClientId(TransferBody(che1, gha1, Range("CHE-NR", 2001, 2500)), "p-4")));
  txs.push_back(
      SignBody(WithClientId(TransferBody(che1, che2, Range("CHE-NR", 2501, 2600)), "p-5")));
  txs.push_back(SignBody(WithClientId(CancelBody(gha1, Range("CHE-NR", 2001, 2010)), "p-6")));
  txs.push_back(
      SignBody(WithClientId(UseNdcBody("GHA", gha1, Range("CHE-NR", 2011, 2020)), "p-7")));
  txs.push_back(SignBody(WithClientId(QuarantineBody(Range("CHE-NR", 2401, 2450), true), "p-8")));
  txs.push_back(SignBody(WithClientId(IssueBody("GHA-NR", "gha-1", 1, 500, 2024, ""), "p-9")));
  return txs;
}

std::vector<v1::SignedTransaction> SeedTransactions() {
  const v1::AccountRef che1 = Ref("CHE-NR", "che-1");
  const v1::AccountRef gha1 = Ref("GHA-NR", "gha-1");
  std::vector<v1::SignedTransaction> txs;
  // One valid transaction of every action.
  txs.push_back(SignBody(IssueBody("CHE-NR", "che-1", 5001, 5100, 2027, "")));
  txs.push_back(SignBody(IssueBody("CHE-NR", "che-2", 6001, 6100, 2027, "AUTH-1")));
  txs.push_back(SignBody(AuthorizeBody("GHA", "AUTH-2", 1000)));
  v1::TransactionBody attach = AuthorizeBody("CHE", "AUTH-3", 2000);
  *attach.mutable_authorize()->add_attach() = Range("CHE-NR", 1, 100);
  txs.push_back(SignBody(attach));
  v1::TransactionBody change;
  change.set_submitter_kind(v1::SUBMITTER_PARTY);
  change.set_submitter("CHE");
  change.mutable_change_authorization()->set_authorization_id("AUTH-1");
  change.mutable_change_authorization()->set_expected_version(1);
  change.mutable_change_authorization()->set_new_cap(4000);
  txs.push_back(SignBody(change));
  change.mutable_change_authorization()->set_new_cap(0);
  change.mutable_change_authorization()->set_revoke(true);
  txs.push_back(SignBody(change));
  txs.push_back(SignBody(TransferBody(gha1, Ref("UN-IR", "gha-ir"), Range("CHE-NR", 2100, 2200))));
  txs.push_back(SignBody(TransferBody(che1, Ref("SWE-NR", "swe-1"), Range("CHE-NR", 2601, 2700))));
  txs.push_back(SignBody(UseNdcBody("GHA", gha1, Range("CHE-NR", 2201, 2250))));
  txs.push_back(SignBody(UseOimpBody(gha1, Range("CHE-NR", 2251, 2300))));
  // A USE_OR_CANCELLATION first transfer: the host co-signs (docs/ledger-rules.md).
  txs.push_back(SignBody(CancelBody(che1, Range("CHE-NR", 2701, 2710)), {"CHE-NR", "CHE"}));
  txs.push_back(SignBody(QuarantineBody(Range("CHE-NR", 2401, 2450), false)));
  v1::TransactionBody approach;
  approach.mutable_register_approach()->mutable_approach()->set_id("CA0003");
  approach.mutable_register_approach()->mutable_approach()->set_name("third");
  approach.mutable_register_approach()->mutable_approach()->add_parties("CHE");
  approach.mutable_register_approach()->mutable_approach()->add_parties("SWE");
  txs.push_back(SignBody(approach, {"CHE", "SWE"}));
  v1::TransactionBody open;
  *open.mutable_open_account()->mutable_account()->mutable_ref() = Ref("SWE-NR", "swe-2");
  open.mutable_open_account()->mutable_account()->set_holder_party("SWE");
  txs.push_back(SignBody(open));
  // Broken envelopes and roles.
  v1::TransactionBody wrong_chain = IssueBody("CHE-NR", "che-1", 7001, 7010, 2027, "");
  wrong_chain.set_chain_id("other-chain");
  txs.push_back(SignBody(wrong_chain));
  v1::SignedTransaction bad_signature =
      SignBody(IssueBody("CHE-NR", "che-1", 7001, 7010, 2027, ""));
  (*bad_signature.mutable_signatures(0)->mutable_signature())[0] ^= 1;
  txs.push_back(bad_signature);
  txs.push_back(SignBody(IssueBody("CHE-NR", "che-1", 7001, 7010, 2027, ""), {"CHE-NR", "CHE-NR"}));
  txs.push_back(SignBody(IssueBody("CHE-NR", "che-1", 7001, 7010, 2027, ""), {"rogue"}));
  txs.push_back(SignBody(TransferBody(che1, gha1, Range("CHE-NR", 1, 10))));  // Units ISSUED.
  v1::TransactionBody no_action;
  no_action.set_submitter_kind(v1::SUBMITTER_REGISTRY);
  no_action.set_submitter("CHE-NR");
  txs.push_back(SignBody(no_action));
  return txs;
}

std::unique_ptr<LedgerUnderTest> OpenLedgerUnderTest() {
  auto world = std::make_unique<LedgerUnderTest>();
  storage::StoreOptions options;
  options.column_families = ledger::StateMachine::ColumnFamilies();
  options.in_memory = true;
  options.block_cache_bytes = 1 << 20;
  absl::StatusOr<std::unique_ptr<storage::Store>> store =
      storage::Store::Open("fuzz-ledger", options);
  ITMO_CHECK(store.ok());
  world->store = *std::move(store);
  absl::StatusOr<std::unique_ptr<ledger::StateMachine>> ledger =
      ledger::StateMachine::Open(world->store.get(), LedgerGenesis(), &world->verifier);
  if (!ledger.ok()) std::fprintf(stderr, "ledger: %s\n", ledger.status().ToString().c_str());
  ITMO_CHECK(ledger.ok());
  world->ledger = *std::move(ledger);
  for (const v1::SignedTransaction& tx : PreludeTransactions()) {
    storage::WriteBatch batch;
    const uint64_t height = world->ledger->height() + 1;
    auto outcomes = world->ledger->ExecuteBlock({height, kLedgerTimeMs}, {tx}, false, &batch);
    ITMO_CHECK(outcomes.ok());
    if ((*outcomes)[0].status() != v1::TX_ACCEPTED) {
      std::fprintf(stderr, "prelude transaction %llu rejected: %s %s\n",
                   static_cast<unsigned long long>(height),
                   v1::ReasonCode_Name((*outcomes)[0].code()).c_str(),
                   (*outcomes)[0].message().c_str());
    }
    ITMO_CHECK((*outcomes)[0].status() == v1::TX_ACCEPTED);
    ITMO_CHECK(world->store->Write(batch, {.sync = false}).ok());
    world->ledger->CommitBlock();
  }
  return world;
}

}  // namespace itmo::fuzz
