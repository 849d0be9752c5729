// PullPageScanner: a fast path for reading a version 2 (columnar) pull page in exactly the form
// the hub writes it: canonical JSON (keys sorted, no spaces), every value valid. It reads the
// bytes once, straight into the decoded page's typed rows, without the JSON library's lexer and
// SAX events, the per-cell intermediate values and the DOM of each run's small fields that the
// general decoder (DecodePullResponse's SAX path) goes through: that path was about 30 % of the
// instructions of an initial download's apply (bench/README "Initial download through the core").
//
// It accepts nothing the general decoder would not: on the first byte it does not expect (other
// spacing or key order, an escape it does not handle, a float, a value that fails its column's
// checks, too many rows, ...) it gives up, and the caller decodes the same body the general way,
// which then gives the page or the error with its stable code and message. So the scanner never
// decides an error, and for a page it accepts it gives exactly what the general decoder gives
// (core/pull_page_scanner_test.cc compares the two over hub-written and mutated pages).
#pragma once

#include <string_view>

#include "core/protocol.h"

namespace tillsync {

// True, with *out the decoded page, when `body` is a canonical, valid version 2 page. False
// (with *out unspecified) otherwise: decode it with DecodePullResponseGeneral.
bool ScanCanonicalPullPage(std::string_view body, PullResponse* out);

}  // namespace tillsync
