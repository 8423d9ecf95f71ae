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
  key: 'Key',
  vote_commit: 'Vote commit',
  vote_reveal: 'Vote reveal',
  tally: 'Tally',
  revote: 'Re-vote',
  settle: 'Settle',
  finalized: 'Finalized'
}
// What happens in each phase (the timeline's tooltips), and why one is skipped.
const STEPS = {
  submit: 'competitors commit models and pay the entry fee',
  reveal: 'competitors reveal their models; anyone draws the jury from the miner pool',
  key: 'the host reveals the test key',
  vote_commit: 'each juror commits the hash of one vote: a score vector\'s root, or HOST_FAULT',
  vote_reveal: 'jurors reveal their votes; a strict majority of all seats decides',
  tally: 'no root won: jurors\' vectors are published and tallied per submission',
  revote: 'nothing was validated: a fresh jury of twice the seats plus one is drawn',
  settle: 'scores are published; anyone can finalize',
  finalized: 'the pool is split: everyone claims what they are owed'
}
const SKIPPED = {
  key: 'no model was revealed',
  vote_commit: 'nothing to vote on (no model revealed, or no key)',
  vote_reveal: 'nothing to vote on (no model revealed, or no key)',
  tally: 'a vote had a majority, or there was nothing to vote on',
  revote: 'the first vote decided'
}
// Why the leaderboard has no scores, by outcome.
const UNSCORED = {
  pending: 'No scores yet: they appear once a vote decides, as the winning root\'s scores are ' +
    'published or the tallies settle.',
  winner: 'No scores published: the winner is known from the winning root.',
  host_fault: 'Nothing was scored: a majority of the jury found the host at fault.',
  key_withheld: 'Nothing was scored: the host never revealed the test key.',
  void: 'Nothing was scored.',
  no_entries: 'Nothing was scored: no model was revealed.'
}
const REVOTED = ['vote_commit', 'vote_reveal', 'tally']
const SCORED_BY = {
  root: 'the winning root\'s published scores',
  tally: 'a per-submission tally of the jurors\' vectors'
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
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue
    node.append(child instanceof Node ? child : String(child))
  }
  return node
}

function fill (id, ...children) {
  const node = document.getElementById(id)
  if (node) node.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined))
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
  return h('span', { class: `badge ${kind || text}` }, text.replaceAll('_', ' '))
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
    ['Competition', 'Phase', 'Ends', 'Prize', 'Held', 'Submissions', 'Jury', 'Dataset'],
    rows.map((c) => h('tr', { dataset: { address: c.address } },
      h('td', {}, competitionLink(c.address)),
      h('td', {}, badge(c.phase), c.outcome !== 'pending' ? [' ', badge(c.outcome)] : null),
      h('td', {}, c.next_deadline && c.next_deadline > now ? countdown(c.next_deadline) : '—'),
      h('td', {}, amount(c.prize)),
      h('td', {}, amount(c.pool)),
      h('td', { class: 'num' }, `${c.revealed} / ${c.submissions}`),
      h('td', { class: 'num' }, `${roundSeats(c, c.round)} seats`, c.round === 2 ? ' (re-vote)' : null),
      h('td', {}, h('code', { class: 'cid', title: c.dataset_cid }, c.dataset_cid)))),
    'No competitions yet. A host creates one through the CompetitionFactory; it appears here ' +
    'with the next block.'))
}

// -- one competition ------------------------------------------------------------------------

// Seats of vote `r`: the first vote's, or the re-vote's (twice as many, plus one).
function roundSeats (c, r) {
  return r === 2 ? 2 * c.seats + 1 : c.seats
}

// Each round's distinct votes get a letter (A: the most seats), so the jury table can say who
// voted what without repeating 66-character hashes.
function voteLabels (c) {
  const labels = {}
  for (const r of c.rounds) {
    c.votes.filter((v) => v.round === r.round).forEach((v, i) => {
      labels[`${r.round}:${v.vote}`] = { letter: String.fromCharCode(65 + i), color: COLORS[i % COLORS.length] }
    })
  }
  return labels
}

