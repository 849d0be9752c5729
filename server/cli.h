// Cli: the operator's command line, all in the one `tillsync-server` binary. Every command but
// `serve` and `routes` works on the --db file directly and prints one JSON object on stdout (so
// scripts can read it; people can too). Errors go to stderr with exit code 1 (2 for usage).
//
//   serve            run the hub (see serve.h for its options)
//   create-shop      --name NAME [--currency EUR]       shop id, shop token, recovery code
//   list-shops                                           shops and their devices
//   register-device  --shop ID --name NAME               device id, token, receipt prefix
//   rotate-token     --operator | --shop ID | --device ID [--ttl-seconds N]
//                                                        revokes the old, prints the new
//   revoke-token     --token TOKEN | --device ID | --shop ID
//   stats                                                hub statistics
//   check                                                integrity_check + exactly-once
//                                                        bookkeeping checks; exit 1 if not ok
//   routes                                               the HTTP router table as JSON
//
// create-shop and register-device write hub rows, so they refuse while a server runs on the
// same file (instance_lock.h); the token commands and the read-only ones work beside a server.
// Threading: single-threaded; called from main().
#pragma once

namespace tillsync::server {

int RunCli(int argc, char** argv);

}  // namespace tillsync::server
