/* Pitcrew page: the advisor/agent view, the manager view and the workshop kiosk. No framework, nothing external.
 *
 * The API's answers (functions/api_people, api_team, api_kiosk; abridged). Field names are read ONLY in the ADAPTER
 * section below: when the API renames a field, change it there.
 *
 * GET  config.json            {api, region, user_pool_id, client_id, cognito_endpoint, kiosk_idle_s?=60}
 * Cognito InitiateAuth        {AuthenticationResult: {IdToken, RefreshToken?, ExpiresIn}} | {ChallengeName} | {__type, message}
 * Every error                 {ok: false, error, field?, code?}; 429 with header Retry-After (or body retry_after)
 * Every list                  {items: [...], next_cursor: str|null}  (next page: same route + ?cursor=)
 * GET  /v1/me                 {person: {employee_id, name, role, location_id, region, language, time_zone, ...},
 *                               programs: [program_id], wallets: [{program_id, available, pending, debt, value, currency, ...}],
 *                               kiosk}   (a manager outside every program's scope: programs [] and wallets [])
 * GET  /v1/me/statement       ?month=YYYY-MM&program_id=&cursor= -> {month, language, totals: {opening_available, earned,
 *                               penalties, reversed, adjusted, closing_available, pending, debt, ...}, by_rule: [{rule_id,
 *                               title, points, entries}], items: [{entry_id, code, date, amount, kind, program, rule, rule_title,
 *                               ticket_key, basis, explanation (in the person's language), inputs, inputs_text, notes, late}],
 *                               next_cursor}
 * GET  /v1/me/rank            ?program_id=&month= -> {league, rank|null, of, points, gap, next_rank, qualified, items, min_items,
 *                               level: {index, name, lifetime_points}|null, badges: [{kind, key, name, at}], division,
 *                               division_name, movement: [{date, points, rank? (today only)}] (cumulative points per day)}
 * GET  /v1/standings          ?program_id=&month= -> {division, division_name, items: [{rank, employee_id, name, points, me}]}
 * GET  /v1/feed               ?program_id=&scope=team|location -> list of {recognition_id, kind, giver_name, receiver_name,
 *                               points, value, message, recorded_at}
 * GET  /v1/catalogue          ?program_id= -> list of {item_id, name, description, price_points, kind, program_id, ...}
 * POST /v1/redemptions        {program_id, item_id, quantity} + Idempotency-Key -> {redemption_id, status, ...}
 * POST /v1/recognitions       {program_id?, to_employee_id, points, message, value?} + Idempotency-Key
 * POST /v1/disputes           {entry_id, reason} + Idempotency-Key -> {ok, dispute: {dispute_id, status, ...}}
 * GET  /v1/team/people        list of {employee_id, name, role, location_id, region, active}
 * GET  /v1/team/kpis          ?period=YYYY-MM -> {scope, period, kpis: {name: {value, unit, count, significant, target?,
 *                               better?: lower|higher}}, targets: {name: {target, better}}, trend: [{period, name: value, ...}]
 *                               (the last 6 months, oldest first, for a few KPIs)}
 * GET  /v1/team/service-levels ?period= -> {period, scopes: [{scope, channels: {channel: {level, name, response_level,
 *                               quality_level, first_response_time: {value, unit}, csat_average: {value}}}}], level_names}
 * GET  /v1/team/standings     ?program_id=&division=role|region&month= -> {division_name, items: [{rank, employee_id, name, points}]}
 * GET  /v1/team/flags         ?program_id=&month= -> list of {program_id, month, kind, key, members: [employee_id], managers}
 * GET  /v1/team/disputes      ?status=open -> list of {dispute_id, status, employee: {employee_id, name}, entry_code,
 *                               entry_amount, entry_rule, comment, filed_at}
 * POST /v1/team/disputes/{id}/decide  {decision: accept|reject, reason (5+ characters)} + Idempotency-Key
 * GET  /v1/team/approvals     ?program_id= -> list of {award_id, employee_id, employee_name, manager_id, points, deadline,
 *                               requested_at}
 * POST /v1/team/approvals/{id}/approve|reject  {reason? (a rejection: 5+ characters)} + Idempotency-Key
 * GET  /v1/team/programs      list of {program_id, name, time_zone, league: {name, divisions_by: [field], labels} | null}
 *   (standings, flags and approvals take one of these as program_id)
 * POST /v1/kiosk/sessions     {employee_code, pin} (device token) -> {session, expires_in, person: {employee_id, name, language?}}
 * DELETE /v1/kiosk/sessions   (X-Kiosk-Session) ; every kiosk answer may carry a refreshed X-Kiosk-Session header
 */
