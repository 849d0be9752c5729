// The stored form of a queued local operation (the `op` column of _ts_outbox).
//
// A local write adds values the device can always restore: the row's shop_id and the tracking
// columns (origin_shop_id, last_modified_shop_id: the device's own shop; last_modified_at: the
// operation's wall time), and a sale names its till (device_id: the device itself) and its time
// (created_at, normally the operation's wall time). The ids it mints all begin with the device
// id (the sale's eight row ids, and the order_id/ref_id of its lines, payment and movements:
// sixteen times per sale), and so does the clock's node. Stored in full this is about 40 % of a
// sale's outbox text, and the outbox row is the biggest row a sale writes: at 1.7 KB two fit a
// 4 KiB page, so every second sale split the outbox's last leaf; under about 1.3 KB three fit.
// The stored form leaves out every such value that equals what it can be restored from, writes
// minted ids without their "<device id>-" prefix, and names both in a per-change bit mask
// ("restore"); an hlc ending in '.' has left out its node. Reading restores them, so the
// operation pushed is the very operation written: the same values and types, hence the same
// push bytes and the same payload hash at the hub, whether the row was stored in full before
// this form existed (no mask: nothing to restore), in the first short form (bits 1 to 16), or now.
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
