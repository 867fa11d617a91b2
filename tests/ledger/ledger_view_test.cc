// LedgerView (issue 7 defect 9, issue 8 defect 9): reads from a store snapshot at one height, with
// no use of the commit path's in-memory state, and the paged listings.
#include "ledger/ledger_view.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ledger/state_machine.h"
#include "tests/ledger/ledger_fixture.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace itmo::ledger::testing {
namespace {

using ::itmo::testing::StatusIs;
using ::testing::ElementsAre;

std::vector<std::string> AccountIds(const std::vector<v1::Account>& accounts) {
  std::vector<std::string> out;
  for (const v1::Account& a : accounts) {
    out.push_back(a.ref().registry_id() + "/" + a.ref().account_id());
  }
  return out;
}

TEST(LedgerViewTest, AViewAnswersAtItsHeightWhileBlocksCommit) {
  LedgerHarness h;
  const v1::AccountRef che1 = Ref("CHE-NR", "che-1");
  const v1::AccountRef gha1 = Ref("GHA-NR", "gha-1");
  ASSERT_EQ(h.RunOne(AuthorizeBody("CHE", "A1", 500)).code(), v1::REASON_OK);
  ASSERT_EQ(h.RunOne(IssueBody("CHE-NR", "che-1", 1, 100, 2025, "A1")).code(), v1::REASON_OK);
  ASSERT_OK_AND_ASSIGN(auto view, h.ledger().View());
  EXPECT_EQ(view->height(), 2u);
  EXPECT_EQ(view->state_root(), h.ledger().state_root());
  const crypto::Digest root_at_2 = h.ledger().state_root();
  // Three more blocks commit while the view is held.
  ASSERT_EQ(h.RunOne(TransferBody(che1, gha1, {Range("CHE-NR", 1, 40)})).code(), v1::REASON_OK);
  ASSERT_EQ(h.RunOne(UseNdcBody("GHA", gha1, {Range("CHE-NR", 1, 10)})).code(), v1::REASON_OK);
  v1::TransactionBody lower;
  lower.set_submitter_kind(v1::SUBMITTER_PARTY);
  lower.set_submitter("CHE");
  lower.mutable_change_authorization()->set_authorization_id("A1");
  lower.mutable_change_authorization()->set_expected_version(1);
  lower.mutable_change_authorization()->set_new_cap(300);
  ASSERT_EQ(h.RunOne(lower).code(), v1::REASON_OK);
  ASSERT_EQ(h.ledger().height(), 5u);
  // Every answer of the old view is still the state at height 2.
  EXPECT_EQ(view->height(), 2u);
  EXPECT_EQ(view->state_root(), root_at_2);
  ASSERT_OK_AND_ASSIGN(v1::Holdings old_che, view->GetHoldings(che1));
  EXPECT_EQ(old_che.height(), 2u);
  ASSERT_EQ(old_che.blocks_size(), 1);
  EXPECT_EQ(old_che.blocks(0).last(), 100u);
  EXPECT_EQ(old_che.blocks(0).state(), v1::UNIT_STATE_AUTHORIZED);
  ASSERT_OK_AND_ASSIGN(v1::Holdings old_gha, view->GetHoldings(gha1));
  EXPECT_EQ(old_gha.blocks_size(), 0);
  ASSERT_OK_AND_ASSIGN(auto history, view->GetUnitHistory("CHE-NR", 5));
  EXPECT_EQ(history.size(), 1u);  // The issuance only.
  ASSERT_OK_AND_ASSIGN(auto adjustments, view->GetAdjustments("CHE", 2021, 2040));
  EXPECT_TRUE(adjustments.empty());
  ASSERT_OK_AND_ASSIGN(auto a, view->GetAuthorization("A1"));
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->cap(), 500u);
  EXPECT_EQ(a->first_transferred(), 0u);
  ASSERT_OK_AND_ASSIGN(auto versions, view->GetAuthorizationVersions("A1"));
  EXPECT_EQ(versions.size(), 1u);
  // A new view sees height 5.
  ASSERT_OK_AND_ASSIGN(auto now, h.ledger().View());
  EXPECT_EQ(now->height(), 5u);
  ASSERT_OK_AND_ASSIGN(v1::Holdings new_gha, now->GetHoldings(gha1));
  EXPECT_EQ(new_gha.height(), 5u);
  EXPECT_EQ(new_gha.blocks_size(), 2);  // 1..10 used, 11..40 active.
  ASSERT_OK_AND_ASSIGN(auto new_versions, now->GetAuthorizationVersions("A1"));
  EXPECT_EQ(new_versions.size(), 2u);
}

