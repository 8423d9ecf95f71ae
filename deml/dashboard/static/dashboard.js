// The DeML dashboard's front end: render each page from the JSON API, and render it again
// whenever /api/head reports a new block. DOM nodes are built with h(), never from HTML
// strings: CIDs and other event data are chosen by strangers.
'use strict'

const body = document.body
const PAGE = body.dataset.page
const ADDRESS = body.dataset.address
const POLL_MS = Number(body.dataset.pollMs) || 2000
const COLORS = ['#2563eb', '#d97706', '#059669', '#dc2626', '#7c3aed', '#0891b2', '#db2777']
const PHASES = {
  submit: 'Submit',
  reveal: 'Reveal',
  vote_commit: 'Vote commit',
  vote_reveal: 'Vote reveal',
  settle: 'Settle',
  finalized: 'Finalized'
}

let lastHash = null
let clockOffset = 0 // chain time minus wall time, in seconds, as of the last new block
let chart = null
let chartKey = null

// -- helpers ----------------------------------------------------------------------------------

function h (tag, attrs, ...children) {
  const node = document.createElement(tag)
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue
    if (key === 'class') node.className = value
    else if (key === 'dataset') Object.assign(node.dataset, value)
    else node.setAttribute(key, value === true ? '' : value)
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue
    node.append(child instanceof Node ? child : String(child))
  }
  return node
}

function fill (id, ...children) {
  const node = document.getElementById(id)
  if (node) node.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined))
}

function eth (wei) {
  const value = BigInt(wei)
  const unit = 10n ** 18n
  const fraction = (value % unit).toString().padStart(18, '0').slice(0, 4).replace(/0+$/, '')
  if (value > 0n && value < unit / 10000n) return `${value} wei`
  return `${value / unit}${fraction ? '.' + fraction : ''} ETH`
}

function amount (wei) {
  return h('span', { class: 'amount', title: `${wei} wei` }, eth(wei))
}

function when (ts) {
  if (ts === null || ts === undefined) return '—'
  return new Date(ts * 1000).toISOString().slice(0, 16).replace('T', ' ') + ' UTC'
}

function span (seconds) {
  const s = Math.max(0, Math.floor(seconds))
  const parts = [[Math.floor(s / 86400), 'd'], [Math.floor(s / 3600) % 24, 'h'],
    [Math.floor(s / 60) % 60, 'm'], [s % 60, 's']]
  const first = parts.findIndex(([n]) => n > 0)
  return first < 0 ? '0s' : parts.slice(first, first + 2).map(([n, u]) => n + u).join(' ')
}

function short (address) {
  return address.slice(0, 6) + '…' + address.slice(-4)
}

function addressLink (address) {
  return h('a', { href: `/addresses/${address}`, class: 'addr', title: address }, short(address))
}

function competitionLink (address) {
  return h('a', { href: `/competitions/${address}`, class: 'addr', title: address }, short(address))
}

function pct (fraction) {
  return fraction === null || fraction === undefined ? '—' : (100 * fraction).toFixed(1) + '%'
}

function badge (text, kind) {
  return h('span', { class: `badge ${kind || text}` }, text.replace('_', ' '))
}

function table (columns, rows, empty) {
  if (!rows.length) return h('p', { class: 'empty' }, empty)
  return h('table', {},
    h('thead', {}, h('tr', {}, columns.map((c) => h('th', {}, c)))),
    h('tbody', {}, rows))
}

function stat (label, value, extra) {
  return h('div', { class: 'stat' }, h('div', { class: 'label' }, label),
    h('div', { class: 'value' }, value), extra ? h('div', { class: 'extra' }, extra) : null)
}

function chainNow () {
  return Date.now() / 1000 + clockOffset
}

// A live countdown: tick() rewrites every [data-deadline] element once a second.
function countdown (deadline) {
  return h('span', { class: 'countdown', dataset: { deadline } }, '')
}

function tick () {
  for (const node of document.querySelectorAll('[data-deadline]')) {
    const left = Number(node.dataset.deadline) - chainNow()
    node.textContent = left > 0 ? `ends in ${span(left)}` : 'ended; waiting for the next block'
  }
}

