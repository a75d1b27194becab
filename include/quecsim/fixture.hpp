#pragma once

// The fixture's first home, kept so that tests written against it compile unchanged: the
// fixture is part of the station layer now (quecsim/station/fixture.hpp, quecsim::station).

#include "quecsim/station/fixture.hpp"

namespace quecsim {

using station::fixture;
using station::fixture_control;
using station::fixture_options;
using station::ftp_address;

}  // namespace quecsim
