// File: consensus/events.h
// The inputs of Replica::Handle(). Time arrives only as Tick events; messages arrive with the
// sender's validator index as authenticated by the transport. Thread-safe: plain values.
#pragma once

#include <cstdint>
#include <variant>

#include "itmo/v1/consensus.pb.h"

namespace itmo::consensus {

// `from` of a message that does not come from a validator of the current epoch (an observer, an
// unknown peer). Such messages are still verified like any other; they are never counted as votes.
inline constexpr uint32_t kFromNonValidator = 0xFFFF'FFFF;

// Delivered once, before any other event, after construction (fresh or restarted replica). The
// replica re-sends its persisted last vote / timeout and, as leader, proposes.
struct Start {
  int64_t now_ms = 0;
};

// One tick of the logical round timer. `now_ms` is only used as the timestamp of proposals.
struct Tick {
  int64_t now_ms = 0;
};

// `from`: below validators.size() it is the validator index the transport authenticated; any other
// value names a non-validator peer (observer, client). The replica answers requests (block
// retrieval, sync) with SendTo{to = from}, so a node that wants its observers answered gives each a
// distinct value >= kValidatorsMax and maps it back; kFromNonValidator gets no answers.
struct MessageReceived {
  uint32_t from = kFromNonValidator;
  v1::ConsensusMessage message;
};

// The host has executed every committed block up to `height` (delivered after it carried out the
// Commit actions of an event, or after it caught its application up otherwise). A replica that held
// back its vote because the proposal's executed_height was above its application's executed head
// looks at the proposal again. Never from a peer.
struct Executed {
  uint64_t height = 0;
};

using Event = std::variant<Start, Tick, MessageReceived, Executed>;

}  // namespace itmo::consensus