function voteChip (labels, round, vote) {
  const label = labels[`${round}:${vote}`]
  if (!label) return h('code', { title: vote }, short(vote))
  return h('span', { class: 'vote', title: vote },
    h('span', { class: 'vote-chip', style: `background:${label.color}` }, label.letter), ' ',
    h('code', {}, short(vote)))
}

function renderCompetition (c) {
  const current = c.timeline.find((s) => s.state === 'current')
  const shareJury = 100 - c.winner_bps / 100
  fill('overview', h('div', { class: 'stats' },
    stat('Phase', badge(c.phase), current && current.ends_at ? countdown(current.ends_at)
      : c.round === 2 ? 'the re-vote' : null),
    stat('Outcome', badge(c.outcome), c.outcome === 'pending' ? 'decided when finalized' : null),
    stat('Prize', amount(c.prize), `held: ${eth(c.pool)}`),
    stat('Entry fee', amount(c.entry_fee), `host bond ${eth(c.host_bond)}`),
    stat('Submissions', `${c.revealed} / ${c.submissions}`, 'revealed / committed'),
    stat('Test set', `${c.test_set_size} samples`),
    stat('Jury', `${roundSeats(c, c.round)} seats`, c.round === 2
      ? `re-vote (first vote: ${c.seats} seats)` : `majority: ${Math.floor(c.seats / 2) + 1} seats`),
    stat('Shares', `${c.winner_bps / 100}% winner`, `${shareJury}% jury`)),
  h('dl', { class: 'card facts' },
    h('dt', {}, 'Host'), h('dd', {}, addressLink(c.host)),
    h('dt', {}, 'Dataset CID'), h('dd', {}, h('code', { class: 'cid', id: 'dataset-cid' }, c.dataset_cid)),
    h('dt', {}, 'Test split CID'), h('dd', {}, h('code', { class: 'cid', id: 'test-cid' }, c.test_cid)),
    h('dt', {}, 'Test key'), h('dd', {}, c.key_revealed ? 'revealed' : 'not revealed yet'),
    h('dt', {}, 'Bounties'), h('dd', {}, `drawing the jury ${eth(c.draw_bounty)} (per draw), ` +
      `publishing the scores ${eth(c.publish_bounty)}`),
    h('dt', {}, 'Limits'), h('dd', {}, `${c.max_submissions} submissions per competitor, ` +
      `models up to ${c.max_model_bytes.toLocaleString('en')} bytes`),
    h('dt', {}, 'Models revealed in'), h('dd', { id: 'reveal-mode' }, c.reveal_mode === 'blob'
      ? 'EIP-4844 blobs (their versioned hashes on each submission; a copy in content storage)'
      : 'calldata (each model in its reveal event)')))

  renderTimeline(c)
  renderLeaderboard(c)
  const labels = voteLabels(c)
  renderVotes(c, labels)
  renderJury(c, labels)
  renderPool(c)
  renderPayouts(c)
}

function renderTimeline (c) {
  fill('timeline', h('ol', { class: 'timeline' }, c.timeline.map((s) => h('li', {
    class: s.state,
    dataset: { phase: s.phase },
    title: s.state === 'skipped' ? `${PHASES[s.phase]}: ${SKIPPED[s.phase]}` : STEPS[s.phase]
  },
  h('div', { class: 'step' }, PHASES[s.phase],
    c.round === 2 && REVOTED.includes(s.phase) ? h('span', { class: 'again' }, ' (re-vote)') : null),
  h('div', { class: 'deadline' }, s.ends_at ? `until ${when(s.ends_at)}` : ''),
  s.state === 'current' && s.ends_at ? countdown(s.ends_at) : h('div', { class: 'state' }, s.state)))))
}

