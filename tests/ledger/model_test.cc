// Randomized model test (issue 8): random sequences of valid and invalid transactions run through
// the real StateMachine and through ReferenceModel (tests/ledger/reference_model.h: one entry per
// serial, written from DOMAIN.md and docs/ledger-rules.md, independent of ledger/internal). After
// every block the test compares, through the public query API only: accept/reject and the reason
// code of every transaction, every serial's holder, state, quarantine flag and attributes, the
// holdings totals of every account, every authorization's cap used, version and status, and every
// Party's corresponding adjustments entry by entry (exact unit counts per direction, metric,
// factor, purpose and NDC period; exact and rounded t CO2e). At the end of each seed it compares
// the history of every serial. Invariants checked on the model and on the ledger across blocks:
// conservation, one holder per unit, terminal stays terminal, one first transfer per unit.
//
// ITMO_MODEL_SEEDS=N runs seeds 1..N (default kSeeds); ITMO_MODEL_SEED=N runs only seed N.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "ledger/state_machine.h"
#include "tests/ledger/ledger_fixture.h"
#include "tests/ledger/reference_model.h"
#include "tests/testing/status_matchers.h"

namespace itmo::ledger::testing {
namespace {

constexpr uint64_t kSpace = 150;  // Serials 1..kSpace per registry: a few hundred per seed.
constexpr int kSeeds = 150;
constexpr int kBlocksPerSeed = 10;
constexpr int kTxsPerBlock = 8;

struct Acct {
  std::string registry;
  std::string account;
  std::string party;
};
// Indices 5 and 6 are two Parties' accounts in the international registry; 7 is closed.
const std::vector<Acct>& Accounts() {
  static const std::vector<Acct> accounts = {
      {"CHE-NR", "che-1", "CHE"}, {"CHE-NR", "che-2", "CHE"},     {"GHA-NR", "gha-1", "GHA"},
      {"GHA-NR", "gha-2", "GHA"}, {"SWE-NR", "swe-1", "SWE"},     {"UN-IR", "che-ir", "CHE"},
      {"UN-IR", "gha-ir", "GHA"}, {"CHE-NR", "che-closed", "CHE"}};
  return accounts;
}
const std::vector<std::string> kParties = {"CHE", "GHA", "SWE"};

bool Terminal(v1::UnitState s) {
  return s == v1::UNIT_STATE_USED_NDC || s == v1::UNIT_STATE_USED_OIMP ||
         s == v1::UNIT_STATE_CANCELLED || s == v1::UNIT_STATE_REVOKED;
}

std::string Codes(const std::set<v1::ReasonCode>& codes) {
  std::vector<std::string> names;
  names.reserve(codes.size());
  for (v1::ReasonCode c : codes) names.push_back(v1::ReasonCode_Name(c));
  return absl::StrJoin(names, ",");
}

class Generator {
 public:
  explicit Generator(uint64_t seed) : rng_(seed) {}
  uint64_t Uniform(uint64_t lo, uint64_t hi) {
    return std::uniform_int_distribution<uint64_t>(lo, hi)(rng_);
  }
  bool Chance(int percent) { return Uniform(1, 100) <= static_cast<uint64_t>(percent); }
  v1::UnitRange RandomRange(const std::string& registry) {
    uint64_t a = Uniform(1, kSpace);
    uint64_t b = std::min<uint64_t>(kSpace, a + Uniform(0, 25));
    if (Chance(3)) std::swap(a, b);
    return Range(registry, a, b);
  }
  std::string RandomNationalRegistry() { return kParties[Uniform(0, 2)] + "-NR"; }
  // The closed account (index 7) now and then.
  int RandomAccount() {
    return static_cast<int>(Uniform(0, Accounts().size() - (Chance(5) ? 1 : 2)));
  }
  // Mostly ranges starting at an existing serial that `prefer` likes, extended over the serials
  // that follow with the same holder and state, so that most moves can succeed.
  template <typename Prefer>
  std::vector<v1::UnitRange> RandomRanges(const std::map<SerialKey, ModelUnit>& units,
                                          Prefer prefer) {
    std::vector<v1::UnitRange> out;
    int n = Chance(15) ? 2 : 1;
    for (int i = 0; i < n; ++i) {
      if (units.empty() || Chance(8)) {
        out.push_back(RandomRange(RandomNationalRegistry()));
        continue;
      }
      auto it = units.begin();
      for (int attempt = 0; attempt < 10; ++attempt) {
        it = units.begin();
        std::advance(it, Uniform(0, units.size() - 1));
        if (prefer(it->second)) break;
      }
      const uint64_t a = it->first.second;
      uint64_t b = a;
      const uint64_t length = Uniform(0, 8);
      for (auto next = std::next(it); next != units.end() && b < a + length; ++next) {
        if (next->first.first != it->first.first || next->first.second != b + 1) break;
        if (next->second.holder_account != it->second.holder_account) break;
        if (next->second.state != it->second.state && !Chance(10)) break;
        b++;
      }
      if (Chance(5)) b = std::min<uint64_t>(kSpace, b + Uniform(1, 3));  // Maybe past the end.
      out.push_back(Range(it->first.first, a, b));
    }
    return out;
  }
  std::vector<v1::UnitRange> RandomRanges(const std::map<SerialKey, ModelUnit>& units) {
    return RandomRanges(units, [](const ModelUnit& u) { return !Terminal(u.state); });
  }

