#pragma once

#include <string_view>

namespace quecsim::sim::report {

/// The report page up to the opening tag of the data <script>, and from its closing tag on.
extern const std::string_view report_page_head;
extern const std::string_view report_page_tail;

}  // namespace quecsim::sim::report