function renderLeaderboard (c) {
  const deadline = c.timeline[0].ends_at
  const scored = c.leaderboard.some((e) => e.score !== null)
  fill('leaderboard', table(
    ['Rank', 'Submission', 'Competitor', 'Status', 'Score', 'Accuracy', 'Scored by', 'Scored at'],
    c.leaderboard.map((e) => h('tr', { class: e.winner ? 'winner' : null, dataset: { id: e.id } },
      h('td', { class: 'num' }, e.rank ?? '—'),
      h('td', { class: 'num' }, `#${e.id}`, e.winner ? [' ', badge('winner')] : null),
      h('td', {}, addressLink(e.owner)),
      h('td', {}, badge(e.status), e.revealed_in === 'blob' ? [' ', blobBadge(e)] : null),
      h('td', { class: 'num score' }, e.score === null ? '—' : `${e.score} / ${c.test_set_size}`),
      h('td', { class: 'num' }, pct(e.accuracy)),
      h('td', {}, e.scored_by ? h('span', { title: SCORED_BY[e.scored_by] }, badge(e.scored_by)) : '—'),
      h('td', {}, when(e.scored_at)))),
    `No submissions yet. Submissions are open until ${when(deadline)}.`),
  c.leaderboard.length && !scored ? h('p', { class: 'empty note' }, UNSCORED[c.outcome]) : null)
}

// A model revealed in blobs: the badge names its blobs' versioned hashes (how a beacon node
// finds them), one per line in the tooltip.
function blobBadge (e) {
  return h('span', { class: 'badge blob', title: e.versioned_hashes.join('\n') },
    e.versioned_hashes.length === 1 ? 'in 1 blob' : `in ${e.versioned_hashes.length} blobs`)
}

function renderVotes (c, labels) {
  const drawn = c.rounds.filter((r) => r.drawn)
  if (!drawn.length) {
    const opens = c.timeline[0].ends_at
    fill('votes', h('p', { class: 'empty' }, `No jury drawn yet: anyone can draw it from the pool ` +
      `once submissions close (${when(opens)}), and earns the draw bounty.`))
    return
  }
  const waiting = c.rounds.filter((r) => !r.drawn).map((r) => h('div', { class: 'round', dataset: { round: r.round } },
    h('h3', {}, 'Round 2: the re-vote'),
    h('p', { class: 'empty' }, `The first vote validated nothing: a fresh jury of ${roundSeats(c, r.round)} ` +
      'seats votes again once anyone draws it from the pool (and earns the draw bounty).')))
  fill('votes', drawn.map((r) => {
    const votes = c.votes.filter((v) => v.round === r.round)
    const need = Math.floor(r.seats / 2) + 1
    return h('div', { class: 'round', dataset: { round: r.round } },
      h('h3', {}, r.round === 2 ? 'Round 2: the re-vote' : 'Round 1', ' ',
        r.majority ? badge('decided', 'majority') : null),
      h('p', { class: 'facts-line' },
        `${r.revealed_seats} of ${r.seats} seats revealed; a vote decides with ${need} seats ` +
        '(a strict majority of all seats: absent and unbacked seats count against every vote). ' +
        `Commits until ${when(r.commit_deadline)}, reveals until ${when(r.reveal_deadline)}.`),
      table(['Vote', 'What it says', 'Seats', 'Standing'],
        votes.map((v) => h('tr', { class: v.majority ? 'majority' : null, dataset: { vote: v.vote } },
          h('td', {}, voteChip(labels, v.round, v.vote)),
          h('td', {}, v.host_fault
            ? [h('span', { class: 'badge host_fault constant' }, 'HOST_FAULT'), ' the key or the test split is wrong']
            : [`#${v.winner_id} wins with ${v.winner_score}; root `,
                h('code', { title: v.root, class: 'root' }, short(v.root))]),
          h('td', { class: 'num' }, `${v.seats} of ${r.seats}`, ' ',
            h('span', { class: 'bar' }, h('span', { style: `width:${100 * v.seats / r.seats}%` }))),
          h('td', {}, v.majority ? badge('majority') : v.leads ? badge('leads') : badge('minority')))),
        c.phase === 'vote_commit' && r.round === c.round
          ? `Votes are hidden until reveals open (${when(r.commit_deadline)}).`
          : 'No vote revealed.'))
  }), waiting)
}