async function api (path) {
  const response = await fetch(path, { cache: 'no-store' })
  const data = await response.json().catch(() => ({}))
  if (!response.ok) {
    const error = new Error(data.detail || `${path} answered ${response.status}`)
    error.status = response.status
    error.code = data.error
    throw error
  }
  return data
}

function banner (message) {
  const node = document.getElementById('banner')
  node.hidden = !message
  node.textContent = message || ''
}

// -- competitions list ----------------------------------------------------------------------

function renderCompetitions (rows) {
  const now = chainNow()
  fill('competitions', table(
    ['Competition', 'Phase', 'Ends', 'Prize', 'Pool', 'Submissions', 'Miners', 'Dataset'],
    rows.map((c) => h('tr', { dataset: { address: c.address } },
      h('td', {}, competitionLink(c.address)),
      h('td', {}, badge(c.phase), c.outcome !== 'pending' ? [' ', badge(c.outcome)] : null),
      h('td', {}, c.next_deadline && c.next_deadline > now ? countdown(c.next_deadline) : '—'),
      h('td', {}, amount(c.prize)),
      h('td', {}, amount(c.pool)),
      h('td', { class: 'num' }, `${c.revealed} / ${c.submissions}`),
      h('td', { class: 'num' }, c.miners),
      h('td', {}, h('code', { class: 'cid', title: c.dataset_cid }, c.dataset_cid)))),
    'No competitions yet. A host creates one through the CompetitionFactory; it appears here ' +
    'with the next block.'))
}

// -- one competition ------------------------------------------------------------------------

function renderCompetition (c) {
  const current = c.timeline.find((s) => s.state === 'current')
  fill('overview', h('div', { class: 'stats' },
    stat('Phase', badge(c.phase), current && current.ends_at ? countdown(current.ends_at) : null),
    stat('Prize', amount(c.prize), `pool held: ${eth(c.pool)}`),
    stat('Entry fee', amount(c.entry_fee), `miner stake ${eth(c.miner_stake)}`),
    stat('Submissions', `${c.revealed} / ${c.submissions}`, `revealed / committed; ${c.settled} settled`),
    stat('Test set', `${c.test_set_size} samples`, `quorum ${c.quorum} miners`),
    stat('Shares', `${c.winner_bps / 100}% winner`, `${100 - c.winner_bps / 100}% miners`)),
  h('dl', { class: 'card facts' },
    h('dt', {}, 'Host'), h('dd', {}, addressLink(c.host)),
    h('dt', {}, 'Dataset CID'), h('dd', {}, h('code', { class: 'cid', id: 'dataset-cid' }, c.dataset_cid)),
    h('dt', {}, 'Test split CID'), h('dd', {}, h('code', { class: 'cid', id: 'test-cid' }, c.test_cid)),
    h('dt', {}, 'Test key'), h('dd', {}, c.test_key_revealed ? 'revealed' : 'not revealed yet'),
    h('dt', {}, 'Limits'), h('dd', {}, `${c.max_submissions} submissions per competitor, ` +
      `models up to ${c.max_model_bytes.toLocaleString('en')} bytes`)))

  fill('timeline', h('ol', { class: 'timeline' }, c.timeline.map((s) => h('li', { class: s.state },
    h('div', { class: 'step' }, PHASES[s.phase]),
    h('div', { class: 'deadline' }, s.ends_at ? `until ${when(s.ends_at)}` : ''),
    s.state === 'current' && s.ends_at ? countdown(s.ends_at) : h('div', { class: 'state' }, s.state)))))

  const deadline = c.timeline[0].ends_at
  fill('leaderboard', table(
    ['Rank', 'Submission', 'Competitor', 'Status', 'Validated score', 'Pending score', 'Accuracy', 'Settled'],
    c.leaderboard.map((e) => h('tr', { class: e.winner ? 'winner' : null, dataset: { id: e.id } },
      h('td', { class: 'num' }, e.rank ?? '—'),
      h('td', { class: 'num' }, `#${e.id}`, e.winner ? [' ', badge('winner')] : null),
      h('td', {}, addressLink(e.owner)),
      h('td', {}, badge(e.status)),
      h('td', { class: 'num score' }, e.score ?? '—'),
      h('td', { class: e.pending_score === null ? 'num' : 'num pending' }, e.pending_score === null ? '—'
        : `${e.pending_score} (${e.top_votes} of ${e.votes} votes)`),
      h('td', { class: e.pending_score === null ? 'num' : 'num pending' }, pct(e.accuracy)),
      h('td', {}, when(e.settled_at)))),
    `No submissions yet. Submissions are open until ${when(deadline)}.`))

  fill('miners', table(
    ['Miner', 'Status', 'Agreeing', 'Disagreeing', 'Agreement', 'Stake'],
    c.miners.map((m) => h('tr', { class: m.slashed ? 'slashed' : null },
      h('td', {}, addressLink(m.address)),
      h('td', {}, badge(m.status)),
      h('td', { class: 'num' }, m.agreeing ?? '—'),
      h('td', { class: 'num' }, m.disagreeing ?? '—'),
      h('td', { class: 'num' }, pct(m.agreement)),
      h('td', {}, m.slashed ? h('span', { class: 'bad' }, `slashed: ${m.slash_reason}`)
        : m.status === 'settled' || c.phase === 'finalized' ? 'kept' : 'at stake'))),
    'No miners registered yet.'))

  const p = c.payouts
  if (!p) {
    fill('payouts', h('p', { class: 'empty' }, 'Payouts appear here once the competition is finalized.'))
    return
  }
  fill('payouts',
    h('p', { class: 'outcome' }, badge(p.outcome), ' ',
      p.winner_id ? [`submission #${p.winner_id} wins `, amount(p.winner_amount), '; '] : null,
      'each agreeing vote earns ', amount(p.reward_per_vote), '; host gets ', amount(p.host_amount), '.'),
    table(['Account', 'Roles', 'Owed', 'Claimed', 'Still claimable'],
      p.entries.map((e) => h('tr', {},
        h('td', {}, addressLink(e.address)),
        h('td', {}, e.roles.join(', ')),
        h('td', {}, amount(e.owed)),
        h('td', {}, amount(e.claimed)),
        h('td', {}, amount(e.claimable)))),
      'Nobody is owed anything.'))
}

