// Randomized model test: random sequences of valid and invalid transactions against a reference
// model that keeps one entry per serial (written independently of the ledger's block logic), plus
// invariants: conservation, one holder per unit, terminal stays terminal, one first transfer and
// one CA addition per unit, cap never exceeded.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "ledger/state_machine.h"
#include "tests/ledger/ledger_fixture.h"
#include "tests/testing/status_matchers.h"

namespace itmo::ledger::testing {
namespace {

constexpr uint64_t kSpace = 120;  // Serials 1..kSpace per registry.
constexpr int kSeeds = 150;       // ITMO_MODEL_SEEDS=N runs N seeds by hand.
constexpr int kBlocksPerSeed = 8;
constexpr int kTxsPerBlock = 8;

struct Acct {
  std::string registry;
  std::string account;
  std::string party;
};
const std::vector<Acct>& Accounts() {
  static const std::vector<Acct> accounts = {{"CHE-NR", "che-1", "CHE"}, {"CHE-NR", "che-2", "CHE"},
                                             {"GHA-NR", "gha-1", "GHA"}, {"GHA-NR", "gha-2", "GHA"},
                                             {"SWE-NR", "swe-1", "SWE"}, {"UN-IR", "che-ir", "CHE"},
                                             {"UN-IR", "gha-ir", "GHA"}};
  return accounts;
}
const std::vector<std::string> kParties = {"CHE", "GHA", "SWE"};

enum class S { kIssued, kAuthorized, kActive, kUsedNdc, kUsedOimp, kCancelled, kRevoked };
bool Terminal(S s) {
  return s == S::kUsedNdc || s == S::kUsedOimp || s == S::kCancelled || s == S::kRevoked;
}
v1::UnitState ToProto(S s) {
  switch (s) {
    case S::kIssued:
      return v1::UNIT_STATE_ISSUED;
    case S::kAuthorized:
      return v1::UNIT_STATE_AUTHORIZED;
    case S::kActive:
      return v1::UNIT_STATE_ACTIVE;
    case S::kUsedNdc:
      return v1::UNIT_STATE_USED_NDC;
    case S::kUsedOimp:
      return v1::UNIT_STATE_USED_OIMP;
    case S::kCancelled:
      return v1::UNIT_STATE_CANCELLED;
    case S::kRevoked:
      return v1::UNIT_STATE_REVOKED;
  }
  return v1::UNIT_STATE_UNSPECIFIED;
}

S FromProto(v1::UnitState s) {
  for (S x : {S::kIssued, S::kAuthorized, S::kActive, S::kUsedNdc, S::kUsedOimp, S::kCancelled,
              S::kRevoked}) {
    if (ToProto(x) == s) return x;
  }
  return S::kIssued;
}

struct Unit {
  int holder = -1;  // Index into Accounts().
  S state = S::kIssued;
  std::string auth;
  std::string party;  // First-transferring Party.
  bool quarantined = false;
  bool first_transferred = false;
  bool snapshot_ndc = false;
  bool snapshot_corsia = false;
  uint64_t numerator = 1;  // Conversion factor to t CO2e (Factor in ledger_fixture.h).
  uint64_t denominator = 1;
};
struct Auth {
  std::string party;
  bool ndc = false;
  bool corsia = false;
  v1::FirstTransferDefinition definition = v1::FIRST_TRANSFER_DEFINITION_UNSPECIFIED;
  uint64_t cap = 0;
  uint64_t first_transferred = 0;
  bool revoked = false;
  uint32_t version = 1;
};
using Key = std::pair<std::string, uint64_t>;  // (registry, serial)

struct Model {
  std::map<Key, Unit> units;
  std::map<std::string, Auth> auths;
  std::map<std::string, uint64_t> ca_added;
  std::map<std::string, uint64_t> ca_subtracted;
  // Exact t CO2e x 10^6 per Party, summed per unit (so independent of how blocks were split).
  std::map<std::string, uint64_t> added_micro;
  std::map<std::string, uint64_t> subtracted_micro;
  static uint64_t Micro(const Unit& u) { return u.numerator * (1'000'000 / u.denominator); }

