// Proves the header compiles on its own.
#include "quecsim/ftpd/protocol.hpp"
