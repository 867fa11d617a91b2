// File: node/commit_feed.h
// CommitFeed: fans committed blocks out to SubscribeCommits streams without ever slowing the commit
// path. Each subscription has a bounded buffer; Publish never blocks and, when a buffer is full,
// marks that subscription overflowed instead of waiting (the stream then ends with
// RESOURCE_EXHAUSTED and the height to resume from). Thread-safe.
//
// Example:
//   ITMO_ASSIGN_OR_RETURN(std::shared_ptr<Subscription> sub, feed.Subscribe());
//   std::shared_ptr<const v1::SubscribeCommitsResponse> block;
//   switch (sub->Next(absl::Milliseconds(100), &block)) { ... }
//   feed.Unsubscribe(sub);
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "itmo/v1/ledger_service.pb.h"

namespace itmo::node {

inline constexpr uint32_t kSubscribersMax = 256;
inline constexpr uint32_t kSubscriberBufferBlocksMax = 256;

using CommitRecord = std::shared_ptr<const v1::SubscribeCommitsResponse>;

class Subscription final {
 public:
  enum class Result { kBlock, kTimeout, kOverflow, kClosed };

  explicit Subscription(uint32_t buffer_max);

  // Waits up to `timeout` for the next buffered block.
  Result Next(absl::Duration timeout, CommitRecord* out) ABSL_LOCKS_EXCLUDED(mu_);
  // Drops everything buffered and clears the overflow mark (after a catch-up from the store).
  void Reset() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  friend class CommitFeed;
  void Push(const CommitRecord& record) ABSL_LOCKS_EXCLUDED(mu_);
  void Close() ABSL_LOCKS_EXCLUDED(mu_);

  const uint32_t buffer_max_;
  absl::Mutex mu_;
  std::deque<CommitRecord> buffer_ ABSL_GUARDED_BY(mu_);
  bool overflowed_ ABSL_GUARDED_BY(mu_) = false;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

class CommitFeed final {
 public:
  explicit CommitFeed(uint32_t buffer_max = kSubscriberBufferBlocksMax,
                      uint32_t subscribers_max = kSubscribersMax);

  // Errors: kResourceExhausted beyond subscribers_max; kUnavailable after Close().
  absl::StatusOr<std::shared_ptr<Subscription>> Subscribe() ABSL_LOCKS_EXCLUDED(mu_);
  void Unsubscribe(const std::shared_ptr<Subscription>& subscription) ABSL_LOCKS_EXCLUDED(mu_);
  // Never blocks on a subscriber.
  void Publish(const CommitRecord& record) ABSL_LOCKS_EXCLUDED(mu_);
  // Ends every subscription (kClosed) and refuses new ones.
  void Close() ABSL_LOCKS_EXCLUDED(mu_);
  uint32_t subscribers() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  const uint32_t buffer_max_;
  const uint32_t subscribers_max_;
  mutable absl::Mutex mu_;
  std::vector<std::shared_ptr<Subscription>> subscriptions_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace itmo::node