  void FirstTransfer(Unit& u) {
    Auth& a = auths.at(u.auth);
    a.first_transferred++;
    u.first_transferred = true;
    u.state = S::kActive;
    u.snapshot_ndc = a.ndc;
    u.snapshot_corsia = a.corsia;
    ca_added[u.party]++;
    added_micro[u.party] += Micro(u);
  }
  bool CapsOk(const std::map<std::string, uint64_t>& demand) const {
    for (const auto& [id, n] : demand) {
      const Auth& a = auths.at(id);
      if (a.first_transferred + n > a.cap) return false;
    }
    return true;
  }
};

// Expands ranges to serial keys; false when a range is invalid or two ranges overlap.
bool Expand(const std::vector<v1::UnitRange>& ranges, std::vector<Key>* keys) {
  std::set<Key> seen;
  for (const auto& r : ranges) {
    if (r.first() > r.last()) return false;
    for (uint64_t s = r.first(); s <= r.last(); ++s) {
      if (!seen.insert({r.originating_registry(), s}).second) return false;
      keys->push_back({r.originating_registry(), s});
    }
  }
  return true;
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
  int RandomAccount() { return static_cast<int>(Uniform(0, Accounts().size() - 1)); }
  // Mostly ranges starting at an existing serial, so that most moves can succeed.
  template <typename Units>
  std::vector<v1::UnitRange> RandomRanges(const Units& units) {
    std::vector<v1::UnitRange> out;
    int n = Chance(15) ? 2 : 1;
    for (int i = 0; i < n; ++i) {
      if (units.empty() || Chance(20)) {
        out.push_back(RandomRange(RandomNationalRegistry()));
        continue;
      }
      auto it = units.begin();
      for (int attempt = 0; attempt < 4; ++attempt) {  // Prefer units still in circulation.
        it = units.begin();
        std::advance(it, Uniform(0, units.size() - 1));
        if (!Terminal(it->second.state)) break;
      }
      uint64_t a = it->first.second;
      out.push_back(Range(it->first.first, a, std::min<uint64_t>(kSpace, a + Uniform(0, 3))));
    }
    return out;
  }

 private:
  std::mt19937_64 rng_;
};

class ModelRun {
 public:
  explicit ModelRun(uint64_t seed) : gen_(seed), h_(/*in_memory=*/true) {}

  // Generates one transaction and predicts its acceptance, applying it to `next` when accepted.
  v1::TransactionBody Generate(Model& m, bool* accept) {
    uint64_t kind = gen_.Uniform(0, 99);
    if (kind < 18) return Issue(m, accept);
    if (kind < 28) return Authorize(m, accept);
    if (kind < 31) return Revoke(m, accept);
    if (kind < 60) return Transfer(m, accept);
    if (kind < 72) return UseNdc(m, accept);
    if (kind < 80) return UseOimp(m, accept);
    if (kind < 90) return Cancel(m, accept);
    return Quarantine(m, accept);
  }

  void Run(uint64_t seed) {
    Model model;
    for (int block = 0; block < kBlocksPerSeed; ++block) {
      // The baseline is taken BEFORE Generate applies the block to the model (issue 8).
      Model before = model;
      std::vector<v1::SignedTransaction> txs;
      std::vector<bool> expected;
      for (int i = 0; i < kTxsPerBlock; ++i) {
        bool accept = false;
        v1::TransactionBody body = Generate(model, &accept);
        txs.push_back(h_.Sign(body, cosigned_));
        cosigned_.clear();
        expected.push_back(accept);
        (accept ? accepted_ : rejected_)++;
      }
      auto outcomes = h_.Run(txs, /*signatures_verified=*/block % 2 == 0);
      for (size_t i = 0; i < txs.size(); ++i) {
        ASSERT_EQ(outcomes[i].status() == v1::TX_ACCEPTED, expected[i])
            << "seed " << seed << " block " << block << " tx " << i << ": "
            << v1::ReasonCode_Name(outcomes[i].code()) << " " << outcomes[i].message();
      }
      CompareAndCheckInvariants(seed, before, model);
      if (::testing::Test::HasFatalFailure()) return;
    }
  }

