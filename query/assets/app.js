// app.js -- the nstatus dashboard: asks for an API key, draws /figures, and redraws
// whenever the server pushes a "change" on /dashboard/stream (Server-Sent Events, read
// with fetch so that the key travels in the Authorization header, never in a URL).
// A search shows one notification and its timeline (every event with its outcome, the
// callback attempts among them). No library, no build step.
'use strict';

const $ = (id) => document.getElementById(id);
const COLORS = ['#3b5bdb', '#1f9d55', '#d64545', '#d98c1a', '#7048e8', '#0c8599', '#868e96'];
// What the charts and tables pick out of the figures (which carry every status).
const SHOWN_KINDS = ['accepted', 'delivered', 'failed', 'rejected'];
const RATE_KINDS = ['delivered', 'failed', 'rejected'];
const LATENCY_STATUSES = ['delivered'];

let key = sessionStorage.getItem('nstatus.key') || '';
let shownId = '';
let pending = null;

// ---- HTTP ----

async function api(path) {
  const r = await fetch(path, { headers: { Authorization: 'Bearer ' + key }, cache: 'no-store' });
  if (r.status === 401 || r.status === 403) throw new Error('the key was refused (' + r.status + '): it needs the read scope');
  if (!r.ok && r.status !== 404) throw new Error(path + ': HTTP ' + r.status);
  return r.status === 404 ? null : r.json();
}

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') e.className = v; else e.setAttribute(k, v);
  }
  for (const k of kids) e.append(k instanceof Node ? k : document.createTextNode(String(k)));
  return e;
}

function showError(msg) {
  $('error').textContent = msg;
  $('error').hidden = !msg;
}

// ---- the figures ----

function drawCounts(counts) {
  const channels = [...new Set(counts.map((c) => c.channel))].sort();
  const statuses = [...new Set(counts.map((c) => c.status))].sort();
  const by = new Map(counts.map((c) => [c.channel + '/' + c.status, c.count]));
  const head = $('counts').tHead, body = $('counts').tBodies[0];
  head.replaceChildren(el('tr', {}, el('th', {}, 'channel'), ...statuses.map((s) => el('th', {}, s)), el('th', {}, 'all')));
  body.replaceChildren(...channels.map((ch) => {
    let sum = 0;
    const cells = statuses.map((s) => {
      const n = by.get(ch + '/' + s) || 0;
      sum += n;
      return el('td', { 'data-count': ch + '/' + s, class: n ? '' : 'zero' }, n);
    });
    return el('tr', {}, el('td', {}, ch || '(unknown)'), ...cells, el('td', { 'data-total': ch }, sum));
  }));
  const total = counts.reduce((a, c) => a + c.count, 0);
  $('total').textContent = total + ' in all';
  $('total').setAttribute('data-total', total);
}

// A line chart into box: lines [{label, cls, values (numbers or null), dashed}], the x
// labels of the first and last point, the y maximum and how to print it.
function lineChart(box, legend, lines, first, last, max, fmt) {
  const W = 900, H = 180, L = 44, B = 18, ns = 'http://www.w3.org/2000/svg';
  const n = Math.max(1, ...lines.map((l) => l.values.length));
  const x = (i) => L + (i * (W - L - 4)) / Math.max(1, n - 1);
  const y = (v) => H - B - (v * (H - B - 8)) / max;
  const svg = document.createElementNS(ns, 'svg');
  const add = (tag, attrs, text) => {
    const e = document.createElementNS(ns, tag);
    Object.entries(attrs).forEach(([k, val]) => e.setAttribute(k, val));
    if (text !== undefined) e.textContent = text;
    svg.append(e);
    return e;
  };
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  svg.setAttribute('preserveAspectRatio', 'none');
  add('line', { x1: L, y1: H - B, x2: W, y2: H - B, class: 'axis' });
  add('line', { x1: L, y1: 8, x2: L, y2: H - B, class: 'axis' });
  add('text', { x: L - 4, y: 14, 'text-anchor': 'end' }, fmt(max));
  add('text', { x: L - 4, y: H - B, 'text-anchor': 'end' }, fmt(0));
  add('text', { x: L, y: H - 4 }, first);
  add('text', { x: W - 4, y: H - 4, 'text-anchor': 'end' }, last);
  lines.forEach((l, i) => {
    const pts = l.values.map((v, j) => (v === null ? null : `${x(j).toFixed(1)},${y(v).toFixed(1)}`)).filter((p) => p);
    const p = add('polyline', { points: pts.join(' '), fill: 'none', stroke: COLORS[i % COLORS.length], 'stroke-width': '1.5' });
    if (l.dashed) p.setAttribute('stroke-dasharray', '4 3');
    Object.entries(l.data || {}).forEach(([k, val]) => p.setAttribute('data-' + k, val));
  });
  box.replaceChildren(svg);
  legend.replaceChildren(...lines.map((l, i) => el('span', {}, el('i', { class: 'c' + (i % COLORS.length) }), l.label)));
}