// -- one address ----------------------------------------------------------------------------

function renderAddress (a) {
  const validated = a.submissions.filter((s) => s.accuracy !== null && s.settled_at !== null)
  const best = validated.reduce((m, s) => Math.max(m, s.accuracy), -1)
  const claimed = a.claims.reduce((sum, c) => sum + BigInt(c.amount), 0n)
  const competitions = new Set(a.submissions.map((s) => s.competition))
  fill('overview', h('div', { class: 'stats' },
    stat('Submissions', a.submissions.length, `in ${competitions.size} competitions`),
    stat('Validated', validated.length),
    stat('Best verified accuracy', best < 0 ? '—' : pct(best)),
    stat('Claimed', amount(claimed.toString()), a.claimable.length
      ? h('span', { class: 'good' }, `${a.claimable.length} claim(s) waiting`) : null)))

  renderChart(validated)

  fill('submissions', table(
    ['Competition', 'Submission', 'Status', 'Score', 'Verified accuracy', 'Committed', 'Settled'],
    a.submissions.map((s) => h('tr', {},
      h('td', {}, competitionLink(s.competition)),
      h('td', { class: 'num' }, `#${s.id}`),
      h('td', {}, badge(s.status)),
      h('td', { class: 'num' }, s.score !== null ? `${s.score} / ${s.test_set_size}`
        : s.pending_score !== null ? `pending ${s.pending_score}` : '—'),
      h('td', { class: 'num' }, pct(s.accuracy)),
      h('td', {}, when(s.committed_at)),
      h('td', {}, when(s.settled_at)))),
    'No submissions yet from this address.'))

  fill('claims',
    a.claimable.length ? h('p', { class: 'good' }, 'Waiting to be claimed: ',
      a.claimable.map((o, i) => [i ? ', ' : '', amount(o.amount), ' in ', competitionLink(o.competition)])) : null,
    table(['Competition', 'Amount', 'Paid to', 'Block', 'Time'],
      a.claims.map((c) => h('tr', {},
        h('td', {}, competitionLink(c.competition)),
        h('td', {}, amount(c.amount)),
        h('td', {}, addressLink(c.to)),
        h('td', { class: 'num' }, c.block),
        h('td', {}, when(c.timestamp)))),
      'No claims yet.'))

  fill('mining', table(['Competition', 'Status', 'Agreeing votes'],
    a.mining.map((m) => h('tr', {},
      h('td', {}, competitionLink(m.competition)),
      h('td', {}, badge(m.status)),
      h('td', { class: 'num' }, m.agreeing))),
    'This address has not mined (scored submissions) in any competition.'))
}