 private:
  std::mt19937_64 rng_;
};

// Generates transactions from the model's current state (what exists, who holds it), without
// predicting their outcome: that is the model's job.
class TxGenerator {
 public:
  TxGenerator(uint64_t seed, const ReferenceModel& model) : gen_(seed), m_(model) {}
  Generator& gen() { return gen_; }

  v1::TransactionBody Next(uint32_t year) {
    uint64_t kind = gen_.Uniform(0, 99);
    if (kind < 18) return Issue(year);
    if (kind < 27) return Authorize();
    if (kind < 31) return Change();
    if (kind < 58) return Transfer();
    if (kind < 70) return UseNdc(year);
    if (kind < 79) return Retire(/*use=*/true);
    if (kind < 89) return Retire(/*use=*/false);
    if (gen_.Chance(55)) return QuarantineBody(gen_.RandomRanges(m_.units()), true);
    auto ranges = gen_.RandomRanges(
        m_.units(), [this](const ModelUnit& u) { return u.quarantined || gen_.Chance(10); });
    return QuarantineBody(ranges, !gen_.Chance(90));
  }

 private:
  // Mostly an authorization of `party` still in force (any, for an empty `party`).
  std::string RandomAuthorization(const std::string& party) {
    if (m_.authorizations().empty()) return "A1";
    std::vector<std::string> candidates;
    for (const auto& [id, a] : m_.authorizations()) {
      if (party.empty() || (a.terms.party() == party && !a.revoked)) candidates.push_back(id);
    }
    if (candidates.empty() || gen_.Chance(10)) {
      auto it = m_.authorizations().begin();
      std::advance(it, gen_.Uniform(0, m_.authorizations().size() - 1));
      return it->first;
    }
    return candidates[gen_.Uniform(0, candidates.size() - 1)];
  }

