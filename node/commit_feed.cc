// File: node/commit_feed.cc
#include "node/commit_feed.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "base/check.h"

namespace itmo::node {

Subscription::Subscription(uint32_t buffer_max) : buffer_max_(buffer_max) {
  ITMO_CHECK(buffer_max_ > 0);
}

Subscription::Result Subscription::Next(absl::Duration timeout, CommitRecord* out) {
  ITMO_CHECK(out != nullptr);
  absl::MutexLock lock(&mu_);
  auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return !buffer_.empty() || overflowed_ || closed_;
  };
  mu_.AwaitWithTimeout(absl::Condition(&ready), timeout);
  if (closed_) return Result::kClosed;
  if (overflowed_) return Result::kOverflow;
  if (buffer_.empty()) return Result::kTimeout;
  *out = std::move(buffer_.front());
  buffer_.pop_front();
  return Result::kBlock;
}

void Subscription::Reset() {
  absl::MutexLock lock(&mu_);
  buffer_.clear();
  overflowed_ = false;
}

void Subscription::Push(const CommitRecord& record) {
  absl::MutexLock lock(&mu_);
  if (closed_ || overflowed_) return;
  if (buffer_.size() >= buffer_max_) {
    overflowed_ = true;  // The reader learns it and ends the stream with the resume height.
    buffer_.clear();
    return;
  }
  buffer_.push_back(record);
  ITMO_DCHECK(buffer_.size() <= buffer_max_);
}

void Subscription::Close() {
  absl::MutexLock lock(&mu_);
  closed_ = true;
}

CommitFeed::CommitFeed(uint32_t buffer_max, uint32_t subscribers_max)
    : buffer_max_(buffer_max), subscribers_max_(subscribers_max) {
  ITMO_CHECK(buffer_max_ > 0);
  ITMO_CHECK(subscribers_max_ > 0);
}

absl::StatusOr<std::shared_ptr<Subscription>> CommitFeed::Subscribe() {
  absl::MutexLock lock(&mu_);
  if (closed_) return absl::UnavailableError("node is shutting down");
  if (subscriptions_.size() >= subscribers_max_) {
    return absl::ResourceExhaustedError(
        absl::StrCat("too many commit subscribers (limit ", subscribers_max_, ")"));
  }
  auto subscription = std::make_shared<Subscription>(buffer_max_);
  subscriptions_.push_back(subscription);
  return subscription;
}

void CommitFeed::Unsubscribe(const std::shared_ptr<Subscription>& subscription) {
  absl::MutexLock lock(&mu_);
  subscriptions_.erase(std::remove(subscriptions_.begin(), subscriptions_.end(), subscription),
                       subscriptions_.end());
}

void CommitFeed::Publish(const CommitRecord& record) {
  ITMO_CHECK(record != nullptr);
  absl::MutexLock lock(&mu_);
  for (const std::shared_ptr<Subscription>& subscription : subscriptions_) {
    subscription->Push(record);
  }
}

void CommitFeed::Close() {
  absl::MutexLock lock(&mu_);
  closed_ = true;
  for (const std::shared_ptr<Subscription>& subscription : subscriptions_) subscription->Close();
}

uint32_t CommitFeed::subscribers() const {
  absl::MutexLock lock(&mu_);
  return static_cast<uint32_t>(subscriptions_.size());
}

}  // namespace itmo::node
