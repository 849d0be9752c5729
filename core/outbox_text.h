// The stored form of a queued local operation (the `op` column of _ts_outbox).
//
// A local write adds values the device can always restore: the row's shop_id and the tracking
// columns (origin_shop_id, last_modified_shop_id: the device's own shop; last_modified_at: the
// operation's wall time), and a sale names its till (device_id: the device itself). Stored in full they are about half of a sale's outbox text, and the
// outbox row is the biggest row a sale writes. The stored form leaves out every such value that
// equals what it can be restored from and names the left-out keys in a per-change bit mask
// ("restore"). Reading restores them, so the operation pushed is the very operation written:
// the same values and types, hence the same push bytes and the same payload hash at the hub,
// whether the row was stored before this form existed (no mask: nothing to restore) or after.
#pragma once

#include <string>
#include <string_view>

#include "core/operation.h"
#include "core/status.h"

namespace tillsync {

// Who queued the operation: what left-out values are restored from.
struct OutboxWriter {
  std::string shop_id;
  std::string device_id;
};

// The stored text of `op`, written by `writer`.
std::string OutboxText(const Operation& op, const OutboxWriter& writer);

// Decodes stored text (either form) into the full operation. `path` prefixes error fields.
Status OperationFromOutboxText(std::string_view text, const OutboxWriter& writer, const std::string& path,
                               Operation* out);

}  // namespace tillsync
