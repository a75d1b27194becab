#include "quecsim/storage/errc.hpp"

#include <string>

namespace quecsim::storage {

namespace {

class category_impl : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "quecsim.storage"; }
  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::ok:
        return "success";
      case errc::invalid_input:
        return "invalid input value";
      case errc::invalid_name:
        return "invalid file name";
      case errc::no_space:
        return "no space left in the area";
      case errc::exists:
        return "file exists";
      case errc::too_many_open:
        return "too many open files";
      case errc::bad_handle:
        return "no open file has that handle";
      case errc::read_only:
        return "file opened read-only";
      case errc::busy:
        return "file in use";
      case errc::no_area:
        return "no such storage area";
      case errc::past_end:
        return "position outside the file";
      case errc::not_found:
        return "file not found";
    }
    return "storage error " + std::to_string(ev);
  }
};

}  // namespace

const boost::system::error_category& category() {
  static const category_impl instance;
  return instance;
}

boost::system::error_code make_error_code(errc e) {
  return {static_cast<int>(e), category()};
}

}  // namespace quecsim::storage
