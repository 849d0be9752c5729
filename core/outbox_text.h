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

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "core/operation.h"
#include "core/status.h"
#include "core/typed_change.h"

namespace tillsync {

// Who queued the operation: what left-out values are restored from.
struct OutboxWriter {
  std::string shop_id;
  std::string device_id;
};

// The stored text of `op`, written by `writer`.
std::string OutboxText(const Operation& op, const OutboxWriter& writer);
// The same text for an operation of typed new rows (the Operation whose changes are `op`'s
// changes as Json values, core/typed_change.h), written from the cells without building it.
std::string TypedOutboxText(const TypedOperation& op, const OutboxWriter& writer);

// The device's write-path state carried by its newest outbox row, so that a local write writes
// no _ts_kv page: the scope checksums as the write left them (RowStore's held sums; a device
// has two scopes, the catalog "" and its own shop) and its id and receipt counters. next_seq and
// the clock need no room: they follow from the row's own seq and hlc. Stored as a "kv" member of
// the stored text, `"kv":"c<hex>,s<hex>,r<hex>,n<hex>"` (catalog sum, shop sum, row counter,
// receipt counter; a part absent when not carried), about 40 bytes, which
// OperationFromOutboxText drops: the operation pushed is the same. Which of _ts_kv and the newest
// outbox row holds the newer state is Device's business (Device::LoadWriteState).
struct OutboxState {
  std::map<std::string, uint64_t> sums;  // scope -> sum
  int64_t row_counter = 0;               // 0: not carried
  int64_t receipt_counter = 0;           // 0: not carried
};
// Appends `state` to the stored text of an operation. False, `text` unchanged, when a sum's
// scope is neither the catalog's nor the writer's shop (the caller then keeps it elsewhere).
bool AppendOutboxState(const OutboxState& state, const OutboxWriter& writer, std::string* text);
// The state carried by stored text, and the operation's complete hlc. *found is false (and
// *state empty) for text that carries none: stored before this form, or by a write whose
// state went to _ts_kv.
Status ReadOutboxState(std::string_view text, const OutboxWriter& writer, OutboxState* state, std::string* hlc,
                       bool* found);

// Decodes stored text (either form) into the full operation. `path` prefixes error fields.
Status OperationFromOutboxText(std::string_view text, const OutboxWriter& writer, const std::string& path,
                               Operation* out);

}  // namespace tillsync