  v1::TransactionBody Issue(uint32_t year) {
    const std::string& party = kParties[gen_.Uniform(0, 2)];
    // Now and then the international registry issues a Party's units (into any Party's account).
    const bool international = gen_.Chance(8);
    std::string registry = international ? "UN-IR" : party + "-NR";
    std::vector<int> candidates;
    for (size_t i = 0; i < Accounts().size(); ++i) {
      if (Accounts()[i].registry == registry) candidates.push_back(static_cast<int>(i));
    }
    int to = candidates[gen_.Uniform(0, candidates.size() - 1)];
    uint64_t a = gen_.Uniform(1, kSpace);
    uint64_t b = std::min<uint64_t>(kSpace, a + gen_.Uniform(0, 20));
    uint32_t vintage = gen_.Chance(3) ? 2020 : static_cast<uint32_t>(gen_.Uniform(2021, year));
    std::string auth;
    if (!m_.authorizations().empty() && gen_.Chance(80)) auth = RandomAuthorization(party);
    // Factors other than 1/1, and one that changes between vintages (MWh grid factor).
    const Factor* factors[] = {&kTonnes, vintage < 2026 ? &kMwhGrid : &kMwhGrid2026,
                               &kMethaneTonnes, &kKgCo2};
    const Factor& factor = *factors[gen_.Uniform(0, 3)];
    v1::TransactionBody body = IssueFactorBody(registry, Accounts()[to].account, a, b, factor,
                                               vintage, auth, international ? party : "");
    v1::IssuanceSpec* spec = body.mutable_issue()->mutable_blocks(0);
    if (international && gen_.Chance(10)) spec->clear_first_transferring_party();
    if (!international && gen_.Chance(3)) spec->set_first_transferring_party("GHA");
    if (gen_.Chance(15)) spec->set_approach_id("CA0002");  // Flags vintages outside the period.
    if (gen_.Chance(10)) spec->set_activity_type("landfill");
    if (gen_.Chance(10)) {  // A second block of the same issuance, maybe overlapping the first.
      v1::IssuanceSpec* second = body.mutable_issue()->add_blocks();
      *second = *spec;
      const uint64_t first = std::min<uint64_t>(kSpace, b + (gen_.Chance(20) ? 0 : 1));
      second->set_first(first);
      second->set_last(std::min<uint64_t>(kSpace, first + gen_.Uniform(0, 5)));
      second->set_vintage(static_cast<uint32_t>(gen_.Uniform(2021, year)));
    }
    if (gen_.Chance(3)) body.mutable_issue()->mutable_blocks(0)->set_conversion_denominator(7);
    if (gen_.Chance(5)) body.mutable_issue()->mutable_blocks(0)->set_sector("forestry");
    return body;
  }

  v1::TransactionBody Authorize() {
    const std::string& party = kParties[gen_.Uniform(0, 2)];
    std::string id = absl::StrCat("A", m_.authorizations().size() + (gen_.Chance(5) ? 0 : 1));
    bool corsia = gen_.Chance(40);
    bool ndc = !corsia || gen_.Chance(50);
    auto definition = corsia ? static_cast<v1::FirstTransferDefinition>(gen_.Uniform(1, 3))
                             : v1::FIRST_TRANSFER_DEFINITION_UNSPECIFIED;
    uint64_t cap = gen_.Uniform(5, 120);
    std::vector<std::string> oimp;
    if (corsia) oimp.push_back("CORSIA");
    v1::TransactionBody body = AuthorizeBody(party, id, cap, ndc, oimp, definition);
    v1::Authorization* a = body.mutable_authorize()->mutable_authorization();
    if (gen_.Chance(10)) a->set_vintage_last(2025);            // 5005 for later vintages.
    if (gen_.Chance(10)) a->add_sectors("energy");             // 5006 for the forestry issuances.
    if (gen_.Chance(10)) a->add_activity_types("cookstoves");  // 5014 for landfill.
    if (gen_.Chance(15)) a->set_approach_id("CA0002");
    if (gen_.Chance(50)) {  // Attach issued units, mostly the Party's own.
      auto ranges = gen_.RandomRanges(m_.units(), [&](const ModelUnit& u) {
        return (u.state == v1::UNIT_STATE_ISSUED && u.party == party) || gen_.Chance(10);
      });
      for (const v1::UnitRange& r : ranges) *body.mutable_authorize()->add_attach() = r;
    }
    return body;
  }

  v1::TransactionBody Change() {
    std::string id = RandomAuthorization("");
    auto found = m_.authorizations().find(id);
    std::string party = found != m_.authorizations().end() ? found->second.terms.party() : "CHE";
    uint32_t version = found != m_.authorizations().end() ? found->second.version : 1;
    if (gen_.Chance(10)) version++;
    v1::TransactionBody body;
    body.set_submitter_kind(v1::SUBMITTER_PARTY);
    body.set_submitter(party);
    v1::ChangeAuthorization* c = body.mutable_change_authorization();
    c->set_authorization_id(id);
    c->set_expected_version(version);
    uint64_t what = gen_.Uniform(0, 99);
    if (what < 45) {
      c->set_revoke(true);
    } else if (what < 70 && found != m_.authorizations().end()) {
      const uint64_t used = found->second.first_transferred;
      c->set_new_cap(gen_.Uniform(used > 0 ? used - 1 : 1, found->second.terms.cap() + 1));
    } else {
      c->set_change_purposes(true);
      const bool corsia = gen_.Chance(70);
      c->set_ndc(!corsia || gen_.Chance(50));
      if (corsia) c->add_oimp_purposes("CORSIA");
      c->set_first_transfer_definition(
          corsia ? static_cast<v1::FirstTransferDefinition>(gen_.Uniform(1, 3))
                 : v1::FIRST_TRANSFER_DEFINITION_UNSPECIFIED);
      if (found != m_.authorizations().end() && gen_.Chance(30)) {  // And lower the cap with it.
        const uint64_t used = found->second.first_transferred;
        c->set_new_cap(gen_.Uniform(used > 0 ? used : 1, found->second.terms.cap()));
      }
    }
    if (gen_.Chance(3)) c->set_revoke(true);  // Revoke together with another change.
    return body;
  }

