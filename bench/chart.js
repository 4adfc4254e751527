'use strict';
// The SVG chart of a benchmark run: one panel per results table (throughput, latency, ...),
// grouped bars of the median per system with a min-max rule, drawn by vega-lite and rendered to
// SVG headless by vega (no canvas, no browser).

const OURS = 'parallel-wal';

/** Tables that can be charted: the harness's Table JSON (rows of per-system {median,min,max}). */
function chartableTables(tables) {
  return tables.filter(
    (t) =>
      t &&
      t.rows &&
      typeof t.rows === 'object' &&
      Object.keys(t.rows).length > 0 &&
      // Rows with different units per row (e.g. a sustained-load summary) share no axis.
      !/see row/i.test(String(t.unit || '')),
  );
}

/** Flattens tables into vega-lite data rows. */
function chartData(tables) {
  const data = [];
  tables.forEach((t, panel) => {
    for (const [row, cells] of Object.entries(t.rows)) {
      for (const [system, st] of Object.entries(cells || {})) {
        if (!st || !Number.isFinite(st.median)) continue;
        data.push({
          panel,
          row,
          system,
          median: st.median,
          min: Number.isFinite(st.min) ? st.min : st.median,
          max: Number.isFinite(st.max) ? st.max : st.median,
        });
      }
    }
  });
  return data;
}

/** A vega-lite spec: one panel per table, two columns, independent scales and legends. */
function chartSpec(tables, { title, subtitle } = {}) {
  const usable = chartableTables(tables);
  const data = chartData(usable);
  const panels = usable.map((t, panel) => {
    const values = data.filter((d) => d.panel === panel);
    const positives = values.map((d) => d.min).filter((v) => v > 0);
    const lo = Math.min(...positives);
    const hi = Math.max(...values.map((d) => d.max));
    // Peers often differ by orders of magnitude (fsync per commit vs group commit): log scale then.
    const log = positives.length === values.length && values.length > 0 && hi / lo > 50;
    const rowOrder = Object.keys(t.rows);
    // parallel-wal (and its variants) first, so it gets the first colours in every panel.
    const seen = [...new Set(values.map((d) => d.system))];
    const order = [...seen.filter((x) => x.startsWith(OURS)), ...seen.filter((x) => !x.startsWith(OURS))];
    const systems = order.length;
    const longLabels = rowOrder.some((r) => r.length > 10);
    const y = {
      field: 'median',
      type: 'quantitative',
      // Grouped (xOffset), never stacked: a stack would start at 0, which a log scale cannot show.
      stack: null,
      title: `${t.metric} (${t.unit})`,
      scale: log ? { type: 'log' } : { zero: true },
    };
    return {
      title: { text: t.title, subtitle: `median, min-max rule; ${t.higherIsBetter ? 'higher' : 'lower'} is better${log ? '; log scale' : ''}`, anchor: 'start' },
      width: Math.max(260, rowOrder.length * Math.max(60, systems * 14)),
      height: 180,
      data: { values },
      encoding: {
        x: { field: 'row', type: 'nominal', sort: rowOrder, title: null, axis: { labelAngle: longLabels ? -30 : 0, labelLimit: 180 } },
        xOffset: { field: 'system', type: 'nominal', sort: order },
        color: { field: 'system', type: 'nominal', title: 'system', sort: order, scale: { scheme: systems > 10 ? 'tableau20' : 'tableau10' } },
      },
      layer: [
        { mark: { type: 'bar' }, encoding: { y, tooltip: [{ field: 'system' }, { field: 'row' }, { field: 'median' }, { field: 'min' }, { field: 'max' }] } },
        {
          mark: { type: 'rule', color: 'black', strokeWidth: 1 },
          encoding: { y: { field: 'min', type: 'quantitative', scale: y.scale }, y2: { field: 'max' } },
        },
      ],
    };
  });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: title ? { text: title, subtitle: subtitle || '', anchor: 'start', fontSize: 16 } : undefined,
    concat: panels,
    columns: 2,
    spacing: 40,
    // Each panel has its own systems, colours and legend: a shared palette of 20+ peers repeats colours.
    resolve: { scale: { y: 'independent', x: 'independent', xOffset: 'independent', color: 'independent' }, legend: { color: 'independent' } },
    config: { background: 'white', font: 'sans-serif', legend: { orient: 'right', labelLimit: 320 } },
  };
}

/**
 * Renders the chart of `tables` to an SVG string. vega and vega-lite are ES modules, loaded with
 * a dynamic import. Resolves to undefined (and says why in `reason`) when nothing is chartable.
 */
async function renderChartSvg(tables, opts = {}) {
  const usable = chartableTables(tables);
  if (!usable.length) return undefined;
  const vega = await import('vega');
  const vegaLite = await import('vega-lite');
  const spec = chartSpec(usable, opts);
  const compiled = vegaLite.compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

module.exports = { chartSpec, chartData, chartableTables, renderChartSvg };