 private:
  v1::TransactionBody Issue(Model& m, bool* accept) {
    const std::string& party = kParties[gen_.Uniform(0, 2)];
    std::string registry = party + "-NR";
    std::vector<int> candidates;
    for (size_t i = 0; i < Accounts().size(); ++i) {
      if (Accounts()[i].registry == registry) candidates.push_back(static_cast<int>(i));
    }
    int to = candidates[gen_.Uniform(0, candidates.size() - 1)];
    uint64_t a = gen_.Uniform(1, kSpace);
    uint64_t b = std::min<uint64_t>(kSpace, a + gen_.Uniform(0, 20));
    uint32_t vintage = gen_.Chance(3) ? 2020 : static_cast<uint32_t>(gen_.Uniform(2021, 2030));
    std::string auth;
    if (!m.auths.empty() && gen_.Chance(80)) {
      auto it = m.auths.begin();
      for (int attempt = 0; attempt < 6; ++attempt) {  // Prefer an authorization of the Party.
        it = m.auths.begin();
        std::advance(it, gen_.Uniform(0, m.auths.size() - 1));
        if (it->second.party == party && !it->second.revoked) break;
      }
      auth = it->first;
    }
    // Factors other than 1/1, and one that changes between vintages (MWh grid factor).
    const Factor* factors[] = {&kTonnes, vintage < 2026 ? &kMwhGrid : &kMwhGrid2026,
                               &kMethaneTonnes, &kKgCo2};
    const Factor& factor = *factors[gen_.Uniform(0, 3)];
    v1::TransactionBody body =
        IssueFactorBody(registry, Accounts()[to].account, a, b, factor, vintage, auth);
    *accept = false;
    if (vintage < 2021) return body;
    for (uint64_t s = a; s <= b; ++s) {
      if (m.units.contains({registry, s})) return body;
    }
    bool first_now = false;
    if (!auth.empty()) {
      const Auth& au = m.auths.at(auth);
      if (au.party != party || au.revoked) return body;
      first_now = au.corsia && (au.definition == v1::FIRST_TRANSFER_ISSUANCE ||
                                au.definition == v1::FIRST_TRANSFER_AUTHORIZATION);
      if (first_now && !m.CapsOk({{auth, b - a + 1}})) return body;
    }
    *accept = true;
    for (uint64_t s = a; s <= b; ++s) {
      Unit& u = m.units[{registry, s}];
      u.holder = to;
      u.party = party;
      u.auth = auth;
      u.numerator = factor.numerator;
      u.denominator = factor.denominator;
      u.state = auth.empty() ? S::kIssued : S::kAuthorized;
      if (first_now) m.FirstTransfer(u);
    }
    return body;
  }

  v1::TransactionBody Authorize(Model& m, bool* accept) {
    const std::string& party = kParties[gen_.Uniform(0, 2)];
    std::string id = absl::StrCat("A", m.auths.size() + (gen_.Chance(5) ? 0 : 1));
    bool corsia = gen_.Chance(40);
    bool ndc = !corsia || gen_.Chance(50);
    auto definition = corsia ? static_cast<v1::FirstTransferDefinition>(gen_.Uniform(1, 3))
                             : v1::FIRST_TRANSFER_DEFINITION_UNSPECIFIED;
    uint64_t cap = gen_.Uniform(5, 120);
    std::vector<std::string> oimp;
    if (corsia) oimp.push_back("CORSIA");
    v1::TransactionBody body = AuthorizeBody(party, id, cap, ndc, oimp, definition);
    std::vector<v1::UnitRange> attach;
    if (gen_.Chance(50)) {
      attach.push_back(
          gen_.RandomRange(gen_.Chance(85) ? party + "-NR" : gen_.RandomNationalRegistry()));
    }
    for (const auto& r : attach) *body.mutable_authorize()->add_attach() = r;
    *accept = false;
    if (m.auths.contains(id)) return body;
    std::vector<Key> keys;
    if (!Expand(attach, &keys)) return body;
    for (const Key& k : keys) {
      auto it = m.units.find(k);
      if (it == m.units.end()) return body;
      const Unit& u = it->second;
      if (Terminal(u.state) || u.quarantined || u.state != S::kIssued || u.party != party) {
        return body;
      }
    }
    bool first_now = corsia && (definition == v1::FIRST_TRANSFER_AUTHORIZATION ||
                                definition == v1::FIRST_TRANSFER_ISSUANCE);  // Issue 8, 2.
    if (first_now && keys.size() > cap) return body;
    *accept = true;
    m.auths[id] = Auth{party, ndc, corsia, definition, cap, 0, false, 1};
    for (const Key& k : keys) {
      Unit& u = m.units.at(k);
      u.auth = id;
      u.state = S::kAuthorized;
      if (first_now) m.FirstTransfer(u);
    }
    return body;
  }