function stakeCell (c, j, stake) {
  if (j.backed === 0) return h('span', { class: 'muted' }, 'unbacked: no free unit, does not vote')
  if (j.slashed) {
    return h('span', { class: 'bad' }, `burned ${eth((BigInt(stake) * BigInt(j.backed)).toString())}: ` +
      j.slash_reason)
  }
  if (j.state === 'settled') return h('span', { class: 'good' }, 'kept (released)')
  if (['settle', 'finalized'].includes(c.phase) || j.round < c.round) return h('span', { class: 'good' }, 'kept')
  return 'at stake'
}

function renderJury (c, labels) {
  const stake = c.miner_pool.seat_stake
  const drawn = c.rounds.filter((r) => r.drawn)
  if (!drawn.length) {
    fill('jury', h('p', { class: 'empty' }, `No jury drawn yet. Seats are drawn from the miner pool, ` +
      'weighted by bonded units.'))
    return
  }
  fill('jury', drawn.map((r) => {
    const jurors = c.jurors.filter((j) => j.round === r.round)
    const burned = jurors.filter((j) => j.slashed).reduce((n, j) => n + j.backed, 0)
    return h('div', { class: 'round', dataset: { round: r.round } },
      h('h3', {}, r.round === 2 ? 'Round 2: the re-vote' : 'Round 1'),
      h('p', { class: 'facts-line' },
        `${r.seats} seats drawn with replacement: ${r.backed_seats} backed by a bonded unit, ` +
        `${jurors.length} jurors. `,
        burned ? h('span', { class: 'bad', id: r.round === 1 ? 'seats-burned' : null },
          `${burned} seat(s) burned: ${eth((BigInt(stake) * BigInt(burned)).toString())}.`) : null),
      table(['Juror', 'Seats', 'Backed', 'State', 'Vote', 'Stake', 'Reward'],
        jurors.map((j) => h('tr', { class: j.slashed ? 'slashed' : null, dataset: { juror: j.address } },
          h('td', {}, addressLink(j.address)),
          h('td', { class: 'num' }, j.seats),
          h('td', { class: j.backed < j.seats ? 'num warn' : 'num' }, j.backed),
          h('td', {}, badge(j.state)),
          h('td', {}, j.vote ? voteChip(labels, j.round, j.vote)
            : j.state === 'committed' ? h('span', { class: 'muted' }, 'hidden until revealed') : '—'),
          h('td', { class: 'stake' }, stakeCell(c, j, stake)),
          h('td', {}, j.reward !== null ? amount(j.reward)
            : c.phase === 'finalized' ? h('span', { class: 'muted' }, 'when settled') : '—'))),
        'Nobody was drawn.'))
  }))
}

function renderPool (c) {
  const p = c.miner_pool
  fill('pool', h('div', { class: 'stats' },
    stat('Seat stake', amount(p.seat_stake), 'one bonded unit backs one seat'),
    stat('Bonded', `${p.total_units} units`, eth((BigInt(p.seat_stake) * BigInt(p.total_units)).toString())),
    stat('Sealed draws', p.open_seals, p.open_seals ? 'bond changes wait for the draw' : 'bond changes apply at once')),
  h('p', { class: 'facts-line' }, 'Pool contract ', h('code', { id: 'pool-address' }, p.address),
    '. Every competition of this factory draws its jury from it.'))
}