// One series per competition over the settlement times; accuracy in percent.
function renderChart (points) {
  const node = document.getElementById('chart')
  const key = JSON.stringify(points.map((p) => [p.competition, p.id, p.settled_at, p.accuracy]))
  if (key === chartKey) return
  chartKey = key
  node.dataset.points = points.length
  if (chart) { chart.destroy(); chart = null }
  if (!points.length) {
    node.replaceChildren(h('p', { class: 'empty' },
      'No validated submissions yet: the chart shows each one once miners have agreed on its score.'))
    return
  }
  if (!window.uPlot) {
    node.replaceChildren(h('p', { class: 'empty' }, 'The chart library is not installed (run `make setup`).'))
    return
  }
  node.replaceChildren()
  // One x per submission (two settled in one block share it); a grey line joins them in time
  // order, and each competition's points have their own colour.
  const sorted = [...points].sort((a, b) => a.settled_at - b.settled_at || a.accuracy - b.accuracy)
  const comps = [...new Set(sorted.map((p) => p.competition))]
  const xs = sorted.map((p) => p.settled_at)
  const all = sorted.map((p) => 100 * p.accuracy)
  const series = comps.map((c) => sorted.map((p) => p.competition === c ? 100 * p.accuracy : null))
  const percent = (u, v) => v === null ? '—' : v.toFixed(1) + '%'
  chart = new window.uPlot({
    width: Math.max(320, node.clientWidth),
    height: 280,
    scales: {
      // Pad the time axis so that the first and last points do not sit on the frame.
      x: { time: true, range: (u, min, max) => { const pad = Math.max(600, (max - min) / 20); return [min - pad, max + pad] } },
      y: { range: [0, 100] }
    },
    axes: [{}, { label: 'verified accuracy (%)', values: (u, ticks) => ticks.map((t) => t + '%') }],
    series: [
      { label: 'settled' },
      { label: 'all submissions', stroke: '#9ca3af', width: 1.5, points: { show: false }, value: percent },
      ...comps.map((c, i) => ({
        label: `competition ${short(c)}`,
        stroke: COLORS[i % COLORS.length],
        paths: () => null, // points only: the grey line already joins them
        points: { show: true, size: 10, fill: COLORS[i % COLORS.length] },
        value: percent
      }))]
  }, [xs, all, ...series], node)
}

// -- the live loop ----------------------------------------------------------------------------

const RENDER = {
  competitions: async () => renderCompetitions(await api('/api/competitions')),
  competition: async () => renderCompetition(await api(`/api/competitions/${ADDRESS}`)),
  address: async () => renderAddress(await api(`/api/addresses/${ADDRESS}`))
}

function showStatus (head, error) {
  const node = document.getElementById('chain-status')
  node.className = 'chain-status ' + (error ? 'down' : 'live')
  node.textContent = error ? 'chain unreachable' : `chain ${head.chain_id} · block ${head.block}`
  node.title = error ? error.message : `block ${head.hash} at ${when(head.timestamp)}`
}

async function poll () {
  let head
  try {
    head = await api('/api/head')
    showStatus(head)
  } catch (error) {
    showStatus(null, error)
    for (const node of document.querySelectorAll('main .empty')) {
      if (node.textContent === 'Loading…') node.textContent = 'Waiting for the chain to answer…'
    }
    banner(`${error.message} Retrying every ${POLL_MS / 1000} s; the page updates by itself.`)
    return
  }
  if (head.hash === lastHash) {
    banner(null) // the chain is back, and nothing changed while it was away
    return
  }
  clockOffset = head.timestamp - Date.now() / 1000
  const render = RENDER[PAGE]
  try {
    if (render) await render()
    banner(null)
    lastHash = head.hash
    body.dataset.block = head.block
  } catch (error) {
    if (error.code === 'unknown_competition') fill('main', h('section', { class: 'card error' }, error.message))
    banner(error.message)
  }
  tick()
}

async function loop () {
  await poll()
  setTimeout(loop, POLL_MS)
}

setInterval(tick, 1000)
loop()
