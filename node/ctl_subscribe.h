// File: node/ctl_subscribe.h
// CommitSubscription: follows a node's SubscribeCommits stream from a height,
// checking that heights arrive gap-free and in order, for itmoctl subscribe,
// itmo-bench and the e2e tests. Resume after a disconnect with from_height =
// last height received + 1. Run() blocks; Cancel() may be called from any
// thread.
//
// Example:
//   CommitSubscription sub(client.get(), {.from_height = 1, .blocks_max = 10});
//   ITMO_RETURN_IF_ERROR(sub.Run([](const v1::SubscribeCommitsResponse& b) {
//   return true; })); uint64_t resume_from = sub.last_height() + 1;
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "node/ctl_client.h"

namespace itmo::node::ctl {

struct SubscribeOptions {
  uint64_t from_height = 1;
  bool omit_transactions = false;
  uint64_t blocks_max = 0;  // 0: until cancelled, timed out or the stream ends.
  absl::Duration timeout = absl::InfiniteDuration();  // For the whole stream.
};

class CommitSubscription final {
 public:
  // `client` must outlive the subscription.
  CommitSubscription(LedgerClient* client, SubscribeOptions options);

  // Calls `on_block` for each block, in height order, until it returns false or
  // blocks_max blocks. Errors: kDataLoss when a height is skipped or repeated;
  // kCancelled after Cancel(); the stream's gRPC status (kDeadlineExceeded
  // after `timeout`) otherwise. OK when stopped by on_block or blocks_max.
  absl::Status Run(const std::function<bool(const v1::SubscribeCommitsResponse&)>& on_block);
  void Cancel();

  // The last height delivered to on_block (from_height - 1 before the first).
  uint64_t last_height() const { return last_height_.load(); }
  uint64_t blocks() const { return blocks_.load(); }

 private:
  LedgerClient* const client_;
  const SubscribeOptions options_;
  grpc::ClientContext context_;
  std::atomic<uint64_t> last_height_{0};
  std::atomic<uint64_t> blocks_{0};
  std::atomic<bool> cancelled_{false};
};

}  // namespace itmo::node::ctl