  v1::TransactionBody Revoke(Model& m, bool* accept) {
    std::string id = "A1";
    if (!m.auths.empty()) {
      auto it = m.auths.begin();
      std::advance(it, gen_.Uniform(0, m.auths.size() - 1));
      id = it->first;
    }
    auto found = m.auths.find(id);
    std::string party = found != m.auths.end() ? found->second.party : "CHE";
    uint32_t version = found != m.auths.end() ? found->second.version : 1;
    if (gen_.Chance(10)) version++;
    v1::TransactionBody body;
    body.set_submitter_kind(v1::SUBMITTER_PARTY);
    body.set_submitter(party);
    body.mutable_change_authorization()->set_authorization_id(id);
    body.mutable_change_authorization()->set_expected_version(version);
    body.mutable_change_authorization()->set_revoke(true);
    *accept = found != m.auths.end() && !found->second.revoked && found->second.version == version;
    if (!*accept) return body;
    for (const auto& [k, u] : m.units) {  // R10: quarantine holds against revocation.
      if (u.state == S::kAuthorized && u.auth == id && u.quarantined) *accept = false;
    }
    if (!*accept) return body;
    found->second.revoked = true;
    found->second.version++;
    for (auto& [k, u] : m.units) {
      if (u.state == S::kAuthorized && u.auth == id) u.state = S::kRevoked;
    }
    return body;
  }

  // Common checks of a move out of account `from`: exists, not terminal, not quarantined, held.
  static bool Movable(const Model& m, const std::vector<Key>& keys, int from) {
    for (const Key& k : keys) {
      auto it = m.units.find(k);
      if (it == m.units.end()) return false;
      const Unit& u = it->second;
      if (Terminal(u.state) || u.quarantined || u.holder != from) return false;
    }
    return true;
  }

  int HeldAccount(const Model& m, const v1::UnitRange& r) {
    auto it = m.units.find({r.originating_registry(), r.first()});
    if (it != m.units.end() && gen_.Chance(85)) return it->second.holder;
    return gen_.RandomAccount();
  }

  v1::TransactionBody Transfer(Model& m, bool* accept) {
    auto ranges = gen_.RandomRanges(m.units);
    int from = HeldAccount(m, ranges[0]);
    int to = gen_.RandomAccount();
    // Bias towards the international registry, where two Parties' accounts share one registry
    // (indices 5 che-ir, 6 gha-ir): a move between them is international (issue 8).
    const std::string& from_party = Accounts()[from].party;
    if (Accounts()[from].registry == "UN-IR" && gen_.Chance(50)) to = from == 5 ? 6 : 5;
    if (Accounts()[from].registry != "UN-IR" && gen_.Chance(20)) {
      if (from_party == "CHE") to = 5;
      if (from_party == "GHA") to = 6;
    }
    const Acct& f = Accounts()[from];
    const Acct& t = Accounts()[to];
    v1::TransactionBody body =
        TransferBody(Ref(f.registry, f.account), Ref(t.registry, t.account), ranges);
    *accept = false;
    std::vector<Key> keys;
    if (from == to || !Expand(ranges, &keys) || !Movable(m, keys, from)) return body;
    std::map<std::string, uint64_t> demand;
    std::set<Key> first;
    for (const Key& k : keys) {
      const Unit& u = m.units.at(k);
      if (u.state == S::kIssued) return body;
      if (u.state != S::kAuthorized) continue;
      bool crosses = t.party != f.party && t.party != u.party;  // Between two Parties.
      if (crosses && m.auths.at(u.auth).ndc) {
        demand[u.auth]++;
        first.insert(k);
      }
    }
    if (!m.CapsOk(demand)) return body;
    *accept = true;
    for (const Key& k : keys) {
      Unit& u = m.units.at(k);
      u.holder = to;
      if (first.contains(k)) m.FirstTransfer(u);
    }
    return body;
  }