  int HeldAccount(const v1::UnitRange& r) {
    auto it = m_.units().find({r.originating_registry(), r.first()});
    if (it == m_.units().end() || !gen_.Chance(85)) return gen_.RandomAccount();
    for (size_t i = 0; i < Accounts().size(); ++i) {
      if (Accounts()[i].registry == it->second.holder_registry &&
          Accounts()[i].account == it->second.holder_account) {
        return static_cast<int>(i);
      }
    }
    return gen_.RandomAccount();
  }

  v1::TransactionBody Transfer() {
    auto ranges = gen_.RandomRanges(m_.units(), [this](const ModelUnit& u) {
      return (u.state == v1::UNIT_STATE_AUTHORIZED || u.state == v1::UNIT_STATE_ACTIVE ||
              gen_.Chance(10)) &&
             (!u.quarantined || gen_.Chance(20));
    });
    int from = HeldAccount(ranges[0]);
    int to = gen_.RandomAccount();
    // Bias towards the international registry, where two Parties' accounts share one registry:
    // a move between them is international (issue 8 defect 1).
    const std::string& from_party = Accounts()[from].party;
    if (Accounts()[from].registry == "UN-IR" && gen_.Chance(50)) to = from == 5 ? 6 : 5;
    if (Accounts()[from].registry != "UN-IR" && gen_.Chance(20)) {
      if (from_party == "CHE") to = 5;
      if (from_party == "GHA") to = 6;
    }
    const Acct& f = Accounts()[from];
    const Acct& t = Accounts()[to];
    return TransferBody(Ref(f.registry, f.account), Ref(t.registry, t.account), ranges);
  }

  v1::TransactionBody UseNdc(uint32_t year) {
    auto ranges = gen_.RandomRanges(m_.units(), [this](const ModelUnit& u) {
      return (u.state == v1::UNIT_STATE_ACTIVE || gen_.Chance(10)) &&
             (!u.quarantined || gen_.Chance(20));
    });
    const Acct& f = Accounts()[HeldAccount(ranges[0])];
    std::string party = gen_.Chance(75) ? f.party : kParties[gen_.Uniform(0, 2)];
    const bool later = gen_.Chance(year > 2030 ? 60 : 10);
    v1::TransactionBody body = UseNdcBody(party, Ref(f.registry, f.account), ranges,
                                          later ? 2031 : 2021, later ? 2035 : 2030);
    if (gen_.Chance(3)) body.mutable_use()->mutable_ndc_period()->set_last_year(2029);  // 5012.
    return body;
  }

  v1::TransactionBody Retire(bool use) {
    auto ranges = gen_.RandomRanges(m_.units(), [this](const ModelUnit& u) {
      return (u.state == v1::UNIT_STATE_ACTIVE || u.state == v1::UNIT_STATE_AUTHORIZED ||
              gen_.Chance(15)) &&
             (!u.quarantined || gen_.Chance(20));
    });
    const Acct& f = Accounts()[HeldAccount(ranges[0])];
    const v1::CancellationReason reasons[] = {v1::CANCELLATION_VOLUNTARY, v1::CANCELLATION_OMGE,
                                              v1::CANCELLATION_OTHER};
    return use ? UseOimpBody(Ref(f.registry, f.account), ranges)
               : CancelBody(Ref(f.registry, f.account), ranges, reasons[gen_.Uniform(0, 2)]);
  }

