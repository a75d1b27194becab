// The page `quecsim report` writes: inline CSS and JS only, so the file works offline and
// from any folder. The records follow the head as JSON inside the data <script>.

#include "report_page.hpp"

namespace quecsim::sim::report {

const std::string_view report_page_head = R"QUECSIM(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>quecsim transcript</title>
<style>
:root { --h: 20px; --font: 12px/20px ui-monospace, "DejaVu Sans Mono", monospace; }
* { box-sizing: border-box; }
body { margin: 0; font: 13px/1.4 system-ui, "DejaVu Sans", sans-serif; color: #1d1d1f;
       display: flex; flex-direction: column; height: 100vh; }
header { padding: 8px 12px; background: #24344d; color: #fff; }
header h1 { font-size: 16px; margin: 0 0 2px 0; }
header #summary { font-size: 12px; opacity: .9; }
main { flex: 1; display: flex; min-height: 0; }
#timeline { flex: 1; display: flex; flex-direction: column; min-width: 0; }
.grid { display: grid; grid-template-columns: 56px 72px 1fr 1fr 1fr .8fr 1fr; }
#lanes { background: #e9edf3; border-bottom: 1px solid #b8c2d0; font-weight: 600; }
#lanes span { padding: 3px 6px; border-left: 1px solid #cfd6e0; }
#view { flex: 1; overflow: auto; position: relative; }
#spacer { width: 1px; }
#rows { position: absolute; top: 0; left: 0; right: 0; }
.row { height: var(--h); font: var(--font); cursor: pointer; border-bottom: 1px solid #f0f0f0;
       background: #fff; }
.row > span { padding: 0 6px; white-space: pre; overflow: hidden; border-left: 1px solid #eef0f3; }
/* A record's text: whole, never cut. It starts in its lane and runs over the lanes to its right
   (empty in its row); a text longer than that starts further left, and one longer than all the
   lanes wraps over them in a taller row. */
.row > span.text { position: absolute; top: 0; padding: 0 6px; overflow: visible;
                   border-left: 2px solid currentColor; background: inherit; }
.row:hover { background: #f2f6fc; }
.row .num, .row .t { color: #777; text-align: right; }
.lane-host { color: #0b5394; }
.lane-module { color: #38761d; }
.lane-ftp { color: #674ea7; }
.row.fault { background: #fde2e1; }
.row.fault .lane-fault { color: #b3261e; font-weight: 700; }
.row.warning { background: #fff4c2; }
.row.warning .lane-event { color: #7a5800; font-weight: 700; }
.row.span { background: #e3effd; }
.row.span .text { color: #0b3d91; font-weight: 600; }
.row.sel { outline: 2px solid #1a73e8; outline-offset: -2px; }
aside { width: clamp(280px, 27vw, 400px); border-left: 1px solid #b8c2d0; display: flex;
        flex-direction: column; min-height: 0; }
aside h2 { font-size: 13px; margin: 0; padding: 6px 10px; background: #e9edf3; }
#detail { flex: 1.4; overflow: auto; padding: 6px 10px; }
#meta { margin-bottom: 6px; }
#detail h3 { font-size: 12px; margin: 8px 0 2px 0; color: #555; }
#text { font: 11px/15px ui-monospace, "DejaVu Sans Mono", monospace; margin: 0;
        white-space: pre-wrap; word-break: break-all; }
#hex { font: 11px/15px ui-monospace, "DejaVu Sans Mono", monospace; margin: 0; white-space: pre; }
#marks { flex: 1; overflow: auto; padding: 4px 10px; font: var(--font); }
#marks div { cursor: pointer; white-space: pre-wrap; word-break: break-all; line-height: 16px;
             margin-bottom: 3px; }
#marks .fault { color: #b3261e; }
#marks .warning { color: #7a5800; }
</style>
</head>
<body>
<header><h1 id="title">quecsim transcript</h1><div id="summary"></div></header>
<main>
<section id="timeline">
<div id="lanes" class="grid"><span>line</span><span>t (s)</span><span>host</span><span>module</span><span>FTP server</span><span>faults</span><span>state, info, warnings</span></div>
<div id="view" tabindex="0"><div id="spacer"></div><div id="rows"></div></div>
</section>
<aside>
<h2>Selected line</h2>
<div id="detail"><div id="meta">Click a line to see its text and its bytes in hex.</div>
<h3>text</h3><pre id="text"></pre><h3>bytes (hex, then the printable ones)</h3><pre id="hex"></pre></div>
<h2 id="marks-title">Faults and warnings</h2>
<div id="marks"></div>
</aside>
</main>
<script id="transcript-data" type="application/json">)QUECSIM";

const std::string_view report_page_tail = R"QUECSIM(</script>
<script>
"use strict";
// Rows: [line, t, kind, source, bytes, total] or, for a data-mode span,
// [line, t, SPAN, source, to_host_head, to_host_bytes, from_host_head, from_host_bytes,
//  end_line, end_t, to_host_chunks, from_host_chunks].
const D = JSON.parse(document.getElementById("transcript-data").textContent);
const R = D.rows;
const KINDS = ["rx", "tx", "ftp_tx", "ftp_rx", "data", "fault", "warning", "state", "info",
               "span", "other"];
const SPAN = 9;
// The column of each kind: 2 host, 3 module, 4 FTP server, 5 faults, 6 state/info/warnings.
const COLUMN = [2, 3, 4, 4, 4, 5, 6, 6, 6, 3, 6];
const LANE_CLASS = {2: "lane-host", 3: "lane-module", 4: "lane-ftp", 5: "lane-fault",
                    6: "lane-event"};
const ROW_CLASS = {5: "fault", 6: "warning", 9: "span"};
const H = 20;
const view = document.getElementById("view");
const rows = document.getElementById("rows");
let selected = -1;

function esc(s) {
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 13) out += "\\r";
    else if (c === 10) out += "\\n";
    else if (c === 9) out += "\\t";
    else if (c === 92) out += "\\\\";
    else if (c < 32 || c >= 127) out += "\\x" + c.toString(16).padStart(2, "0");
    else out += s[i];
  }
  return out;
}

function plural(n, word) { return n + " " + word + (n === 1 ? "" : "s"); }

function spanText(r) {
  let s = "data mode: " + plural(r[5], "byte") + " to host";
  if (r[7] > 0) s += ", " + plural(r[7], "byte") + " from host";
  s += " (lines " + r[0] + "\u2013" + r[8] + ", " + (r[9] - r[1]).toFixed(3) + " s)";
  return s;
}

function rowText(r) {
  if (r[2] === SPAN) return spanText(r);
  let text = r[2] === 10 ? r[3] + ": " + esc(r[4]) : esc(r[4]);
  if (r[2] === 7 || r[2] === 8 || r[2] === 6) text = r[3] + ": " + text;
  if (r[2] === 5) text = "FAULT " + text;
  if (r[5] > r[4].length) text += " \u2026(" + r[5] + " bytes)";
  return text;
}

function cell(cls, text) {
  const s = document.createElement("span");
  s.className = cls;
  s.textContent = text;
  return s;
}

// Where each lane starts, from the header's cells (the rows use the same grid), and the width of
// one character of the rows' monospace font: enough to place a text without measuring it.
let laneLeft = [], rowWidth = 0, charWidth = 7.2;
function measure() {
  const cells = document.getElementById("lanes").children;
  laneLeft = Array.from(cells, c => c.offsetLeft);
  rowWidth = view.clientWidth;
  const probe = document.createElement("span");
  probe.className = "row";
  probe.style.cssText = "position:absolute;visibility:hidden;white-space:pre;height:auto";
  probe.textContent = "0123456789".repeat(10);
  document.body.appendChild(probe);
  charWidth = probe.getBoundingClientRect().width / 100 || charWidth;
  probe.remove();
}

// The left edge of a text of lane `col`: the lane's own start when the text fits from there to
// the row's end, else as far left as it needs, but never over the line number and time.
function textLeft(col, text) {
  const width = text.length * charWidth + 16;
  const start = laneLeft[col] || 0;
  const first = laneLeft[2] || 0;
  return Math.max(first, Math.min(start, rowWidth - width));
}

// The rows' tops: a row is one line high, or as many as its text needs when it is longer than
// the whole width of the lanes (it then wraps there). Only a row that might not fit is measured:
// escaping makes a byte at most 4 characters.
let tops = new Float64Array(R.length + 1);
function perLine() {
  return Math.max(8, Math.floor((rowWidth - (laneLeft[2] || 0) - 16) / charWidth));
}
function linesOf(r, room) {
  if (r[2] !== SPAN && r[4].length * 4 + r[3].length + 40 <= room) return 1;
  const n = (r[2] === SPAN ? spanText(r) : rowText(r)).length;
  return Math.max(1, Math.ceil(n / room));
}
function layout() {
  const room = perLine();
  let y = 0;
  for (let i = 0; i < R.length; i++) {
    tops[i] = y;
    y += H * linesOf(R[i], room);
  }
  tops[R.length] = y;
  document.getElementById("spacer").style.height = y + "px";
}
// The row at height y: the last whose top is at or above it.
function rowAt(y) {
  let lo = 0, hi = R.length - 1, best = 0;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (tops[mid] <= y) { best = mid; lo = mid + 1; } else { hi = mid - 1; }
  }
  return best;
}

function render() {
  const first = Math.max(0, rowAt(view.scrollTop) - 5);
  const bottom = view.scrollTop + view.clientHeight + 10 * H;
  const frag = document.createDocumentFragment();
  for (let i = first; i < R.length && tops[i] < bottom; i++) {
    const r = R[i];
    const div = document.createElement("div");
    div.className = "row grid" + (ROW_CLASS[r[2]] ? " " + ROW_CLASS[r[2]] : "") +
                    (i === selected ? " sel" : "");
    div.style.position = "absolute";
    div.style.top = tops[i] + "px";
    div.style.height = (tops[i + 1] - tops[i]) + "px";
    div.style.left = "0";
    div.style.right = "0";
    div.dataset.index = i;
    div.appendChild(cell("num", String(r[0])));
    div.appendChild(cell("t", r[1].toFixed(3)));
    for (let c = 2; c <= 6; c++) div.appendChild(cell("", ""));
    const col = r[2] === SPAN ? 2 : COLUMN[r[2]];
    const text = r[2] === SPAN ? spanText(r) : rowText(r);
    const span = cell("text " + (r[2] === SPAN ? "spanned" : LANE_CLASS[col]), text);
    if (tops[i + 1] - tops[i] > H) {
      // Longer than the lanes: wrapped over all of them, whole.
      span.style.left = (laneLeft[2] || 0) + "px";
      span.style.right = "0";
      span.style.whiteSpace = "pre-wrap";
      span.style.wordBreak = "break-all";
    } else {
      span.style.left = textLeft(col, text) + "px";
    }
    div.appendChild(span);
    div.title = r[2] === SPAN ? spanText(r) : KINDS[r[2]] + " " + r[3];
    frag.appendChild(div);
  }
  rows.replaceChildren(frag);
}

// Eight bytes a line, so that the dump fits the side panel: offset, hex, the printable bytes.
function hexDump(bytes) {
  const lines = [];
  for (let o = 0; o < bytes.length; o += 8) {
    let hex = "", text = "";
    for (let i = o; i < o + 8; i++) {
      if (i < bytes.length) {
        const c = bytes.charCodeAt(i);
        hex += c.toString(16).padStart(2, "0") + " ";
        text += c >= 32 && c < 127 ? bytes[i] : ".";
      } else {
        hex += "   ";
      }
    }
    lines.push(o.toString(16).padStart(8, "0") + "  " + hex + " " + text);
  }
  return lines.join("\n");
}

// The bytes as text: escaped as in the rows, with a line break after each LF.
function decoded(bytes) {
  return esc(bytes).replace(/\\n/g, "\\n\n");
}

function select(i) {
  if (i < 0 || i >= R.length) return;
  selected = i;
  const r = R[i];
  const meta = document.getElementById("meta");
  const hex = document.getElementById("hex");
  if (r[2] === SPAN) {
    meta.textContent = "lines " + r[0] + "\u2013" + r[8] + ", t " + r[1].toFixed(6) + "\u2013" +
                       r[9].toFixed(6) + " s: data mode, " + plural(r[5], "byte") + " to host in " +
                       plural(r[10], "chunk") + ", " + plural(r[7], "byte") + " from host in " +
                       plural(r[11], "chunk");
    hex.textContent = "to host, first " + r[4].length + " bytes:\n" + hexDump(r[4]) +
                      "\n\nfrom host, first " + r[6].length + " bytes:\n" + hexDump(r[6]);
    document.getElementById("text").textContent =
        "to host:\n" + decoded(r[4]) + "\n\nfrom host:\n" + decoded(r[6]);
  } else {
    meta.textContent = "line " + r[0] + ", t " + r[1].toFixed(6) + " s, " + KINDS[r[2]] +
                       " from " + r[3] + ", " + plural(r[5], "byte") +
                       (r[5] > r[4].length ? " (the first " + r[4].length + " kept)" : "");
    hex.textContent = hexDump(r[4]);
    document.getElementById("text").textContent = decoded(r[4]);
  }
  const top = tops[i];
  if (top < view.scrollTop || tops[i + 1] > view.scrollTop + view.clientHeight) {
    view.scrollTop = Math.max(0, top - view.clientHeight / 3);
  }
  render();
}

// The row holding transcript line `n`: the last row that starts at or before it.
function rowOfLine(n) {
  let lo = 0, hi = R.length - 1, best = 0;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (R[mid][0] <= n) { best = mid; lo = mid + 1; } else { hi = mid - 1; }
  }
  return best;
}

// #line=N selects the row of transcript line N and shows its bytes: a link to one line.
function followHash() {
  const m = /^#line=(\d+)$/.exec(location.hash);
  if (m) select(rowOfLine(Number(m[1])));
}

document.getElementById("title").textContent = "quecsim transcript: " + D.file;
document.title = "quecsim transcript: " + D.file;
document.getElementById("summary").textContent =
    plural(D.records, "record") + " in " + plural(R.length, "row") + "; " +
    plural(D.spans, "data-mode span") + " collapsed; " + plural(D.faults, "fault") + "; " +
    plural(D.warnings, "warning") + (D.modules > 1 ? "; " + D.modules + " modules" : "");
document.getElementById("spacer").style.height = (R.length * H) + "px";
const marks = document.getElementById("marks");
let shown = 0;
for (let i = 0; i < R.length && shown < 500; i++) {
  const k = R[i][2];
  if (k !== 5 && k !== 6) continue;
  const div = document.createElement("div");
  div.className = k === 5 ? "fault" : "warning";
  div.textContent = "line " + R[i][0] + ": " + (k === 5 ? "fault " : "warning ") + esc(R[i][4]);
  div.dataset.index = i;
  marks.appendChild(div);
  shown++;
}
if (D.faults + D.warnings > shown) {
  const more = document.createElement("div");
  more.textContent = "\u2026 " + (D.faults + D.warnings - shown) + " more";
  marks.appendChild(more);
}
document.getElementById("marks-title").textContent =
    "Faults and warnings (" + (D.faults + D.warnings) + ")";
marks.addEventListener("click", e => {
  const i = e.target.dataset.index;
  if (i !== undefined) select(Number(i));
});
rows.addEventListener("click", e => {
  const row = e.target.closest(".row");
  if (row) select(Number(row.dataset.index));
});
view.addEventListener("keydown", e => {
  if (e.key === "ArrowDown") { select(selected + 1); e.preventDefault(); }
  if (e.key === "ArrowUp") { select(selected - 1); e.preventDefault(); }
});
let pending = false;
view.addEventListener("scroll", () => {
  if (pending) return;
  pending = true;
  requestAnimationFrame(() => { pending = false; render(); });
});
window.addEventListener("resize", () => { measure(); layout(); render(); });
window.addEventListener("hashchange", followHash);
measure();
layout();
render();
followHash();
document.body.dataset.rendered = String(performance.now());
</script>
</body>
</html>
)QUECSIM";

}  // namespace quecsim::sim::report