// The view reads the store, never the in-memory state the commit path is changing: it answers
// (at the committed height) while a block is pending, where the in-memory queries must refuse.
TEST(LedgerViewTest, AViewReadsWhileABlockIsPending) {
  LedgerHarness h;
  ASSERT_EQ(h.RunOne(AuthorizeBody("CHE", "A1", 500)).code(), v1::REASON_OK);
  ASSERT_EQ(h.RunOne(IssueBody("CHE-NR", "che-1", 1, 100, 2025, "A1")).code(), v1::REASON_OK);
  storage::WriteBatch batch;
  auto outcomes =
      h.ledger().ExecuteBlock({3, kTime2030Ms},
                              {h.Sign(TransferBody(Ref("CHE-NR", "che-1"), Ref("CHE-NR", "che-2"),
                                                   {Range("CHE-NR", 1, 50)}))},
                              false, &batch);
  ASSERT_TRUE(outcomes.ok());
  ASSERT_EQ((*outcomes)[0].code(), v1::REASON_OK) << (*outcomes)[0].message();
  ASSERT_TRUE(h.ledger().block_pending());
  EXPECT_THAT(h.ledger().GetHoldings(Ref("CHE-NR", "che-1")),
              StatusIs(absl::StatusCode::kUnavailable));
  ASSERT_OK_AND_ASSIGN(auto view, h.ledger().View());
  EXPECT_EQ(view->height(), 2u);
  ASSERT_OK_AND_ASSIGN(v1::Holdings che1, view->GetHoldings(Ref("CHE-NR", "che-1")));
  ASSERT_EQ(che1.blocks_size(), 1);
  EXPECT_EQ(che1.blocks(0).last(), 100u);  // Not the pending split.
  ASSERT_OK(h.store().Write(batch, {.sync = false}));
  h.ledger().CommitBlock();
  // Still one height: the held view is unchanged, a new one sees the block.
  ASSERT_OK_AND_ASSIGN(che1, view->GetHoldings(Ref("CHE-NR", "che-1")));
  EXPECT_EQ(che1.blocks(0).last(), 100u);
  ASSERT_OK_AND_ASSIGN(auto after, h.ledger().View());
  EXPECT_EQ(after->height(), 3u);
  ASSERT_OK_AND_ASSIGN(che1, after->GetHoldings(Ref("CHE-NR", "che-1")));
  EXPECT_EQ(che1.blocks(0).first(), 51u);
}

// The holder index the view reads is persisted with the block and rebuilt on open when missing.
TEST(LedgerViewTest, PersistedIndexIsRebuiltOnOpen) {
  itmo::testing::TempDir dir;
  LedgerHarness h(dir.File("db"));
  ASSERT_EQ(h.RunOne(AuthorizeBody("CHE", "A1", 500)).code(), v1::REASON_OK);
  ASSERT_EQ(h.RunOne(IssueBody("CHE-NR", "che-1", 1, 100, 2025, "A1")).code(), v1::REASON_OK);
  ASSERT_EQ(h.RunOne(TransferBody(Ref("CHE-NR", "che-1"), Ref("CHE-NR", "che-2"),
                                  {Range("CHE-NR", 20, 30)}))
                .code(),
            v1::REASON_OK);
  const Observed before = h.Observe();
  ASSERT_OK_AND_ASSIGN(auto family, h.store().Family("ledger_index"));
  std::vector<std::string> keys;
  ASSERT_OK(h.store().Scan(family, "", "", [&](std::string_view k, std::string_view) {
    keys.emplace_back(k);
    return true;
  }));
  // Holder and authorization entries of 1..19, 31..100 (che-1) and 20..30 (che-2).
  ASSERT_EQ(keys.size(), 6u);
  storage::WriteBatch drop;
  for (const std::string& k : keys) drop.Delete(family, k);
  drop.Put(family, "h/bogus", "");
  ASSERT_OK(h.store().Write(drop, {.sync = true}));
  ASSERT_OK_AND_ASSIGN(auto view, h.ledger().View());
  ASSERT_OK_AND_ASSIGN(v1::Holdings empty, view->GetHoldings(Ref("CHE-NR", "che-1")));
  EXPECT_EQ(empty.blocks_size(), 0);  // The view really reads the persisted index.
  view.reset();
  h.Reopen();
  EXPECT_TRUE(h.Observe() == before);
  std::vector<std::string> rebuilt;
  ASSERT_OK(h.store().Scan(family, "", "", [&](std::string_view k, std::string_view) {
    rebuilt.emplace_back(k);
    return true;
  }));
  EXPECT_EQ(rebuilt, keys);
}