  v1::TransactionBody UseNdc(Model& m, bool* accept) {
    auto ranges = gen_.RandomRanges(m.units);
    int from = HeldAccount(m, ranges[0]);
    const Acct& f = Accounts()[from];
    std::string party = gen_.Chance(90) ? f.party : kParties[gen_.Uniform(0, 2)];
    v1::TransactionBody body = UseNdcBody(party, Ref(f.registry, f.account), ranges);
    *accept = false;
    std::vector<Key> keys;
    if (party != f.party || !Expand(ranges, &keys) || !Movable(m, keys, from)) return body;
    for (const Key& k : keys) {
      const Unit& u = m.units.at(k);
      if (u.state != S::kActive || !u.snapshot_ndc) return body;
    }
    *accept = true;
    for (const Key& k : keys) {
      m.units.at(k).state = S::kUsedNdc;
      m.ca_subtracted[party]++;
      m.subtracted_micro[party] += Model::Micro(m.units.at(k));
    }
    return body;
  }

  // Use for CORSIA (`use`) or Cancel (!use): AUTHORIZED units under USE_OR_CANCELLATION first
  // transfer.
  v1::TransactionBody Retire(Model& m, bool* accept, bool use) {
    auto ranges = gen_.RandomRanges(m.units);
    int from = HeldAccount(m, ranges[0]);
    const Acct& f = Accounts()[from];
    // Cancellation reasons: OMGE of units no Party adjusted is refused (5015, issue 8).
    const v1::CancellationReason reasons[] = {v1::CANCELLATION_VOLUNTARY, v1::CANCELLATION_OMGE,
                                              v1::CANCELLATION_OTHER};
    const v1::CancellationReason reason = reasons[gen_.Uniform(0, 2)];
    const bool omge = !use && reason == v1::CANCELLATION_OMGE;
    v1::TransactionBody body = use ? UseOimpBody(Ref(f.registry, f.account), ranges)
                                   : CancelBody(Ref(f.registry, f.account), ranges, reason);
    *accept = false;
    std::vector<Key> keys;
    if (!Expand(ranges, &keys) || !Movable(m, keys, from)) return body;
    std::map<std::string, uint64_t> demand;
    std::set<Key> first;
    for (const Key& k : keys) {
      const Unit& u = m.units.at(k);
      if (use && u.state == S::kIssued) return body;
      if (use && u.state == S::kActive && !u.snapshot_corsia) return body;
      if (omge && u.state == S::kIssued) return body;  // Nobody adjusted for it.
      if (u.state != S::kAuthorized) continue;
      const Auth& a = m.auths.at(u.auth);
      bool on_use = a.corsia && a.definition == v1::FIRST_TRANSFER_USE_OR_CANCELLATION;
      if (use && !on_use) return body;
      if (omge && !on_use) return body;  // Not first transferred by this cancellation either.
      if (on_use) {
        demand[u.auth]++;
        first.insert(k);
      }
    }
    if (!m.CapsOk(demand)) return body;
    *accept = true;
    if (!demand.empty()) {  // A first transfer at use/cancel: the host co-signs (issue 8, 3c).
      cosigned_ = {f.registry};
      for (const auto& [id, n] : demand) {
        if (std::find(cosigned_.begin(), cosigned_.end(), m.auths.at(id).party) ==
            cosigned_.end()) {
          cosigned_.push_back(m.auths.at(id).party);
        }
      }
    }
    for (const Key& k : keys) {
      Unit& u = m.units.at(k);
      if (first.contains(k)) m.FirstTransfer(u);
      u.state = use ? S::kUsedOimp : S::kCancelled;
    }
    return body;
  }
  v1::TransactionBody UseOimp(Model& m, bool* accept) { return Retire(m, accept, true); }
  v1::TransactionBody Cancel(Model& m, bool* accept) { return Retire(m, accept, false); }

