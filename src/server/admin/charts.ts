/**
 * The dashboard's charts, drawn on the server as inline SVG: no script, no
 * library, nothing for the Content-Security-Policy to allow. Each chart is a
 * `<figure>` whose SVG scales to its container (a phone's width included),
 * with a caption and, for screen readers and tests, every value in
 * `data-value` attributes and a visually plain summary.
 *
 * Stable selectors: `[data-testid=chart-<name>]` (names `live`,
 * `validations`, `rejections`, `new-devices`); inside, bars and points carry
 * `data-at` (ms since epoch) or `data-reason`, and `data-value`.
 *
 * @module
 * @internal
 */
import type { HistorySeries } from '../history.js';
import { html, type SafeHtml } from '../html.js';

const W = 600;
const H = 180;
const PAD = { left: 40, right: 8, top: 10, bottom: 22 };
const PLOT_W = W - PAD.left - PAD.right;
const PLOT_H = H - PAD.top - PAD.bottom;
const ACCENT = '#2457d6';
const DANGER = '#c0392b';
const GRID = '#e3e6ea';
const MUTED = '#5b6470';

/** A round upper bound for an axis: 1, 2, 5, 10, 20, 50... at least `max`. */
function niceMax(max: number): number {
  if (max <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(max));
  for (const m of [1, 2, 5, 10]) if (m * p >= max) return m * p;
  return 10 * p;
}

function hhmm(ms: number): string {
  return new Date(ms).toISOString().slice(11, 16);
}

function mmdd(ms: number): string {
  return new Date(ms).toISOString().slice(5, 10);
}

/** The y axis: a zero line, a top line and their labels. */
function axis(top: number): SafeHtml {
  return html`<line x1="${PAD.left}" y1="${PAD.top}" x2="${W - PAD.right}" y2="${PAD.top}" stroke="${GRID}"/><line x1="${PAD.left}" y1="${PAD.top + PLOT_H}" x2="${W - PAD.right}" y2="${PAD.top + PLOT_H}" stroke="${GRID}"/><text x="${PAD.left - 4}" y="${PAD.top + 4}" text-anchor="end" font-size="11" fill="${MUTED}">${top}</text><text x="${PAD.left - 4}" y="${PAD.top + PLOT_H}" text-anchor="end" font-size="11" fill="${MUTED}">0</text>`;
}

/** Labels under the x axis at the first, middle and last slot. */
function xLabels(labels: readonly string[]): SafeHtml {
  const n = labels.length;
  const at = [0, Math.floor((n - 1) / 2), n - 1];
  // The last label ends at the plot's edge rather than running past it.
  return html`${at.map((i, k) => html`<text x="${k === 2 ? W - PAD.right : PAD.left + ((i + 0.5) * PLOT_W) / n}" y="${H - 6}" text-anchor="${k === 2 ? 'end' : 'middle'}" font-size="11" fill="${MUTED}">${labels[i] ?? ''}</text>`)}`;
}

function figure(name: string, title: string, summary: string, svg: SafeHtml): SafeHtml {
  return html`<figure class="chart" data-testid="chart-${name}"><figcaption><b>${title}</b> <span class="muted">${summary}</span></figcaption><svg viewBox="0 0 ${W} ${H}" role="img" aria-label="${`${title}: ${summary}`}">${svg}</svg></figure>`;
}

/** Signed-in sessions live, one point per minute (gaps where no instance sampled). */
export function liveChart(s: HistorySeries): SafeHtml {
  const values = s.live;
  const known = values.filter((v): v is number => v !== null);
  const top = niceMax(Math.max(0, ...known));
  const n = values.length;
  const x = (i: number): number => PAD.left + ((i + 0.5) * PLOT_W) / n;
  const y = (v: number): number => PAD.top + PLOT_H - (v / top) * PLOT_H;
  let path = '';
  values.forEach((v, i) => {
    if (v === null) return;
    path += `${path === '' || values[i - 1] === null ? 'M' : 'L'}${x(i).toFixed(1)},${y(v).toFixed(1)}`;
  });
  const last = known.length === 0 ? null : known[known.length - 1];
  const summary = last === null || last === undefined ? 'no sample yet (the store has no census, or no minute was sampled)' : `${last} now, last hour`;
  return figure(
    'live',
    'Signed-in sessions',
    summary,
    html`${axis(top)}${path === '' ? '' : html`<path d="${path}" fill="none" stroke="${ACCENT}" stroke-width="2"/>`}${values.map((v, i) =>
      v === null ? '' : html`<circle cx="${x(i).toFixed(1)}" cy="${y(v).toFixed(1)}" r="2" fill="${ACCENT}" data-at="${s.minutes[i] ?? 0}" data-value="${v}"><title>${hhmm(s.minutes[i] ?? 0)} UTC: ${v}</title></circle>`,
    )}${xLabels(s.minutes.map(hhmm))}`,
  );
}

