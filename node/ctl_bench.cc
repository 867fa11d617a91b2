#include "node/ctl_bench.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <thread>
#include <unordered_map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/check.h"
#include "base/status_macros.h"
#include "crypto/digest.h"
#include "node/ctl_client.h"
#include "node/ctl_localnet.h"
#include "node/ctl_subscribe.h"
#include "node/ctl_tx.h"
#include "node/ctl_util.h"

namespace itmo::node::ctl {
namespace {

using Clock = std::chrono::steady_clock;

struct Setup {
  std::string chain_id;
  std::string tag;
  uint64_t base = 0;
  int64_t lifetime_ms = 0;
  std::optional<crypto::KeyPair> gha_registry;  // Always set by Connect().
  std::vector<std::unique_ptr<LedgerClient>> clients;
  std::unique_ptr<LedgerClient> subscriber;
};

absl::Status Commit(LedgerClient& client, const v1::TransactionBody& body,
                    std::vector<crypto::KeyPair> keys, const std::string& what) {
  v1::SignedTransaction tx = SignTransaction(body, keys);
  ITMO_ASSIGN_OR_RETURN(std::string tx_id, client.Submit(tx));
  ITMO_ASSIGN_OR_RETURN(v1::GetTransactionResponse committed,
                        client.WaitForCommit(tx_id, absl::Seconds(60)));
  if (committed.outcome().status() != v1::TX_ACCEPTED) {
    return absl::FailedPreconditionError(absl::StrCat(
        "bench setup '", what, "' was rejected: ", ReasonCodeText(committed.outcome().code()), " ",
        committed.outcome().message()));
  }
  return absl::OkStatus();
}

v1::TransactionBody NewBody(const Setup& s, v1::SubmitterKind kind, const std::string& submitter,
                            const std::string& step) {
  v1::TransactionBody body;
  body.set_chain_id(s.chain_id);
  body.set_submitter_kind(kind);
  body.set_submitter(submitter);
  body.set_client_tx_id(absl::StrCat("bench-", s.tag, "-", step));
  body.set_valid_until_ms(ValidUntilMs(s.lifetime_ms));
  return body;
}

// Approach CHE-GHA, an authorization of Ghana with cap `txs`, and `txs`
// authorized units in GHA-NR/GHA-HOLDING (serials base+1 .. base+txs).
absl::Status SetUpUnits(const std::string& dir, Setup& s, uint64_t txs) {
  ITMO_ASSIGN_OR_RETURN(crypto::KeyPair che, LoadLocalnetKey(dir, "CHE-authority"));
  ITMO_ASSIGN_OR_RETURN(crypto::KeyPair gha, LoadLocalnetKey(dir, "GHA-authority"));
  LedgerClient& client = *s.clients.front();
  const std::string approach_id = absl::StrCat("CA-BENCH-", s.tag);
  v1::TransactionBody approach = NewBody(s, v1::SUBMITTER_PARTY, "CHE", "approach");
  v1::CooperativeApproach* a = approach.mutable_register_approach()->mutable_approach();
  a->set_id(approach_id);
  a->set_name("itmo-bench approach");
  a->add_parties("CHE");
  a->add_parties("GHA");
  ITMO_RETURN_IF_ERROR(Commit(client, approach, {che, gha}, "register approach"));
  v1::TransactionBody authorize = NewBody(s, v1::SUBMITTER_PARTY, "GHA", "authorize");
  v1::Authorization* auth = authorize.mutable_authorize()->mutable_authorization();
  auth->set_id(absl::StrCat("GHA-AUTH-BENCH-", s.tag));
  auth->set_approach_id(approach_id);
  auth->set_party("GHA");
  auth->set_ndc(true);
  auth->set_cap(txs);
  auth->set_vintage_first(2021);
  auth->set_vintage_last(2030);
  ITMO_RETURN_IF_ERROR(Commit(client, authorize, {gha}, "authorize"));
  v1::TransactionBody issue = NewBody(s, v1::SUBMITTER_REGISTRY, "GHA-NR", "issue");
  issue.mutable_issue()->mutable_to()->set_registry_id("GHA-NR");
  issue.mutable_issue()->mutable_to()->set_account_id("GHA-HOLDING");
  v1::IssuanceSpec* spec = issue.mutable_issue()->add_blocks();
  spec->set_approach_id(approach_id);
  spec->set_first_transferring_party("GHA");
  spec->set_vintage(2023);
  spec->set_first(s.base + 1);
  spec->set_last(s.base + txs);
  spec->set_metric("tCO2e");
  spec->set_conversion_numerator(1);
  spec->set_conversion_denominator(1);
  spec->set_sector("energy");
  spec->set_activity_type("bench");
  spec->set_authorization_id(auth->id());
  return Commit(client, issue, {*s.gha_registry}, "issue");
}

std::vector<v1::SignedTransaction> PresignTransfers(const Setup& s, uint64_t txs) {
  std::vector<v1::SignedTransaction> out;
  out.reserve(txs);
  std::vector<crypto::KeyPair> keys = {*s.gha_registry};
  for (uint64_t i = 1; i <= txs; ++i) {
    v1::TransactionBody body =
        NewBody(s, v1::SUBMITTER_REGISTRY, "GHA-NR", absl::StrCat("transfer-", i));
    v1::Transfer* transfer = body.mutable_transfer();
    transfer->mutable_from()->set_registry_id("GHA-NR");
    transfer->mutable_from()->set_account_id("GHA-HOLDING");
    transfer->mutable_to()->set_registry_id("CHE-NR");
    transfer->mutable_to()->set_account_id("CHE-HOLDING");
    v1::UnitRange* range = transfer->add_ranges();
    range->set_originating_registry("GHA-NR");
    range->set_first(s.base + i);
    range->set_last(s.base + i);
    out.push_back(SignTransaction(body, keys));
  }
  return out;
}

struct StreamOutcome {
  absl::Status status;
  v1::SubmitTransactionsResponse response;
};

// Writes txs[first, last) on one stream, recording when each was written.
StreamOutcome SubmitSlice(LedgerClient& client, const std::vector<v1::SignedTransaction>& txs,
                          size_t first, size_t last, std::vector<Clock::time_point>& sent) {
  StreamOutcome outcome;
  grpc::ClientContext context;
  auto writer = client.stub()->SubmitTransactions(&context, &outcome.response);
  for (size_t i = first; i < last; ++i) {
    sent[i] = Clock::now();
    if (!writer->Write(txs[i])) break;
  }
  writer->WritesDone();
  outcome.status = FromGrpcStatus(writer->Finish(), "SubmitTransactions to " + client.address());
  return outcome;
}

double Percentile(std::vector<double>& values, double p) {
  if (values.empty()) return 0;
  size_t index = static_cast<size_t>(p * static_cast<double>(values.size() - 1) + 0.5);
  std::nth_element(values.begin(), values.begin() + index, values.end());
  return values[index];
}

absl::StatusOr<Setup> Connect(const BenchOptions& options, Localnet& net) {
  Setup s;
  s.chain_id = net.genesis.chain_id();
  const int64_t now_ms = NowMs();
  s.tag = absl::StrCat(now_ms % 100'000'000);
  s.lifetime_ms = options.lifetime_ms;
  s.base = 2'000'000'000'000ull + static_cast<uint64_t>(now_ms % 100'000'000) * 1'000'000;
  ITMO_ASSIGN_OR_RETURN(crypto::KeyPair key, LoadLocalnetKey(options.localnet_dir, "GHA-NR"));
  s.gha_registry.emplace(std::move(key));
  std::vector<std::string> nodes = options.nodes;
  if (nodes.empty()) {
    for (const LocalnetNode& node : net.nodes) {
      if (node.role == "validator") nodes.push_back(node.api_address);
    }
  }
  if (nodes.empty()) return absl::InvalidArgumentError("no nodes to submit to");
  ITMO_ASSIGN_OR_RETURN(
      s.subscriber, LedgerClient::Connect(options.subscribe_node.empty() ? nodes.front()
                                                                         : options.subscribe_node));
  for (const std::string& address : nodes) {
    ITMO_ASSIGN_OR_RETURN(std::unique_ptr<LedgerClient> client, LedgerClient::Connect(address));
    s.clients.push_back(std::move(client));
  }
  return s;
}

}  // namespace

namespace {

// What the submitters and the follower record; each slot is written by one thread only and read
// after both are joined.
struct Measurements {
  explicit Measurements(size_t txs) : sent(txs), committed_at(txs), seen(txs, 0) {}
  std::vector<Clock::time_point> sent;          // Written by the stream that sent it.
  std::vector<Clock::time_point> committed_at;  // Written by the follower.
  std::vector<uint8_t> seen;                    // 0 not yet, 1 accepted, 2 rejected (follower).
  std::atomic<uint64_t> committed{0};
  std::atomic<bool> follower_done{false};
  std::string first_execution;  // Follower: the first committed REJECTED outcome.
  uint64_t height_last = 0;     // Follower.
};

// Follower callback: marks the bench's transactions of one committed block.
bool OnBlock(const std::unordered_map<std::string, size_t>& index_of,
             const v1::SubscribeCommitsResponse& block, Measurements& m) {
  const Clock::time_point now = Clock::now();
  for (const v1::TransactionOutcome& outcome : block.outcomes()) {
    auto it = index_of.find(outcome.tx_id());
    if (it == index_of.end() || m.seen[it->second] != 0) continue;
    m.seen[it->second] = outcome.status() == v1::TX_ACCEPTED ? 1 : 2;
    m.committed_at[it->second] = now;
    if (m.seen[it->second] == 2 && m.first_execution.empty()) {
      m.first_execution = absl::StrCat("committed REJECTED ", ReasonCodeText(outcome.code()), ": ",
                                       outcome.message());
    }
    ++m.committed;
  }
  m.height_last = block.height();
  return m.committed.load() < index_of.size();
}

// Sends every transaction over `streams` concurrent client streams, round-robin over the nodes.
// Returns the first refusal, if any.
std::string SubmitAll(Setup& s, const std::vector<v1::SignedTransaction>& txs, uint32_t streams,
                      Measurements& m, BenchResult* result) {
  ITMO_CHECK(streams > 0);
  ITMO_CHECK(!s.clients.empty());
  std::vector<StreamOutcome> outcomes(streams);
  std::vector<std::thread> writers;
  for (uint32_t k = 0; k < streams; ++k) {
    size_t first = txs.size() * k / streams;
    size_t last = txs.size() * (k + 1) / streams;
    LedgerClient& client = *s.clients[k % s.clients.size()];
    writers.emplace_back(
        [&, k, first, last] { outcomes[k] = SubmitSlice(client, txs, first, last, m.sent); });
  }
  for (std::thread& writer : writers) writer.join();
  std::string first_rejection;
  for (const StreamOutcome& stream : outcomes) {
    if (!stream.status.ok() && first_rejection.empty()) {
      first_rejection = std::string(stream.status.message());
    }
    result->submit_accepted += stream.response.accepted();
    result->submit_rejected += stream.response.rejected();
    if (!stream.response.rejections().empty() && first_rejection.empty()) {
      first_rejection =
          absl::StrCat("submission refused: ", stream.response.rejections(0).message());
    }
  }
  return first_rejection;
}

void Summarize(const Measurements& m, Clock::time_point start, Clock::time_point submitted,
               BenchResult* result) {
  std::vector<double> latencies_ms;
  Clock::time_point last_commit = start;
  for (size_t i = 0; i < m.seen.size(); ++i) {
    if (m.seen[i] == 0) continue;
    (m.seen[i] == 1 ? result->committed_accepted : result->committed_rejected)++;
    latencies_ms.push_back(
        std::chrono::duration<double, std::milli>(m.committed_at[i] - m.sent[i]).count());
    last_commit = std::max(last_commit, m.committed_at[i]);
  }
  result->committed = m.committed.load();
  result->height_last = m.height_last;
  result->submit_seconds = std::chrono::duration<double>(submitted - start).count();
  result->commit_seconds = std::chrono::duration<double>(last_commit - start).count();
  if (result->commit_seconds > 0) {
    result->throughput_tps = static_cast<double>(result->committed) / result->commit_seconds;
  }
  result->latency_ms_p50 = Percentile(latencies_ms, 0.50);
  result->latency_ms_p99 = Percentile(latencies_ms, 0.99);
  result->latency_ms_max = Percentile(latencies_ms, 1.0);
}

}  // namespace

absl::StatusOr<BenchResult> RunClusterBench(const BenchOptions& options) {
  if (options.txs == 0 || options.txs > kBenchTxsMax) {
    return absl::InvalidArgumentError(absl::StrCat("--txs must be 1..", kBenchTxsMax));
  }
  if (options.streams == 0 || options.streams > kBenchStreamsMax) {
    return absl::InvalidArgumentError(absl::StrCat("--streams must be 1..", kBenchStreamsMax));
  }
  ITMO_ASSIGN_OR_RETURN(Localnet net, LoadLocalnet(options.localnet_dir));
  ITMO_ASSIGN_OR_RETURN(Setup s, Connect(options, net));
  ITMO_RETURN_IF_ERROR(SetUpUnits(options.localnet_dir, s, options.txs));
  const std::vector<v1::SignedTransaction> txs = PresignTransfers(s, options.txs);
  std::unordered_map<std::string, size_t> index_of;
  for (size_t i = 0; i < txs.size(); ++i) index_of.emplace(TransactionIdOf(txs[i]), i);
  ITMO_CHECK(index_of.size() == txs.size());
  if (!options.ids_out.empty()) {
    std::string ids;
    for (const v1::SignedTransaction& tx : txs) {
      absl::StrAppend(&ids, crypto::ToHex(TransactionIdOf(tx)), "\n");
    }
    ITMO_RETURN_IF_ERROR(WriteWholeFile(options.ids_out, ids, 0644));
  }

  BenchResult result;
  result.txs = options.txs;
  ITMO_ASSIGN_OR_RETURN(v1::GetStatusResponse status, s.subscriber->GetStatus());
  result.height_first = status.height() + 1;
  Measurements m(txs.size());
  CommitSubscription subscription(s.subscriber.get(),
                                  {.from_height = result.height_first,
                                   .omit_transactions = true,
                                   .blocks_max = 0,
                                   .timeout = options.timeout + absl::Seconds(30)});
  absl::Status subscription_status;
  std::thread follower([&] {
    subscription_status = subscription.Run(
        [&](const v1::SubscribeCommitsResponse& block) { return OnBlock(index_of, block, m); });
    m.follower_done = true;
  });

  const Clock::time_point start = Clock::now();
  const std::string first_rejection = SubmitAll(s, txs, options.streams, m, &result);
  const Clock::time_point submitted = Clock::now();
  // Wait for every transaction the mempools accepted (or the timeout).
  const uint64_t expected = result.submit_accepted;
  const absl::Time deadline = absl::Now() + options.timeout;
  while (m.committed.load() < std::max<uint64_t>(expected, 1) && absl::Now() < deadline &&
         !m.follower_done.load()) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  subscription.Cancel();
  follower.join();

  Summarize(m, start, submitted, &result);
  result.blocks = subscription.blocks();
  result.first_rejection = first_rejection.empty() ? m.first_execution : first_rejection;
  if (!subscription_status.ok() && !absl::IsCancelled(subscription_status) &&
      result.committed < expected) {
    return subscription_status;
  }
  return result;
}

std::string BenchResultJson(const BenchResult& r, const BenchOptions& options) {
  return absl::StrFormat(
      "{\"benchmark\": \"itmo-bench cluster transfers\", \"localnet\": \"%s\", "
      "\"streams\": %u, "
      "\"txs\": %u, \"submit_accepted\": %u, \"submit_rejected\": %u, "
      "\"committed\": %u, "
      "\"committed_accepted\": %u, \"committed_rejected\": %u, \"blocks\": %u, "
      "\"height_first\": %u, \"height_last\": %u, \"submit_seconds\": %.3f, "
      "\"commit_seconds\": %.3f, \"throughput_tps\": %.1f, \"latency_ms_p50\": "
      "%.1f, "
      "\"latency_ms_p99\": %.1f, \"latency_ms_max\": %.1f, "
      "\"first_rejection\": \"%s\"}",
      options.localnet_dir, options.streams, r.txs, r.submit_accepted, r.submit_rejected,
      r.committed, r.committed_accepted, r.committed_rejected, r.blocks, r.height_first,
      r.height_last, r.submit_seconds, r.commit_seconds, r.throughput_tps, r.latency_ms_p50,
      r.latency_ms_p99, r.latency_ms_max, JsonEscape(r.first_rejection));
}

}  // namespace itmo::node::ctl