function renderPayouts (c) {
  const p = c.payouts
  if (!p) {
    fill('payouts', h('p', { class: 'empty' }, 'Payouts appear here once the competition is finalized.'))
    return
  }
  const split = [' Each revealed submission gets ', amount(p.prize_per_reveal),
    ' of the prize, and every buy-in is refunded; the jury shares ', amount(p.jury_amount),
    ' (', amount(p.per_seat), ' per seat).']
  const says = {
    winner: () => [`Submission #${p.winner_id} wins `, amount(p.winner_amount),
      '; the jury shares ', amount(p.jury_amount), ' (', amount(p.per_seat), ' per earning seat); ' +
      'the host gets its bond back.'],
    host_fault: () => ['A majority of the seats voted HOST_FAULT: the host\'s bond is burned.', split],
    key_withheld: () => ['The host never revealed the test key: its bond is burned.', split],
    void: () => ['Neither the vote nor the re-vote validated a score: the competition is void; ' +
      'the host gets its bond back.', split],
    no_entries: () => ['No model was revealed: the prize and the bond go back to the host.']
  }
  fill('payouts',
    h('p', { class: 'outcome' }, badge(p.outcome), ' ', (says[p.outcome] || (() => []))()),
    h('p', { class: 'outcome', id: 'burned' }, 'Burned by the competition: ', amount(p.burned),
      BigInt(p.burned) > 0n && BigInt(p.burned) < 1000n ? ' (rounding dust)' : null,
      '. Burned seat stakes are in the jury table.'),
    table(['Account', 'Roles', 'Owed', 'Claimed', 'Still claimable'],
      p.entries.map((e) => h('tr', { dataset: { account: e.address } },
        h('td', {}, addressLink(e.address)),
        h('td', {}, e.roles.join(', ')),
        h('td', {}, amount(e.owed)),
        h('td', {}, amount(e.claimed)),
        h('td', {}, amount(e.claimable)))),
      'Nobody is owed anything.'))
}

// -- one address ----------------------------------------------------------------------------

