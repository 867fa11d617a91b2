#include "node/ctl_subscribe.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "base/check.h"

namespace itmo::node::ctl {

CommitSubscription::CommitSubscription(LedgerClient* client, SubscribeOptions options)
    : client_(client), options_(options) {
  ITMO_CHECK(client_ != nullptr);
  last_height_ = options_.from_height == 0 ? 0 : options_.from_height - 1;
  if (options_.timeout != absl::InfiniteDuration()) {
    context_.set_deadline(std::chrono::system_clock::now() +
                          std::chrono::milliseconds(absl::ToInt64Milliseconds(options_.timeout)));
  }
}

void CommitSubscription::Cancel() {
  cancelled_ = true;
  context_.TryCancel();
}

absl::Status CommitSubscription::Run(
    const std::function<bool(const v1::SubscribeCommitsResponse&)>& on_block) {
  v1::SubscribeCommitsRequest request;
  request.set_from_height(options_.from_height);
  request.set_omit_transactions(options_.omit_transactions);
  std::unique_ptr<grpc::ClientReader<v1::SubscribeCommitsResponse>> reader =
      client_->stub()->SubscribeCommits(&context_, request);
  v1::SubscribeCommitsResponse block;
  bool stopped = false;
  while (!stopped && reader->Read(&block)) {
    const uint64_t expected = last_height_ + 1;
    if (block.height() != expected) {
      context_.TryCancel();
      reader->Finish().ok();
      return absl::DataLossError(absl::StrCat("SubscribeCommits from ", client_->address(),
                                              " sent height ", block.height(), ", expected ",
                                              expected));
    }
    last_height_ = block.height();
    ++blocks_;
    stopped =
        !on_block(block) || (options_.blocks_max > 0 && blocks_.load() >= options_.blocks_max);
  }
  ITMO_CHECK(last_height_.load() + 1 >= options_.from_height);
  if (stopped) {
    context_.TryCancel();
    reader->Finish().ok();
    return absl::OkStatus();
  }
  grpc::Status status = reader->Finish();
  if (cancelled_) return absl::CancelledError("subscription cancelled");
  if (status.ok()) return absl::OkStatus();
  return FromGrpcStatus(status, absl::StrCat("SubscribeCommits from ", client_->address(),
                                             " after height ", last_height_.load()));
}

}  // namespace itmo::node::ctl
