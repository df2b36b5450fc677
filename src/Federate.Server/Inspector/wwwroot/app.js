// Federate inspector dashboard: plain JavaScript, no build step, no CDN. Charts are drawn on <canvas> by the small
// plotting code below. Live updates arrive as server-sent events from /api/events/stream.
'use strict';
(() => {
  const $ = (id) => document.getElementById(id);
  const COLORS = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#ca8a04', '#db2777'];
  const state = { status: null, run: null, viewing: 'current', rounds: [], nodes: [], events: [], privacy: null };

  // ---- HTTP -------------------------------------------------------------------------------------------------
  const tokenInput = $('admin-token');
  tokenInput.value = sessionStorage.getItem('federate-admin-token') || '';
  tokenInput.addEventListener('input', () => sessionStorage.setItem('federate-admin-token', tokenInput.value.trim()));

  // Model downloads carry the admin token (a server with a kit gives the model to admins only).
  for (const id of ['download-model', 'download-npz']) {
    const link = $(id);
    if (!link) continue;
    link.addEventListener('click', async (event) => {
      event.preventDefault();
      try {
        const response = await fetch(link.getAttribute('href'), { headers: authHeaders() });
        if (!response.ok) throw await problem(response);
        const name = (response.headers.get('Content-Disposition') || '').match(/filename="?([^";]+)"?/)?.[1] || 'model';
        const url = URL.createObjectURL(await response.blob());
        const a = document.createElement('a');
        a.href = url;
        a.download = name;
        a.click();
        URL.revokeObjectURL(url);
      } catch (e) {
        say(e.status === 401 ? `${e.message} (paste the admin token above)` : e.message, 'error');
      }
    });
  }

  function authHeaders() {
    const headers = { Accept: 'application/json' };
    const token = tokenInput.value.trim();
    if (token) headers.Authorization = `Bearer ${token}`;
    return headers;
  }

  // Reads send the admin token too: with a kit, the node table and the model need it.
  async function getJson(path) {
    const response = await fetch(path, { headers: authHeaders() });
    if (!response.ok) throw await problem(response);
    return response.json();
  }

  async function problem(response) {
    let text = `HTTP ${response.status}`;
    try {
      const body = await response.json();
      text = body.detail || body.title || text;
    } catch { /* not JSON */ }
    const error = new Error(text);
    error.status = response.status;
    return error;
  }

  async function action(path, okText) {
    try {
      const response = await fetch(path, { method: 'POST', headers: authHeaders() });
      if (!response.ok) throw await problem(response);
      say(okText, 'ok');
      await refreshStatus();
    } catch (e) {
      say(e.status === 401 ? `${e.message} (paste the admin token above)` : e.message, 'error');
    }
  }

  function say(text, kind) {
    const m = $('message');
    m.textContent = text;
    m.className = kind || '';
  }

  // ---- Charts ------------------------------------------------------------------------------------------------
  function niceStep(range, ticks) {
    const raw = range / Math.max(1, ticks);
    const mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const norm = raw / mag;
    return (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag;
  }

  function format(v) {
    if (v === 0) return '0';
    const a = Math.abs(v);
    if (a >= 1000 || a < 0.01) return v.toExponential(1);
    return String(Number(v.toPrecision(3)));
  }

  // series: [{ name, points: [[x, y], ...] }]; draws lines with points, axes with ticks, and an HTML legend.
  function drawChart(canvas, legend, series, options = {}) {
    const dpr = window.devicePixelRatio || 1;
    const width = canvas.clientWidth || 300;
    const height = canvas.clientHeight || 200;
    canvas.width = Math.round(width * dpr);
    canvas.height = Math.round(height * dpr);
    const g = canvas.getContext('2d');
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, width, height);
    const all = series.flatMap((s) => s.points);
    canvas.dataset.rounds = String(new Set(all.map((p) => p[0])).size);
    canvas.dataset.series = String(series.filter((s) => s.points.length > 0).length);
    const pad = { left: 48, right: 12, top: 10, bottom: 36 };
    const w = width - pad.left - pad.right;
    const h = height - pad.top - pad.bottom;
    g.font = '11px system-ui, sans-serif';
    g.fillStyle = '#6b7385';
    if (all.length === 0) {
      g.textAlign = 'center';
      g.fillText(options.empty || 'no rounds yet', width / 2, height / 2);
      legend.innerHTML = '';
      return;
    }
    let x0 = Math.min(...all.map((p) => p[0])), x1 = Math.max(...all.map((p) => p[0]));
    let y0 = options.yMin ?? Math.min(...all.map((p) => p[1])), y1 = options.yMax ?? Math.max(...all.map((p) => p[1]));
    if (x0 === x1) { x0 -= 1; x1 += 1; }
    if (y0 === y1) { y0 -= Math.abs(y0) * 0.1 || 1; y1 += Math.abs(y1) * 0.1 || 1; }
    if (options.yMin === undefined) { const m = (y1 - y0) * 0.06; y0 -= m; y1 += m; if (options.nonNegative && y0 < 0) y0 = 0; }
    const X = (x) => pad.left + ((x - x0) / (x1 - x0)) * w;
    const Y = (y) => pad.top + h - ((y - y0) / (y1 - y0)) * h;

    // Grid and axes.
    g.strokeStyle = '#e5e7eb';
    g.lineWidth = 1;
    g.textAlign = 'right';
    g.textBaseline = 'middle';
    const ys = niceStep(y1 - y0, 5);
    for (let y = Math.ceil(y0 / ys) * ys; y <= y1 + 1e-12; y += ys) {
      g.beginPath(); g.moveTo(pad.left, Y(y)); g.lineTo(pad.left + w, Y(y)); g.stroke();
      g.fillText(format(y), pad.left - 6, Y(y));
    }
    g.textAlign = 'center';
    g.textBaseline = 'top';
    const xs = Math.max(1, Math.round(niceStep(x1 - x0, Math.max(2, Math.floor(w / 60)))));
    for (let x = Math.ceil(x0 / xs) * xs; x <= x1; x += xs) {
      g.fillText(String(x), X(x), pad.top + h + 5);
    }
    g.strokeStyle = '#9ca3af';
    g.beginPath(); g.moveTo(pad.left, pad.top); g.lineTo(pad.left, pad.top + h); g.lineTo(pad.left + w, pad.top + h); g.stroke();
    g.fillText('round', pad.left + w / 2, height - 14);

    // Lines.
    legend.innerHTML = '';
    series.forEach((s, i) => {
      const color = COLORS[i % COLORS.length];
      const pts = s.points.slice().sort((a, b) => a[0] - b[0]);
      if (pts.length === 0) return;
      g.strokeStyle = color;
      g.fillStyle = color;
      g.lineWidth = 2;
      g.setLineDash(s.dashed ? [5, 4] : []);
      g.beginPath();
      pts.forEach(([x, y], k) => (k === 0 ? g.moveTo(X(x), Y(y)) : g.lineTo(X(x), Y(y))));
      g.stroke();
      g.setLineDash([]);
      if (pts.length <= 60) pts.forEach(([x, y]) => { g.beginPath(); g.arc(X(x), Y(y), 2.5, 0, Math.PI * 2); g.fill(); });
      const item = document.createElement('span');
      const swatch = document.createElement('i');
      swatch.style.background = color;
      item.append(swatch, `${s.name} ${format(pts[pts.length - 1][1])}`);
      legend.append(item);
    });
  }

  const hidden = (k) => k === 'num_examples' || k.startsWith('data_') || k.includes('epsilon') || k.includes('delta');

  function renderCharts() {
    const rounds = state.rounds;
    const series = (phase, key) => ({ name: `${phase} ${key}`, dashed: phase === 'train', points: rounds.filter((r) => r[phase] && r[phase][key] != null).map((r) => [r.round, r[phase][key]]) });
    const loss = [series('train', 'loss'), series('evaluate', 'loss')].filter((s) => s.points.length > 0);
    drawChart($('chart-loss'), $('legend-loss'), loss, { nonNegative: true });
    const keys = new Set();
    rounds.forEach((r) => Object.keys(r.evaluate || {}).forEach((k) => { if (k !== 'loss' && !hidden(k)) keys.add(k); }));
    // Train metrics other than loss are charted only when they are scores the clients also evaluate (train accuracy);
    // settings such as noise_multiplier or steps are not.
    rounds.forEach((r) => Object.keys(r.train || {}).forEach((k) => { if (keys.has(k)) keys.add(`train:${k}`); }));
    const scores = [...keys].sort().map((k) => (k.startsWith('train:') ? series('train', k.slice(6)) : series('evaluate', k)));
    const bounded = scores.every((s) => s.points.every(([, y]) => y >= 0 && y <= 1));
    drawChart($('chart-scores'), $('legend-scores'), scores, bounded ? { yMin: 0, yMax: 1 } : {});
    renderValues();
    renderPrivacy();
  }

  // Metrics that are not numbers (a Flower client's strings and bytes) are listed per node for the last round.
  function renderValues() {
    const last = state.rounds[state.rounds.length - 1] || {};
    const values = [...(last.train_values || []).map((v) => ['train', v]), ...(last.evaluate_values || []).map((v) => ['evaluate', v])];
    $('card-values').hidden = values.length === 0;
    const list = $('list-values');
    list.replaceChildren(...values.map(([phase, v]) => {
      const item = document.createElement('li');
      item.textContent = `round ${last.round} ${phase} ${v.key}, node ${v.node_id}: ${v.value}`;
      return item;
    }));
  }

  function renderPrivacy() {
    const p = state.privacy;
    const card = $('card-privacy');
    if (!p || !p.enabled) { card.hidden = true; return; }
    card.hidden = false;
    // The budget (--target-epsilon) bounds the user-level epsilon under central DP, else the sample-level one of DP-SGD.
    const central = !!(state.run && state.run.config && state.run.config.central_dp);
    const spentKey = central ? 'cumulative_user_epsilon' : 'cumulative_sample_epsilon';
    const present = (k) => p.rounds.some((r) => r[k] != null);
    let keys = [spentKey].filter(present);
    if (keys.length === 0) {
      keys = [...new Set(p.rounds.flatMap((r) => Object.keys(r).filter((k) => k.includes('epsilon'))))].sort();
    }
    const series = keys.map((k) => ({ name: k, points: p.rounds.filter((r) => r[k] != null).map((r) => [r.round, r[k]]) }));
    drawChart($('chart-privacy'), $('legend-privacy'), series, { nonNegative: true });
    const last = p.rounds[p.rounds.length - 1] || {};
    const spent = last[spentKey] ?? last[keys[0]];
    const delta = last.delta != null ? ` (delta ${last.delta})` : '';
    $('privacy-summary').textContent = p.budget != null
      ? `${spentKey.replaceAll('_', ' ')}: ${spent != null ? format(spent) : '?'} of a budget of ${p.budget}${delta}`
      : `${spentKey.replaceAll('_', ' ')}: ${spent != null ? format(spent) : '?'}${delta}`;
  }

  // ---- Run, clients, events ----------------------------------------------------------------------------------
  function renderRunLine() {
    const s = state.status;
    const run = state.run;
    const pill = $('run-status');
    let text = run ? run.status : 'no run';
    let cls = run ? run.status : '';
    if (run && run.current && s && s.control.waiting_for_round != null && run.status === 'running') { text = `waiting for round ${s.control.waiting_for_round}`; cls = 'waiting'; }
    else if (run && run.round_in_flight != null && run.round_in_flight > state.rounds.length && run.status === 'running') { text = `round ${run.round_in_flight} running`; }
    if (s && s.control.stop_requested && run && run.status === 'running') { text = 'stopping'; cls = 'waiting'; }
    pill.textContent = text;
    pill.className = `pill ${cls}`;
    const done = state.rounds.length;
    $('run-progress').textContent = run ? `${done}${run.rounds_limit ? ` / ${run.rounds_limit}` : ''} rounds${run.stop_detail ? ` · ${run.stop_detail}` : ''}` : '';
    const current = !run || run.current;
    const c = s ? s.control : null;
    $('next-round').disabled = !current || !c || !c.manual || !c.run_active || c.automatic || c.stop_requested || c.waiting_for_round == null;
    $('start-run').disabled = !current || !c || !c.run_active || c.automatic || c.stop_requested;
    $('stop-run').disabled = !current || !c || !c.run_active || c.stop_requested;
    document.querySelectorAll('.demo-only').forEach((e) => { e.hidden = !(s && s.demo); });
  }

  function bytes(n) {
    if (n < 1024) return `${n} B`;
    const u = ['KiB', 'MiB', 'GiB', 'TiB'];
    let i = -1;
    do { n /= 1024; i++; } while (n >= 1024 && i < u.length - 1);
    return `${n.toFixed(n < 10 ? 1 : 0)} ${u[i]}`;
  }

  function cell(text, cls) {
    const td = document.createElement('td');
    td.textContent = text;
    if (cls) td.className = cls;
    return td;
  }

  function renderNodes() {
    const body = $('clients').tBodies[0];
    body.replaceChildren(...state.nodes.map((n) => {
      const tr = document.createElement('tr');
      tr.dataset.nodeId = String(n.id);
      tr.dataset.status = n.status;
      if (n.status === 'gone') tr.className = 'gone';
      const status = document.createElement('td');
      const pill = document.createElement('span');
      pill.className = `pill ${n.status}`;
      pill.textContent = n.status;
      status.append(pill);
      tr.append(cell(String(n.id)), cell(n.name), status,
        cell(n.seconds_since_heartbeat != null ? `${n.seconds_since_heartbeat.toFixed(1)} s ago` : n.gone_at ? `gone ${new Date(n.gone_at).toLocaleTimeString()}` : ''),
        cell(String(n.rounds_done)), cell(bytes(n.bytes_in)), cell(bytes(n.bytes_out)), cell(n.last_error || '', n.last_error ? 'error' : ''));
      return tr;
    }));
    const live = state.nodes.filter((n) => n.status !== 'gone').length;
    $('client-count').textContent = `${live} connected${state.nodes.length > live ? `, ${state.nodes.length - live} gone` : ''}`;
  }

  function renderEvents() {
    $('events').replaceChildren(...state.events.slice(0, 200).map((e) => {
      const li = document.createElement('li');
      const time = document.createElement('time');
      time.dateTime = e.at;
      time.textContent = new Date(e.at).toLocaleTimeString();
      const kind = document.createElement('span');
      kind.className = 'kind';
      kind.textContent = e.kind.replaceAll('_', ' ');
      li.append(time, kind, e.detail);
      return li;
    }));
  }

  async function renderDemo() {
    if (!state.status || !state.status.demo) return;
    try {
      const rows = await getJson('api/demo/data');
      const pct = (v) => (v == null ? '' : `${(v * 100).toFixed(1)}%`);
      $('demo-data').tBodies[0].replaceChildren(...rows.map((r) => {
        const d = r.data || {};
        const tr = document.createElement('tr');
        tr.append(cell(`${r.id} ${r.name}`), cell(d.data_rows != null ? String(d.data_rows) : 'no reply yet'), cell(pct(d.data_overheating)), cell(pct(d.data_vibration_fault)),
          cell(d.data_mean_temperature != null ? `${d.data_mean_temperature.toFixed(1)} °C` : ''), cell(d.data_seed == null ? '' : d.data_seed < 0 ? 'initial' : String(d.data_seed)));
        return tr;
      }));
    } catch { /* shown on the next refresh */ }
  }

  // ---- Loading -----------------------------------------------------------------------------------------------
  async function refreshStatus() {
    state.status = await getJson('api/status');
    if (state.status.openapi) $('openapi-link').setAttribute('href', state.status.openapi);
    if (state.status.openapi) $('openapi-link').textContent = state.status.openapi;
    renderRunLine();
  }

  async function refreshRuns() {
    const runs = await getJson('api/runs');
    const select = $('run-select');
    const keep = state.viewing;
    select.replaceChildren(...runs.map((r) => {
      const o = document.createElement('option');
      o.value = r.current ? 'current' : r.id;
      o.textContent = `${r.id.slice(0, 8)} · ${r.status}${r.current ? ' (current)' : ''}`;
      return o;
    }));
    if ([...select.options].some((o) => o.value === keep)) select.value = keep;
  }

  async function refreshRun() {
    try {
      state.run = await getJson(`api/runs/${encodeURIComponent(state.viewing)}`);
      state.rounds = state.run.rounds || [];
    } catch (e) {
      if (e.status !== 404) throw e;
      state.run = null;
      state.rounds = [];
    }
    renderRunLine();
    renderCharts();
  }

  async function refreshNodes() {
    try {
      state.nodes = await getJson('api/nodes');
    } catch (e) {
      if (e.status !== 401) throw e;
      state.nodes = []; // A server with a kit shows nodes to admins only.
      say(`${e.message} (paste the admin token above to see the nodes)`, 'error');
    }
    renderNodes();
  }

  async function refreshEvents() {
    state.events = await getJson('api/events?limit=200');
    renderEvents();
  }

  async function refreshPrivacy() {
    state.privacy = await getJson('api/privacy');
    renderPrivacy();
  }

  // Node changes come in bursts (every reply of a round): read the table at most every 200 ms, and always once more
  // after the last change of a burst.
  let nodesTimer = null;
  let nodesDirty = false;
  function refreshNodesSoon() {
    nodesDirty = true;
    if (nodesTimer) return;
    nodesTimer = setTimeout(async () => {
      nodesDirty = false;
      await refreshNodes().catch(() => {});
      renderDemo();
      nodesTimer = null;
      if (nodesDirty) refreshNodesSoon();
    }, 200);
  }

  function connect() {
    const source = new EventSource('api/events/stream');
    source.addEventListener('open', () => $('live').classList.add('on'));
    source.addEventListener('error', () => $('live').classList.remove('on'));
    source.addEventListener('hello', () => { Promise.all([refreshStatus(), refreshRuns(), refreshRun(), refreshNodes(), refreshEvents(), refreshPrivacy()]).catch(() => {}); });
    source.addEventListener('round', (m) => {
      const round = JSON.parse(m.data);
      if (state.viewing === 'current' && state.run && round.run_id === state.run.id) {
        state.rounds = state.rounds.filter((r) => r.round !== round.round).concat([round]);
        state.run.round_in_flight = null;
        renderCharts();
        renderRunLine();
        refreshPrivacy().catch(() => {});
        renderDemo();
      } else {
        refreshRun().catch(() => {});
      }
    });
    source.addEventListener('run', (m) => {
      // Show the run's new state at once (the server may stop soon after a run ends), then read the rest.
      const run = JSON.parse(m.data);
      if (state.viewing === 'current' && state.run && run.id === state.run.id) {
        Object.assign(state.run, { status: run.status, stop_reason: run.stop_reason ?? null, stop_detail: run.stop_detail ?? null, round_in_flight: null });
        renderRunLine();
      }
      Promise.all([refreshStatus(), refreshRuns(), refreshRun()]).catch(() => {});
    });
    source.addEventListener('control', (m) => { if (state.status) { state.status.control = JSON.parse(m.data); renderRunLine(); } });
    source.addEventListener('nodes', refreshNodesSoon);
    source.addEventListener('event', (m) => {
      const e = JSON.parse(m.data);
      state.events.unshift(e);
      renderEvents();
      if (e.kind === 'round_started' && state.run && state.viewing === 'current') {
        const n = Number((e.detail.match(/round (\d+)/) || [])[1]);
        if (n) { state.run.round_in_flight = n; renderRunLine(); }
      }
    });
  }

  $('run-select').addEventListener('change', (e) => { state.viewing = e.target.value; refreshRun().catch((x) => say(x.message, 'error')); });
  $('start-run').addEventListener('click', () => action('api/runs', 'run started: rounds run one after another'));
  $('next-round').addEventListener('click', () => action('api/runs/current/rounds', 'next round started'));
  $('stop-run').addEventListener('click', () => action('api/runs/current/stop', 'stopping: the run ends before its next round'));
  $('reset-run').addEventListener('click', () => { if (confirm('Reset: end this run and start a new one with a fresh model?')) action('api/reset', 'reset: a new run starts'); });
  $('generate-data').addEventListener('click', () => action('api/demo/generate', 'every client is generating new data'));
  window.addEventListener('resize', () => renderCharts());
  setInterval(() => refreshNodes().catch(() => {}), 2000);

  Promise.all([refreshStatus(), refreshRuns(), refreshRun(), refreshNodes(), refreshEvents(), refreshPrivacy()])
    .then(() => { renderDemo(); performance.mark('inspector-ready'); document.body.dataset.ready = 'true'; })
    .catch((e) => say(`cannot reach the server: ${e.message}`, 'error'));
  connect();
})();