/** Validations per minute, valid under rejected, stacked. */
export function validationsChart(s: HistorySeries): SafeHtml {
  const n = s.minutes.length;
  const top = niceMax(Math.max(0, ...s.valid.map((v, i) => v + (s.rejected[i] ?? 0))));
  const bw = PLOT_W / n;
  const h = (v: number): number => (v / top) * PLOT_H;
  const total = s.valid.reduce((a, b) => a + b, 0);
  const refused = s.rejected.reduce((a, b) => a + b, 0);
  return figure(
    'validations',
    'Validations per minute',
    `${total} valid, ${refused} rejected in the last hour (/v1)`,
    html`${axis(top)}${s.minutes.map((m, i) => {
      const v = s.valid[i] ?? 0;
      const r = s.rejected[i] ?? 0;
      const x = (PAD.left + i * bw + 1).toFixed(1);
      const base = PAD.top + PLOT_H;
      return html`<g data-at="${m}" data-valid="${v}" data-rejected="${r}"><title>${hhmm(m)} UTC: ${v} valid, ${r} rejected</title>${v > 0 ? html`<rect x="${x}" y="${(base - h(v)).toFixed(1)}" width="${Math.max(1, bw - 2).toFixed(1)}" height="${h(v).toFixed(1)}" fill="${ACCENT}"/>` : ''}${r > 0 ? html`<rect x="${x}" y="${(base - h(v) - h(r)).toFixed(1)}" width="${Math.max(1, bw - 2).toFixed(1)}" height="${h(r).toFixed(1)}" fill="${DANGER}"/>` : ''}</g>`;
    })}${xLabels(s.minutes.map(hhmm))}`,
  );
}

/** Rejections of the last hour by reason, one horizontal bar each. */
export function rejectionsChart(s: HistorySeries): SafeHtml {
  const rows = s.rejectedByReason.slice(0, 6);
  const top = niceMax(Math.max(0, ...rows.map(([, n]) => n)));
  const rh = PLOT_H / 6;
  const label = 150;
  const summary = rows.length === 0 ? 'none in the last hour' : `last hour, ${rows.length} reason${rows.length === 1 ? '' : 's'}`;
  return figure(
    'rejections',
    'Rejections by reason',
    summary,
    html`${rows.map(([reason, n], i) => {
      const y = PAD.top + i * rh;
      const w = ((W - PAD.right - label) * n) / top;
      return html`<g data-reason="${reason}" data-value="${n}"><text x="${label - 6}" y="${(y + rh / 2 + 4).toFixed(1)}" text-anchor="end" font-size="12" fill="${MUTED}">${reason}</text><rect x="${label}" y="${(y + 3).toFixed(1)}" width="${Math.max(1, w).toFixed(1)}" height="${(rh - 6).toFixed(1)}" fill="${DANGER}"/><text x="${(label + Math.max(1, w) + 4).toFixed(1)}" y="${(y + rh / 2 + 4).toFixed(1)}" font-size="12" fill="${MUTED}">${n}</text></g>`;
    })}`,
  );
}

/** Sign-ins from a new device, per day. */
export function newDevicesChart(s: HistorySeries): SafeHtml {
  const n = s.days.length;
  const top = niceMax(Math.max(0, ...s.newDevices));
  const bw = PLOT_W / n;
  const total = s.newDevices.reduce((a, b) => a + b, 0);
  return figure(
    'new-devices',
    'New devices per day',
    `${total} in the last ${n} days (UTC)`,
    html`${axis(top)}${s.days.map((d, i) => {
      const v = s.newDevices[i] ?? 0;
      const h = (v / top) * PLOT_H;
      return html`<rect x="${(PAD.left + i * bw + 2).toFixed(1)}" y="${(PAD.top + PLOT_H - h).toFixed(1)}" width="${Math.max(1, bw - 4).toFixed(1)}" height="${Math.max(0, h).toFixed(1)}" fill="${ACCENT}" data-at="${d}" data-value="${v}"><title>${mmdd(d)}: ${v}</title></rect>`;
    })}${xLabels(s.days.map(mmdd))}`,
  );
}

/** The four charts in a grid. */
export function charts(s: HistorySeries): SafeHtml {
  return html`<div class="charts" data-testid="charts">${liveChart(s)}${validationsChart(s)}${rejectionsChart(s)}${newDevicesChart(s)}</div>`;
}
