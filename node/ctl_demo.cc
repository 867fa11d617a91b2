#include "node/ctl_demo.h"

#include <map>
#include <memory>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/check.h"
#include "base/status_macros.h"
#include "crypto/digest.h"
#include "crypto/keys.h"
#include "node/ctl_client.h"
#include "node/ctl_localnet.h"
#include "node/ctl_tx.h"
#include "node/ctl_util.h"

namespace itmo::node::ctl {
namespace {

constexpr uint64_t kIssued = 1000;         // Units issued by Ghana's registry.
constexpr uint64_t kFirstTransfer = 600;   // Ghana -> Switzerland (first transfer: CA by Ghana).
constexpr uint64_t kSecondTransfer = 200;  // Switzerland -> Sweden (no new CA).
constexpr uint64_t kUsed = 300;            // Used towards Switzerland's NDC (CA by Switzerland).
constexpr uint64_t kCancelled = 20;        // Cancelled for OMGE.

struct Context {
  std::string chain_id;
  std::string tag;    // Fresh per run: ids and serials never collide with an earlier run.
  uint64_t base = 0;  // Serials base+1 .. base+kIssued.
  uint32_t vintage = 0;
  std::map<std::string, crypto::KeyPair> keys;
  std::unique_ptr<LedgerClient> client;
};

v1::AccountRef Account(const std::string& registry, const std::string& account) {
  v1::AccountRef ref;
  ref.set_registry_id(registry);
  ref.set_account_id(account);
  return ref;
}

v1::UnitRange Range(const Context& c, uint64_t first, uint64_t last) {
  v1::UnitRange range;
  range.set_originating_registry("GHA-NR");
  range.set_first(c.base + first);
  range.set_last(c.base + last);
  return range;
}

v1::TransactionBody Body(const Context& c, v1::SubmitterKind kind, const std::string& submitter,
                         const std::string& step) {
  v1::TransactionBody body;
  body.set_chain_id(c.chain_id);
  body.set_submitter_kind(kind);
  body.set_submitter(submitter);
  body.set_client_tx_id(absl::StrCat("demo-", c.tag, "-", step));
  body.set_valid_until_ms(ValidUntilMs());
  return body;
}

std::string Describe(const v1::TransactionOutcome& outcome) {
  if (outcome.status() == v1::TX_ACCEPTED) {
    return absl::StrCat("ACCEPTED at height ", outcome.height(),
                        outcome.first_transfer() ? " (first transfer)" : "");
  }
  return absl::StrCat("REJECTED ", ReasonCodeText(outcome.code()), ": ", outcome.message());
}

// Signs, submits and waits for the outcome; compares it with the expectation.
absl::StatusOr<DemoStep> RunStep(Context& c, const DemoOptions& options, std::string name,
                                 const v1::TransactionBody& body,
                                 const std::vector<std::string>& signers,
                                 v1::ReasonCode expected_code, std::ostream& out) {
  ITMO_CHECK(!signers.empty());
  ITMO_CHECK(body.action_case() != v1::TransactionBody::ACTION_NOT_SET);
  std::vector<crypto::KeyPair> keys;
  for (const std::string& signer : signers) keys.push_back(c.keys.at(signer));
  v1::SignedTransaction tx = SignTransaction(body, keys);
  DemoStep step;
  step.name = std::move(name);
  step.expected_code = expected_code;
  step.expected_status = expected_code == v1::REASON_OK ? v1::TX_ACCEPTED : v1::TX_REJECTED;
  ITMO_ASSIGN_OR_RETURN(std::string tx_id, c.client->Submit(tx));
  if (tx_id != TransactionIdOf(tx)) {
    return absl::DataLossError(absl::StrCat("the node returned tx id ", crypto::ToHex(tx_id),
                                            " for ", crypto::ToHex(TransactionIdOf(tx))));
  }
  ITMO_ASSIGN_OR_RETURN(v1::GetTransactionResponse committed,
                        c.client->WaitForCommit(tx_id, options.step_timeout));
  step.outcome = committed.outcome();
  absl::Status proof = VerifyInclusionProof(committed);
  step.proof_verified = proof.ok();
  if (step.outcome.status() != step.expected_status || step.outcome.code() != expected_code) {
    step.problem = absl::StrCat("expected ", v1::TxStatus_Name(step.expected_status), " ",
                                ReasonCodeText(expected_code));
  } else if (!proof.ok()) {
    step.problem = absl::StrCat("inclusion proof: ", proof.message());
  }
  step.as_expected = step.problem.empty();
  out << "  " << (step.as_expected ? "ok  " : "FAIL") << " " << step.name << ": "
      << Describe(step.outcome) << (step.proof_verified ? " [proof ok]" : "")
      << (step.as_expected ? "" : absl::StrCat(" -- ", step.problem)) << "\n";
  return step;
}

absl::StatusOr<Context> Prepare(const DemoOptions& options) {
  Context c;
  ITMO_ASSIGN_OR_RETURN(v1::Genesis genesis,
                        ReadGenesisJson(options.localnet_dir + "/genesis.json"));
  c.chain_id = genesis.chain_id();
  for (const char* id : {"CHE-authority", "GHA-authority", "GHA-NR", "CHE-NR"}) {
    ITMO_ASSIGN_OR_RETURN(crypto::KeyPair key, LoadLocalnetKey(options.localnet_dir, id));
    c.keys.emplace(id, std::move(key));
  }
  const int64_t now_ms = NowMs();
  c.tag = absl::StrCat(now_ms % 100'000'000);
  c.base = static_cast<uint64_t>(now_ms % 100'000'000) * 10'000;
  // The latest full year: never after the consensus year (R9), never before
  // 2021.
  c.vintage = static_cast<uint32_t>(
      std::max<int64_t>(2021, absl::ToCivilYear(absl::Now(), absl::UTCTimeZone()).year() - 1));
  ITMO_ASSIGN_OR_RETURN(c.client, LedgerClient::Connect(options.node));
  return c;
}

v1::TransactionBody RegisterApproachBody(const Context& c) {
  v1::TransactionBody body = Body(c, v1::SUBMITTER_PARTY, "CHE", "approach");
  v1::CooperativeApproach* approach = body.mutable_register_approach()->mutable_approach();
  approach->set_id(absl::StrCat("CA-", c.tag));
  approach->set_name("Switzerland-Ghana Implementing Agreement (Article 6.2)");
  approach->add_parties("CHE");
  approach->add_parties("GHA");
  approach->set_ndc_vintage_rule(v1::VINTAGE_RULE_WITHIN_NDC_PERIOD);
  return body;
}

v1::TransactionBody IssueBody(const Context& c) {
  v1::TransactionBody body = Body(c, v1::SUBMITTER_REGISTRY, "GHA-NR", "issue");
  v1::Issue* issue = body.mutable_issue();
  *issue->mutable_to() = Account("GHA-NR", "GHA-HOLDING");
  v1::IssuanceSpec* spec = issue->add_blocks();
  spec->set_approach_id(absl::StrCat("CA-", c.tag));
  spec->set_first_transferring_party("GHA");
  spec->set_vintage(c.vintage);
  spec->set_first(c.base + 1);
  spec->set_last(c.base + kIssued);
  spec->set_metric("tCO2e");
  spec->set_conversion_numerator(1);
  spec->set_conversion_denominator(1);
  spec->set_sector("energy");
  spec->set_activity_type("clean cookstoves");
  spec->add_underlying_block_ids(absl::StrCat("GS-11234-", c.vintage, "-1-1000"));
  return body;
}

v1::TransactionBody AuthorizeBody(const Context& c) {
  v1::TransactionBody body = Body(c, v1::SUBMITTER_PARTY, "GHA", "authorize");
  v1::Authorization* auth = body.mutable_authorize()->mutable_authorization();
  auth->set_id(absl::StrCat("GHA-AUTH-", c.tag));
  auth->set_approach_id(absl::StrCat("CA-", c.tag));
  auth->set_party("GHA");
  auth->set_ndc(true);
  auth->set_cap(kIssued);
  auth->set_vintage_first(2021);
  auth->set_vintage_last(2030);
  auth->add_sectors("energy");
  *body.mutable_authorize()->add_attach() = Range(c, 1, kIssued);
  return body;
}

v1::TransactionBody TransferBody(const Context& c, const std::string& step,
                                 const v1::AccountRef& from, const v1::AccountRef& to,
                                 uint64_t first, uint64_t last) {
  v1::TransactionBody body = Body(c, v1::SUBMITTER_REGISTRY, from.registry_id(), step);
  *body.mutable_transfer()->mutable_from() = from;
  *body.mutable_transfer()->mutable_to() = to;
  *body.mutable_transfer()->add_ranges() = Range(c, first, last);
  return body;
}

v1::TransactionBody UseBody(const Context& c, const std::string& step) {
  v1::TransactionBody body = Body(c, v1::SUBMITTER_PARTY, "CHE", step);
  v1::Use* use = body.mutable_use();
  *use->mutable_from() = Account("CHE-NR", "CHE-HOLDING");
  *use->add_ranges() = Range(c, 1, kUsed);
  use->set_purpose(v1::PURPOSE_NDC);
  use->set_using_party("CHE");
  use->mutable_ndc_period()->set_first_year(2021);
  use->mutable_ndc_period()->set_last_year(2030);
  return body;
}

v1::TransactionBody CancelBody(const Context& c) {
  v1::TransactionBody body = Body(c, v1::SUBMITTER_REGISTRY, "CHE-NR", "cancel-omge");
  v1::Cancel* cancel = body.mutable_cancel();
  *cancel->mutable_from() = Account("CHE-NR", "CHE-HOLDING");
  *cancel->add_ranges() = Range(c, kUsed + 1, kUsed + kCancelled);
  cancel->set_reason(v1::CANCELLATION_OMGE);
  cancel->set_note("Cancellation for overall mitigation in global emissions");
  return body;
}

struct AdjustmentTotals {
  uint64_t added = 0;
  uint64_t subtracted = 0;
};

absl::StatusOr<AdjustmentTotals> Adjustments(Context& c, const std::string& party) {
  v1::GetAdjustmentsRequest request;
  request.set_party(party);
  request.set_year_first(2021);
  request.set_year_last(2100);
  ITMO_ASSIGN_OR_RETURN(v1::GetAdjustmentsResponse response, c.client->GetAdjustments(request));
  AdjustmentTotals totals;
  for (const v1::Adjustment& a : response.adjustments()) {
    for (const v1::AdjustmentEntry& e : a.entries()) {  // The demo issues one metric only.
      uint64_t units = 0;
      if (!absl::SimpleAtoi(e.units(), &units)) return absl::DataLossError("adjustment units");
      (e.direction() == v1::ADJUSTMENT_ADDITION ? totals.added : totals.subtracted) += units;
    }
  }
  return totals;
}

absl::Status PrintSummary(Context& c, const DemoReport& report, std::ostream& out) {
  out << "\nHoldings (units of this run, serials GHA-NR " << c.base + 1 << ".." << c.base + kIssued
      << "):\n";
  for (const auto& [registry, account] :
       {std::pair{"GHA-NR", "GHA-HOLDING"}, std::pair{"CHE-NR", "CHE-HOLDING"},
        std::pair{"SWE-NR", "SWE-HOLDING"}}) {
    v1::GetHoldingsRequest request;
    *request.mutable_account() = Account(registry, account);
    ITMO_ASSIGN_OR_RETURN(v1::Holdings holdings, c.client->GetHoldings(request));
    out << "  " << registry << "/" << account << ": " << holdings.held_units() << " units held, "
        << holdings.retired_units() << " retired\n";
    for (const v1::UnitBlock& block : holdings.blocks()) {
      if (block.originating_registry() != "GHA-NR" || block.first() <= c.base ||
          block.last() > c.base + kIssued) {
        continue;
      }
      out << "    " << block.approach_id() << "-" << block.originating_registry() << "-"
          << block.first_transferring_party() << "-" << block.first() << "-" << block.last() << "-"
          << block.vintage() << "  " << v1::UnitState_Name(block.state()) << "\n";
    }
  }
  out << "\nCorresponding adjustments (all years, units):\n";
  for (const char* party : {"GHA", "CHE", "SWE"}) {
    ITMO_ASSIGN_OR_RETURN(AdjustmentTotals totals, Adjustments(c, party));
    out << "  " << party << ": added " << totals.added << ", subtracted " << totals.subtracted
        << ", net " << static_cast<int64_t>(totals.added - totals.subtracted) << "\n";
  }
  const DemoStep& last = report.steps.back();
  out << "\nRejected attempt: " << last.name << " -> " << v1::TxStatus_Name(last.outcome.status())
      << " with " << ReasonCodeText(last.outcome.code()) << ": " << last.outcome.message() << "\n";
  return absl::OkStatus();
}

struct Plan {
  std::string name;
  v1::TransactionBody body;
  std::vector<std::string> signers;
  v1::ReasonCode expected;
};

// The demo's steps in order, with who signs and the expected reason code.
std::vector<Plan> DemoPlans(const Context& c) {
  const v1::AccountRef gha = Account("GHA-NR", "GHA-HOLDING");
  const v1::AccountRef che = Account("CHE-NR", "CHE-HOLDING");
  const v1::AccountRef swe = Account("SWE-NR", "SWE-HOLDING");
  return {
      {"1. register approach CHE-GHA",
       RegisterApproachBody(c),
       {"CHE-authority", "GHA-authority"},
       v1::REASON_OK},
      {"2. issue 1000 units in GHA-NR", IssueBody(c), {"GHA-NR"}, v1::REASON_OK},
      {"3. authorize them (Ghana, NDC use)", AuthorizeBody(c), {"GHA-authority"}, v1::REASON_OK},
      {"4. first transfer 600 GHA -> CHE",
       TransferBody(c, "transfer-1", gha, che, 1, kFirstTransfer),
       {"GHA-NR"},
       v1::REASON_OK},
      {"5. second transfer 200 CHE -> SWE",
       TransferBody(c, "transfer-2", che, swe, kFirstTransfer - kSecondTransfer + 1,
                    kFirstTransfer),
       {"CHE-NR"},
       v1::REASON_OK},
      {"6. use 300 towards CHE's NDC 2021-2030",
       UseBody(c, "use-1"),
       {"CHE-authority"},
       v1::REASON_OK},
      {"7. cancel 20 for OMGE", CancelBody(c), {"CHE-NR"}, v1::REASON_OK},
      {"8. use the same 300 units again",
       UseBody(c, "use-2"),
       {"CHE-authority"},
       v1::REASON_UNITS_TERMINAL},
  };
}

}  // namespace

absl::StatusOr<DemoReport> RunDemo(const DemoOptions& options, std::ostream& out) {
  ITMO_ASSIGN_OR_RETURN(Context c, Prepare(options));
  ITMO_ASSIGN_OR_RETURN(AdjustmentTotals gha_before, Adjustments(c, "GHA"));
  ITMO_ASSIGN_OR_RETURN(AdjustmentTotals che_before, Adjustments(c, "CHE"));
  out << "Demo run " << c.tag << " on " << options.node << " (chain " << c.chain_id << ")\n";
  const std::vector<Plan> plans = DemoPlans(c);
  DemoReport report;
  for (const Plan& plan : plans) {
    ITMO_ASSIGN_OR_RETURN(
        DemoStep step, RunStep(c, options, plan.name, plan.body, plan.signers, plan.expected, out));
    report.steps.push_back(std::move(step));
  }
  ITMO_CHECK(report.steps.size() == plans.size());
  // The first transfer must have been marked, the second not (R6).
  bool first_marks =
      report.steps[3].outcome.first_transfer() && !report.steps[4].outcome.first_transfer();
  if (!first_marks) {
    report.steps[3].as_expected = false;
    report.steps[3].problem = "first_transfer must be set on step 4 and not on step 5";
    out << "  FAIL first-transfer marks: " << report.steps[3].problem << "\n";
  }
  ITMO_ASSIGN_OR_RETURN(AdjustmentTotals gha_after, Adjustments(c, "GHA"));
  ITMO_ASSIGN_OR_RETURN(AdjustmentTotals che_after, Adjustments(c, "CHE"));
  report.adjustments_as_expected = gha_after.added - gha_before.added == kFirstTransfer &&
                                   che_after.subtracted - che_before.subtracted == kUsed;
  if (!report.adjustments_as_expected) {
    out << "  FAIL adjustments: expected GHA +" << kFirstTransfer << " added and CHE +" << kUsed
        << " subtracted, got +" << gha_after.added - gha_before.added << " and +"
        << che_after.subtracted - che_before.subtracted << "\n";
  }
  ITMO_RETURN_IF_ERROR(PrintSummary(c, report, out));
  report.all_as_expected = report.adjustments_as_expected;
  for (const DemoStep& step : report.steps) {
    report.all_as_expected = report.all_as_expected && step.as_expected;
  }
  out << "\n"
      << (report.all_as_expected ? "Demo PASSED: every step had the expected outcome"
                                 : "Demo FAILED: see the FAIL lines above")
      << "\n";
  return report;
}

}  // namespace itmo::node::ctl