  Generator gen_;
  const ReferenceModel& m_;
};

struct Totals {
  uint64_t accepted = 0;
  uint64_t rejected = 0;
  uint64_t txs = 0;
  uint64_t serials = 0;
  uint64_t first_transfers = 0;
  std::map<std::string, uint64_t> codes;  // Ledger outcome codes, for ITMO_MODEL_STATS.
  std::map<std::string, uint64_t> kinds;  // Action and accepted (+) or rejected (-).
};

class ModelRun {
 public:
  explicit ModelRun(uint64_t seed)
      : seed_(seed),
        genesis_(MakeGenesis()),
        h_(/*in_memory=*/true),
        model_(genesis_),
        txgen_(seed, model_) {}

  void Run(Totals* totals) {
    for (int block = 0; block < kBlocksPerSeed; ++block) {
      // Odd seeds move into 2031 half-way: NDC periods, year of use and per-year adjustments.
      h_.time_ms = kTime2030Ms + (seed_ % 2 == 1 && block >= kBlocksPerSeed / 2 ? kYearMs : 0);
      const uint32_t year = YearOfTimestamp(h_.time_ms);
      // The baselines are taken BEFORE the block is generated and applied (issue 8).
      const std::map<SerialKey, ModelUnit> before = model_.units();
      std::vector<v1::SignedTransaction> txs;
      std::vector<ModelOutcome> expected;
      std::vector<std::string> bodies;
      for (int i = 0; i < kTxsPerBlock; ++i) {
        v1::TransactionBody body = txgen_.Next(year);
        txs_kind_[i] = body.action_case() == v1::TransactionBody::kUse
                           ? (body.use().purpose() == v1::PURPOSE_NDC ? "use_ndc" : "use_oimp")
                           : body.GetDescriptor()->FindFieldByNumber(body.action_case())->name();
        std::vector<std::string> signers = Signers(body);
        v1::SignedTransaction tx = h_.Sign(body, signers);
        v1::TransactionBody signed_body;
        ASSERT_TRUE(signed_body.ParseFromString(tx.body()));
        if (signers.empty()) signers.push_back(signed_body.submitter());
        expected.push_back(model_.Apply(signed_body, signers, year));
        bodies.push_back(signed_body.ShortDebugString());
        txs.push_back(std::move(tx));
        (expected.back().accepted() ? totals->accepted : totals->rejected)++;
      }
      totals->txs += txs.size();
      auto outcomes = h_.Run(txs, /*signatures_verified=*/block % 2 == 0);
      for (size_t i = 0; i < txs.size(); ++i) {
        const std::string where =
            absl::StrCat("seed ", seed_, " block ", block, " tx ", i, " {", bodies[i], "}");
        ASSERT_EQ(outcomes[i].status() == v1::TX_ACCEPTED, expected[i].accepted())
            << where << ": ledger " << v1::ReasonCode_Name(outcomes[i].code()) << " "
            << outcomes[i].message() << "; model " << Codes(expected[i].codes);
        totals->codes[v1::ReasonCode_Name(outcomes[i].code())]++;
        totals
            ->kinds[absl::StrCat(txs_kind_[i], outcomes[i].status() == v1::TX_ACCEPTED ? "+" : "-",
                                 v1::ReasonCode_Name(outcomes[i].code()))]++;
        if (!expected[i].accepted()) {
          ASSERT_TRUE(expected[i].codes.contains(outcomes[i].code()))
              << where << ": ledger " << v1::ReasonCode_Name(outcomes[i].code()) << " "
              << outcomes[i].message() << "; model " << Codes(expected[i].codes);
        }
      }
      CheckModelAgainstBaseline(before);
      CompareUnits();
      CompareAuthorizations();
      CompareAdjustments();
      if (::testing::Test::HasFailure()) return;
    }
    CompareHistories(totals);
    totals->serials += model_.units().size();
    for (const auto& [k, u] : model_.units()) totals->first_transfers += u.first_transferred;
  }

 private:
  // The submitter's key, plus the host's for a USE_OR_CANCELLATION first transfer; now and then
  // a host signature is left off or added where none is needed (1003, 1005).
  std::vector<std::string> Signers(const v1::TransactionBody& body) {
    if (!body.has_cancel() && !(body.has_use() && body.use().purpose() == v1::PURPOSE_OIMP)) {
      return {};
    }
    const std::string registry =
        body.has_use() ? body.use().from().registry_id() : body.cancel().from().registry_id();
    std::vector<std::string> signers = {registry};
    std::vector<std::string> hosts = model_.HostCosigners(body);
    if (!txgen_.gen().Chance(5)) signers.insert(signers.end(), hosts.begin(), hosts.end());
    if (hosts.empty() && txgen_.gen().Chance(3)) signers.push_back("GHA");
    return signers;
  }