function renderAddress (a) {
  const scored = a.submissions.filter((s) => s.accuracy !== null && s.scored_at !== null)
  const best = scored.reduce((m, s) => Math.max(m, s.accuracy), -1)
  const claimed = a.claims.reduce((sum, c) => sum + BigInt(c.amount), 0n)
  const competitions = new Set(a.submissions.map((s) => s.competition))
  const burned = a.jury.filter((s) => s.slashed).length
  fill('overview', h('div', { class: 'stats' },
    stat('Submissions', a.submissions.length, `in ${competitions.size} competitions`),
    stat('Scored', scored.length),
    stat('Best accuracy', best < 0 ? '—' : pct(best)),
    stat('Claimed', amount(claimed.toString()), a.claimable.length
      ? h('span', { class: 'good' }, `${a.claimable.length} claim(s) waiting`) : null),
    stat('Jury seats', a.jury.reduce((n, s) => n + s.backed, 0),
      burned ? h('span', { class: 'bad' }, `burned in ${burned} vote(s)`) : `in ${a.jury.length} vote(s)`),
    stat('Pool bond', a.bond ? `${a.bond.units} units` : '—', a.bond ? eth(bondWei(a.bond, a.bond.units)) : 'not bonded')))

  renderChart(scored)

  fill('submissions', table(
    ['Competition', 'Submission', 'Status', 'Score', 'Accuracy', 'Committed', 'Scored'],
    a.submissions.map((s) => h('tr', { dataset: { competition: s.competition, id: s.id } },
      h('td', {}, competitionLink(s.competition)),
      h('td', { class: 'num' }, `#${s.id}`),
      h('td', {}, badge(s.status)),
      h('td', { class: 'num' }, s.score !== null ? `${s.score} / ${s.test_set_size}` : '—'),
      h('td', { class: 'num' }, pct(s.accuracy)),
      h('td', {}, when(s.committed_at)),
      h('td', {}, when(s.scored_at)))),
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

  fill('jury', table(['Competition', 'Round', 'Seats', 'Backed', 'State', 'Stake', 'Reward'],
    a.jury.map((s) => h('tr', { class: s.slashed ? 'slashed' : null, dataset: { competition: s.competition, round: s.round } },
      h('td', {}, competitionLink(s.competition)),
      h('td', { class: 'num' }, s.round === 2 ? '2 (re-vote)' : s.round),
      h('td', { class: 'num' }, s.seats),
      h('td', { class: 'num' }, s.backed),
      h('td', {}, badge(s.state)),
      h('td', {}, s.slashed ? h('span', { class: 'bad' }, `burned: ${s.slash_reason}`)
        : s.state === 'settled' ? h('span', { class: 'good' }, 'kept (released)') : 'locked'),
      h('td', {}, s.reward !== null ? amount(s.reward) : '—'))),
    'This address has not been drawn for a jury.'))

  renderBond(a.bond)
}

function bondWei (bond, units) {
  return (BigInt(bond.seat_stake) * BigInt(units)).toString()
}

function renderBond (b) {
  if (!b) {
    fill('bond', h('p', { class: 'empty' }, 'This address has never bonded in the miner pool.'))
    return
  }
  const free = Math.max(b.units - b.locked - b.pending_slash, 0)
  const row = (label, units, extra) => [h('dt', {}, label),
    h('dd', {}, `${units} units (${eth(bondWei(b, units))})`, extra ? [' ', extra] : null)]
  fill('bond', h('dl', { class: 'facts' },
    row('Bonded', b.units),
    row('Locked in juries', b.locked),
    row('Free to back a seat', free),
    b.pending_units ? row('Waiting for a sealed draw', b.pending_units) : null,
    b.pending_slash ? row('To be burned', b.pending_slash, h('span', { class: 'bad' }, 'after the sealed draw')) : null,
    b.unbonding ? row('Unbonding', b.unbonding, b.unbond_at > chainNow()
      ? countdown(b.unbond_at) : h('span', { class: 'good' }, 'withdrawable')) : null))
}

// One series per competition over the times the scores were published; accuracy in percent.
function renderChart (points) {
  const node = document.getElementById('chart')
  const key = JSON.stringify(points.map((p) => [p.competition, p.id, p.scored_at, p.accuracy]))
  if (key === chartKey) return
  chartKey = key
  node.dataset.points = points.length
  if (chart) { chart.destroy(); chart = null }
  if (!points.length) {
    node.replaceChildren(h('p', { class: 'empty' },
      'No scored submissions yet: the chart shows each one once a jury\'s vote has scored it.'))
    return
  }
  if (!window.uPlot) {
    node.replaceChildren(h('p', { class: 'empty' }, 'The chart library is not installed (run `make setup`).'))
    return
  }
  node.replaceChildren()
  // One x per submission (scores published in one block share it); a grey line joins them in
  // time order, and each competition's points have their own colour.
  const sorted = [...points].sort((a, b) => a.scored_at - b.scored_at || a.accuracy - b.accuracy)
  const comps = [...new Set(sorted.map((p) => p.competition))]
  const xs = sorted.map((p) => p.scored_at)
  const pad = Math.max(600, (xs[xs.length - 1] - xs[0]) / 20)
  const all = sorted.map((p) => 100 * p.accuracy)
  const series = comps.map((c) => sorted.map((p) => p.competition === c ? 100 * p.accuracy : null))
  const percent = (u, v) => v === null ? '—' : v.toFixed(1) + '%'
  chart = new window.uPlot({
    width: Math.max(320, node.clientWidth),
    height: 280,
    scales: {
      // Pad the time axis so that the first and last points do not sit on the frame; from the
      // data, since uPlot widens a range of one instant (points scored in one block) to years.
      x: { time: true, range: () => [xs[0] - pad, xs[xs.length - 1] + pad] },
      y: { range: [0, 100] }
    },
    axes: [{}, { label: 'accuracy (%)', values: (u, ticks) => ticks.map((t) => t + '%') }],
    series: [
      { label: 'scored' },
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