function drawVolumes(v) {
  const kinds = SHOWN_KINDS.filter((k) => v.kinds.includes(k));
  const mins = v.minutes;
  const lines = kinds.map((k) => ({
    label: k, values: mins.map((m) => m[k] || 0),
    data: { kind: k, sum: mins.reduce((a, m) => a + (m[k] || 0), 0) },
  }));
  const max = Math.max(1, ...lines.flatMap((l) => l.values));
  lineChart($('volumes'), $('legend'), lines, mins.length ? mins[0].minute.slice(11, 16) : '',
    mins.length ? mins[mins.length - 1].minute.slice(11, 16) : '', max, String);
}

// Per channel: the share of the accepted that was delivered, and that failed (failed or
// rejected), per bucket of the series; a bucket without requests has no point.
function drawRateSeries(rs) {
  const lines = [];
  for (const ch of rs.channels) {
    const share = (p, kinds) => (p.accepted ? kinds.reduce((a, k) => a + (p[k] || 0), 0) / p.accepted : null);
    lines.push({ label: ch.channel + ' delivered', values: ch.points.map((p) => share(p, ['delivered'])), data: { channel: ch.channel, rate: 'delivered' } });
    lines.push({ label: ch.channel + ' failed', values: ch.points.map((p) => share(p, ['failed', 'rejected'])), dashed: true, data: { channel: ch.channel, rate: 'failed' } });
  }
  const pts = rs.channels.length ? rs.channels[0].points : [];
  const max = Math.max(1, ...lines.flatMap((l) => l.values.filter((v) => v !== null)));
  lineChart($('rate-chart'), $('rate-legend'), lines, pts.length ? pts[0].from.slice(11, 16) : '',
    pts.length ? pts[pts.length - 1].from.slice(11, 16) : '', max, (v) => Math.round(v * 100) + '%');
}

function pct(r) { return r === null || r === undefined ? '–' : (100 * r).toFixed(1) + '%'; }

function drawRates(rates) {
  const kinds = RATE_KINDS;
  $('rates').tHead.replaceChildren(el('tr', {}, el('th', {}, 'channel'), el('th', {}, 'accepted'), ...kinds.map((k) => el('th', {}, k))));
  $('rates').tBodies[0].replaceChildren(...rates.map((r) =>
    el('tr', {}, el('td', {}, r.channel || '(unknown)'), el('td', { 'data-accepted': r.channel }, r.accepted),
      ...kinds.map((k) => el('td', { 'data-rate': r.channel + '/' + k, title: (r.entered[k] || 0) + ' entered' }, pct(r.rates[k]))))));
}

function ms(v) { return v >= 1000 ? (v / 1000).toFixed(2) + ' s' : v.toFixed(1) + ' ms'; }

function drawLatency(lat) {
  $('latency').tBodies[0].replaceChildren(...lat.filter((l) => LATENCY_STATUSES.includes(l.status)).map((l) =>
    el('tr', {}, el('td', {}, l.channel), el('td', {}, l.status), el('td', {}, l.count),
      el('td', { 'data-p50': l.channel + '/' + l.status }, ms(l.p50Ms)), el('td', {}, ms(l.p95Ms)))));
}