  v1::TransactionBody Quarantine(Model& m, bool* accept) {
    auto ranges = gen_.RandomRanges(m.units);
    bool flag = gen_.Chance(60);
    v1::TransactionBody body = QuarantineBody(ranges, flag);
    *accept = false;
    std::vector<Key> keys;
    if (!Expand(ranges, &keys)) return body;
    for (const Key& k : keys) {
      auto it = m.units.find(k);
      if (it == m.units.end() || (flag && Terminal(it->second.state)) ||
          it->second.quarantined == flag) {
        return body;
      }
    }
    *accept = true;
    for (const Key& k : keys) m.units.at(k).quarantined = flag;
    return body;
  }

  void CompareAndCheckInvariants(uint64_t seed, const Model& before, const Model& m) {
    std::map<Key, v1::UnitBlock> ledger_units;
    uint64_t total = 0;
    for (size_t i = 0; i < Accounts().size(); ++i) {
      const Acct& a = Accounts()[i];
      for (const v1::UnitBlock& b : h_.Blocks(Ref(a.registry, a.account))) {
        ASSERT_LE(b.first(), b.last());
        for (uint64_t s = b.first(); s <= b.last(); ++s) {
          // One holder per unit: no serial in two blocks.
          ASSERT_TRUE(ledger_units.emplace(Key{b.originating_registry(), s}, b).second)
              << "seed " << seed << ": serial " << s << " held twice";
        }
        total += b.last() - b.first() + 1;
      }
    }
    ASSERT_EQ(total, m.units.size()) << "seed " << seed << ": conservation";
    CheckAgainstPreviousBlock(seed, ledger_units);
    std::map<std::string, uint64_t> first_by_auth;
    uint64_t first_count = 0;
    for (const auto& [key, u] : m.units) {
      auto it = ledger_units.find(key);
      ASSERT_NE(it, ledger_units.end())
          << "seed " << seed << ": missing " << key.first << key.second;
      const v1::UnitBlock& b = it->second;
      const Acct& holder = Accounts()[u.holder];
      EXPECT_EQ(b.holder().account_id(), holder.account)
          << "seed " << seed << " serial " << key.second;
      EXPECT_EQ(b.state(), ToProto(u.state)) << "seed " << seed << " serial " << key.second;
      EXPECT_EQ(b.quarantined(), u.quarantined) << "seed " << seed;
      EXPECT_EQ(b.first_transferred(), u.first_transferred) << "seed " << seed;
      EXPECT_EQ(b.authorization_id(), u.auth) << "seed " << seed;
      if (u.first_transferred) {
        first_by_auth[u.auth]++;
        first_count++;
      }
      auto prev = before.units.find(key);
      if (prev != before.units.end()) {
        if (Terminal(prev->second.state)) {
          EXPECT_EQ(prev->second.state, u.state);  // Terminal stays terminal.
        }
        if (prev->second.first_transferred) {
          EXPECT_TRUE(u.first_transferred);
        }
      }
    }
    for (const auto& [id, a] : m.auths) {
      ASSERT_OK_AND_ASSIGN(auto stored, h_.ledger().GetAuthorization(id));
      ASSERT_TRUE(stored.has_value());
      EXPECT_LE(stored->first_transferred(), stored->cap()) << "seed " << seed << ": cap exceeded";
      EXPECT_EQ(stored->first_transferred(), first_by_auth[id]) << "seed " << seed;
      EXPECT_EQ(stored->first_transferred(), a.first_transferred);
    }
    uint64_t ca_added = 0;
    for (const std::string& party : kParties) {
      ASSERT_OK_AND_ASSIGN(auto adjustments, h_.ledger().GetAdjustments(party, 2021, 2035));
      uint64_t added = 0;
      uint64_t subtracted = 0;
      uint64_t added_micro = 0;
      uint64_t subtracted_micro = 0;
      for (const auto& a : adjustments) {
        added += AddedUnits(a);
        subtracted += SubtractedUnits(a);
        added_micro += std::stoull(a.added_tco2e_micro());
        subtracted_micro += std::stoull(a.subtracted_tco2e_micro());
      }
      // Exact tonnes: the model sums unit by unit, the ledger per block; splits must not matter.
      EXPECT_EQ(added_micro, m.added_micro.contains(party) ? m.added_micro.at(party) : 0)
          << "seed " << seed << " party " << party << ": added t CO2e x 10^6";
      EXPECT_EQ(subtracted_micro,
                m.subtracted_micro.contains(party) ? m.subtracted_micro.at(party) : 0)
          << "seed " << seed << " party " << party << ": subtracted t CO2e x 10^6";
      EXPECT_EQ(added, m.ca_added.contains(party) ? m.ca_added.at(party) : 0) << "seed " << seed;
      EXPECT_EQ(subtracted, m.ca_subtracted.contains(party) ? m.ca_subtracted.at(party) : 0);
      ca_added += added;
    }
    EXPECT_EQ(ca_added, first_count) << "seed " << seed << ": one CA addition per first transfer";
    prev_units_ = std::move(ledger_units);
  }

