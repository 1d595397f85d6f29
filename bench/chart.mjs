// The ratios as an SVG bar chart: one row per comparison, one bar per workload, one panel per connection
// count. The axis is logarithmic and bars start at 1x, so 0.5x and 2x are the same length either way.
const COLORS = ['#4c78a8', '#f58518', '#54a24b', '#b279a2', '#e45756'];
const escape = (text) => String(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * @param {object} chart
 * @param {string} chart.title
 * @param {{ label: string, target?: number, targetWorkloads?: string[], ratios: Map<string, number> }[]} chart.comparisons ratios keyed by `${workload}|${connections}`; a target applies to `targetWorkloads` only, when given
 * @param {{ key: string, label: string }[]} chart.workloads
 * @param {number[]} chart.connectionsList
 */
export function ratioChart({ title, comparisons, workloads, connectionsList }) {
  const labelWidth = 400;
  const panelWidth = 320;
  const gap = 40;
  const bar = 7;
  const rowHeight = workloads.length * bar + 12;
  const top = 80;
  const width = labelWidth + connectionsList.length * (panelWidth + gap);
  const height = top + comparisons.length * rowHeight + 30;
  const values = comparisons.flatMap(({ ratios, target }) => [...ratios.values(), ...(target ? [target] : [])]);
  const lowest = 2 ** Math.min(-1, Math.floor(Math.log2(Math.min(...values))));
  const highest = 2 ** Math.max(1, Math.ceil(Math.log2(Math.max(...values))));
  const span = Math.log2(highest) - Math.log2(lowest);
  const x = (panel, ratio) => labelWidth + panel * (panelWidth + gap) + ((Math.log2(ratio) - Math.log2(lowest)) / span) * panelWidth;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    '<rect width="100%" height="100%" fill="white"/>',
    `<text x="10" y="22" font-size="15" font-weight="bold">${escape(title)}</text>`,
  ];
  let legendX = 10;
  workloads.forEach(({ label }, index) => {
    parts.push(`<rect x="${legendX}" y="34" width="10" height="10" fill="${COLORS[index % COLORS.length]}"/><text x="${legendX + 14}" y="43">${escape(label)}</text>`);
    legendX += 30 + label.length * 7;
  });
  parts.push(`<line x1="${legendX}" y1="33" x2="${legendX}" y2="45" stroke="#c00" stroke-width="2"/><text x="${legendX + 6}" y="43">target</text>`);
  connectionsList.forEach((connections, panel) => {
    const one = x(panel, 1);
    parts.push(`<text x="${x(panel, lowest)}" y="${top - 12}" font-weight="bold">${connections} connection${connections === 1 ? '' : 's'} (higher is better)</text>`);
    for (let tick = lowest; tick <= highest; tick *= 2) {
      const at = x(panel, tick);
      parts.push(
        `<line x1="${at}" y1="${top}" x2="${at}" y2="${height - 25}" stroke="${tick === 1 ? '#333' : '#ddd'}"/>`,
        `<text x="${at}" y="${height - 10}" text-anchor="middle" fill="#555">${tick}x</text>`,
      );
    }
    comparisons.forEach(({ ratios, target, targetWorkloads }, row) => {
      const rowTop = top + row * rowHeight + 6;
      workloads.forEach(({ key, label }, index) => {
        const ratio = ratios.get(`${key}|${connections}`);
        if (ratio === undefined) return;
        const end = x(panel, Math.min(Math.max(ratio, lowest), highest));
        parts.push(
          `<rect x="${Math.min(one, end).toFixed(1)}" y="${rowTop + index * bar}" width="${Math.abs(end - one).toFixed(1)}" height="${bar - 1}" fill="${COLORS[index % COLORS.length]}"><title>${escape(label)}: ${ratio.toFixed(2)}x</title></rect>`,
        );
      });
      if (target !== undefined) {
        const at = x(panel, target);
        workloads.forEach(({ key }, index) => {
          if (targetWorkloads && !targetWorkloads.includes(key)) return;
          parts.push(`<line x1="${at}" y1="${rowTop + index * bar - 1}" x2="${at}" y2="${rowTop + (index + 1) * bar}" stroke="#c00" stroke-width="2"/>`);
        });
      }
    });
  });
  comparisons.forEach(({ label }, row) => {
    parts.push(`<text x="10" y="${top + row * rowHeight + 6 + (workloads.length * bar) / 2 + 4}">${escape(label)}</text>`);
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