  // The model's own invariants across the block: terminal stays terminal, a first transfer is
  // never undone or repeated, attributes never change (R2, R4, R6).
  void CheckModelAgainstBaseline(const std::map<SerialKey, ModelUnit>& before) {
    for (const auto& [key, was] : before) {
      auto it = model_.units().find(key);
      ASSERT_NE(it, model_.units().end()) << "seed " << seed_ << ": model lost a unit";
      const ModelUnit& u = it->second;
      if (Terminal(was.state)) {
        EXPECT_EQ(u.state, was.state) << "seed " << seed_ << ": terminal changed " << key.second;
      }
      if (was.first_transferred) {
        EXPECT_TRUE(u.first_transferred) << "seed " << seed_ << " serial " << key.second;
        EXPECT_EQ(u.first_transfer_year, was.first_transfer_year);
        EXPECT_EQ(u.snapshot_version, was.snapshot_version);
      }
      EXPECT_EQ(u.metric, was.metric);
      EXPECT_EQ(u.numerator, was.numerator);
      EXPECT_EQ(u.vintage, was.vintage);
    }
  }

  void CompareUnit(const SerialKey& key, const ModelUnit& u, const v1::UnitBlock& b) {
    const std::string where = absl::StrCat("seed ", seed_, " serial ", key.first, "/", key.second);
    EXPECT_EQ(b.holder().registry_id(), u.holder_registry) << where;
    EXPECT_EQ(b.holder().account_id(), u.holder_account) << where;
    EXPECT_EQ(v1::UnitState_Name(b.state()), v1::UnitState_Name(u.state)) << where;
    EXPECT_EQ(b.quarantined(), u.quarantined) << where;
    EXPECT_EQ(b.first_transferred(), u.first_transferred) << where;
    EXPECT_EQ(b.authorization_id(), u.authorization_id) << where;
    EXPECT_EQ(b.first_transferring_party(), u.party) << where;
    EXPECT_EQ(b.vintage(), u.vintage) << where;
    EXPECT_EQ(b.metric(), u.metric) << where;
    EXPECT_EQ(b.conversion_numerator(), u.numerator) << where;
    EXPECT_EQ(b.conversion_denominator(), u.denominator) << where;
    if (u.first_transferred) {
      EXPECT_EQ(b.first_transfer_year(), u.first_transfer_year) << where;
      EXPECT_EQ(b.authorization_snapshot().version(), u.snapshot_version) << where;
      EXPECT_EQ(b.authorization_snapshot().ndc(), u.snapshot_ndc) << where;
    }
    EXPECT_EQ(b.approach_id(), u.approach) << where;
    if (u.state == v1::UNIT_STATE_USED_NDC) {
      EXPECT_EQ(b.retirement().vintage_outside_period(), u.vintage_flagged) << where;
    }
  }

  // Every account's holdings against the model, serial by serial, and the totals.
  void CompareUnits() {
    std::map<SerialKey, v1::UnitBlock> seen;
    for (const v1::Account& account : genesis_.accounts()) {
      ASSERT_OK_AND_ASSIGN(v1::Holdings h, h_.ledger().GetHoldings(account.ref()));
      uint64_t held = 0;
      uint64_t retired = 0;
      for (const v1::UnitBlock& b : h.blocks()) {
        ASSERT_LE(b.first(), b.last());
        for (uint64_t s = b.first(); s <= b.last(); ++s) {
          SerialKey key{b.originating_registry(), s};
          ASSERT_TRUE(seen.emplace(key, b).second) << "seed " << seed_ << ": held twice " << s;
          auto it = model_.units().find(key);
          ASSERT_NE(it, model_.units().end()) << "seed " << seed_ << ": unit not in model " << s;
          CompareUnit(key, it->second, b);
          (Terminal(b.state()) && b.state() != v1::UNIT_STATE_REVOKED ? retired : held)++;
        }
      }
      EXPECT_EQ(h.held_units(), absl::StrCat(held)) << "seed " << seed_;
      EXPECT_EQ(h.retired_units(), absl::StrCat(retired)) << "seed " << seed_;
    }
    ASSERT_EQ(seen.size(), model_.units().size()) << "seed " << seed_ << ": conservation (R2)";
    CheckLedgerAgainstPreviousBlock(seen);
    prev_units_ = std::move(seen);
  }

