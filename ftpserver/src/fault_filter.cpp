#include "quecsim/ftpd/fault_filter.hpp"

#include <algorithm>

namespace quecsim::ftpd {

fault_filter::fault_filter(fault_book& book, std::string client) : book_(book) {
  tally_.client = std::move(client);
}

fault_hit fault_filter::hit(const fault_book::entry* e, std::string fallback) const {
  fault_hit h;
  if (!e) return h;
  h.rule = &e->rule;
  h.label = e->rule.name.empty() ? std::move(fallback) : e->rule.name;
  return h;
}

fault_hit fault_filter::reply_instead(std::string_view verb, std::string_view arg) {
  return hit(book_.fire(fault_action::reply, verb, arg, tally_), "reply " + std::string(verb));
}

fault_hit fault_filter::delay_reply(std::string_view verb, std::string_view arg) {
  return hit(book_.fire(fault_action::delay, verb, arg, tally_), "delay " + std::string(verb));
}

fault_hit fault_filter::close_after(std::uint64_t commands, std::string_view verb) {
  // Counted per session (per server if sticky).
  for (const auto& e : book_.entries()) {
    if (e.rule.action != fault_action::close_control || e.rule.commands == 0) continue;
    if (commands < e.rule.commands || !book_.has_fires_left(e, tally_)) continue;
    if (!e.rule.command.empty() && e.rule.command != verb) continue;
    book_.consume(e.id, tally_);
    return hit(&e, "close_control after " + std::to_string(e.rule.commands) + " commands");
  }
  return {};
}

fault_hit fault_filter::refuse_data(std::string_view verb, std::string_view arg) {
  return hit(book_.fire(fault_action::data_refuse, verb, arg, tally_),
             "data_refuse " + std::string(verb));
}

transfer_faults fault_filter::on_transfer(std::string_view verb, std::string_view arg) {
  transfer_faults out;
  const std::string v(verb);
  out.silence = hit(book_.fire(fault_action::data_silence, verb, arg, tally_), "data_silence " + v);
  if (!out.silence)
    out.drop = hit(book_.fire(fault_action::data_drop, verb, arg, tally_), "data_drop " + v);
  for (const auto& e : book_.entries()) {
    const auto& r = e.rule;
    if (r.action != fault_action::shape || r.on != fault_channel::data) continue;
    if (!r.command.empty() && r.command != verb) continue;
    if (!r.argument.empty() && !glob_match(r.argument, arg)) continue;
    if (!book_.has_fires_left(e, tally_)) continue;
    book_.consume(e.id, tally_);
    out.shape = hit(&e, "shape data " + v);
    break;
  }
  return out;
}

std::chrono::milliseconds fault_filter::idle_limit(std::chrono::milliseconds normal) const {
  if (const auto* e = book_.find(fault_action::idle_timeout, tally_))
    return std::min(normal, e->rule.after);
  return normal;
}

fault_hit fault_filter::idle_fired(std::chrono::milliseconds normal) {
  const auto* e = book_.find(fault_action::idle_timeout, tally_);
  if (!e || e->rule.after > normal) return {};
  book_.consume(e->id, tally_);
  return hit(e, "idle_timeout");
}

std::vector<std::pair<fault_book::rule_id, std::chrono::milliseconds>>
fault_filter::new_close_timers() {
  std::vector<std::pair<fault_book::rule_id, std::chrono::milliseconds>> timers;
  for (const auto& e : book_.entries()) {
    if (e.rule.action != fault_action::close_control || e.rule.commands != 0) continue;
    if (std::find(armed_close_timers_.begin(), armed_close_timers_.end(), e.id) !=
        armed_close_timers_.end())
      continue;
    if (!book_.has_fires_left(e, tally_)) continue;
    armed_close_timers_.push_back(e.id);
    timers.emplace_back(e.id, e.rule.after);
  }
  return timers;
}

fault_hit fault_filter::close_timer_fired(fault_book::rule_id id) {
  for (const auto& e : book_.entries()) {
    if (e.id != id) continue;
    if (!book_.has_fires_left(e, tally_)) return {};
    book_.consume(id, tally_);
    return hit(&e, "close_control after " + std::to_string(e.rule.after.count()) + " ms");
  }
  return {};
}

std::pair<std::uint64_t, std::chrono::milliseconds> fault_filter::control_shape() const {
  for (const auto& e : book_.entries()) {
    if (e.rule.action == fault_action::shape && e.rule.on == fault_channel::control &&
        book_.has_fires_left(e, tally_))
      return {e.rule.bytes_per_second, e.rule.latency};
  }
  return {0, std::chrono::milliseconds(0)};
}

}  // namespace quecsim::ftpd
