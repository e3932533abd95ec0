// airssys-wasm dashboard. Plain JavaScript, no framework, nothing fetched from elsewhere.
//
// Safety rule of this file: text that comes from the host (ids, versions, log lines, dead-letter
// reasons: much of it chosen by guests) reaches the page through textContent, text nodes or
// dataset only. Nothing here parses HTML.
'use strict';

(() => {
  const token = document.querySelector('meta[name="csrf-token"]').content;
  const $ = (id) => document.getElementById(id);
  const HISTORY = 60; // points per chart: a minute at the default interval
  const MAX_LOGS = 300; // log lines kept on the page
  const STATES = new Set(['starting', 'running', 'restarting', 'stopped', 'failed', 'missing']);
  const LEVELS = new Set(['DEBUG', 'INFO', 'WARN', 'ERROR']);

  const st = {
    es: null, // the EventSource
    selected: '', // the actor shown in the detail panel
    health: '',
    snap: null,
    byId: new Map(), // actor id -> its latest view
    hist: new Map(), // actor id -> {rate: [], p50: [], p99: []}
    apps: new Map(), // app name -> {root, list, count, key}
    rows: new Map(), // actor id -> the row of the tree
    rollbacks: new Map(), // actor id -> its line in the rollback list
    hosts: new Map(), // lattice host name -> its row
    tabStop: null, // the one actor button in the tab order
    keys: {}, // what the tables were last drawn from
    first: true,
  };

  // ---- small helpers (text only) ----

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = String(text);
    return e;
  }
  function setText(node, text) {
    text = String(text);
    if (node.textContent !== text) node.textContent = text;
  }
  function row(cells) {
    const tr = el('tr');
    for (const c of cells) tr.append(el('td', '', c));
    return tr;
  }
  function notice(text) { setText($('notice'), text); }
  // clock is a time of day, local, as HH:MM:SS (Intl would cost the first paint tens of ms).
  function clock(t) {
    const d = new Date(t);
    if (isNaN(d)) return '';
    return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
  }
  function num(v) {
    if (v == null) return '–';
    if (v >= 100) return String(Math.round(v));
    if (v >= 10) return v.toFixed(1);
    return String(Math.round(v * 100) / 100);
  }
  function bytes(n) {
    if (n >= 1 << 20) return (n / (1 << 20)).toFixed(1) + ' MiB';
    if (n >= 1 << 10) return (n / (1 << 10)).toFixed(1) + ' KiB';
    return n + ' B';
  }
  function since(t) {
    const s = Math.max(0, Math.round((Date.now() - new Date(t)) / 1000));
    if (s < 120) return s + 's';
    if (s < 7200) return Math.round(s / 60) + 'm';
    return Math.round(s / 3600) + 'h';
  }
  // span is a duration in ms, short: 0.3s, 42s, 12m 5s, 5h 12m, 3d 4h.
  function span(ms) {
    const s = Math.max(0, ms) / 1000;
    if (s < 10) return s.toFixed(1) + 's';
    if (s < 60) return Math.floor(s) + 's';
    const m = Math.floor(s / 60);
    if (m < 60) return m + 'm ' + (Math.floor(s) % 60) + 's';
    const h = Math.floor(m / 60);
    if (h < 48) return h + 'h ' + (m % 60) + 'm';
    return Math.floor(h / 24) + 'd ' + (h % 24) + 'h';
  }
  function cssVar(name) { return getComputedStyle(document.documentElement).getPropertyValue(name).trim(); }

  // ---- the live stream ----

  function connect() {
    if (st.es) st.es.close();
    const url = 'events' + (st.selected ? '?actor=' + encodeURIComponent(st.selected) : '');
    const es = new EventSource(url);
    st.es = es;
    es.addEventListener('open', () => {
      setConn('live', true);
      $('logs').replaceChildren(); // the stream sends the recent lines again
    });
    es.addEventListener('error', () => {
      if (st.es !== es) return;
      setConn('reconnecting…', false);
      // EventSource retries by itself unless the server refused the stream.
      if (es.readyState === EventSource.CLOSED) setTimeout(() => { if (st.es === es) connect(); }, 3000);
    });
    es.addEventListener('snapshot', (e) => guard(() => onSnapshot(JSON.parse(e.data))));
    es.addEventListener('log', (e) => guard(() => onLog(JSON.parse(e.data))));
    es.addEventListener('health', (e) => guard(() => onHealth(JSON.parse(e.data))));
  }
  function guard(fn) {
    try { fn(); } catch (err) { notice('The page failed to show an update: ' + err.message); }
  }
  function setConn(text, live) {
    const c = $('conn');
    setText(c, text);
    c.className = 'conn ' + (live ? 'live' : 'down');
  }

  // ---- a snapshot ----

  function onSnapshot(s) {
    st.snap = s;
    st.byId = new Map();
    for (const app of s.apps) for (const a of app.actors) st.byId.set(a.id, a);
    record(s);
    renderHost(s);
    renderLattice(s);
    renderTree(s.apps);
    renderDeadLetters(s.dead_letters);
    renderComponents(s.components);
    renderRollbacks();
    renderDetail();
    if (st.first) {
      st.first = false;
      // For the benchmark of the first paint: the tree is in the DOM now, and painted a frame later.
      performance.mark('airssys-first-snapshot');
      document.documentElement.dataset.firstSnapshot = String(Math.round(performance.now()));
      requestAnimationFrame(() => requestAnimationFrame(() => {
        document.documentElement.dataset.firstPaint = String(Math.round(performance.now()));
      }));
    }
  }

  // record adds each actor's rate and handle times to its history.
  function record(s) {
    const seen = new Set();
    for (const a of st.byId.values()) {
      seen.add(a.id);
      let h = st.hist.get(a.id);
      if (!h) st.hist.set(a.id, h = { rate: [], p50: [], p99: [] });
      push(h.rate, a.rate || 0);
      push(h.p50, 'handle_p50_us' in a ? a.handle_p50_us : null);
      push(h.p99, 'handle_p99_us' in a ? a.handle_p99_us : null);
    }
    for (const id of st.hist.keys()) if (!seen.has(id)) st.hist.delete(id);
  }
  function push(list, v) {
    list.push(v);
    if (list.length > HISTORY) list.shift();
  }

  function renderHost(s) {
    const h = s.status;
    const parts = ['airssys-wasm ' + (h.version || '(dev build)'), 'pid ' + h.pid, 'up ' + since(h.started),
      h.apps + ' apps', h.actors + ' actors running', h.components + ' versions in the store'];
    if (s.lattice) parts.push('lattice ' + s.lattice.name + ' as ' + s.lattice.host);
    if (h.dev_mode) parts.push('DEV MODE: everything allowed');
    if (h.draining) parts.push('draining');
    setText($('host'), parts.join(' · '));
    const problems = (h.problems || []).concat(s.errors || []);
    const key = problems.join('\n');
    if (key !== st.keys.problems) {
      st.keys.problems = key;
      $('problems').replaceChildren(...problems.map((p) => el('li', '', p)));
    }
  }

  // ---- the lattice: its hosts, this one first ----

  // renderLattice shows the lattice's hosts (none: the panel is hidden), with their times measured
  // on the host's clock (the snapshot's time), not the browser's.
  function renderLattice(s) {
    const l = s.lattice;
    const tb = $('lattice-hosts').tBodies[0];
    $('lattice').hidden = !l;
    if (!l) {
      if (st.hosts.size) { tb.replaceChildren(); st.hosts.clear(); }
      return;
    }
    const hosts = l.hosts || [];
    const total = l.total_hosts || hosts.length;
    setText($('lattice-name'), l.name);
    setText($('lattice-mode'), '(' + l.mode + ', ' + total + (total === 1 ? ' host)' : ' hosts)'));
    const cut = total > hosts.length;
    $('lattice-cut').hidden = !cut;
    if (cut) setText($('lattice-cut'), 'The lattice has ' + total + ' hosts: only ' + hosts.length + ' are shown, this one among them.');
    const now = Date.parse(s.time);
    const seen = new Set();
    let i = 0;
    for (const h of hosts) {
      if (seen.has(h.name)) continue;
      seen.add(h.name);
      let r = st.hosts.get(h.name);
      if (!r) {
        const tr = el('tr');
        const name = el('td');
        const badge = el('span', 'badge', 'this host');
        name.append(document.createTextNode(h.name), badge);
        const actors = el('td');
        const up = el('td');
        const last = el('td');
        tr.append(name, actors, up, last);
        st.hosts.set(h.name, r = { tr, badge, actors, up, last });
      }
      if (tb.children[i] !== r.tr) tb.insertBefore(r.tr, tb.children[i] || null);
      i++;
      const self = !!h.self;
      if (r.tr.className !== (self ? 'self' : '')) r.tr.className = self ? 'self' : '';
      r.badge.hidden = !self;
      setText(r.actors, h.actors || 0);
      const started = Date.parse(h.started);
      setText(r.up, started > 0 && now >= 0 ? span(now - started) : '–');
      const last = Date.parse(h.last_seen);
      setText(r.last, self ? 'now' : last > 0 && now >= 0 ? span(now - last) + ' ago' : '–');
    }
    for (const [name, r] of st.hosts) if (!seen.has(name)) { r.tr.remove(); st.hosts.delete(name); }
  }

  // ---- the supervision tree: apps, then their actors ----

  function renderTree(apps) {
    const tree = $('tree');
    const seenApps = new Set();
    const seenIds = new Set();
    apps.forEach((app, i) => {
      seenApps.add(app.name);
      let a = st.apps.get(app.name);
      if (!a) {
        const root = el('details');
        root.open = true;
        const summary = el('summary');
        const count = el('span', 'count');
        summary.append(el('span', 'app-name', app.name), ' ', count);
        const list = el('ul');
        root.append(summary, list);
        a = { root, list, count, key: null };
        st.apps.set(app.name, a);
      }
      if (tree.children[i] !== a.root) tree.insertBefore(a.root, tree.children[i] || null);
      setText(a.count, 'supervisor app/' + app.name + ', ' + app.actors.length + ' actors');
      const key = app.actors.map((x) => x.id).join('\n');
      if (key !== a.key) {
        // The actors changed: lay the list out again, in the app's order.
        const frag = document.createDocumentFragment();
        for (const x of app.actors) frag.append(rowFor(x.id).li);
        a.list.replaceChildren(frag);
        a.key = key;
      }
      for (const x of app.actors) {
        seenIds.add(x.id);
        updateRow(st.rows.get(x.id), x);
      }
    });
    for (const [name, a] of st.apps) if (!seenApps.has(name)) { a.root.remove(); st.apps.delete(name); }
    for (const [id, r] of st.rows) if (!seenIds.has(id)) { r.li.remove(); st.rows.delete(id); }
    if (!st.tabStop || !st.tabStop.isConnected) {
      const r = st.rows.get(st.selected) || st.rows.values().next().value;
      if (r) setTabStop(r.btn);
    }
  }

  // A row of the tree, cloned for each actor (a thousand rows are built in one go).
  const rowTemplate = (() => {
    const li = el('li');
    const btn = el('button', 'actor');
    btn.type = 'button';
    btn.tabIndex = -1;
    btn.setAttribute('aria-pressed', 'false');
    const dot = el('span', 'dot');
    dot.setAttribute('aria-hidden', 'true');
    btn.append(dot, el('span', 'id'), el('span', 'state'), el('span', 'ver'), el('span', 'restarts'), el('span', 'rate'));
    li.append(btn);
    return li;
  })();

  function rowFor(id) {
    let r = st.rows.get(id);
    if (r) return r;
    const li = rowTemplate.cloneNode(true);
    const btn = li.firstChild;
    const [, name, state, ver, restarts, rate] = btn.children;
    btn.dataset.id = id;
    name.textContent = id;
    if (id === st.selected) btn.setAttribute('aria-pressed', 'true');
    r = { li, btn, state, ver, restarts, rate };
    st.rows.set(id, r);
    return r;
  }

  function updateRow(r, a) {
    const cls = 'actor st-' + (STATES.has(a.state) ? a.state : 'other');
    if (r.btn.className !== cls) r.btn.className = cls;
    setText(r.state, a.state);
    setText(r.ver, a.component || '');
    setText(r.restarts, '↻' + (a.restarts || 0));
    setText(r.rate, num(a.rate || 0) + '/s');
  }

  // Arrow keys move through the actors; the tree is one stop of the tab order.
  function setTabStop(btn) {
    if (st.tabStop && st.tabStop !== btn) st.tabStop.tabIndex = -1;
    btn.tabIndex = 0;
    st.tabStop = btn;
  }
  $('tree').addEventListener('keydown', (e) => {
    const b = e.target.closest('button.actor');
    if (!b) return;
    const all = Array.from($('tree').querySelectorAll('details[open] button.actor'));
    const i = all.indexOf(b);
    let j;
    switch (e.key) {
      case 'ArrowDown': j = Math.min(all.length - 1, i + 1); break;
      case 'ArrowUp': j = Math.max(0, i - 1); break;
      case 'Home': j = 0; break;
      case 'End': j = all.length - 1; break;
      default: return;
    }
    e.preventDefault();
    setTabStop(all[j]);
    all[j].focus();
  });
  $('tree').addEventListener('click', (e) => {
    const b = e.target.closest('button.actor');
    if (b) select(b.dataset.id);
  });
  $('tree').addEventListener('focusin', (e) => {
    const b = e.target.closest('button.actor');
    if (b) setTabStop(b);
  });

  function select(id) {
    if (id === st.selected) return;
    const old = st.rows.get(st.selected);
    if (old) old.btn.setAttribute('aria-pressed', 'false');
    st.selected = id;
    st.health = '';
    const r = st.rows.get(id);
    if (r) {
      r.btn.setAttribute('aria-pressed', 'true');
      setTabStop(r.btn);
    }
    $('logs').replaceChildren();
    history.replaceState(null, '', '#' + encodeURIComponent(id));
    renderDetail();
    connect(); // a stream with this actor's logs and health
  }

  // ---- the selected actor ----

  function renderDetail() {
    const a = st.selected ? st.byId.get(st.selected) : undefined;
    $('detail-body').hidden = !a;
    $('detail-empty').hidden = !!a;
    if (!a) {
      if (st.selected && st.snap) setText($('detail-empty'), 'Actor ' + st.selected + ' is not in any app.');
      return;
    }
    setText($('detail-id'), a.id);
    const facts = [
      ['App', a.app], ['Component', a.component || '–'], ['Publisher', a.publisher || 'unsigned'],
      ['State', a.state], ['Health', st.health || '…'], ['Restarts', a.restarts || 0],
      ['Handled', a.handled || 0], ['Errors', a.errors || 0], ['Traps', a.failed || 0],
      ['Dead letters', a.dead_lettered || 0], ['Mailbox', a.mailbox_depth || 0], ['Busy', a.busy ? 'yes' : 'no'],
    ];
    const key = JSON.stringify(facts);
    if (key !== st.keys.facts) {
      st.keys.facts = key;
      const frag = document.createDocumentFragment();
      for (const [k, v] of facts) frag.append(el('dt', '', k), el('dd', '', v));
      $('detail-facts').replaceChildren(frag);
    }
    const rb = $('detail-rollback');
    rb.hidden = !a.rollback;
    if (a.rollback) setText($('rollback-button'), 'Roll back to ' + a.rollback);

    const h = st.hist.get(a.id) || { rate: [], p50: [], p99: [] };
    setText($('rate-value'), num(a.rate || 0));
    drawChart($('rate-chart'), [{ values: h.rate, color: cssVar('--accent') }]);
    const hasLatency = h.p50.some((v) => v != null) || h.p99.some((v) => v != null);
    $('lat-chart').hidden = !hasLatency;
    $('lat-none').hidden = hasLatency;
    setText($('lat-value'), hasLatency ? num(a.handle_p50_us) + ' / ' + num(a.handle_p99_us) : '–');
    if (hasLatency) {
      drawChart($('lat-chart'), [{ values: h.p50, color: cssVar('--accent') }, { values: h.p99, color: cssVar('--warn') }]);
    }
  }

  function onHealth(e) {
    if (e.id !== st.selected) return;
    st.health = e.error ? 'unknown: ' + e.error : e.health;
    renderDetail();
  }

  function onLog(l) {
    if (l.actor && l.actor !== st.selected) return;
    const li = el('li', 'lv-' + (LEVELS.has(l.level) ? l.level : 'other'));
    let text = clock(l.time) + ' ' + l.level + ' ' + l.msg;
    if (l.attrs) for (const k of Object.keys(l.attrs).sort()) text += ' ' + k + '=' + l.attrs[k];
    li.textContent = text;
    const ol = $('logs');
    const atEnd = ol.scrollTop + ol.clientHeight >= ol.scrollHeight - 4;
    ol.append(li);
    while (ol.children.length > MAX_LOGS) ol.firstChild.remove();
    if (atEnd) ol.scrollTop = ol.scrollHeight;
  }

  // drawChart draws series of up to HISTORY values (null: no value) as lines on a canvas, with the
  // top of the scale written in its corner. The canvas carries its last values as data attributes.
  function drawChart(canvas, series) {
    const dpr = window.devicePixelRatio || 1;
    const w = Math.max(1, Math.round(canvas.clientWidth * dpr));
    const h = Math.max(1, Math.round(canvas.clientHeight * dpr));
    if (canvas.width !== w || canvas.height !== h) {
      canvas.width = w;
      canvas.height = h;
    }
    const c = canvas.getContext('2d');
    c.clearRect(0, 0, w, h);
    let max = 0;
    for (const s of series) for (const v of s.values) if (v != null && v > max) max = v;
    max = niceMax(max);
    const pad = 6 * dpr;
    c.strokeStyle = cssVar('--line');
    c.lineWidth = 1;
    for (let i = 1; i < 4; i++) {
      const y = Math.round(pad + (h - 2 * pad) * i / 4) + 0.5;
      c.beginPath();
      c.moveTo(pad, y);
      c.lineTo(w - pad, y);
      c.stroke();
    }
    c.lineWidth = 2 * dpr;
    c.lineJoin = 'round';
    for (const s of series) {
      c.strokeStyle = s.color;
      c.beginPath();
      let drawing = false;
      const offset = HISTORY - s.values.length;
      s.values.forEach((v, i) => {
        if (v == null) { drawing = false; return; }
        const x = pad + (w - 2 * pad) * (offset + i) / (HISTORY - 1);
        const y = h - pad - (h - 2 * pad) * v / max;
        if (drawing) c.lineTo(x, y); else c.moveTo(x, y);
        drawing = true;
      });
      c.stroke();
    }
    c.fillStyle = cssVar('--muted');
    c.font = Math.round(11 * dpr) + 'px sans-serif';
    c.fillText(num(max), pad + 2 * dpr, pad + 10 * dpr);
    const last = series.map((s) => s.values.length ? s.values[s.values.length - 1] : null);
    canvas.dataset.points = String(series[0].values.length);
    canvas.dataset.last = last.map((v) => (v == null ? '' : String(v))).join(',');
    canvas.setAttribute('aria-label', canvas.getAttribute('aria-label').split(':')[0] + ': ' + last.map(num).join(' / '));
  }
  function niceMax(v) {
    if (!(v > 0)) return 1;
    const p = Math.pow(10, Math.floor(Math.log10(v)));
    for (const m of [1, 2, 5, 10]) if (v <= m * p) return m * p;
    return 10 * p;
  }

  // ---- dead letters, the store, rollbacks ----

  function renderDeadLetters(d) {
    const letters = d.letters || [];
    const key = d.total + ':' + letters.length + ':' + (letters.length ? letters[letters.length - 1].time : '');
    setText($('dl-total'), '(' + d.total + (d.total > letters.length ? ', the latest ' + letters.length + ' shown' : '') + ')');
    if (key === st.keys.dead) return;
    st.keys.dead = key;
    const tb = $('dead-letters').tBodies[0];
    tb.replaceChildren(...letters.slice().reverse().map((l) =>
      row([clock(l.time), l.to || '–', l.from || '–', l.reason || '–', l.payload_len])));
  }

  function renderComponents(list) {
    const key = JSON.stringify(list);
    if (key === st.keys.components) return;
    st.keys.components = key;
    const tb = $('components').tBodies[0];
    tb.replaceChildren(...list.map((c) => {
      const used = c.in_use || [];
      const shown = used.length > 3 ? used.slice(0, 3).join(', ') + ' and ' + (used.length - 3) + ' more' : used.join(', ');
      const tr = row([c.name, c.version, c.publisher ? c.publisher.slice(0, 14) + '…' : 'unsigned', bytes(c.size), shown || '–']);
      tr.title = c.digest;
      return tr;
    }));
  }

  function renderRollbacks() {
    const seen = new Set();
    const ul = $('rollbacks');
    for (const a of st.byId.values()) {
      if (!a.rollback) continue;
      seen.add(a.id);
      let r = st.rollbacks.get(a.id);
      if (!r) {
        const li = el('li');
        const text = el('span', 'mono');
        const btn = el('button', 'danger', 'Roll back');
        btn.type = 'button';
        btn.dataset.id = a.id;
        btn.addEventListener('click', () => rollback(a.id, btn));
        li.append(text, btn);
        ul.append(li);
        st.rollbacks.set(a.id, r = { li, text, btn });
      }
      setText(r.text, a.id + ': ' + a.component + ' → ' + a.rollback);
      r.btn.setAttribute('aria-label', 'Roll back ' + a.id + ' to ' + a.rollback);
    }
    for (const [id, r] of st.rollbacks) if (!seen.has(id)) { r.li.remove(); st.rollbacks.delete(id); }
    $('rollbacks-none').hidden = st.rollbacks.size > 0;
  }

  async function rollback(id, button) {
    button.disabled = true;
    notice('Rolling back ' + id + '…');
    try {
      const res = await fetch('api/rollback', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': token },
        body: JSON.stringify({ id }),
        cache: 'no-store',
        credentials: 'same-origin',
        // Under the page's no-referrer policy the Fetch standard has a POST say "Origin: null"
        // (Chromium sends the origin anyway); the server checks the Origin, so this request
        // names it. same-origin: no referrer ever leaves for another site.
        referrerPolicy: 'same-origin',
      });
      let body = null;
      try { body = await res.json(); } catch (_) { /* not JSON */ }
      if (res.ok && body) notice(id + ' rolled back: ' + body.from + ' → ' + body.to);
      else notice('Rollback of ' + id + ' refused: ' + (body && body.error ? body.error.message : 'HTTP ' + res.status));
    } catch (err) {
      notice('Rollback of ' + id + ' failed: ' + err.message);
    } finally {
      button.disabled = false;
    }
  }

  $('rollback-button').addEventListener('click', (e) => { if (st.selected) rollback(st.selected, e.currentTarget); });

  // ---- start ----

  if (location.hash.length > 1) {
    try { st.selected = decodeURIComponent(location.hash.slice(1)); } catch (_) { st.selected = ''; }
  }
  connect();
})();
