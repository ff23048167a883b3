#include "report/html_assets.h"

namespace gotestrun::report {

const std::string_view kReportCss = R"css(
:root {
  --fg: #1f2328; --muted: #59636e; --faint: #8c959f; --line: #d1d9e0; --soft: #eef1f4;
  --bg: #f6f8fa; --card: #ffffff; --accent: #0969da; --red: #cf222e;
  --mono: ui-monospace, SFMono-Regular, "SF Mono", Menlo, Consolas, "Liberation Mono", "DejaVu Sans Mono", monospace;
  --sans: -apple-system, BlinkMacSystemFont, "Segoe UI", "Noto Sans", Helvetica, Arial, "Liberation Sans", "DejaVu Sans", sans-serif;
}
* { box-sizing: border-box; }
html { background: var(--bg); }
body { margin: 0; color: var(--fg); font: 14px/1.5 var(--sans); -webkit-print-color-adjust: exact; print-color-adjust: exact; }
main { max-width: 1180px; margin: 0 auto; padding: 0 24px 48px; }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
code, .mono { font-family: var(--mono); font-size: 12.5px; }
h2 { font-size: 19px; margin: 36px 0 4px; padding-bottom: 6px; border-bottom: 1px solid var(--line); }
h2 + .lead { margin-top: 6px; }
h3 { font-size: 15px; margin: 0; }
h4 { font-size: 12px; margin: 16px 0 6px; text-transform: uppercase; letter-spacing: .05em; color: var(--muted); }
.lead { color: var(--muted); margin: 6px 0 14px; }

header.top { background: #0d1117; color: #e6edf3; padding: 26px 0 22px; }
header.top .inner { max-width: 1180px; margin: 0 auto; padding: 0 24px; }
.kicker { font-size: 12px; letter-spacing: .08em; text-transform: uppercase; color: #9198a1; }
.title-row { display: flex; align-items: center; gap: 14px; flex-wrap: wrap; margin: 4px 0 6px; }
h1 { font-size: 28px; margin: 0; font-weight: 650; word-break: break-all; }
.message { font-size: 15px; margin: 4px 0 18px; color: #d1d7e0; max-width: 100ch; overflow-wrap: anywhere; }
.stats { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 10px; }
.stat { background: #161b22; border: 1px solid #30363d; border-radius: 8px; padding: 10px 14px; }
.stat .v { font-size: 24px; font-weight: 650; line-height: 1.2; }
.stat .k { font-size: 12px; color: #9198a1; text-transform: uppercase; letter-spacing: .05em; }
.stat .sub { font-size: 12px; color: #c9d1d9; margin-top: 2px; }
.stat.alert .v { color: #ff7b72; }
.facts { display: grid; grid-template-columns: repeat(auto-fit, minmax(230px, 1fr)); gap: 4px 22px; margin: 16px 0 0; }
.facts div { display: flex; gap: 8px; min-width: 0; }
.facts dt { color: #9198a1; flex: none; }
.facts dd { margin: 0; overflow-wrap: anywhere; }

nav.toc { position: sticky; top: 0; z-index: 5; background: rgba(246,248,250,.94); border-bottom: 1px solid var(--line); backdrop-filter: blur(4px); }
nav.toc .inner { max-width: 1180px; margin: 0 auto; padding: 8px 24px; display: flex; gap: 18px; flex-wrap: wrap; font-size: 13px; }

.badge { display: inline-block; padding: 1px 9px; border-radius: 999px; font-size: 12px; font-weight: 600;
  color: #fff; background: var(--c, #57606a); white-space: nowrap; vertical-align: middle; }
.badge.big { font-size: 14px; padding: 3px 12px; }
.chip { display: inline-block; padding: 1px 8px; border-radius: 6px; font-size: 12px; background: var(--soft); color: var(--muted); border: 1px solid var(--line); }
.dot { display: inline-block; width: 10px; height: 10px; border-radius: 3px; background: var(--c); margin-right: 5px; vertical-align: -1px; }
.pkg { font-family: var(--mono); overflow-wrap: anywhere; }
.pkg .dim { color: var(--faint); }

.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 16px 18px; margin: 14px 0; box-shadow: 0 1px 2px rgba(31,35,40,.04); }
.card-head { display: flex; align-items: center; gap: 10px; flex-wrap: wrap; }
.card-head h3 { flex: 1 1 auto; min-width: 0; }
.diagnosis { border-left: 4px solid var(--red); }
.warning { border-left: 4px solid #b7791f; }
.cause-row { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; margin: 10px 0 4px; }
.cause-name { font-size: 18px; font-weight: 700; color: var(--red); }
.cause-text { color: var(--muted); margin: 4px 0 10px; }
.summary { margin: 8px 0; padding: 10px 12px; background: #fff8f7; border: 1px solid #ffd8d3; border-radius: 8px; overflow-wrap: anywhere; }
ul.evidence { margin: 0; padding-left: 20px; }
ul.evidence li { margin: 2px 0; overflow-wrap: anywhere; }
.meta { color: var(--muted); font-size: 12.5px; margin: 2px 0 8px; overflow-wrap: anywhere; }

table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { text-align: left; padding: 6px 9px; border-bottom: 1px solid var(--soft); vertical-align: top; }
th { font-size: 11.5px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); border-bottom: 1px solid var(--line); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tbody tr:hover { background: #f6f8fa; }
.table-wrap { overflow-x: auto; background: var(--card); border: 1px solid var(--line); border-radius: 10px; }
.table-wrap table td:first-child, .table-wrap table th:first-child { padding-left: 14px; }
.share { position: relative; min-width: 120px; }
.share .bar { position: absolute; left: 0; top: 5px; bottom: 5px; background: rgba(207,34,46,.13); border-radius: 3px; }
.share span { position: relative; }
.fn { font-family: var(--mono); font-size: 12.5px; overflow-wrap: anywhere; }
.where { font-family: var(--mono); font-size: 12px; color: var(--muted); overflow-wrap: anywhere; }
.msg { color: var(--muted); overflow-wrap: anywhere; max-width: 46ch; }
td.nowrap { white-space: nowrap; }
td.nowrap .pkg { overflow-wrap: normal; }
td.running { font-size: 12px; max-width: 40ch; overflow-wrap: anywhere; }

figure.chart { margin: 8px 0 4px; }
figure.chart svg { width: 100%; height: auto; display: block; font-family: var(--sans); overflow: visible; }
figure.chart .placeholder { color: var(--faint); padding: 18px 0; font-size: 13px; }
figure.chart[data-drawn] .placeholder { display: none; }
.legend { display: flex; flex-wrap: wrap; gap: 4px 16px; font-size: 12.5px; color: var(--muted); margin: 2px 0 6px; }
.legend .swatch-line { display: inline-block; width: 18px; height: 0; border-top: 2px dashed var(--red); vertical-align: middle; margin-right: 5px; }
.legend .swatch-area { display: inline-block; width: 14px; height: 10px; background: rgba(9,105,218,.25); border-top: 2px solid #0969da; vertical-align: -1px; margin-right: 5px; }
.legend .swatch-oom { display: inline-block; width: 10px; height: 10px; border-radius: 50%; background: var(--red); vertical-align: -1px; margin-right: 5px; }

svg .grid { stroke: #e6eaef; stroke-width: 1; fill: none; }
svg .axis { stroke: #afb8c1; stroke-width: 1; fill: none; }
svg .tick { fill: #6e7781; font-size: 11px; }
svg .usage { fill: none; stroke: #0969da; stroke-width: 1.8; stroke-linejoin: round; }
svg .usage-area { fill: rgba(9,105,218,.14); stroke: none; }
svg .limit { fill: none; stroke: #cf222e; stroke-width: 1.6; stroke-dasharray: 6 4; }
svg .gomemlimit { fill: none; stroke: #bf8700; stroke-width: 1.2; stroke-dasharray: 2 3; }
svg .limit-label { fill: #cf222e; font-size: 11px; font-weight: 600; paint-order: stroke; stroke: #fff; stroke-width: 4px; }
svg .gomemlimit-label { fill: #9a6700; font-size: 11px; paint-order: stroke; stroke: #fff; stroke-width: 4px; }
svg .oom-line { stroke: #cf222e; stroke-width: 1.2; }
svg .oom-dot { fill: #cf222e; stroke: #fff; stroke-width: 2; }
svg .oom-label { fill: #cf222e; font-size: 12px; font-weight: 700; paint-order: stroke; stroke: #fff; stroke-width: 4px; }
svg .lane-label { fill: #1f2328; font-size: 11px; font-family: var(--mono); }
svg .lane-title { fill: #6e7781; font-size: 11px; }
svg .bar-label { fill: #1f2328; font-size: 11px; }
svg .bar-sub { fill: #6e7781; font-size: 11px; }
svg .pkg-label { fill: #1f2328; font-size: 12px; font-family: var(--mono); }
svg .attempt-label { fill: #fff; font-size: 11px; font-weight: 600; pointer-events: none; }
svg .row-label { fill: #1f2328; font-size: 12px; font-weight: 600; }
svg .cursor { stroke: #57606a; stroke-width: 1; stroke-dasharray: 3 3; }
svg .cursor-text { fill: #1f2328; font-size: 11.5px; font-weight: 600; paint-order: stroke; stroke: #fff; stroke-width: 4px; }
svg a:hover rect { filter: brightness(1.12); }

.attempt-card .facts-row { display: flex; flex-wrap: wrap; gap: 6px 16px; color: var(--muted); font-size: 13px; margin: 8px 0 4px; }
.attempt-card .facts-row b { color: var(--fg); font-weight: 600; }
.attempt-card .kill { margin: 8px 0; color: var(--red); font-weight: 600; overflow-wrap: anywhere; }
.attempt-card .note { margin: 6px 0; color: var(--muted); font-size: 13px; overflow-wrap: anywhere; }
details { margin-top: 8px; }
details summary { cursor: pointer; color: var(--muted); font-size: 13px; }
.notice { background: #fff8c5; border: 1px solid #d4a72c; border-radius: 8px; padding: 10px 14px; margin: 16px 0; }
.ok { border-left: 4px solid #1f883d; }
footer { color: var(--faint); font-size: 12px; margin-top: 40px; overflow-wrap: anywhere; }

@media print {
  html, body { background: #fff; }
  nav.toc { display: none; }
  header.top { background: #fff; color: var(--fg); border-bottom: 2px solid var(--fg); padding: 0 0 12px; }
  header.top .inner, main { padding: 0; max-width: none; }
  .kicker, .facts dt, .stat .k { color: var(--muted); }
  .message, .stat .sub { color: var(--fg); }
  .stat { background: #fff; border-color: var(--line); }
  .stat.alert .v { color: var(--red); }
  .card, .table-wrap { box-shadow: none; break-inside: avoid; }
  figure.chart { break-inside: avoid; }
  h2 { break-after: avoid; }
  tbody tr:hover { background: none; }
}
)css";

const std::string_view kReportJs = R"js(
(function () {
  'use strict';
  var NS = 'http://www.w3.org/2000/svg';
  var source = document.getElementById('gtr-data');
  if (!source) return;
  var data = JSON.parse(source.textContent);

  function el(name, attrs, parent, text) {
    var e = document.createElementNS(NS, name);
    if (attrs) for (var k in attrs) if (Object.prototype.hasOwnProperty.call(attrs, k)) e.setAttribute(k, attrs[k]);
    if (text !== undefined && text !== null) e.textContent = text;
    if (parent) parent.appendChild(e);
    return e;
  }
  function title(parent, text) { el('title', null, parent, text); }

  var UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  function bytes(b) {
    if (b === null || b === undefined) return '?';
    var u = 0, v = b;
    while (v >= 1024 && u < UNITS.length - 1) { v /= 1024; u++; }
    var s = v >= 100 || u === 0 || Math.abs(v - Math.round(v)) < 0.005 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
    return s + ' ' + UNITS[u];
  }
  function seconds(ms) {
    var s = ms / 1000;
    if (s < 60) return (Math.abs(s - Math.round(s)) > 0.05 ? s.toFixed(1) : s.toFixed(0)) + ' s';
    var m = Math.floor(s / 60), r = Math.round(s - m * 60);
    if (m < 60) return m + ' m' + (r ? ' ' + (r < 10 ? '0' : '') + r + ' s' : '');
    return Math.floor(m / 60) + ' h ' + (m % 60 < 10 ? '0' : '') + (m % 60) + ' m';
  }
  function short(pkg) {
    var p = data.modulePrefix || '';
    return p && pkg.indexOf(p) === 0 && pkg.length > p.length ? pkg.slice(p.length) : pkg;
  }
  function clip(text, max) { return text.length > max ? text.slice(0, max - 1) + '\u2026' : text; }

  // Ticks at 1, 2 or 5 times a power of ten (of the unit) covering [0, max].
  function niceStep(max, count, unit) {
    var raw = max / unit / Math.max(1, count);
    var p = Math.pow(10, Math.floor(Math.log(raw) / Math.LN10));
    var steps = [1, 2, 2.5, 5, 10];
    for (var i = 0; i < steps.length; i++) if (steps[i] * p >= raw) return steps[i] * p * unit;
    return 10 * p * unit;
  }
  function byteTicks(max, count) {
    var unit = max >= 4 * Math.pow(1024, 3) ? Math.pow(1024, 3) : max >= 4 * 1048576 ? 1048576 : max >= 4096 ? 1024 : 1;
    var step = niceStep(max, count, unit);
    var ticks = [];
    for (var v = 0; v <= max + step * 0.001; v += step) ticks.push(v);
    return ticks;
  }
  function timeTicks(max, count) {
    var unit = max >= 2 * 3600e3 ? 3600e3 : max >= 2 * 60e3 ? 60e3 : 1000;
    var step = max > 0 ? niceStep(max, count, unit) : 1000;
    if (unit === 60e3 && step < 60e3) step = 60e3;
    if (step < 100) step = 100;
    var ticks = [];
    for (var v = 0; v <= max + step * 0.001; v += step) ticks.push(v);
    return ticks;
  }
  function svgFor(figure, width, height, label) {
    var svg = el('svg', { viewBox: '0 0 ' + width + ' ' + height, width: width, height: height, role: 'img',
                          'aria-label': label, preserveAspectRatio: 'xMinYMin meet' });
    figure.insertBefore(svg, figure.firstChild);
    return svg;
  }
  function mark(figure, state, counts) {
    figure.setAttribute('data-drawn', state);
    for (var k in counts) if (Object.prototype.hasOwnProperty.call(counts, k)) figure.setAttribute('data-' + k, String(counts[k]));
  }
  function empty(figure, message) {
    var p = figure.querySelector('.placeholder');
    var note = document.createElement('div');
    note.className = 'placeholder-empty meta';
    note.textContent = message;
    figure.appendChild(note);
    if (p) p.remove();
    mark(figure, 'empty', {});
  }

  // ---- memory over time, one chart per attempt ----
  function drawMemory(figure, a) {
    if (!a.samples.length) { empty(figure, 'No memory samples were recorded in this attempt.'); return; }
    var lanes = a.binaries.slice(0, 16);
    var W = 960, L = 72, R = 24, T = 18, PH = 230, laneH = 17;
    var lanesTop = T + PH + 34, H = lanesTop + (lanes.length ? 18 + lanes.length * laneH : 0) + 8;
    var svg = svgFor(figure, W, H, 'Memory of shard ' + a.shard + ' attempt ' + a.attempt + ' over time');
    var tMax = a.duration || 0;
    a.samples.forEach(function (s) { tMax = Math.max(tMax, s[0]); });
    if (a.kill) tMax = Math.max(tMax, a.kill.t);
    lanes.forEach(function (b) { tMax = Math.max(tMax, b.end === null ? b.start : b.end); });
    tMax = Math.max(tMax, 1000);
    var yMax = 0;
    a.samples.forEach(function (s) { yMax = Math.max(yMax, s[1]); });
    a.limits.forEach(function (s) { yMax = Math.max(yMax, s[1]); });
    if (a.gomemlimit) yMax = Math.max(yMax, a.gomemlimit);
    yMax = Math.max(yMax * 1.1, 1048576);
    var yt = byteTicks(yMax, 5); yMax = Math.max(yMax, yt[yt.length - 1]);
    var xt = timeTicks(tMax, 8); tMax = Math.max(tMax, xt[xt.length - 1]);
    function x(t) { return L + (W - L - R) * t / tMax; }
    function y(v) { return T + PH - PH * v / yMax; }

    var grid = '';
    yt.forEach(function (v) {
      grid += 'M' + L + ' ' + y(v).toFixed(1) + 'H' + (W - R);
      el('text', { x: L - 8, y: y(v) + 4, 'text-anchor': 'end', 'class': 'tick' }, svg, bytes(v));
    });
    xt.forEach(function (t) {
      grid += 'M' + x(t).toFixed(1) + ' ' + T + 'V' + (T + PH);
      el('text', { x: x(t), y: T + PH + 16, 'text-anchor': 'middle', 'class': 'tick' }, svg, seconds(t));
    });
    el('path', { d: grid, 'class': 'grid' }, svg);
    el('path', { d: 'M' + L + ' ' + T + 'V' + (T + PH) + 'H' + (W - R), 'class': 'axis' }, svg);

    var line = '', area = '';
    a.samples.forEach(function (s, i) {
      var p = x(s[0]).toFixed(1) + ' ' + y(s[1]).toFixed(1);
      line += (i ? 'L' : 'M') + p;
      area += (i ? 'L' : 'M' + x(s[0]).toFixed(1) + ' ' + y(0) + 'L') + p;
    });
    area += 'L' + x(a.samples[a.samples.length - 1][0]).toFixed(1) + ' ' + y(0) + 'Z';
    el('path', { d: area, 'class': 'usage-area' }, svg);
    var usage = el('path', { d: line, 'class': 'usage' }, svg);
    title(usage, 'cgroup memory usage');

    var drawnLimit = 0;
    if (a.limits.length) {
      var d = '';
      a.limits.forEach(function (s, i) {
        d += (i ? 'H' + x(s[0]).toFixed(1) + 'V' : 'M' + x(s[0]).toFixed(1) + ' ') + y(s[1]).toFixed(1);
      });
      d += 'H' + (W - R);
      var lim = el('path', { d: d, 'class': 'limit' }, svg);
      var last = a.limits[a.limits.length - 1][1];
      title(lim, 'memory limit ' + bytes(last));
      el('text', { x: L + 6, y: y(last) - 6, 'class': 'limit-label' }, svg, 'limit ' + bytes(last));
      drawnLimit = 1;
    }
    if (a.gomemlimit) {
      el('path', { d: 'M' + L + ' ' + y(a.gomemlimit).toFixed(1) + 'H' + (W - R), 'class': 'gomemlimit' }, svg);
      el('text', { x: L + 6, y: y(a.gomemlimit) + 14, 'class': 'gomemlimit-label' }, svg, 'GOMEMLIMIT ' + bytes(a.gomemlimit));
    }
    var kills = 0;
    if (a.kill) {
      var g = el('g', { 'class': 'oom-mark' }, svg);
      var kx = x(a.kill.t), ky = y(a.kill.usage);
      el('line', { x1: kx, x2: kx, y1: T, y2: T + PH, 'class': 'oom-line' }, g);
      el('circle', { cx: kx, cy: ky, r: 6, 'class': 'oom-dot' }, g);
      var text = 'OOM kill' + (a.kill.package ? ' \u00b7 ' + short(a.kill.package) : '') + (a.kill.test ? ' (' + a.kill.test + ')' : '');
      var right = kx > L + (W - L - R) * 0.6;
      var ly = Math.min(T + PH - 8, Math.max(T + 14, (drawnLimit ? y(a.limits[a.limits.length - 1][1]) : T) + 20));
      el('text', { x: right ? kx - 12 : kx + 12, y: ly, 'text-anchor': right ? 'end' : 'start', 'class': 'oom-label' }, g, clip(text, 70));
      title(g, text + ' at ' + seconds(a.kill.t) + ', ' + bytes(a.kill.usage));
      kills = 1;
    }
    var rects = 0;
    if (lanes.length) {
      el('text', { x: L, y: lanesTop + 4, 'class': 'lane-title' }, svg,
         'Test binaries' + (a.binaries.length > lanes.length ? ' (first ' + lanes.length + ' of ' + a.binaries.length + ')' : ''));
      lanes.forEach(function (b, i) {
        var top = lanesTop + 12 + i * laneH;
        var end = b.end === null ? tMax : b.end;
        var w = Math.max(2, x(end) - x(b.start));
        var r = el('rect', { x: x(b.start).toFixed(1), y: top, width: w.toFixed(1), height: laneH - 4, rx: 3,
                             fill: b.color, 'fill-opacity': 0.22, stroke: b.color, 'class': 'binary' }, svg);
        rects++;
        title(r, b.package + ': ' + b.outcome + (b.maxRss ? ', max RSS ' + bytes(b.maxRss) : '') + ', ' + seconds(end - b.start));
        var label = short(b.package) + (b.maxRss ? '  ' + bytes(b.maxRss) : '');
        var lx = x(b.start) + 5, anchor = 'start';
        if (lx + label.length * 6.6 > W - R && x(end) - label.length * 6.6 > L) { lx = x(end) - 5; anchor = 'end'; }
        el('text', { x: lx, y: top + laneH - 8, 'class': 'lane-label', 'text-anchor': anchor }, svg, label);
      });
    }

    // A cursor that reads the usage under the pointer.
    var cursor = el('g', { visibility: 'hidden' }, svg);
    var cl = el('line', { y1: T, y2: T + PH, 'class': 'cursor' }, cursor);
    var ct = el('text', { y: T + PH - 8, 'class': 'cursor-text' }, cursor);
    svg.addEventListener('mousemove', function (ev) {
      var box = svg.getBoundingClientRect();
      var px = (ev.clientX - box.left) * W / box.width;
      if (px < L || px > W - R) { cursor.setAttribute('visibility', 'hidden'); return; }
      var t = (px - L) / (W - L - R) * tMax, lo = 0, hi = a.samples.length - 1;
      while (lo < hi) { var mid = (lo + hi) >> 1; if (a.samples[mid][0] < t) lo = mid + 1; else hi = mid; }
      var s = a.samples[lo];
      cl.setAttribute('x1', x(s[0])); cl.setAttribute('x2', x(s[0]));
      ct.setAttribute('x', x(s[0]) + (x(s[0]) > W - 200 ? -6 : 6));
      ct.setAttribute('text-anchor', x(s[0]) > W - 200 ? 'end' : 'start');
      ct.textContent = seconds(s[0]) + ': ' + bytes(s[1]);
      cursor.setAttribute('visibility', 'visible');
    });
    svg.addEventListener('mouseleave', function () { cursor.setAttribute('visibility', 'hidden'); });
    mark(figure, 'true', { samples: a.samples.length, limits: drawnLimit, kills: kills, binaries: rects });
  }

  // ---- each package's peak against the limits it was tried under ----
  function drawPeaks(figure, packages) {
    var rows = 0;
    packages.forEach(function (p) { rows += p.runs.length; });
    if (!rows) { empty(figure, 'No package has a recorded peak.'); return; }
    var W = 960, L = 250, R = 150, T = 26, rowH = 20, gap = 12;
    var H = T + rows * rowH + (packages.length - 1) * gap + 30;
    var svg = svgFor(figure, W, H, 'Peak memory per package against its limits');
    var max = 1048576;
    packages.forEach(function (p) { p.runs.forEach(function (r) { max = Math.max(max, r.peak || 0, r.limit || 0); }); });
    var ticks = byteTicks(max * 1.05, 6); max = Math.max(max * 1.05, ticks[ticks.length - 1]);
    function x(v) { return L + (W - L - R) * v / max; }
    var grid = '';
    ticks.forEach(function (v) {
      grid += 'M' + x(v).toFixed(1) + ' ' + (T - 6) + 'V' + (H - 24);
      el('text', { x: x(v), y: H - 8, 'text-anchor': 'middle', 'class': 'tick' }, svg, bytes(v));
    });
    el('path', { d: grid, 'class': 'grid' }, svg);
    el('text', { x: L, y: 12, 'class': 'lane-title' }, svg, 'bar: peak in that attempt \u00b7 red tick: the attempt\u2019s memory limit');
    var top = T, bars = 0, limits = 0;
    packages.forEach(function (p, pi) {
      if (pi) top += gap;
      var label = el('text', { x: L - 12, y: top + 14, 'text-anchor': 'end', 'class': 'pkg-label' }, svg, clip(short(p.package), 34));
      title(label, p.package);
      p.runs.forEach(function (r) {
        var link = el('a', { href: '#' + r.id }, svg);
        if (r.peak !== null) {
          var bar = el('rect', { x: L, y: top + 3, width: Math.max(1, x(r.peak) - L).toFixed(1), height: rowH - 6, rx: 3,
                                 fill: r.color, 'class': 'bar' }, link);
          title(bar, p.package + ' in shard ' + r.shard + ' attempt ' + r.attempt + ': ' + r.result + ', peak ' + bytes(r.peak) +
                (r.limit ? ' of ' + bytes(r.limit) : ''));
          bars++;
        }
        if (r.limit) {
          el('line', { x1: x(r.limit), x2: x(r.limit), y1: top + 1, y2: top + rowH - 1, stroke: '#cf222e', 'stroke-width': 2.5,
                       'class': 'limit-tick' }, link);
          limits++;
        }
        var end = Math.max(x(r.peak || 0), x(r.limit || 0));
        el('text', { x: end + 8, y: top + rowH - 6, 'class': 'bar-label' }, svg,
           's' + r.shard + '\u00b7a' + r.attempt + '  ' + (r.peak !== null ? bytes(r.peak) : 'no peak') +
           (r.limit ? ' / ' + bytes(r.limit) : '') + '  ' + r.result);
        top += rowH;
      });
    });
    mark(figure, 'true', { bars: bars, limits: limits, packages: packages.length });
  }

  // ---- the attempts over time, one row per shard ----
  function drawTimeline(figure, shards) {
    var count = 0, tMax = 0;
    shards.forEach(function (s) { s.attempts.forEach(function (a) { if (a.start !== null) { count++; tMax = Math.max(tMax, a.end === null ? a.start : a.end); } }); });
    if (!count) { empty(figure, 'No attempt has a start time yet.'); return; }
    var W = 960, L = 84, R = 20, T = 10, rowH = 34;
    var H = T + shards.length * rowH + 30;
    var svg = svgFor(figure, W, H, 'Shard attempts over time');
    var ticks = timeTicks(Math.max(tMax, 1000), 8); tMax = Math.max(tMax, ticks[ticks.length - 1]);
    function x(t) { return L + (W - L - R) * t / tMax; }
    var grid = '';
    ticks.forEach(function (t) {
      grid += 'M' + x(t).toFixed(1) + ' ' + T + 'V' + (H - 24);
      el('text', { x: x(t), y: H - 8, 'text-anchor': 'middle', 'class': 'tick' }, svg, seconds(t));
    });
    el('path', { d: grid, 'class': 'grid' }, svg);
    var bars = 0;
    shards.forEach(function (s, i) {
      var top = T + i * rowH;
      el('text', { x: L - 12, y: top + rowH / 2 + 4, 'text-anchor': 'end', 'class': 'row-label' }, svg, 'shard ' + s.shard);
      s.attempts.forEach(function (a) {
        if (a.start === null) return;
        var end = a.end === null ? tMax : a.end;
        var w = Math.max(3, x(end) - x(a.start));
        var link = el('a', { href: '#' + a.id }, svg);
        var r = el('rect', { x: x(a.start).toFixed(1), y: top + 5, width: w.toFixed(1), height: rowH - 10, rx: 4,
                             fill: a.color, 'class': 'attempt' }, link);
        title(r, 'shard ' + s.shard + ' attempt ' + a.attempt + ': ' + a.outcome + (a.memory ? ' at ' + a.memory : '') + ', ' +
              seconds(end - a.start));
        var label = 'a' + a.attempt + (a.memory ? ' \u00b7 ' + a.memory : '');
        if (w > label.length * 6.6 + 10) el('text', { x: x(a.start) + 7, y: top + rowH / 2 + 4, 'class': 'attempt-label' }, link, label);
        bars++;
      });
    });
    mark(figure, 'true', { attempts: bars, shards: shards.length });
  }

  var figures = document.querySelectorAll('figure[data-chart]');
  for (var i = 0; i < figures.length; i++) {
    var f = figures[i], kind = f.getAttribute('data-chart');
    try {
      if (kind === 'memory') {
        var id = f.getAttribute('data-attempt');
        var a = null;
        data.attempts.forEach(function (x) { if (x.id === id) a = x; });
        if (a) drawMemory(f, a); else empty(f, 'No data for this attempt.');
      } else if (kind === 'peaks') {
        drawPeaks(f, data.peaks);
      } else if (kind === 'timeline') {
        drawTimeline(f, data.timeline);
      }
    } catch (e) {
      f.setAttribute('data-drawn', 'error');
      f.setAttribute('data-error', String(e && e.message || e));
    }
  }
  // Printed, every table is shown, the collapsed ones too.
  window.addEventListener('beforeprint', function () {
    var details = document.querySelectorAll('details');
    for (var d = 0; d < details.length; d++) details[d].open = true;
  });
  document.documentElement.setAttribute('data-report-drawn', 'true');
})();
)js";

}  // namespace gotestrun::report