TEST(LedgerViewTest, ListsAccountsPagedAndFiltered) {
  LedgerHarness h;
  ASSERT_OK_AND_ASSIGN(auto view, h.ledger().View());
  // All nine genesis accounts in pages of 4: 4 + 4 + 1.
  std::vector<v1::Account> all;
  PageRequest page{4, ""};
  int pages = 0;
  do {
    ASSERT_OK_AND_ASSIGN(auto got, view->ListAccounts({}, page));
    EXPECT_LE(got.items.size(), 4u);
    all.insert(all.end(), got.items.begin(), got.items.end());
    page.page_token = got.next_page_token;
    ++pages;
  } while (!page.page_token.empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  EXPECT_THAT(AccountIds(all), ElementsAre("CHE-NR/che-1", "CHE-NR/che-2", "CHE-NR/che-closed",
                                           "GHA-NR/gha-1", "GHA-NR/gha-2", "PER-NR/per-1",
                                           "SWE-NR/swe-1", "UN-IR/che-ir", "UN-IR/gha-ir"));
  ASSERT_OK_AND_ASSIGN(auto by_registry, view->ListAccounts({"UN-IR", ""}, {}));
  EXPECT_THAT(AccountIds(by_registry.items), ElementsAre("UN-IR/che-ir", "UN-IR/gha-ir"));
  EXPECT_TRUE(by_registry.next_page_token.empty());
  ASSERT_OK_AND_ASSIGN(auto by_party, view->ListAccounts({"", "GHA"}, {}));
  EXPECT_THAT(AccountIds(by_party.items),
              ElementsAre("GHA-NR/gha-1", "GHA-NR/gha-2", "UN-IR/gha-ir"));
  ASSERT_OK_AND_ASSIGN(auto both, view->ListAccounts({"UN-IR", "CHE"}, {}));
  EXPECT_THAT(AccountIds(both.items), ElementsAre("UN-IR/che-ir"));
  // A registry prefix does not match a longer registry id ("CHE-NR" vs "CHE-NRX").
  ASSERT_OK_AND_ASSIGN(auto none, view->ListAccounts({"CHE", ""}, {}));
  EXPECT_TRUE(none.items.empty());
  // Limits and tokens.
  EXPECT_THAT(view->ListAccounts({}, {kPageSizeMax + 1, ""}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(view->ListAccounts({}, {0, "zz"}), StatusIs(absl::StatusCode::kInvalidArgument));
  ASSERT_OK_AND_ASSIGN(auto first, view->ListAccounts({}, {1, ""}));
  EXPECT_THAT(view->ListAccounts({"UN-IR", ""}, {1, first.next_page_token}),
              StatusIs(absl::StatusCode::kInvalidArgument));  // A token of another listing.
  ASSERT_OK_AND_ASSIGN(auto approaches_token, view->ListApproaches({1, ""}));
  EXPECT_THAT(view->ListParties({1, approaches_token.next_page_token}),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(LedgerViewTest, ListsApproachesAndParties) {
  LedgerHarness h;
  ASSERT_OK_AND_ASSIGN(auto view, h.ledger().View());
  ASSERT_OK_AND_ASSIGN(auto approaches, view->ListApproaches({}));
  ASSERT_EQ(approaches.items.size(), 2u);
  EXPECT_EQ(approaches.items[0].id(), "CA0001");
  EXPECT_THAT(approaches.items[0].parties(), ElementsAre("CHE", "GHA", "SWE"));
  EXPECT_EQ(approaches.items[1].id(), "CA0002");
  EXPECT_TRUE(approaches.next_page_token.empty());
  ASSERT_OK_AND_ASSIGN(auto first, view->ListParties({3, ""}));
  ASSERT_EQ(first.items.size(), 3u);
  EXPECT_EQ(first.items[0].code(), "CHE");
  EXPECT_FALSE(first.next_page_token.empty());
  ASSERT_OK_AND_ASSIGN(auto rest, view->ListParties({3, first.next_page_token}));
  ASSERT_EQ(rest.items.size(), 1u);
  EXPECT_EQ(rest.items[0].code(), "SWE");
  EXPECT_TRUE(rest.next_page_token.empty());
}

// The mempool's admission checks read a view as well (no lock shared with the commit path).
TEST(LedgerViewTest, SubmitterKeysAndUsedClientIdsAsTheStateMachine) {
  LedgerHarness h;
  v1::TransactionOutcome out = h.RunOne(IssueBody("CHE-NR", "che-1", 1, 10));
  ASSERT_EQ(out.code(), v1::REASON_OK);
  ASSERT_OK_AND_ASSIGN(auto view, h.ledger().View());
  for (const auto& [kind, name] :
       {std::pair<v1::SubmitterKind, std::string>{v1::SUBMITTER_REGISTRY, "CHE-NR"},
        {v1::SUBMITTER_PARTY, "GHA"},
        {v1::SUBMITTER_SECRETARIAT, "SECRETARIAT"}}) {
    ASSERT_OK_AND_ASSIGN(crypto::PublicKey from_view, view->SubmitterKey(kind, name));
    ASSERT_OK_AND_ASSIGN(crypto::PublicKey from_ledger, h.ledger().SubmitterKey(kind, name));
    EXPECT_EQ(from_view, from_ledger) << name;
  }
  EXPECT_THAT(view->SubmitterKey(v1::SUBMITTER_PARTY, "XXX"),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(view->SubmitterKey(v1::SUBMITTER_REGISTRY, "GHA"),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_TRUE(view->IsClientTxIdUsed(out.submitter(), out.client_tx_id()));
  EXPECT_FALSE(view->IsClientTxIdUsed(out.submitter(), "never-used"));
}

}  // namespace
}  // namespace itmo::ledger::testing
