// tillsync-server: the sync hub and its operator command line (server/cli.h lists the commands).
#include "server/cli.h"

int main(int argc, char** argv) { return tillsync::server::RunCli(argc, argv); }
