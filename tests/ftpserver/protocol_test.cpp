#include <catch2/catch.hpp>

#include "quecsim/ftpd/protocol.hpp"