  // Invariants of the LEDGER across blocks: a terminal unit stays so, a first transfer is never
  // repeated (same transaction, same year), attributes never change.
  void CheckLedgerAgainstPreviousBlock(const std::map<SerialKey, v1::UnitBlock>& now) {
    for (const auto& [key, was] : prev_units_) {
      auto it = now.find(key);
      ASSERT_NE(it, now.end()) << "seed " << seed_ << ": unit vanished " << key.second;
      const v1::UnitBlock& b = it->second;
      if (Terminal(was.state())) {
        EXPECT_EQ(b.state(), was.state()) << "seed " << seed_ << ": terminal changed";
      }
      if (was.first_transferred()) {
        EXPECT_TRUE(b.first_transferred()) << "seed " << seed_ << " serial " << key.second;
        EXPECT_EQ(b.first_transfer_tx(), was.first_transfer_tx())
            << "seed " << seed_ << ": second first transfer of " << key.second;
      }
    }
  }

  void CompareAuthorizations() {
    for (const auto& [id, a] : model_.authorizations()) {
      ASSERT_OK_AND_ASSIGN(auto stored, h_.ledger().GetAuthorization(id));
      ASSERT_TRUE(stored.has_value()) << "seed " << seed_ << " " << id;
      const std::string where = absl::StrCat("seed ", seed_, " authorization ", id);
      EXPECT_EQ(stored->first_transferred(), a.first_transferred) << where << ": cap used";
      EXPECT_LE(stored->first_transferred(), stored->cap()) << where << ": cap exceeded (R8)";
      EXPECT_EQ(stored->cap(), a.terms.cap()) << where;
      EXPECT_EQ(stored->version(), a.version) << where;
      EXPECT_EQ(stored->status() == v1::AUTHORIZATION_REVOKED, a.revoked) << where;
      EXPECT_EQ(stored->ndc(), a.terms.ndc()) << where;
      EXPECT_EQ(stored->first_transfer_definition(), a.terms.first_transfer_definition()) << where;
    }
  }

  // Every Party's adjustments, entry by entry, with the exact and the rounded t CO2e.
  void CompareAdjustments() {
    for (const v1::Party& party : genesis_.parties()) {
      std::map<AdjustmentKey, uint64_t> want;
      for (const auto& [k, n] : model_.adjustments()) {
        if (k.party == party.code()) want[k] = n;
      }
      std::map<AdjustmentKey, uint64_t> got;
      ASSERT_OK_AND_ASSIGN(auto years, h_.ledger().GetAdjustments(party.code(), 2021, 2035));
      for (const v1::Adjustment& y : years) {
        int64_t added = 0;
        int64_t subtracted = 0;
        for (const v1::AdjustmentEntry& e : y.entries()) {
          AdjustmentKey k{party.code(),
                          y.year(),
                          e.direction(),
                          e.metric(),
                          e.conversion_numerator(),
                          e.conversion_denominator(),
                          e.purpose(),
                          e.ndc_period().first_year(),
                          e.ndc_period().last_year(),
                          e.oimp_purpose()};
          const uint64_t units = std::stoull(e.units());
          got[k] += units;
          const uint64_t micro = MicroTonnes(units, k.numerator, k.denominator);
          EXPECT_EQ(e.tco2e_micro(), absl::StrCat(micro)) << "seed " << seed_;
          EXPECT_EQ(e.tco2e(), RoundMicroTonnes(static_cast<int64_t>(micro))) << "seed " << seed_;
          (k.direction == v1::ADJUSTMENT_ADDITION ? added : subtracted) +=
              static_cast<int64_t>(micro);
        }
        const std::string where = absl::StrCat("seed ", seed_, " ", party.code(), " ", y.year());
        EXPECT_EQ(y.added_tco2e_micro(), absl::StrCat(added)) << where;
        EXPECT_EQ(y.subtracted_tco2e_micro(), absl::StrCat(subtracted)) << where;
        EXPECT_EQ(y.net_tco2e_micro(), absl::StrCat(added - subtracted)) << where;
        EXPECT_EQ(y.net_tco2e(), RoundMicroTonnes(added - subtracted)) << where;
      }
      EXPECT_EQ(got, want) << "seed " << seed_ << " " << party.code() << ": adjustments differ";
    }
  }

