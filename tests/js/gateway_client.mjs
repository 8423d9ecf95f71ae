// A reference client of a trustless gateway (the IPFS Trustless Gateway spec), run by the
// Python tests against `deml ipfs serve`: independent implementations check DeML's answers.
//
//   node gateway_client.mjs GATEWAY_URL CID
//
// Reads the DAG under CID twice, checking every block against its CID (sha2-256) as a client
// that trusts no gateway must:
//  - `car`: one `GET /ipfs/CID?format=car`, parsed by @ipld/car (the reference CAR reader);
//    the header must name CID as its only root, and the blocks must hold the whole DAG.
//  - `raw`: one `GET /ipfs/CID?format=raw` per block, following the dag-pb links, as Helia's
//    trustless-gateway block broker (what @helia/verified-fetch uses) does.
// Each read reassembles the UnixFS file. Prints JSON:
//   {"car": {"contentType", "roots", "blocks", "order", "sha256", "size"}, "raw": {...}}
// Exits 1 with the reason on stderr when an answer is malformed or a block does not match.
import { createHash } from 'node:crypto'
import { CarReader } from '@ipld/car'
import * as dagPB from '@ipld/dag-pb'
import { UnixFS } from 'ipfs-unixfs'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'

const [gateway, rootText] = process.argv.slice(2)
const root = CID.parse(rootText)

async function verified (cid, bytes) {
  if (cid.multihash.code !== sha256.code) throw new Error(`${cid}: not a sha2-256 CID`)
  const digest = await sha256.digest(bytes)
  if (!equal(digest.bytes, cid.multihash.bytes)) throw new Error(`${cid}: the block does not match its CID`)
  return bytes
}

function equal (a, b) {
  return a.length === b.length && a.every((byte, i) => byte === b[i])
}

// The file's bytes, depth first from `cid`, each block from `get` (verified there).
async function assemble (cid, get, hash) {
  const bytes = await get(cid)
  if (cid.code === raw.code) {
    hash.update(bytes)
    return bytes.length
  }
  if (cid.code !== dagPB.code) throw new Error(`${cid}: neither raw nor dag-pb`)
  const node = dagPB.decode(bytes)
  const file = UnixFS.unmarshal(node.Data)
  let size = 0
  if (file.data) {
    hash.update(file.data)
    size += file.data.length
  }
  for (const link of node.Links) size += await assemble(link.Hash, get, hash)
  return size
}

async function readCar () {
  const answer = await fetch(`${gateway}/ipfs/${root}?format=car`, {
    headers: { Accept: 'application/vnd.ipld.car' }
  })
  if (answer.status !== 200) throw new Error(`CAR: HTTP ${answer.status}`)
  const reader = await CarReader.fromBytes(new Uint8Array(await answer.arrayBuffer()))
  const order = []
  for await (const block of reader.blocks()) {
    await verified(block.cid, block.bytes)
    order.push(block.cid.toString())
  }
  const get = async (cid) => {
    const block = await reader.get(cid)
    if (!block) throw new Error(`CAR: block ${cid} is missing`)
    return block.bytes
  }
  const hash = createHash('sha256')
  const size = await assemble(root, get, hash)
  return {
    contentType: answer.headers.get('content-type'),
    version: reader.version,
    roots: (await reader.getRoots()).map(String),
    blocks: order.length,
    order,
    sha256: hash.digest('hex'),
    size
  }
}

async function readRaw () {
  let requests = 0
  const get = async (cid) => {
    requests++
    const answer = await fetch(`${gateway}/ipfs/${cid}?format=raw`, {
      headers: { Accept: 'application/vnd.ipld.raw' }
    })
    if (answer.status !== 200) throw new Error(`raw ${cid}: HTTP ${answer.status}`)
    return verified(cid, new Uint8Array(await answer.arrayBuffer()))
  }
  const hash = createHash('sha256')
  const size = await assemble(root, get, hash)
  return { requests, sha256: hash.digest('hex'), size }
}

try {
  console.log(JSON.stringify({ car: await readCar(), raw: await readRaw() }))
} catch (error) {
  console.error(error.message)
  process.exit(1)
}
