#include "quecsim/net/lane.hpp"

#include <boost/asio/error.hpp>

#include <algorithm>
#include <iterator>

namespace quecsim::net {

void limit_stage::enter(passage& p, const lane_env& /*env*/) {
  // Bytes past the limit never pass; reaching it ends the stream. Limits come first in a
  // lane, so there is one chunk here; each cut is at least as tight as the one before.
  for (auto& c : p.pieces) {
    const std::uint64_t left = bytes_ - std::min(passed_, bytes_);
    if (c.bytes.size() < left) {
      passed_ += c.bytes.size();
      continue;
    }
    c.bytes.resize(static_cast<std::size_t>(left));
    passed_ = bytes_;
    p.ended = true;
    p.reset = reset_;
    p.limit = bytes_;
  }
}

void latency_stage::enter(passage& p, const lane_env& env) {
  // One delay per chunk entering, with its jitter.
  auto d = latency_ + clock::duration(env.choices.draw(jitter_.count()));
  if (d < clock::duration::zero()) d = clock::duration::zero();
  env.choices.chose(toxic_type::latency, std::chrono::nanoseconds(d).count());
  const auto real = env.clk.scaled(d);
  for (auto& c : p.pieces) c.due += real;
}

void slicer_stage::enter(passage& p, const lane_env& env) {
  // Pieces of about average_ bytes, each delay_ after the one before.
  const auto gap = env.clk.scaled(delay_);
  std::vector<chunk> out;
  for (auto& c : p.pieces) {
    if (c.bytes.empty()) {
      out.push_back(std::move(c));  // nothing to cut (an end's due time still counts)
      continue;
    }
    std::size_t at = 0;
    while (at < c.bytes.size()) {
      const auto spread = static_cast<std::int64_t>(variation_);
      const auto size =
          static_cast<std::size_t>(static_cast<std::int64_t>(average_) + env.choices.draw(spread));
      env.choices.chose(toxic_type::slicer, static_cast<std::int64_t>(size));
      const std::size_t n = std::min(size, c.bytes.size() - at);
      chunk piece;
      piece.bytes.assign(c.bytes.begin() + static_cast<std::ptrdiff_t>(at),
                         c.bytes.begin() + static_cast<std::ptrdiff_t>(at + n));
      piece.due = std::max(c.due, last_due_ + gap);
      last_due_ = piece.due;
      out.push_back(std::move(piece));
      at += n;
    }
  }
  p.pieces = std::move(out);
}

std::unique_ptr<stage> make_stage(const toxic& t) {
  switch (t.type) {
    case toxic_type::latency:
      return std::make_unique<latency_stage>(t.latency, t.jitter);
    case toxic_type::bandwidth:
      return std::make_unique<rate_stage>(t.rate);
    case toxic_type::slicer:
      return std::make_unique<slicer_stage>(t.average_size, t.size_variation, t.delay);
    case toxic_type::limit_data:
      return std::make_unique<limit_stage>(t.bytes, t.reset);
    case toxic_type::timeout:
      return std::make_unique<hold_stage>();
  }
  return nullptr;
}

lane::entered lane::push(const char* data, std::size_t n, clock::time_point due) {
  chunk c;
  c.due = due;
  c.bytes.assign(data, data + n);
  if (shaping_) return shape(std::move(c));
  bytes_ += n;
  queue_.push_back(std::move(c));
  entered e;
  e.queued = n;
  return e;
}

lane::entered lane::shape(chunk c) {
  passage p;
  p.pieces.push_back(std::move(c));
  for (auto& e : stages_)
    if (e.s->shapes()) e.s->enter(p, env_);
  entered out;
  const clock::time_point last_due = p.pieces.back().due;  // stages never leave none
  for (auto& piece : p.pieces) {
    if (piece.bytes.empty()) continue;
    out.queued += piece.bytes.size();
    bytes_ += piece.bytes.size();
    queue_.push_back(std::move(piece));
  }
  if (!p.ended) return out;
  out.ended = true;
  out.reset = p.reset;
  out.limit = p.limit;
  // The end, behind the bytes before it: a reset, or what an orderly end looks like from
  // this side (the reader gets eof; the writer, broken_pipe).
  boost::system::error_code why;
  if (p.reset) {
    why = make_error_code(errc::connection_reset);
  } else if (dir_ == stream::downstream) {
    why = boost::asio::error::eof;
  } else {
    why = boost::asio::error::broken_pipe;
  }
  push_end(why, last_due, p.reset);
  return out;
}

void lane::push_end(boost::system::error_code why, clock::time_point due, bool fatal) {
  chunk end;
  end.due = due;
  end.eof = true;
  end.error = why;
  end.fatal = fatal;
  queue_.push_back(std::move(end));
}

std::uint64_t lane::rate(std::uint64_t link_rate) const {
  if (rate_ == 0) return link_rate;
  return link_rate == 0 ? rate_ : std::min(link_rate, rate_);
}

std::size_t lane::slice(std::uint64_t link_rate) const {
  const auto bw = rate(link_rate);
  const chunk& c = queue_.front();
  const std::size_t avail = c.bytes.size() - c.offset;
  if (bw == 0) return avail;
  // A tenth of a second's worth at a time keeps a slow link smooth rather than bursty.
  return std::min<std::size_t>(avail, std::max<std::uint64_t>(1, bw / 10));
}

void lane::consume(std::size_t n, clock::time_point now, std::uint64_t link_rate) {
  chunk& c = queue_.front();
  c.offset += n;
  bytes_ -= n;
  if (c.offset == c.bytes.size()) queue_.pop_front();
  const auto bw = rate(link_rate);
  if (bw == 0) return;
  const auto simulated = std::chrono::duration_cast<clock::duration>(
      std::chrono::duration<double>(static_cast<double>(n) / static_cast<double>(bw)));
  next_allowed_ = std::max(next_allowed_, now) + env_.clk.scaled(simulated);
}

std::size_t lane::take(char* out, std::size_t max, clock::time_point now, std::uint64_t link_rate) {
  const std::size_t n = std::min(max, slice(link_rate));
  const chunk& c = queue_.front();
  std::copy_n(c.bytes.data() + c.offset, n, out);
  consume(n, now, link_rate);
  return n;
}

void lane::clear() {
  queue_.clear();
  bytes_ = 0;
}

void lane::add(stage_id id, std::unique_ptr<stage> s) {
  const int rank = s->rank();
  auto at = std::find_if(stages_.begin(), stages_.end(),
                         [rank](const entry& e) { return e.s->rank() > rank; });
  stages_.insert(at, entry{id, std::move(s)});
  refresh();
}

bool lane::remove(stage_id id) {
  const auto before = stages_.size();
  stages_.erase(
      std::remove_if(stages_.begin(), stages_.end(), [id](const entry& e) { return e.id == id; }),
      stages_.end());
  if (stages_.size() == before) return false;
  refresh();
  return true;
}

bool lane::has(stage_id id) const {
  return std::any_of(stages_.begin(), stages_.end(), [id](const entry& e) { return e.id == id; });
}

void lane::refresh() {
  shaping_ = false;
  holds_ = 0;
  rate_ = 0;
  for (const auto& e : stages_) {
    shaping_ = shaping_ || e.s->shapes();
    if (e.s->holds()) ++holds_;
    if (const auto r = e.s->rate(); r != 0) rate_ = rate_ == 0 ? r : std::min(rate_, r);
  }
}

}  // namespace quecsim::net
