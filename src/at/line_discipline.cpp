#include "quecsim/at/line_discipline.hpp"

namespace quecsim::at {

void line_discipline::reset() {
  state_ = state::idle;
  body_.clear();
  overflow_ = 0;
}

feed_result line_discipline::feed(std::string_view bytes) {
  feed_result out;
  for (const char c : bytes) {
    ++out.consumed;
    if (settings_.echo) out.echo.push_back(c);

    switch (state_) {
      case state::idle:
        if (c == 'A' || c == 'a') state_ = state::got_a;
        break;

      case state::got_a:
        if (c == 'T' || c == 't') {
          state_ = state::in_line;
          body_.clear();
          overflow_ = 0;
        } else if (c == '/') {
          state_ = state::idle;
          out.complete = true;
          out.command.repeat = true;
          return out;
        } else if (c == settings_.s5 || (c != 'A' && c != 'a')) {
          // Backspace over the A, or anything but another A: look for AT again.
          state_ = state::idle;
        }
        break;

      case state::in_line:
        if (c == settings_.s3 || c == settings_.s4) {
          out.complete = true;
          out.command.lf_only = (c != settings_.s3);
          out.command.overflow = overflow_ > 0;
          if (!out.command.overflow) out.command.body = std::move(body_);
          body_.clear();
          overflow_ = 0;
          state_ = state::idle;
          return out;
        }
        if (c == settings_.s5) {
          if (overflow_ > 0) {
            --overflow_;
          } else if (!body_.empty()) {
            body_.pop_back();
          } else {
            state_ = state::got_a;  // backspace over the T of AT
          }
        } else if (body_.size() < max_line_length) {
          body_.push_back(c);
        } else {
          ++overflow_;
        }
        break;
    }
  }
  return out;
}

}  // namespace quecsim::at