  // The history of every serial: one entry per action that touched it, first transfer once.
  void CompareHistories(Totals* totals) {
    for (const auto& [key, u] : model_.units()) {
      const std::string where =
          absl::StrCat("seed ", seed_, " history ", key.first, "/", key.second);
      ASSERT_OK_AND_ASSIGN(auto history, h_.ledger().GetUnitHistory(key.first, key.second));
      ASSERT_EQ(history.size(), u.history.size()) << where;
      int firsts = 0;
      for (size_t i = 0; i < history.size(); ++i) {
        const v1::UnitHistoryEntry& e = history[i];
        const ModelHistoryStep& step = u.history[i];
        if (!step.action.empty()) {
          EXPECT_EQ(e.action(), step.action) << where << " #" << i;
        }
        EXPECT_EQ(v1::UnitState_Name(e.state_after()), v1::UnitState_Name(step.state_after))
            << where << " #" << i;
        EXPECT_EQ(e.first_transfer(), step.first_transfer) << where << " #" << i;
        EXPECT_EQ(e.quarantined_after(), step.quarantined_after) << where << " #" << i;
        if (!step.to_account.empty()) {
          EXPECT_EQ(absl::StrCat(e.to().registry_id(), "/", e.to().account_id()), step.to_account)
              << where << " #" << i;
        }
        if (step.first_transfer) {
          EXPECT_EQ(e.authorization_version(), step.authorization_version) << where;
          EXPECT_EQ(e.authorization_id(), u.authorization_id) << where;
        }
        firsts += e.first_transfer();
        if (e.first_transfer()) totals->kinds["first transfer by " + e.action()]++;
      }
      EXPECT_LE(firsts, 1) << where << ": more than one first transfer (R6)";
      if (::testing::Test::HasFailure()) return;
    }
  }

  const uint64_t seed_;
  const v1::Genesis genesis_;
  LedgerHarness h_;
  ReferenceModel model_;
  TxGenerator txgen_;
  std::string txs_kind_[kTxsPerBlock];
  std::map<SerialKey, v1::UnitBlock> prev_units_;  // The ledger's units after the previous block.
};

TEST(ModelTest, RandomSequencesMatchTheReferenceModel) {
  uint64_t first = 1;
  uint64_t last = kSeeds;
  if (const char* env = std::getenv("ITMO_MODEL_SEEDS")) last = std::strtoull(env, nullptr, 10);
  if (const char* env = std::getenv("ITMO_MODEL_SEED")) {
    first = last = std::strtoull(env, nullptr, 10);
  }
  const auto start = std::chrono::steady_clock::now();
  Totals totals;
  for (uint64_t seed = first; seed <= last; ++seed) {
    ModelRun run(seed);
    run.Run(&totals);
    if (HasFailure()) {
      ADD_FAILURE() << "first failing seed: " << seed << " (replay: ITMO_MODEL_SEED=" << seed
                    << ")";
      return;
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  // The generator must exercise both sides.
  if (last - first + 1 >= static_cast<uint64_t>(kSeeds)) {
    EXPECT_GT(totals.accepted, 3000u);
    EXPECT_GT(totals.rejected, 3000u);
    EXPECT_GT(totals.first_transfers, 1000u);
  }
  if (std::getenv("ITMO_MODEL_STATS") != nullptr) {
    for (const auto& [name, n] : totals.codes) std::printf("  %s %lu\n", name.c_str(), n);
    for (const auto& [name, n] : totals.kinds) std::printf("  %s %lu\n", name.c_str(), n);
  }
  std::printf(
      "model test: %lu seeds, %lu txs (%lu accepted, %lu rejected), %lu serials, %lu first "
      "transfers, %.1f s\n",
      static_cast<unsigned long>(last - first + 1), static_cast<unsigned long>(totals.txs),
      static_cast<unsigned long>(totals.accepted), static_cast<unsigned long>(totals.rejected),
      static_cast<unsigned long>(totals.serials),
      static_cast<unsigned long>(totals.first_transfers), seconds);
}

}  // namespace
}  // namespace itmo::ledger::testing