function drawProjector(rows) {
  $('projector').tBodies[0].replaceChildren(...rows.map((p) =>
    el('tr', {}, el('td', {}, p.partition), el('td', {}, p.position),
      el('td', {}, p.highWatermark === null ? '–' : p.highWatermark),
      el('td', { 'data-lag': p.partition, class: p.lag ? '' : 'zero' }, p.lag === null ? '–' : p.lag))));
}

function drawAnomalies(list) {
  $('anomalies').replaceChildren(...(list.length ? list : [null]).map((a) => a === null
    ? el('li', { class: 'muted' }, 'none')
    : el('li', { 'data-event-id': a.eventId },
      el('span', { class: 'outcome ' + a.outcome }, a.outcome), ' ', a.at.slice(11, 23), ' ',
      el('b', {}, a.externalId), ' ', el('span', { class: 'muted' }, a.detail))));
}

async function loadFigures() {
  const f = await api('/figures?windowMinutes=60&hours=1');
  $('hours').textContent = f.hours;
  $('window').textContent = f.windowMinutes;
  $('window2').textContent = f.windowMinutes;
  drawCounts(f.counts);
  drawVolumes(f.volumes);
  drawRates(f.rates);
  drawRateSeries(f.rateSeries);
  drawLatency(f.latency);
  drawProjector(f.projector);
  drawAnomalies(f.anomalies);
  $('updated').textContent = 'updated ' + new Date().toLocaleTimeString();
  $('main').hidden = false;
  document.body.setAttribute('data-loaded', String(Date.now()));
}

// ---- one notification ----

async function loadNotification(id) {
  const enc = encodeURIComponent(id);
  const [n, h] = await Promise.all([api('/notifications/' + enc), api('/notifications/' + enc + '/events?limit=1000')]);
  if (!n) {
    $('notification').replaceChildren(el('p', { class: 'muted' }, 'no notification ' + id));
    $('timeline').replaceChildren();
    return;
  }
  $('notification').replaceChildren(el('p', { 'data-status': n.status },
    el('b', {}, n.externalId), ' ', n.channel, ' → ', el('span', { class: 'outcome applied' }, n.status),
    ' to ', n.to === null ? '–' : n.to, n.body === null ? '' : ' “' + n.body + '”',
    n.callbackUrl ? ' callbacks to ' + n.callbackUrl : ''));
  $('timeline').replaceChildren(...(h ? h.events : []).map((e) =>
    el('li', { 'data-event-id': e.eventId, 'data-type': e.type },
      el('span', { class: 'outcome ' + (e.type === 'callback' ? e.status : e.outcome) }, e.type === 'callback' ? 'callback' : e.outcome), ' ',
      e.occurredAt.slice(11, 23), ' ', el('b', {}, e.type), ' ', e.status || '', ' ',
      el('span', { class: 'muted' }, e.detail || ''))));
}

// ---- live updates ----

function refresh() {
  if (pending) return;
  pending = setTimeout(async () => {
    pending = null;
    try {
      await loadFigures();
      if (shownId) await loadNotification(shownId);
      showError('');
    } catch (e) { showError(e.message); }
  }, 100);
}

function setLive(on) {
  $('live').className = 'live ' + (on ? 'on' : 'off');
  $('live').textContent = on ? 'live' : 'offline';
}

async function stream() {
  for (;;) {
    try {
      const r = await fetch('/dashboard/stream', { headers: { Authorization: 'Bearer ' + key }, cache: 'no-store' });
      if (!r.ok) throw new Error('stream: HTTP ' + r.status);
      setLive(true);
      const reader = r.body.getReader(), dec = new TextDecoder();
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += dec.decode(value, { stream: true });
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          if (/^event: (change|hello)$/m.test(block)) refresh();
        }
      }
    } catch (e) { /* the server went away: try again */ }
    setLive(false);
    await new Promise((res) => setTimeout(res, 2000));
  }
}

// ---- start ----

$('key-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  key = $('key').value.trim();
  sessionStorage.setItem('nstatus.key', key);
  refresh();
});
$('search-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  shownId = $('search').value.trim();
  loadNotification(shownId).catch((e) => showError(e.message));
});
if (key) refresh();
stream();
