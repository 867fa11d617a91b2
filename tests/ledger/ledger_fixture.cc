#include "tests/ledger/ledger_fixture.h"

#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "crypto/digest.h"
#include "gtest/gtest.h"

namespace itmo::ledger::testing {
namespace {

const std::set<std::string>& PartyCodes() {
  static const std::set<std::string> codes = {"CHE", "GHA", "SWE", "PER"};
  return codes;
}

std::string KeyName(const std::string& signer) {
  if (PartyCodes().contains(signer)) return "party:" + signer;
  if (signer == "SECRETARIAT" || signer == "rogue") return signer;
  return "registry:" + signer;
}

std::string PublicKeyBytes(const std::string& signer) {
  return std::string(crypto::AsStringView(KeyFor(KeyName(signer)).public_key()));
}

}  // namespace

crypto::KeyPair KeyFor(const std::string& name) {
  crypto::Digest seed = crypto::Blake2b256(name);
  auto key = crypto::KeyPair::FromSeed(crypto::AsStringView(seed));
  ITMO_CHECK(key.ok());
  return *key;
}

v1::AccountRef Ref(const std::string& registry, const std::string& account) {
  v1::AccountRef ref;
  ref.set_registry_id(registry);
  ref.set_account_id(account);
  return ref;
}

v1::UnitRange Range(const std::string& registry, uint64_t first, uint64_t last) {
  v1::UnitRange r;
  r.set_originating_registry(registry);
  r.set_first(first);
  r.set_last(last);
  return r;
}

v1::Genesis MakeGenesis() {
  v1::Genesis g;
  g.set_chain_id(kChainId);
  g.set_genesis_time_ms(kTime2030Ms - kYearMs);
  g.set_secretariat_key(PublicKeyBytes("SECRETARIAT"));
  for (const std::string& code : PartyCodes()) {
    v1::Party* p = g.add_parties();
    p->set_code(code);
    p->set_name(code);
    p->set_authority_key(PublicKeyBytes(code));
    v1::NdcPeriod* period = p->add_ndc_periods();
    period->set_first_year(2021);
    period->set_last_year(2030);
    period = p->add_ndc_periods();
    period->set_first_year(2031);
    period->set_last_year(2035);
    p->set_ca_method(v1::CA_METHOD_MULTI_YEAR);
    v1::Registry* r = g.add_registries();
    r->set_id(code + "-NR");
    r->set_party(code);
    r->set_registry_key(PublicKeyBytes(code + "-NR"));
  }
  v1::Registry* ir = g.add_registries();
  ir->set_id("UN-IR");
  ir->set_registry_key(PublicKeyBytes("UN-IR"));
  ir->set_international(true);
  auto account = [&](const std::string& registry, const std::string& id, const std::string& party,
                     bool closed) {
    v1::Account* a = g.add_accounts();
    *a->mutable_ref() = Ref(registry, id);
    a->set_holder_party(party);
    a->set_closed(closed);
  };
  account("CHE-NR", "che-1", "CHE", false);
  account("CHE-NR", "che-2", "CHE", false);
  account("CHE-NR", "che-closed", "CHE", true);
  account("GHA-NR", "gha-1", "GHA", false);
  account("GHA-NR", "gha-2", "GHA", false);
  account("SWE-NR", "swe-1", "SWE", false);
  account("PER-NR", "per-1", "PER", false);
  account("UN-IR", "che-ir", "CHE", false);
  account("UN-IR", "gha-ir", "GHA", false);
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

v1::TransactionBody IssueBody(const std::string& registry, const std::string& account,
                              uint64_t first, uint64_t last, uint32_t vintage,
                              const std::string& authorization_id, const std::string& approach) {
  v1::TransactionBody body;
  v1::Issue* issue = body.mutable_issue();
  *issue->mutable_to() = Ref(registry, account);
  v1::IssuanceSpec* spec = issue->add_blocks();
  spec->set_approach_id(approach);
  spec->set_vintage(vintage);
  spec->set_first(first);
  spec->set_last(last);
  spec->set_metric("tCO2e");
  spec->set_conversion_numerator(1);
  spec->set_conversion_denominator(1);
  spec->set_sector("energy");
  spec->set_activity_type("cookstoves");
  spec->add_underlying_block_ids("VCS-1-100");
  spec->set_authorization_id(authorization_id);
  return body;
}

v1::TransactionBody IssueFactorBody(const std::string& registry, const std::string& account,
                                    uint64_t first, uint64_t last, const Factor& factor,
                                    uint32_t vintage, const std::string& authorization_id,
                                    const std::string& first_transferring_party) {
  v1::TransactionBody body = IssueBody(registry, account, first, last, vintage, authorization_id);
  v1::IssuanceSpec* spec = body.mutable_issue()->mutable_blocks(0);
  spec->set_metric(factor.metric);
  spec->set_conversion_numerator(factor.numerator);
  spec->set_conversion_denominator(factor.denominator);
  spec->set_first_transferring_party(first_transferring_party);
  return body;
}

v1::TransactionBody AuthorizeBody(const std::string& party, const std::string& id, uint64_t cap,
                                  bool ndc, const std::vector<std::string>& oimp,
                                  v1::FirstTransferDefinition definition,
                                  const std::string& approach) {
  v1::TransactionBody body;
  v1::Authorization* a = body.mutable_authorize()->mutable_authorization();
  a->set_id(id);
  a->set_approach_id(approach);
  a->set_party(party);
  a->set_ndc(ndc);
  for (const std::string& o : oimp) a->add_oimp_purposes(o);
  a->set_first_transfer_definition(definition);
  a->set_cap(cap);
  a->set_vintage_first(2021);
  a->set_vintage_last(2030);
  return body;
}

v1::TransactionBody TransferBody(const v1::AccountRef& from, const v1::AccountRef& to,
                                 const std::vector<v1::UnitRange>& ranges) {
  v1::TransactionBody body;
  *body.mutable_transfer()->mutable_from() = from;
  *body.mutable_transfer()->mutable_to() = to;
  for (const auto& r : ranges) *body.mutable_transfer()->add_ranges() = r;
  return body;
}

v1::TransactionBody UseNdcBody(const std::string& party, const v1::AccountRef& from,
                               const std::vector<v1::UnitRange>& ranges, uint32_t period_first,
                               uint32_t period_last) {
  v1::TransactionBody body;
  v1::Use* use = body.mutable_use();
  *use->mutable_from() = from;
  for (const auto& r : ranges) *use->add_ranges() = r;
  use->set_purpose(v1::PURPOSE_NDC);
  use->set_using_party(party);
  use->mutable_ndc_period()->set_first_year(period_first);
  use->mutable_ndc_period()->set_last_year(period_last);
  return body;
}

v1::TransactionBody UseOimpBody(const v1::AccountRef& from,
                                const std::vector<v1::UnitRange>& ranges,
                                const std::string& purpose) {
  v1::TransactionBody body;
  v1::Use* use = body.mutable_use();
  *use->mutable_from() = from;
  for (const auto& r : ranges) *use->add_ranges() = r;
  use->set_purpose(v1::PURPOSE_OIMP);
  use->set_oimp_purpose(purpose);
  use->set_using_entity("airline-1");
  return body;
}

uint64_t AddedUnits(const v1::Adjustment& a) {
  uint64_t sum = 0;
  for (const auto& e : a.entries()) {
    if (e.direction() == v1::ADJUSTMENT_ADDITION) sum += std::stoull(e.units());
  }
  return sum;
}

uint64_t SubtractedUnits(const v1::Adjustment& a) {
  uint64_t sum = 0;
  for (const auto& e : a.entries()) {
    if (e.direction() == v1::ADJUSTMENT_SUBTRACTION) sum += std::stoull(e.units());
  }
  return sum;
}

v1::TransactionBody CancelBody(const v1::AccountRef& from, const std::vector<v1::UnitRange>& ranges,
                               v1::CancellationReason reason) {
  v1::TransactionBody body;
  *body.mutable_cancel()->mutable_from() = from;
  for (const auto& r : ranges) *body.mutable_cancel()->add_ranges() = r;
  body.mutable_cancel()->set_reason(reason);
  return body;
}

v1::TransactionBody QuarantineBody(const std::vector<v1::UnitRange>& ranges, bool quarantined) {
  v1::TransactionBody body;
  for (const auto& r : ranges) *body.mutable_set_quarantine()->add_ranges() = r;
  body.mutable_set_quarantine()->set_quarantined(quarantined);
  body.mutable_set_quarantine()->set_reason("reconciliation");
  return body;
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
      return {v1::SUBMITTER_PARTY, body.submitter()};
  }
}

LedgerHarness::LedgerHarness(bool in_memory)
    : dir_(std::make_unique<itmo::testing::TempDir>()), in_memory_(in_memory) {
  path_ = dir_->File("db");
  OpenAll();
}

LedgerHarness::LedgerHarness(const std::string& path) : path_(path) { OpenAll(); }

LedgerHarness::~LedgerHarness() {
  ledger_.reset();
  store_.reset();
}

void LedgerHarness::OpenAll() {
  storage::StoreOptions options;
  options.column_families = StateMachine::ColumnFamilies();
  options.in_memory = in_memory_;
  auto store = storage::Store::Open(path_, options);
  ITMO_CHECK(store.ok());
  store_ = std::move(*store);
  auto ledger = StateMachine::Open(store_.get(), MakeGenesis(), &verifier_);
  if (!ledger.ok()) ADD_FAILURE() << ledger.status();
  ITMO_CHECK(ledger.ok());
  ledger_ = std::move(*ledger);
}

void LedgerHarness::Reopen() {
  ledger_.reset();
  store_.reset();
  OpenAll();
}

v1::SignedTransaction LedgerHarness::Sign(v1::TransactionBody body,
                                          std::vector<std::string> signers) {
  if (body.chain_id().empty()) body.set_chain_id(kChainId);
  if (body.submitter().empty()) {
    auto [kind, submitter] = DefaultSubmitter(body);
    body.set_submitter_kind(kind);
    body.set_submitter(submitter);
  }
  if (body.client_tx_id().empty()) body.set_client_tx_id(absl::StrCat("c-", next_client_id_++));
  if (signers.empty()) signers.push_back(body.submitter());
  v1::SignedTransaction tx;
  tx.set_body(body.SerializeAsString());
  for (const std::string& signer : signers) {
    crypto::KeyPair key = KeyFor(KeyName(signer));
    v1::Signature* s = tx.add_signatures();
    s->set_public_key(std::string(crypto::AsStringView(key.public_key())));
    crypto::Signature sig = key.Sign(crypto::kContextTransaction, kChainId, tx.body());
    s->set_signature(std::string(crypto::AsStringView(sig)));
  }
  return tx;
}

std::vector<v1::TransactionOutcome> LedgerHarness::Run(
    const std::vector<v1::SignedTransaction>& txs, bool signatures_verified) {
  storage::WriteBatch batch;
  auto outcomes =
      ledger_->ExecuteBlock({ledger_->height() + 1, time_ms}, txs, signatures_verified, &batch);
  ITMO_CHECK(outcomes.ok());
  ITMO_CHECK(store_->Write(batch, {.sync = false}).ok());
  ledger_->CommitBlock();
  return *outcomes;
}

v1::TransactionOutcome LedgerHarness::RunOne(v1::TransactionBody body,
                                             std::vector<std::string> signers) {
  return Run({Sign(std::move(body), std::move(signers))})[0];
}

v1::TransactionOutcome LedgerHarness::RunSigned(const v1::SignedTransaction& tx) {
  return Run({tx})[0];
}

Observed LedgerHarness::Observe() {
  Observed o;
  o.root = ledger_->state_root();
  const v1::Genesis genesis = MakeGenesis();
  for (const auto& a : genesis.accounts()) {
    auto h = ledger_->GetHoldings(a.ref());
    ITMO_CHECK(h.ok());
    h->set_height(0);
    o.holdings[a.ref().registry_id() + "/" + a.ref().account_id()] = h->SerializeAsString();
  }
  return o;
}

std::vector<v1::UnitBlock> LedgerHarness::Blocks(const v1::AccountRef& account) {
  auto h = ledger_->GetHoldings(account);
  ITMO_CHECK(h.ok());
  return {h->blocks().begin(), h->blocks().end()};
}

v1::UnitBlock LedgerHarness::BlockAt(const std::string& registry, uint64_t serial) {
  auto b = ledger_->GetBlockAt(registry, serial);
  ITMO_CHECK(b.ok());
  ITMO_CHECK(b->has_value());
  return **b;
}

}  // namespace itmo::ledger::testing