'use strict';
(() => {
  // ============================== ADAPTER: every field name of the API's answers ==============================
  const pick = (o, ...names) => {
    if (!o || typeof o !== 'object') return undefined;
    for (const n of names) if (o[n] !== undefined && o[n] !== null) return o[n];
    return undefined;
  };
  const num = (v) => (v === undefined || v === null || v === '' || Number.isNaN(Number(v)) ? null : Number(v));
  // A list, or an object keyed by name (each value gets its key as `_key`).
  const arr = (v) => {
    if (Array.isArray(v)) return v;
    if (v && typeof v === 'object') return Object.entries(v).map(([k, x]) => (x && typeof x === 'object' ? { _key: k, ...x } : { _key: k, value: x }));
    return [];
  };
  const words = (s) => String(s || '').replace(/[_|]+/g, ' ').trim();
  const A = {
    list: (raw) => ({ items: arr(pick(raw, 'items')), next: pick(raw, 'next_cursor') || null }),
    error: (raw) => ({ error: pick(raw, 'error', 'message', 'Message') || '', field: pick(raw, 'field') || '' }),
    retryAfter: (raw) => num(pick(raw, 'retry_after')),
    // A 400 naming program_id lists the caller's programs: "say which program (a, b)".
    teamProgram: (p) => ({ id: pick(p, 'program_id') || '', name: pick(p, 'name', 'program_id') || '',
      divisionsBy: (pick(p, 'league') && arr(pick(pick(p, 'league'), 'divisions_by')).map(String)) || null }),
    wallet: (w) => ({
      program: pick(w, 'program_id') || '',
      programName: pick(w, 'program_name', 'program_id') || '',
      available: num(pick(w, 'available')) ?? 0,
      pending: num(pick(w, 'pending')) ?? 0,
      debt: num(pick(w, 'debt')) ?? 0,
      value: num(pick(w, 'value')),
      currency: pick(w, 'currency') || '',
    }),
    me: (raw) => {
      const p = pick(raw, 'person') || {};
      const wallets = arr(pick(raw, 'wallets')).map(A.wallet);
      const programs = arr(pick(raw, 'programs')).map(String);
      for (const w of wallets) if (w.program && !programs.includes(w.program)) programs.push(w.program);
      return {
        id: pick(p, 'employee_id') || '',
        name: pick(p, 'name', 'employee_id') || '',
        language: pick(p, 'language') || '',
        role: pick(p, 'role') || '',
        location: pick(p, 'location_id') || '',
        region: pick(p, 'region') || '',
        programs,
        wallets,
      };
    },
    line: (l, language) => ({
      id: pick(l, 'entry_id', 'code') || '',
      code: pick(l, 'code') || '',
      date: pick(l, 'date', 'occurred_at', 'recorded_at') || '',
      amount: num(pick(l, 'amount')) ?? 0,
      kind: pick(l, 'kind') || '',
      program: pick(l, 'program') || '',
      rule: pick(l, 'rule') || '',
      ruleTitle: pick(l, 'rule_title') || '',
      ticket: pick(l, 'ticket_key') || '',
      basis: pick(l, 'basis') || '',
      explanation: pick(l, 'explanation') || '',
      language: pick(l, 'language') || language || '',
      inputs: pick(l, 'inputs') || {},
      inputsText: pick(l, 'inputs_text') || '',
      notes: arr(pick(l, 'notes')),
      late: Boolean(pick(l, 'late')),
    }),
    statement: (raw) => {
      const t = pick(raw, 'totals') || {};
      const { items, next } = A.list(raw);
      const language = pick(raw, 'language') || '';
      return {
        totals: {
          opening: num(pick(t, 'opening_available')),
          earned: num(pick(t, 'earned')),
          penalties: num(pick(t, 'penalties')),
          reversed: num(pick(t, 'reversed')),
          adjusted: num(pick(t, 'adjusted')),
          closing: num(pick(t, 'closing_available')),
          pending: num(pick(t, 'pending')),
        },
        byRule: arr(pick(raw, 'by_rule')).map((r) => ({
          label: pick(r, 'title', 'rule_id') || '',
          value: num(pick(r, 'points')) ?? 0,
        })),
        language,
        lines: items.map((l) => A.line(l, language)),
        next,
      };
    },
    // The rank today (or null: not ranked yet) and the month's cumulative points per day (only today's point has a rank).
    rank: (raw) => {
      const level = pick(raw, 'level');
      return {
        rank: num(pick(raw, 'rank')),
        of: num(pick(raw, 'of')),
        points: num(pick(raw, 'points')),
        gap: num(pick(raw, 'gap')),
        items: num(pick(raw, 'items')),
        minItems: num(pick(raw, 'min_items')),
        level: level && typeof level === 'object' ? pick(level, 'name') || '' : level || '',
        lifetime: level && typeof level === 'object' ? num(pick(level, 'lifetime_points')) : null,
        division: pick(raw, 'division_name', 'division') || '',
        league: pick(raw, 'league') || '',
        badges: arr(pick(raw, 'badges')).map((b) => (typeof b === 'string' ? b : pick(b, 'name', 'key') || '')).filter(Boolean),
        series: arr(pick(raw, 'movement')).map((p) => ({ x: pick(p, 'date') || '', y: num(pick(p, 'points')), rank: num(pick(p, 'rank')) })),
      };
    },
    feed: (f) => ({
      id: pick(f, 'recognition_id') || '',
      giver: pick(f, 'giver_name', 'giver_id') || '',
      receiver: pick(f, 'receiver_name', 'receiver_id') || '',
      points: num(pick(f, 'points')) ?? 0,
      value: pick(f, 'value') || '',
      message: pick(f, 'message') || '',
      at: pick(f, 'recorded_at') || '',
      kind: pick(f, 'kind') || 'thanks',
    }),
    item: (i) => ({
      id: pick(i, 'item_id') || '',
      name: pick(i, 'name', 'item_id') || '',
      description: pick(i, 'description') || '',
      price: num(pick(i, 'price_points')) ?? 0,
      stock: num(pick(i, 'stock', 'remaining')),
      program: pick(i, 'program_id') || '',
    }),
    redemption: (r) => {
      const x = pick(r, 'redemption') || r;
      return { id: pick(x, 'redemption_id') || '', status: pick(x, 'status') || '' };
    },
    person: (p) => ({ id: pick(p, 'employee_id') || '', name: pick(p, 'name', 'employee_id') || '', role: pick(p, 'role') || '', region: pick(p, 'region') || '' }),
    // The KPIs of the period, those with a trend first; each with its 6-month trend (oldest first) and target.
    kpis: (raw) => {
      const trend = arr(pick(raw, 'trend'));
      const targets = pick(raw, 'targets') || {};
      const rows = arr(pick(raw, 'kpis')).map((k) => {
        const key = pick(k, '_key', 'name') || '';
        const target = num(pick(k, 'target')) ?? num(pick(targets[key], 'target'));
        return {
          key,
          name: words(key),
          value: num(pick(k, 'value')),
          target,
          better: pick(k, 'better') || pick(targets[key], 'better') || '',
          unit: pick(k, 'unit') || '',
          count: num(pick(k, 'count')),
          series: trend.some((p) => key in p) ? trend.map((p) => ({ x: pick(p, 'period') || '', y: num(p[key]) })) : [],
        };
      });
      return rows.sort((a, b) => (b.series.length > 0) - (a.series.length > 0) || (b.target !== null) - (a.target !== null));
    },
    levels: (raw) => {
      const names = pick(raw, 'level_names') || {};
      return arr(pick(raw, 'scopes')).flatMap((s) => arr(pick(s, 'channels')).map((c) => {
        const level = num(pick(c, 'level'));
        return {
          scope: String(pick(s, 'scope') || '').replace(/^[a-z]+#/, ''),
          channel: pick(c, '_key', 'channel') || '',
          level,
          name: pick(c, 'name') || (level === null ? '' : names[String(level)] || ''),
          response: num(pick(c, 'response_level')),
          quality: num(pick(c, 'quality_level')),
          firstResponse: num(pick(pick(c, 'first_response_time'), 'value')),
          csat: num(pick(pick(c, 'csat_average'), 'value')),
        };
      }));
    },
    standing: (s) => ({
      rank: num(pick(s, 'rank')),
      name: pick(s, 'name', 'employee_id') || '',
      points: num(pick(s, 'points')) ?? 0,
      me: Boolean(pick(s, 'me')),
    }),
    flag: (f) => ({
      id: pick(f, 'key', 'flag_id') || '',
      kind: pick(f, 'kind') || '',
      month: pick(f, 'month') || '',
      members: arr(pick(f, 'member_names', 'members')).map(String),
      recognitions: num(pick(f, 'recognitions')),
    }),
    dispute: (d) => ({
      id: pick(d, 'dispute_id') || '',
      person: pick(pick(d, 'employee'), 'name', 'employee_id') || pick(d, 'employee_name', 'employee_id') || '',
      code: pick(d, 'entry_code') || '',
      amount: num(pick(d, 'entry_amount')),
      rule: pick(d, 'entry_rule') || '',
      comment: pick(d, 'comment') || '',
      at: pick(d, 'filed_at') || '',
    }),
    approval: (a) => ({
      id: pick(a, 'award_id') || '',
      person: pick(a, 'employee_name', 'employee_id') || '',
      by: pick(a, 'manager_name', 'manager_id') || '',
      points: num(pick(a, 'points')) ?? 0,
      reason: pick(a, 'reason_name', 'reason_id') || '',
      message: pick(a, 'message') || '',
      at: pick(a, 'requested_at') || '',
    }),
    kioskSession: (raw) => {
      const p = pick(raw, 'person') || {};
      return { token: pick(raw, 'session') || '', name: pick(p, 'name', 'employee_id') || '', language: pick(p, 'language') || '' };
    },
  };
  // Request bodies (field names the API expects).
  const B = {
    redeem: (program, item, quantity) => ({ program_id: program || undefined, item_id: item, quantity }),
    thanks: (program, to, points, message) => ({ program_id: program || undefined, to_employee_id: to, points, message }),
    decide: (decision, reason) => ({ decision, reason }),
    approval: (reason) => (reason ? { reason } : {}),
    kiosk: (code, pin) => ({ employee_code: code, pin }),
    dispute: (line, reason) => ({ entry_id: line.id, reason }),
  };
  // ============================== end of ADAPTER ==============================

  const LANGS = { en: 'en', hi: 'hi-IN', es: 'es', id: 'id-ID' };
  const MANAGER_GROUPS = ['manager', 'regional', 'hq', 'admin'];
  const store = window.sessionStorage;
  const $ = (id) => document.getElementById(id);
  const params = new URLSearchParams(window.location.search);
  const st = { cfg: {}, lang: 'en', words: {}, view: null, program: '', month: '', kiosk: null, idleTimer: 0, lastCall: 0, team: null, division: '' };

  // ---------- i18n ----------
  const t = (key, vars) => {
    let s = st.words[key] ?? key;
    if (vars) for (const [k, v] of Object.entries(vars)) s = s.split(`{${k}}`).join(String(v));
    return s;
  };
  const tOr = (key, fallback) => st.words[key] ?? fallback;
  const locale = () => LANGS[st.lang] || 'en';
  const fmtN = (n) => (n === null || n === undefined ? '–' : new Intl.NumberFormat(locale()).format(n));
  const fmtSigned = (n) => (n > 0 ? '+' : '') + fmtN(n);
  const fmtMoney = (v, currency) => {
    if (v === null || v === undefined) return '';
    try { return new Intl.NumberFormat(locale(), { style: 'currency', currency }).format(v); } catch { return fmtN(v); }
  };
  const fmtDate = (s) => {
    if (!s) return '';
    const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
    const d = m ? new Date(+m[1], +m[2] - 1, +m[3]) : new Date(s);
    if (Number.isNaN(d.getTime())) return s;
    return new Intl.DateTimeFormat(locale(), m ? { dateStyle: 'medium' } : { dateStyle: 'medium', timeStyle: 'short' }).format(d);
  };
  const fmtMonth = (ym) => {
    const m = /^(\d{4})-(\d{2})$/.exec(ym || '');
    return m ? new Intl.DateTimeFormat(locale(), { year: 'numeric', month: 'long' }).format(new Date(+m[1], +m[2] - 1, 1)) : ym;
  };
  const pickLang = (tag) => {
    const base = String(tag || '').toLowerCase().split(/[-_]/)[0];
    return base === 'in' ? 'id' : LANGS[base] ? base : '';
  };
  async function setLang(lang) {
    lang = pickLang(lang) || 'en';
    const r = await fetch(`i18n/${lang}.json`);
    st.words = await r.json();
    st.lang = lang;
    document.documentElement.lang = lang;
    document.title = t('title');
    for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
    for (const el of document.querySelectorAll('[data-i18n-label]')) el.setAttribute('aria-label', t(el.dataset.i18nLabel));
    $('lang').value = lang;
  }

  // ---------- DOM helpers ----------
  function h(tag, attrs, ...kids) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else if (k === 'class') el.className = v;
      else el.setAttribute(k, v === true ? '' : v);
    }
    for (const c of kids.flat(Infinity)) if (c !== null && c !== undefined && c !== false) el.append(c instanceof Node ? c : String(c));
    return el;
  }
  const NS = 'http://www.w3.org/2000/svg';
  function s(tag, attrs, ...kids) {
    const el = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) if (v !== null && v !== undefined) el.setAttribute(k, v);
    for (const c of kids.flat(Infinity)) if (c !== null && c !== undefined) el.append(c instanceof Node ? c : String(c));
    return el;
  }
  const card = (id, title, ...kids) => h('section', { class: 'card', id, 'aria-labelledby': `${id}-h` }, h('h2', { id: `${id}-h` }, title), ...kids);
  const errorBox = (e) => h('p', { class: 'error', role: 'alert' }, describe(e));
  const show = (id) => { for (const v of ['login', 'keypad', 'app']) $(v).hidden = v !== id; };
  function flash(text, kind) {
    const m = $('msg');
    m.textContent = text;
    m.className = kind === 'ok' ? 'msg ok' : 'msg error';
    m.hidden = !text;
  }

  // ---------- charts (inline SVG) ----------
  // A line over points [{x, y}]; invert: smaller is higher (ranks); target: a dashed horizontal line.
  // A point's x is a day (YYYY-MM-DD) or a month (YYYY-MM); `note` labels the last point (today's rank).
  function lineChart(points, { label, invert = false, target = null, note = '' }) {
    points = points.filter((p) => p.y !== null);
    const W = 320, H = 150, L = 40, R = 10, T = 12, Bm = 24;
    const ys = points.map((p) => p.y).concat(target === null ? [] : [target]);
    if (!ys.length) return h('p', { class: 'muted' }, t('no_data'));
    const fmtX = (x) => (/^\d{4}-\d{2}$/.test(x) ? fmtMonth(x) : fmtDate(x));
    let lo = Math.min(...ys), hi = Math.max(...ys);
    if (lo === hi) { lo -= 1; hi += 1; }
    const X = (i) => L + (points.length < 2 ? (W - L - R) / 2 : (i * (W - L - R)) / (points.length - 1));
    const Y = (v) => { const f = (v - lo) / (hi - lo); return invert ? T + f * (H - T - Bm) : H - Bm - f * (H - T - Bm); };
    const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': label, class: 'chart' }, s('title', {}, label));
    svg.append(s('line', { x1: L, y1: T, x2: L, y2: H - Bm, class: 'axis' }), s('line', { x1: L, y1: H - Bm, x2: W - R, y2: H - Bm, class: 'axis' }));
    for (const v of [lo, hi]) svg.append(s('text', { x: L - 4, y: Y(v) + 4, 'text-anchor': 'end', class: 'tick' }, fmtN(Math.round(v * 100) / 100)));
    if (target !== null) {
      svg.append(s('line', { x1: L, y1: Y(target), x2: W - R, y2: Y(target), class: 'target' }),
        s('text', { x: W - R, y: Y(target) - 3, 'text-anchor': 'end', class: 'tick target-label' }, `${t('target')} ${fmtN(target)}`));
    }
    if (!points.length) {
      svg.append(s('text', { x: (L + W - R) / 2, y: H - Bm - 8, 'text-anchor': 'middle', class: 'tick' }, t('no_data')));
      return svg;
    }
    svg.append(s('polyline', { points: points.map((p, i) => `${X(i).toFixed(1)},${Y(p.y).toFixed(1)}`).join(' '), class: 'line' }));
    points.forEach((p, i) => svg.append(s('circle', { cx: X(i).toFixed(1), cy: Y(p.y).toFixed(1), r: 3, class: 'dot' }, s('title', {}, `${fmtX(p.x)}: ${fmtN(p.y)}`))));
    const first = points[0], last = points[points.length - 1];
    if (note) svg.append(s('text', { x: X(points.length - 1) - 4, y: Math.max(T + 10, Y(last.y) - 8), 'text-anchor': 'end', class: 'tick note' }, note));
    svg.append(s('text', { x: L, y: H - 6, class: 'tick' }, fmtX(first.x)));
    if (points.length > 1) svg.append(s('text', { x: W - R, y: H - 6, 'text-anchor': 'end', class: 'tick' }, fmtX(last.x)));
    return svg;
  }
  // Horizontal bars for [{label, value}] (negative values to the left of zero).
  function barChart(rows, { label }) {
    if (!rows.length) return h('p', { class: 'muted' }, t('no_data'));
    const W = 320, LW = 120, RH = 22, P = 4, H = rows.length * RH + P * 2;
    const lo = Math.min(0, ...rows.map((r) => r.value)), hi = Math.max(0, ...rows.map((r) => r.value));
    const span = hi - lo || 1, plot = W - LW - 44;
    const X = (v) => LW + ((v - lo) / span) * plot;
    const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': label, class: 'chart' }, s('title', {}, label));
    rows.forEach((r, i) => {
      const y = P + i * RH, x0 = X(0), x1 = X(r.value), short = r.label.length > 18 ? `${r.label.slice(0, 17)}…` : r.label;
      svg.append(s('text', { x: LW - 6, y: y + 15, 'text-anchor': 'end', class: 'tick' }, short, s('title', {}, r.label)),
        s('rect', { x: Math.min(x0, x1).toFixed(1), y: y + 4, width: Math.max(1, Math.abs(x1 - x0)).toFixed(1), height: RH - 8,
          class: r.value < 0 ? 'bar neg' : 'bar' }),
        s('text', { x: Math.max(x0, x1) + 4, y: y + 15, class: 'tick' }, fmtSigned(r.value)));
    });
    svg.append(s('line', { x1: X(0), y1: P, x2: X(0), y2: H - P, class: 'axis' }));
    return svg;
  }

  // ---------- session (Cognito) ----------
  const decode = (jwt) => {
    try {
      const b = jwt.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
      const bytes = Uint8Array.from(atob(b + '==='.slice((b.length + 3) % 4)), (c) => c.charCodeAt(0));
      return JSON.parse(new TextDecoder().decode(bytes));
    } catch { return {}; }
  };
  const token = () => store.getItem('pitcrew.id') || '';
  const claims = () => decode(token());
  const groups = () => {
    const g = claims()['cognito:groups'];
    return Array.isArray(g) ? g : typeof g === 'string' ? g.replace(/[[\]]/g, '').split(/[\s,]+/).filter(Boolean) : [];
  };
  class ApiError extends Error {
    constructor(status, body, retry) {
      const e = A.error(body);
      super(e.error || `HTTP ${status}`);
      Object.assign(this, { status, field: e.field, retry });
    }
  }
  function describe(e) {
    if (!(e instanceof ApiError)) return t('network_error');
    if (e.status === 429) return t('try_again_in', { n: e.retry ?? 1 });
    if (e.status === 403) return e.message && !/^HTTP/.test(e.message) ? `${t('forbidden')} (${e.message})` : t('forbidden');
    return e.field ? `${e.message} (${t('field')}: ${e.field})` : e.message;
  }
  async function cognito(target, body) {
    const r = await fetch(st.cfg.cognito_endpoint, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': `AWSCognitoIdentityProviderService.${target}` },
      body: JSON.stringify(body),
    });
    const j = await r.json().catch(() => ({}));
    if (!r.ok) throw new ApiError(r.status, { error: j.message || j.__type || t('login_failed') });
    return j;
  }
  async function login(username, password) {
    const j = await cognito('InitiateAuth', { AuthFlow: 'USER_PASSWORD_AUTH', ClientId: st.cfg.client_id, AuthParameters: { USERNAME: username, PASSWORD: password } });
    const res = j.AuthenticationResult;
    if (!res || !res.IdToken) throw new ApiError(400, { error: t('login_challenge') });
    store.setItem('pitcrew.id', res.IdToken);
    if (res.RefreshToken) store.setItem('pitcrew.refresh', res.RefreshToken);
  }
  async function renew() {
    const refresh = store.getItem('pitcrew.refresh');
    if (!refresh) return false;
    try {
      const j = await cognito('InitiateAuth', { AuthFlow: 'REFRESH_TOKEN_AUTH', ClientId: st.cfg.client_id, AuthParameters: { REFRESH_TOKEN: refresh } });
      if (!j.AuthenticationResult || !j.AuthenticationResult.IdToken) return false;
      store.setItem('pitcrew.id', j.AuthenticationResult.IdToken);
      return true;
    } catch { return false; }
  }
  function logout(message) {
    endKiosk(false);
    store.clear();
    st.view = null;
    st.team = null;
    st.division = '';
    $('who').textContent = '';
    $('logout').hidden = true;
    $('app').replaceChildren();
    showLogin(message);
  }

  // ---------- API ----------
  const newKey = () => (crypto.randomUUID ? crypto.randomUUID() : Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join(''));
  // One Idempotency-Key per action, kept until a definitive answer: a retry of the same click sends the same key.
  const pendingKeys = new Map();
  async function act(action, method, path, body) {
    if (!pendingKeys.has(action)) pendingKeys.set(action, newKey());
    try {
      const out = await api(method, path, { body, idem: pendingKeys.get(action) });
      pendingKeys.delete(action);
      return out;
    } catch (e) {
      if (e instanceof ApiError && e.status >= 400 && e.status < 500 && e.status !== 429) pendingKeys.delete(action);
      throw e;
    }
  }
  // plain401: a 401 from the function (a wrong PIN: {ok: false, ...}) is this call's answer, not the end of the session;
  // the authorizer's 401 ({message: 'Unauthorized'}: the device's token) still is.
  async function api(method, path, { body, idem, query, retried, kioskToken, plain401 } = {}) {
    const exp = claims().exp;
    if (!retried && exp && exp * 1000 < Date.now() + 30000) await renew();
    const url = new URL(`${(st.cfg.api || '').replace(/\/$/, '')}${path}`, window.location.href);
    for (const [k, v] of Object.entries(query || {})) if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, v);
    const headers = { Accept: 'application/json' };
    if (token()) headers.Authorization = `Bearer ${token()}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (idem) headers['Idempotency-Key'] = idem;
    const kiosk = st.kiosk;
    if (kioskToken || kiosk) { headers['X-Kiosk-Session'] = kioskToken || kiosk.token; st.lastCall = Date.now(); }
    let r;
    try {
      r = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch {
      throw new Error('network');
    }
    const refreshed = r.headers.get('X-Kiosk-Session');
    if (refreshed && kiosk && st.kiosk === kiosk) kiosk.token = refreshed;
    const j = r.status === 204 ? {} : await r.json().catch(() => ({}));
    if (r.ok) return j;
    const err = new ApiError(r.status, j, num(r.headers.get('Retry-After')) ?? A.retryAfter(j));
    if (r.status === 401) {
      if (kioskToken || (plain401 && j.ok === false)) throw err;
      if (kiosk) {
        if (st.kiosk === kiosk) { endKiosk(false); showKeypad(t('kiosk_expired')); }
        throw err;
      }
      if (!retried && (await renew())) return api(method, path, { body, idem, query, retried: true });
      logout(t('session_expired'));
    }
    throw err;
  }
  // A list section: fetches a page, renders rows with `row`, and a "load more" button while next_cursor is set.
  function pagedList(path, query, adapt, row, { empty, tag = 'ul', head } = {}) {
    const list = h(tag, { class: 'list' });
    const more = h('button', { type: 'button', class: 'secondary more', hidden: true }, t('load_more'));
    const box = h('div', {}, list, more);
    let cursor = null;
    const load = async () => {
      more.disabled = true;
      try {
        const raw = await api('GET', path, { query: { ...query, cursor } });
        const page = A.list(raw);
        if (head && cursor === null) head(raw);
        for (const it of page.items) list.append(row(adapt(it)));
        cursor = page.next;
        more.hidden = !cursor;
        if (!list.children.length) list.append(h('li', { class: 'muted' }, empty || t('nothing_yet')));
      } catch (e) {
        box.append(errorBox(e));
      } finally { more.disabled = false; }
    };
    more.addEventListener('click', load);
    load();
    return box;
  }
  const currentMonth = () => { const d = new Date(); return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}`; };
  async function section(id, title, build) {
    const c = card(id, title, h('p', { class: 'muted' }, t('loading')));
    (async () => {
      try { c.replaceChildren(c.firstChild, ...[await build()].flat()); } catch (e) { c.replaceChildren(c.firstChild, errorBox(e)); }
    })();
    return c;
  }

  // ---------- the person's own view (advisor / agent / kiosk) ----------
  async function showPerson() {
    st.view = showPerson;
    show('app');
    const app = $('app');
    const session = st.kiosk;
    const kiosk = Boolean(session);
    const gone = () => st.view !== showPerson || st.kiosk !== session;  // logged out (or another person) meanwhile
    let me = A.me({});
    try { me = A.me(await api('GET', '/v1/me')); } catch (e) { if (!gone() && !(e instanceof ApiError && e.status === 401)) app.replaceChildren(errorBox(e)); return; }
    if (gone()) return;
    const chosen = store.getItem('pitcrew.lang.chosen');
    const lang = kiosk ? st.kiosk.language : chosen ? '' : me.language;
    if (pickLang(lang) && pickLang(lang) !== st.lang) await setLang(lang);
    $('who').textContent = kiosk ? st.kiosk.name || me.name : me.name;
    if (!st.program || !me.wallets.some((w) => w.program === st.program)) st.program = me.wallets.length ? me.wallets[0].program : '';
    st.month = st.month || currentMonth();
    const wallet = me.wallets.find((w) => w.program === st.program) || A.wallet({});
    const sections = [];
    const programSel = me.wallets.length > 1
      ? h('label', { class: 'inline' }, t('program'), ' ', h('select', { id: 'program', onchange: (e) => { st.program = e.target.value; showPerson(); } },
        me.wallets.map((w) => h('option', { value: w.program, selected: w.program === st.program }, w.programName))))
      : null;
    sections.push(card('balance', t('balance'), programSel,
      h('div', { class: 'figures' },
        h('div', { class: 'figure big' }, h('span', { class: 'label' }, t('available')), h('span', { class: 'value', id: 'available' }, fmtN(wallet.available))),
        h('div', { class: 'figure' }, h('span', { class: 'label' }, t('pending')), h('span', { class: 'value' }, fmtN(wallet.pending))),
        wallet.debt ? h('div', { class: 'figure' }, h('span', { class: 'label' }, t('debt')), h('span', { class: 'value neg' }, fmtN(wallet.debt))) : null,
        wallet.value !== null && wallet.currency
          ? h('div', { class: 'figure' }, h('span', { class: 'label' }, t('worth')), h('span', { class: 'value' }, fmtMoney(wallet.value, wallet.currency)))
          : null)));
    const rankSection = () => section('rank', t('rank'), async () => {
      const r = A.rank(await api('GET', '/v1/me/rank', { query: { program_id: st.program, month: st.month } }));
      const board = h('h3', {}, t('division_board'));
      const today = r.rank === null ? '' : t('rank_today', { rank: fmtN(r.rank) });
      return [
        r.rank === null
          ? h('p', { class: 'big-line' }, t('points_n', { n: fmtN(r.points) }), ' · ', h('span', { class: 'muted', id: 'not-ranked' }, t('not_ranked')))
          : h('p', { class: 'big-line' }, t('rank_of', { rank: fmtN(r.rank), of: fmtN(r.of) }), ' · ', t('points_n', { n: fmtN(r.points) })),
        r.rank === null
          ? (r.minItems !== null ? h('p', { id: 'gap', class: 'muted' }, t('items_to_qualify', { n: fmtN(r.items ?? 0), min: fmtN(r.minItems) })) : null)
          : h('p', { id: 'gap' }, r.rank <= 1 ? t('leading') : r.gap !== null ? t('behind_next', { n: fmtN(r.gap), rank: fmtN(r.rank - 1) }) : ''),
        r.level || r.badges.length ? h('p', { class: 'muted' }, [r.level ? `${t('level')}: ${r.level}` : '', ...r.badges].filter(Boolean).join(' · ')) : null,
        h('h3', {}, t('points_over_month')),
        lineChart(r.series, { label: [t('points_over_month'), today].filter(Boolean).join(' · '), note: today }),
        board,
        pagedList('/v1/standings', { program_id: st.program, month: st.month }, A.standing, (row) => h('li', { class: row.me ? 'me' : null },
          h('span', { class: 'rank' }, `#${fmtN(row.rank)}`), ' ', row.name, ' ', h('span', { class: 'pts' }, t('points_n', { n: fmtN(row.points) }))),
        { tag: 'ol', head: (raw) => { const d = pick(raw, 'division_name'); if (d) board.textContent = `${t('division_board')} · ${d}`; } }),
      ];
    });
    let rankCard = await rankSection();
    sections.push(rankCard);
    // Another month: the statement reloads, and the rank, points chart and board follow it.
    sections.push(statementCard(async () => { const next = await rankSection(); rankCard.replaceWith(next); rankCard = next; }));
    if (!kiosk) {
      sections.push(thanksCard());
      sections.push(feedCard());
    }
    sections.push(catalogueCard());
    if (!gone()) app.replaceChildren(...sections);
  }

  function statementCard(onMonth) {
    const body = h('div', {});
    const month = h('input', { type: 'month', id: 'month', value: st.month, max: currentMonth() });
    month.addEventListener('change', () => { if (month.value) { st.month = month.value; load(); if (onMonth) onMonth(); } });
    const load = () => {
      body.replaceChildren(h('p', { class: 'muted' }, t('loading')));
      const lines = h('ol', { class: 'list statement', id: 'statement-lines' });
      const more = h('button', { type: 'button', class: 'secondary more', hidden: true }, t('load_more'));
      let cursor = null, first = true;
      const page = async () => {
        more.disabled = true;
        try {
          const sm = A.statement(await api('GET', '/v1/me/statement', { query: { month: st.month, program_id: st.program, cursor } }));
          if (first) {
            first = false;
            const tt = sm.totals;
            const cells = [['opening', tt.opening], ['earned', tt.earned], ['penalties', tt.penalties], ['reversed', tt.reversed],
              ['adjusted', tt.adjusted], ['closing', tt.closing], ['pending', tt.pending]].filter(([, v]) => v !== null);
            body.replaceChildren(
              h('p', { class: 'muted' }, fmtMonth(st.month)),
              h('dl', { class: 'totals' }, cells.map(([k, v]) => [h('dt', {}, t(k)), h('dd', {}, fmtN(v))])),
              h('h3', {}, t('points_by_rule')), barChart(sm.byRule, { label: t('points_by_rule') }),
              h('h3', {}, t('entries')), lines, more);
          }
          for (const l of sm.lines) lines.append(lineRow(l));
          if (!lines.children.length) lines.append(h('li', { class: 'muted' }, t('no_entries')));
          cursor = sm.next;
          more.hidden = !cursor;
        } catch (e) {
          if (first) body.replaceChildren(errorBox(e)); else body.append(errorBox(e));
        } finally { more.disabled = false; }
      };
      more.addEventListener('click', page);
      page();
    };
    load();
    return card('statement', t('statement'), h('label', { class: 'inline' }, t('month'), ' ', month), body);
  }
  function lineRow(l) {
    const inputs = l.inputsText || Object.entries(l.inputs).map(([k, v]) => `${k} = ${v}`).join(', ');
    const facts = [[t('program'), l.program], [t('rule'), l.ruleTitle && l.rule ? `${l.ruleTitle} (${l.rule})` : l.ruleTitle || l.rule], [t('ticket'), [l.ticket, l.basis].filter(Boolean).join(' · ')],
      [t('inputs'), inputs], [t('code'), l.code]].filter(([, v]) => v);
    return h('li', { class: 'line', 'data-entry': l.id },
      h('div', { class: 'line-head' }, h('span', { class: l.amount < 0 ? 'pts neg' : 'pts' }, fmtSigned(l.amount)), ' ',
        h('span', { class: 'muted' }, fmtDate(l.date)), l.late ? h('span', { class: 'tag' }, t('late')) : null),
      h('p', { class: 'explanation', lang: pickLang(l.language) ? l.language : null }, l.explanation),
      h('dl', { class: 'facts' }, facts.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])),
      l.notes.length ? h('ul', { class: 'notes' }, l.notes.map((n) => h('li', {}, typeof n === 'string' ? n : n.value || ''))) : null,
      st.kiosk || !l.id ? null : disputeForm(l));
  }
  // "Dispute this entry": a reason, sent once (Idempotency-Key kept until a definitive answer).
  function disputeForm(l) {
    const id = `dispute-${l.id}`;
    const reason = h('textarea', { id: `${id}-reason`, rows: 2, maxlength: 500, required: true });
    const out = h('p', { class: 'muted', role: 'status' });
    const send = h('button', { type: 'submit' }, t('send'));
    const form = h('form', { class: 'dispute', id, hidden: true }, h('label', { for: `${id}-reason` }, t('dispute_reason')), reason, send, out);
    const open = h('button', { type: 'button', class: 'secondary small', 'aria-expanded': 'false', 'aria-controls': id }, t('dispute'));
    open.addEventListener('click', () => {
      form.hidden = !form.hidden;
      open.setAttribute('aria-expanded', String(!form.hidden));
      if (!form.hidden) reason.focus();
    });
    reason.addEventListener('input', () => pendingKeys.delete(id));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      if (!reason.value.trim()) { out.className = 'error'; out.textContent = t('dispute_reason'); return; }
      send.disabled = true;
      out.className = 'muted';
      out.textContent = t('sending');
      try {
        await act(id, 'POST', '/v1/disputes', B.dispute(l, reason.value.trim()));
        out.className = 'ok';
        out.textContent = t('dispute_sent');
        reason.disabled = true;
        open.hidden = true;
      } catch (e) {
        out.className = 'error';
        out.textContent = describe(e);
        send.disabled = false;
      }
    });
    return h('div', {}, open, form);
  }
  function feedCard() {
    const scope = h('select', { id: 'feed-scope' }, [['team', t('my_team')], ['location', t('my_location')]].map(([v, label]) => h('option', { value: v }, label)));
    const holder = h('div', {});
    const load = () => holder.replaceChildren(pagedList('/v1/feed', { program_id: st.program, scope: scope.value }, A.feed, (f) => h('li', {},
      h('strong', {}, f.giver), ' → ', h('strong', {}, f.receiver), ' ', h('span', { class: 'pts' }, fmtSigned(f.points)),
      f.message ? h('div', {}, f.message) : null,
      h('div', { class: 'muted' }, [f.value, fmtDate(f.at)].filter(Boolean).join(' · ')))));
    scope.addEventListener('change', load);
    load();
    return card('feed', t('recent_recognitions'), h('label', { class: 'inline' }, t('show'), ' ', scope), holder);
  }
  function thanksCard() {
    const out = h('p', { class: 'muted', role: 'status' });
    const form = h('form', { id: 'thanks-form', novalidate: true },
      h('label', { for: 'thanks-to' }, t('to_employee')), h('input', { id: 'thanks-to', name: 'to', required: true, autocomplete: 'off' }),
      h('label', { for: 'thanks-points' }, t('points')), h('input', { id: 'thanks-points', name: 'points', type: 'number', min: 1, step: 1, required: true, inputmode: 'numeric' }),
      h('label', { for: 'thanks-message' }, t('message')), h('textarea', { id: 'thanks-message', name: 'message', rows: 2, maxlength: 280, required: true }),
      h('button', { type: 'submit' }, t('send_thanks')), out);
    form.addEventListener('input', () => pendingKeys.delete('thanks'));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const btn = form.querySelector('button');
      btn.disabled = true;
      out.className = 'muted';
      out.textContent = t('sending');
      try {
        await act('thanks', 'POST', '/v1/recognitions', B.thanks(st.program, form.to.value.trim(), Number(form.points.value), form.message.value.trim()));
        out.className = 'ok';
        out.textContent = t('thanks_sent');
        form.reset();
      } catch (e) {
        out.className = 'error';
        out.textContent = describe(e);
      } finally { btn.disabled = false; }
    });
    return card('thanks', t('give_thanks'), form);
  }
  function catalogueCard() {
    return card('catalogue', t('catalogue'), pagedList('/v1/catalogue', { program_id: st.program }, A.item, (it) => {
      const out = h('p', { class: 'muted', role: 'status' });
      const btn = h('button', { type: 'button', 'data-item': it.id, 'aria-label': `${t('redeem')}: ${it.name}` }, t('redeem'));
      btn.addEventListener('click', async () => {
        btn.disabled = true;
        out.className = 'muted';
        out.textContent = t('sending');
        try {
          const r = A.redemption(await act(`redeem:${st.program}:${it.id}`, 'POST', '/v1/redemptions', B.redeem(st.program, it.id, 1)));
          out.className = 'ok';
          out.textContent = t('redeemed', { status: r.status ? tOr(`status_${r.status}`, r.status) : '' });
        } catch (e) {
          out.className = 'error';
          out.textContent = describe(e);
        } finally { btn.disabled = false; }
      });
      return h('li', { class: 'item' }, h('div', {}, h('strong', {}, it.name), ' ', h('span', { class: 'pts' }, t('points_n', { n: fmtN(it.price) })),
        it.description ? h('div', { class: 'muted' }, it.description) : null,
        it.stock !== null ? h('div', { class: 'muted' }, t('in_stock', { n: fmtN(it.stock) })) : null), btn, out);
    }));
  }

  // ---------- the manager view ----------
  // The programs a manager's team routes take and their leagues' division fields: GET /v1/team/programs (the programs that
  // reach the caller's location or region). The team's people give the standings' divisions (role|region by default).
  const DIVISION_FIELDS = { role: 'role', region: 'region', location_id: 'location' };
  function divisionsOf(people, by) {
    const counts = new Map();
    for (const p of people) {
      const values = by.map((f) => p[DIVISION_FIELDS[f] || f] || '');
      if (values.some((v) => !v)) continue;
      const key = values.join('|');
      counts.set(key, (counts.get(key) || 0) + 1);
    }
    return [...counts.entries()].sort((a, b) => b[1] - a[1]).map(([k]) => k);
  }
  async function teamSetup() {
    if (st.team) return st.team;
    let listed = [];
    try { listed = A.list(await api('GET', '/v1/team/programs')).items.map(A.teamProgram); } catch { /* the panes say what is missing */ }
    let people = [];
    try { people = A.list(await api('GET', '/v1/team/people', { query: { limit: 100 } })).items.map(A.person); } catch { /* hq: no single team */ }
    const programs = listed.map((p) => p.id);
    st.team = { programs, people, by: Object.fromEntries(listed.map((p) => [p.id, p.divisionsBy])), program: '' };
    // The default program: the one chosen before, else the first whose league divides as the team's people do (role|region),
    // else the first with a league, else the first.
    const chosen = store.getItem('pitcrew.team.program');
    if (chosen && programs.includes(chosen)) st.team.program = chosen;
    st.team.program = st.team.program || programs.find((p) => (st.team.by[p] || []).join('|') === 'role|region')
      || programs.find((p) => st.team.by[p]) || programs[0] || '';
    return st.team;
  }
  // The fields of a program's divisions; null: the program has no league.
  async function divisionShape(program) {
    return st.team.by[program] || null;
  }
  async function showManager() {
    st.view = showManager;
    show('app');
    const app = $('app');
    const c = claims();
    $('who').textContent = c.name || c['cognito:username'] || c.email || '';
    let me = A.me({});
    try {
      me = A.me(await api('GET', '/v1/me'));
      if (!store.getItem('pitcrew.lang.chosen') && pickLang(me.language) && pickLang(me.language) !== st.lang) await setLang(me.language);
    } catch { /* hq and admin may be in no directory */ }
    if (st.view !== showManager) return;
    if (me.name) $('who').textContent = me.name;
    st.month = st.month || currentMonth();
    const team = await teamSetup();
    const program = team.program;
    if (program) await divisionShape(program);
    if (st.view !== showManager) return;
    const names = new Map(team.people.map((p) => [p.id, p.name]));
    const month = h('input', { type: 'month', id: 'period', value: st.month, max: currentMonth() });
    month.addEventListener('change', () => { if (month.value) { st.month = month.value; showManager(); } });
    const programSel = team.programs.length > 1
      ? h('label', { class: 'inline' }, t('program'), ' ', h('select', { id: 'team-program', onchange: (e) => { team.program = e.target.value; store.setItem('pitcrew.team.program', e.target.value); showManager(); } },
        team.programs.map((p) => h('option', { value: p, selected: p === program }, p))))
      : null;
    const period = st.month;
    const byProgram = program ? { program_id: program } : {};
    app.replaceChildren(
      h('div', { class: 'card' }, h('label', { class: 'inline' }, t('period'), ' ', month), programSel ? ' ' : null, programSel),
      await section('kpis', t('team_kpis'), async () => {
        const kpis = A.kpis(await api('GET', '/v1/team/kpis', { query: { period } }));
        if (!kpis.length) return h('p', { class: 'muted' }, t('no_data'));
        const unit = (k) => (k.unit && k.unit !== 'count' && k.unit !== 'score' ? ` ${k.unit}` : '');
        const charted = kpis.filter((k) => k.series.length), other = kpis.filter((k) => !k.series.length);
        return [
          h('div', { class: 'grid' }, charted.map((k) => h('div', { class: 'kpi', 'data-kpi': k.key },
            h('h3', {}, tOr(`kpi_${k.key}`, k.name)),
            h('p', {}, h('span', { class: 'big-line' }, `${fmtN(k.value)}${k.value === null ? '' : unit(k)}`),
              k.target !== null ? h('span', { class: 'muted' }, ` · ${t('target')} ${fmtN(k.target)}${unit(k)}${k.better ? ` (${tOr(`better_${k.better}`, k.better)})` : ''}`) : null),
            lineChart(k.series, { label: `${tOr(`kpi_${k.key}`, k.name)} — ${t('trend')}`, target: k.target })))),
          other.length ? h('details', {}, h('summary', {}, t('other_kpis')), h('table', {},
            h('tbody', {}, other.map((k) => h('tr', {}, h('th', { scope: 'row' }, tOr(`kpi_${k.key}`, k.name)),
              h('td', {}, `${fmtN(k.value)}${k.value === null ? '' : unit(k)}`, k.target !== null ? h('span', { class: 'muted' }, ` · ${t('target')} ${fmtN(k.target)}`) : null)))))) : null,
        ];
      }),
      await section('levels', t('service_levels'), async () => {
        const rows = A.levels(await api('GET', '/v1/team/service-levels', { query: { period } }));
        if (!rows.length) return h('p', { class: 'muted' }, t('no_data'));
        const scopes = new Set(rows.map((r) => r.scope)).size > 1;
        return h('table', {}, h('thead', {}, h('tr', {}, scopes ? h('th', { scope: 'col' }, t('location')) : null, h('th', { scope: 'col' }, t('channel')),
          h('th', { scope: 'col' }, t('level')), h('th', { scope: 'col' }, t('first_response')), h('th', { scope: 'col' }, 'CSAT'))),
        h('tbody', {}, rows.map((r) => h('tr', { 'data-channel': r.channel }, scopes ? h('td', {}, r.scope) : null, h('th', { scope: 'row' }, tOr(`channel_${r.channel}`, words(r.channel))),
          h('td', {}, r.level === null ? '–' : `${fmtN(r.level)}${r.name ? ` · ${r.name}` : ''}`),
          h('td', {}, r.firstResponse === null ? '–' : `${fmtN(r.firstResponse)} min`), h('td', {}, fmtN(r.csat))))));
      }),
      standingsCard(team, program, period),
      card('disputes', t('disputes'), pagedList('/v1/team/disputes', { status: 'open' }, A.dispute, (d) => decisionRow(
        [h('strong', {}, d.person), ' ', h('span', { class: 'pts' }, d.amount === null ? '' : fmtSigned(d.amount)), ' ', h('span', { class: 'muted' }, [d.rule, d.code, fmtDate(d.at)].filter(Boolean).join(' · ')),
          h('div', {}, d.comment)],
        [['accept', t('accept')], ['reject', t('reject')]],
        (choice, reason) => act(`dispute:${d.id}:${choice}`, 'POST', `/v1/team/disputes/${encodeURIComponent(d.id)}/decide`, B.decide(choice, reason)),
        `dispute-${d.id}`), { empty: t('nothing_to_decide') })),
      card('approvals', t('approvals'), pagedList('/v1/team/approvals', byProgram, A.approval, (a) => decisionRow(
        [h('strong', {}, a.person), ' ', h('span', { class: 'pts' }, fmtSigned(a.points)), ' ', h('span', { class: 'muted' }, [a.reason, names.get(a.by) || a.by, fmtDate(a.at)].filter(Boolean).join(' · ')),
          a.message ? h('div', {}, a.message) : null],
        [['approve', t('approve')], ['reject', t('reject')]],
        (choice, reason) => act(`award:${a.id}:${choice}`, 'POST', `/v1/team/approvals/${encodeURIComponent(a.id)}/${choice}`, B.approval(reason)),
        `award-${a.id}`), { empty: t('nothing_to_decide') })),
      card('flags', t('flags'), pagedList('/v1/team/flags', { ...byProgram, month: period }, A.flag, (f) => h('li', {},
        h('strong', {}, tOr(`flag_${f.kind}`, f.kind)), ' ', h('span', { class: 'muted' }, fmtMonth(f.month)),
        h('div', {}, f.members.map((m) => names.get(m) || m).join(', ')), f.recognitions !== null ? h('div', { class: 'muted' }, t('recognitions_n', { n: fmtN(f.recognitions) })) : null),
      { empty: t('no_flags') })),
    );
  }
  // The program's board of one division (the team's divisions in a list; another can be typed).
  function standingsCard(team, program, period) {
    const by = team.by[program];
    const options = by ? divisionsOf(team.people, by) : [];
    st.division = options.includes(st.division) ? st.division : options[0] || '';
    const holder = h('div', {});
    const title = h('h3', {}, '');
    const load = () => {
      title.textContent = '';
      if (!program || !st.division) { holder.replaceChildren(h('p', { class: 'muted' }, t('no_data'))); return; }
      holder.replaceChildren(pagedList('/v1/team/standings', { program_id: program, division: st.division, month: period }, A.standing,
        (r) => h('li', {}, h('span', { class: 'rank' }, `#${fmtN(r.rank)}`), ' ', r.name, ' ', h('span', { class: 'pts' }, t('points_n', { n: fmtN(r.points) }))),
        { tag: 'ol', head: (raw) => { title.textContent = pick(raw, 'division_name') || ''; } }));
    };
    const select = h('select', { id: 'division', onchange: (e) => { st.division = e.target.value; load(); } },
      options.map((d) => h('option', { value: d, selected: d === st.division }, words(d))));
    load();
    return card('standings', t('standings'), options.length > 1 ? h('label', { class: 'inline' }, t('division'), ' ', select) : null, title, holder);
  }
  function decisionRow(content, choices, send, id) {
    const out = h('p', { class: 'muted', role: 'status' });
    const reason = h('input', { id: `${id}-reason`, type: 'text', maxlength: 500 });
    const buttons = choices.map(([choice, label]) => h('button', { type: 'button', class: choice === 'reject' ? 'secondary' : '', 'data-choice': choice }, label));
    buttons.forEach((b) => b.addEventListener('click', async () => {
      buttons.forEach((x) => { x.disabled = true; });
      out.className = 'muted';
      out.textContent = t('sending');
      try {
        await send(b.dataset.choice, reason.value.trim());
        out.className = 'ok';
        out.textContent = t('decided');
        reason.disabled = true;
      } catch (e) {
        out.className = 'error';
        out.textContent = describe(e);
        buttons.forEach((x) => { x.disabled = false; });
      }
    }));
    return h('li', { class: 'decision', id }, h('div', {}, content), h('label', { for: `${id}-reason` }, t('reason_optional')), reason,
      h('div', { class: 'buttons' }, buttons), out);
  }

  // ---------- kiosk ----------
  const idleSeconds = () => Math.max(3, Number(st.cfg.kiosk_idle_s) || 60);
  let idleDeadline = 0;
  function touch() {
    if (!st.kiosk) return;
    idleDeadline = Date.now() + idleSeconds() * 1000;
    $('countdown').hidden = true;
    // The session token's own idle timeout counts from the last request: keep it alive while the person is active.
    if (Date.now() - st.lastCall > 30000) api('GET', '/v1/me').catch(() => {});
  }
  function tick() {
    if (!st.kiosk) return;
    const left = Math.ceil((idleDeadline - Date.now()) / 1000);
    if (left <= 0) { endKiosk(true); showKeypad(t('kiosk_idle_logout')); return; }
    const c = $('countdown');
    if (left <= 10) { c.hidden = false; c.textContent = t('logout_in', { n: left }); } else c.hidden = true;
  }
  function endKiosk(tellServer) {
    if (!st.kiosk) return;
    const session = st.kiosk.token;
    st.kiosk = null;
    if (tellServer) api('DELETE', '/v1/kiosk/sessions', { kioskToken: session }).catch(() => {});
    window.clearInterval(st.idleTimer);
    $('countdown').hidden = true;
    $('who').textContent = '';
    $('app').replaceChildren();
    st.program = '';
    st.month = '';
  }
  function showKeypad(message) {
    st.view = showKeypad;
    show('keypad');
    $('logout').hidden = true;  // the device stays signed in: a technician must not sign the kiosk out
    const f = $('keypad-form');
    f.reset();
    $('keypad-msg').textContent = message || '';
    $('keypad-msg').className = message ? 'msg' : 'muted';
    $('kiosk-code').focus();
    if (st.deviceLang && st.deviceLang !== st.lang) setLang(st.deviceLang);
  }
  async function kioskLogin(code, pin) {
    const r = A.kioskSession(await api('POST', '/v1/kiosk/sessions', { body: B.kiosk(code, pin), plain401: true }));
    st.deviceLang = st.lang;
    st.kiosk = { token: r.token, name: r.name, language: r.language };
    st.lastCall = Date.now();
    idleDeadline = Date.now() + idleSeconds() * 1000;
    st.idleTimer = window.setInterval(tick, 250);
    $('logout').hidden = false;  // ends this person's session, back to the keypad
    await showPerson();
  }

  // ---------- start ----------
  function showLogin(message) {
    st.view = showLogin;
    show('login');
    $('login-msg').textContent = message || '';
    $('login-msg').hidden = !message;
    $('login-kiosk').hidden = !(params.get('kiosk') === '1');
  }
  function route() {
    $('logout').hidden = false;
    flash('');
    const g = groups();
    if (params.get('kiosk') === '1' || g.includes('kiosk')) return showKeypad();
    if (g.some((x) => MANAGER_GROUPS.includes(x))) return showManager();
    return showPerson();
  }
  async function boot() {
    try { st.cfg = await (await fetch('config.json', { cache: 'no-store' })).json(); } catch { st.cfg = {}; }
    await setLang(store.getItem('pitcrew.lang.chosen') || pickLang(navigator.language) || 'en');
    $('lang').addEventListener('change', async (e) => {
      store.setItem('pitcrew.lang.chosen', e.target.value);
      await setLang(e.target.value);
      if (st.view === showPerson || st.view === showManager) st.view();
      else if (st.view) st.view(st.view === showLogin ? $('login-msg').textContent : '');
    });
    $('logout').addEventListener('click', () => { if (st.kiosk) { endKiosk(true); showKeypad(); } else logout(); });
    $('login-form').addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const f = ev.target, btn = f.querySelector('button');
      btn.disabled = true;
      try {
        await login(f.username.value.trim(), f.password.value);
        f.password.value = '';
        route();
      } catch (e) {
        $('login-msg').textContent = e instanceof ApiError ? e.message : t('network_error');
        $('login-msg').hidden = false;
      } finally { btn.disabled = false; }
    });
    let focused = $('kiosk-code');
    for (const id of ['kiosk-code', 'kiosk-pin']) $(id).addEventListener('focus', (e) => { focused = e.target; });
    for (const b of document.querySelectorAll('#keypad [data-key]')) {
      b.addEventListener('mousedown', (e) => e.preventDefault());
      b.addEventListener('click', () => {
        const k = b.dataset.key;
        if (k === 'back') focused.value = focused.value.slice(0, -1);
        else if (k === 'next') $('kiosk-pin').focus();
        else focused.value += k;
      });
    }
    $('keypad-form').addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const code = $('kiosk-code').value.trim(), pin = $('kiosk-pin').value;
      if (!code || !/^\d{4,8}$/.test(pin)) { $('keypad-msg').textContent = t('kiosk_enter_code_pin'); $('keypad-msg').className = 'msg'; return; }
      try { await kioskLogin(code, pin); } catch (e) {
        if (!st.kiosk && st.view === showKeypad) { $('kiosk-pin').value = ''; $('keypad-msg').textContent = describe(e); $('keypad-msg').className = 'msg'; }
      }
    });
    for (const ev of ['pointerdown', 'keydown', 'input', 'wheel', 'touchstart']) document.addEventListener(ev, touch, { passive: true, capture: true });
    if (token()) route(); else showLogin();
  }
  boot();
})();
