// The reference UnixFS importer (ipfs-unixfs-importer, what Helia uses), run by the Python
// tests as an independent implementation to check DeML's CIDs against.
//
// Reads a JSON list of jobs on stdin: [{"path": FILE, "chunkSize": N, "maxChildren": N}].
// Prints a JSON list, one entry per job: {"root": CID, "size": BYTES, "blocks": [CID...]}.
import { readFile } from 'node:fs/promises'
import { MemoryBlockstore } from 'blockstore-core/memory'
import { importer } from 'ipfs-unixfs-importer'
import { fixedSize } from 'ipfs-unixfs-importer/chunker'
import { balanced } from 'ipfs-unixfs-importer/layout'

async function importFile (job) {
  const blockstore = new MemoryBlockstore()
  // The store keys blocks by multihash and lists them back as raw CIDs: record the real
  // CIDs (codec included) as the importer writes them.
  const written = new Set()
  const put = blockstore.put.bind(blockstore)
  blockstore.put = (cid, bytes, options) => {
    written.add(cid.toString())
    return put(cid, bytes, options)
  }
  const content = await readFile(job.path)
  const options = {
    cidVersion: 1,
    rawLeaves: true,
    reduceSingleLeafToSelf: true,
    chunker: fixedSize({ chunkSize: job.chunkSize }),
    layout: balanced({ maxChildrenPerNode: job.maxChildren })
  }
  let root
  for await (const entry of importer([{ content }], blockstore, options)) {
    root = entry
  }
  const blocks = [...written].sort()
  return { root: root.cid.toString(), size: Number(root.size), blocks }
}

const chunks = []
for await (const chunk of process.stdin) chunks.push(chunk)
const jobs = JSON.parse(Buffer.concat(chunks).toString('utf8'))
const results = []
for (const job of jobs) results.push(await importFile(job))
process.stdout.write(JSON.stringify(results))