  // Invariants of the LEDGER across blocks, independent of the model: a terminal unit stays in
  // that state, a first-transferred unit stays first transferred by the same transaction in the
  // same year (first transfer at most once per unit).
  void CheckAgainstPreviousBlock(uint64_t seed, const std::map<Key, v1::UnitBlock>& now) {
    for (const auto& [key, was] : prev_units_) {
      auto it = now.find(key);
      ASSERT_NE(it, now.end()) << "seed " << seed << ": unit vanished " << key.second;
      const v1::UnitBlock& b = it->second;
      if (Terminal(FromProto(was.state()))) {
        EXPECT_EQ(b.state(), was.state()) << "seed " << seed << ": terminal changed " << key.second;
      }
      if (was.first_transferred()) {
        EXPECT_TRUE(b.first_transferred()) << "seed " << seed << " serial " << key.second;
        EXPECT_EQ(b.first_transfer_tx(), was.first_transfer_tx())
            << "seed " << seed << ": second first transfer of " << key.second;
        EXPECT_EQ(b.first_transfer_year(), was.first_transfer_year());
      }
      EXPECT_EQ(b.metric(), was.metric()) << "seed " << seed << ": attribute changed (R2)";
      EXPECT_EQ(b.conversion_numerator(), was.conversion_numerator());
      EXPECT_EQ(b.conversion_denominator(), was.conversion_denominator());
    }
  }

  Generator gen_;
  LedgerHarness h_;
  std::vector<std::string> cosigned_;
  std::map<Key, v1::UnitBlock>
      prev_units_;  // The ledger's units after the previous block.  // Signers of the next
                    // transaction (default: submitter).

 public:
  uint64_t accepted_ = 0;
  uint64_t rejected_ = 0;
};

TEST(ModelTest, RandomSequencesMatchTheReferenceModel) {
  uint64_t accepted = 0;
  uint64_t rejected = 0;
  uint64_t seeds = kSeeds;
  if (const char* env = std::getenv("ITMO_MODEL_SEEDS")) seeds = std::strtoull(env, nullptr, 10);
  for (uint64_t seed = 1; seed <= seeds; ++seed) {
    ModelRun run(seed);
    run.Run(seed);
    accepted += run.accepted_;
    rejected += run.rejected_;
    if (HasFailure()) {
      ADD_FAILURE() << "first failing seed: " << seed;
      return;
    }
  }
  // The generator must exercise both sides.
  if (seeds >= static_cast<uint64_t>(kSeeds)) {
    EXPECT_GT(accepted, 2000u);
    EXPECT_GT(rejected, 2000u);
  }
  std::printf("model test: %lu accepted, %lu rejected\n", static_cast<unsigned long>(accepted),
              static_cast<unsigned long>(rejected));
}

}  // namespace
}  // namespace itmo::ledger::testing
