#!/usr/bin/env node
// Verify a Stemvault render's manifest (schema 2) with nothing but Node's standard library
// (Node 16+: Ed25519 in crypto.verify), as a second, independent implementation of the format
// that renderer/signing.py and renderer/embedding.py describe. CI runs it on real renders
// (tests/renderer/test_manifest_node.py).
//
//   node tools/verify-manifest.mjs FILE.wav|FILE.flac|FILE.mp3 PUBLIC_KEY.pem
//
// Exit 0 and print a JSON summary when the file verifies, 1 with the reason when it does not,
// 2 on a usage error. Checks, in order:
//  1. layout: the manifest bytes and the detached JWS are the last two RIFF chunks (svmf, svsg)
//     of a WAV whose RIFF size is the file's, or the last two comments (STEMVAULT_MANIFEST,
//     STEMVAULT_MANIFEST_JWS) of a FLAC's only VORBIS_COMMENT block, the last metadata block;
//     one of each, nothing after them but the Content Credentials (C2PA) c2pa-rs adds last:
//     exactly one "C2PA" chunk, a WAV's last, or one ID3v2 tag holding only an
//     application/c2pa GEOB frame before a FLAC's "fLaC" (renderer/embedding.py);
//  2. the JWS: "header..signature" (RFC 7515 appendix F), header exactly
//     {"alg":"EdDSA","kid":<key id>}, kid = first 16 hex of sha256(raw public key), signature
//     64 bytes; Ed25519 over ASCII(header + "." + base64url(manifest bytes)) (RFC 7515 5.1);
//  3. the manifest bytes parse as a JSON object of schema "stemvault.manifest/2";
//  4. WAV only: the 24-bit PCM hashes to audio_sha256 (sha256 of "<rate>:<channels>:" then
//     each sample as a little-endian int32). A FLAC's audio needs a FLAC decoder, which Node
//     lacks: `python -m renderer verify` checks that part.
//
// An MP3 or a stem WAV (a delivery made from the master, renderer/delivery.py) carries no
// manifest of its own but a signed delivery statement inside its Content Credentials; for
// those the checks are:
//  1. layout: the C2PA store is an MP3's one leading ID3v2 tag holding only an
//     application/c2pa GEOB, or a WAV's one "C2PA" chunk, its last;
//  2. the store's active manifest (its last) holds one io.stemvault.delivery assertion (CBOR,
//     decoded here) whose signature block's JWS verifies, as in 2. above, over the exact
//     statement bytes it carries, and whose readable fields are those bytes parsed;
//  3. the statement is schema "stemvault.delivery/1" and the file's bytes without the store
//     (an MP3 after the tag; a WAV without its last chunk, RIFF size put back) hash to its
//     content_sha256.
// The C2PA claim signature and data hash (COSE, X.509) are not checked here: c2patool or
// `python -m renderer verify` (c2pa-rs) do that; this checks the Stemvault key's statement.
import { createHash, createPublicKey, verify } from "node:crypto";
import { readFileSync } from "node:fs";

class Invalid extends Error {}

const fail = (reason) => {
  throw new Invalid(reason);
};

function riffChunks(data) {
  if (data.readUInt32LE(4) !== data.length - 8) fail("the RIFF size is not the file's size");
  const chunks = [];
  let offset = 12;
  while (offset < data.length) {
    if (offset + 8 > data.length) fail("bytes after the last RIFF chunk");
    const size = data.readUInt32LE(offset + 4);
    const next = offset + 8 + size + (size & 1);
    if (next > data.length) fail("a RIFF chunk runs past the end of the file");
    if (size & 1 && data[offset + 8 + size] !== 0) fail("a non-zero RIFF pad byte");
    chunks.push({ id: data.toString("latin1", offset, offset + 4), body: data.subarray(offset + 8, offset + 8 + size) });
    offset = next;
  }
  return chunks;
}

function fromWav(data) {
  let chunks = riffChunks(data);
  if (chunks.some((c) => c.id === "C2PA")) {
    if (chunks.filter((c) => c.id === "C2PA").length !== 1 || chunks.at(-1).id !== "C2PA")
      fail("the file's C2PA chunk must be one chunk, the last");
    chunks = chunks.slice(0, -1);
  }
  const ids = chunks.map((c) => c.id);
  if (ids.includes("svmf") && !ids.includes("svsg"))
    fail("no svsg (JWS) chunk: a schema-1 (legacy) file, which only `python -m renderer verify` checks");
  if (ids.filter((id) => id === "svmf").length !== 1 || ids.filter((id) => id === "svsg").length !== 1)
    fail("the file must have exactly one svmf and one svsg chunk");
  if (ids.at(-2) !== "svmf" || ids.at(-1) !== "svsg")
    fail("the manifest and its signature must be the last two RIFF chunks");
  return { payload: chunks.at(-2).body, jws: chunks.at(-1).body.toString("latin1"), chunks };
}

const syncsafe = (b, at) => {
  if ([0, 1, 2, 3].some((i) => b[at + i] & 0x80)) fail("an ID3v2 size is not syncsafe");
  return (b[at] << 21) | (b[at + 1] << 14) | (b[at + 2] << 7) | b[at + 3];
};

// The Content Credentials' ID3v2 tag before "fLaC" (or an MP3's first frame): its end (0 when
// there is none) and its GEOB frame's body, after checking that it holds exactly one GEOB frame
// of type application/c2pa and zero padding.
function c2paTag(data, stream = "flac") {
  if (data.toString("latin1", 0, 3) !== "ID3") return { end: 0 };
  const end = 10 + syncsafe(data, 6);
  const starts = stream === "mp3" ? data[end] === 0xff && (data[end + 1] & 0xe0) === 0xe0 : data.toString("latin1", end, end + 4) === "fLaC";
  if (!starts) {
    if (stream === "mp3") return { end: 0 };
    fail("not a WAV or FLAC file");
  }
  if (![3, 4].includes(data[3]) || data[5] !== 0) fail("the ID3v2 tag is not a plain v2.3/v2.4 tag");
  const frames = [];
  let at = 10;
  while (at + 10 <= end && data[at] !== 0) {
    const size = data[3] === 4 ? syncsafe(data, at + 4) : data.readUInt32BE(at + 4);
    frames.push({ id: data.toString("latin1", at, at + 4), body: data.subarray(at + 10, at + 10 + size) });
    at += 10 + size;
  }
  if (at > end || data.subarray(at, end).some((b) => b !== 0)) fail("the ID3v2 tag is malformed");
  const mime = "application/c2pa\0";
  if (frames.length !== 1 || frames[0].id !== "GEOB" || frames[0].body.toString("latin1", 1, 1 + mime.length) !== mime)
    fail(`the ID3v2 tag before the ${stream === "mp3" ? "MP3" : "FLAC"} stream may hold only the Content Credentials' GEOB`);
  return { end, geob: frames[0].body };
}

const c2paTagLength = (data) => c2paTag(data).end;

// --- deliveries (MP3, stem WAV): the delivery statement inside the C2PA store -------------

// ISO 19566-5 (JUMBF) boxes: 4-byte big-endian size (1: 8-byte size follows), 4-byte type.
function boxes(buf) {
  const found = [];
  let at = 0;
  while (at < buf.length) {
    if (at + 8 > buf.length) fail("a JUMBF box header runs past its parent");
    let size = buf.readUInt32BE(at);
    let head = 8;
    if (size === 1) {
      size = Number(buf.readBigUInt64BE(at + 8));
      head = 16;
    } else if (size === 0) size = buf.length - at;
    if (size < head || at + size > buf.length) fail("a JUMBF box runs past its parent");
    found.push({ type: buf.toString("latin1", at + 4, at + 8), body: buf.subarray(at + head, at + size) });
    at += size;
  }
  return found;
}

// A JUMBF superbox ("jumb"): its description box's label and its other boxes.
function superbox(box) {
  if (box.type !== "jumb") fail("not a JUMBF superbox");
  const [description, ...children] = boxes(box.body);
  if (description?.type !== "jumd" || description.body.length < 17) fail("a JUMBF superbox has no description");
  const toggles = description.body[16];
  const end = description.body.indexOf(0, 17);
  const label = toggles & 0x02 && end > 0 ? description.body.toString("utf8", 17, end) : "";
  return { label, children };
}

// RFC 8949 CBOR, the definite-length subset c2pa-rs writes.
function cbor(buf) {
  let at = 0;
  const length = (info) => {
    if (info < 24) return info;
    const width = { 24: 1, 25: 2, 26: 4, 27: 8 }[info];
    if (!width) fail("indefinite-length CBOR is not accepted");
    const value = width === 8 ? Number(buf.readBigUInt64BE(at)) : buf.readUIntBE(at, width);
    at += width;
    return value;
  };
  const item = () => {
    const initial = buf[at++];
    const major = initial >> 5;
    const info = initial & 0x1f;
    if (major === 7) {
      const simple = { 20: false, 21: true, 22: null };
      if (info in simple) return simple[info];
      const read = { 25: [2, (o) => buf.readUInt16BE(o)], 26: [4, (o) => buf.readFloatBE(o)], 27: [8, (o) => buf.readDoubleBE(o)] }[info];
      if (!read) fail("an unsupported CBOR simple value");
      at += read[0];
      if (info !== 25) return read[1](at - read[0]);
      const half = read[1](at - 2); // IEEE 754 half precision
      const exp = (half >> 10) & 0x1f;
      const mant = half & 0x3ff;
      const value = exp === 0 ? mant * 2 ** -24 : exp === 31 ? (mant ? NaN : Infinity) : (1024 + mant) * 2 ** (exp - 25);
      return half & 0x8000 ? -value : value;
    }
    const n = length(info);
    if (major === 0) return n;
    if (major === 1) return -1 - n;
    if (major === 2 || major === 3) {
      const raw = buf.subarray(at, at + n);
      at += n;
      return major === 3 ? raw.toString("utf8") : raw;
    }
    if (major === 4) return Array.from({ length: n }, item);
    if (major === 5) {
      const map = {};
      for (let i = 0; i < n; i++) {
        const key = item();
        if (typeof key !== "string" || Object.hasOwn(map, key)) fail("a CBOR map key is not a unique text string");
        map[key] = item();
      }
      return map;
    }
    return item(); // major 6: a tag, whose item is what counts
  };
  const value = item();
  if (at !== buf.length) fail("bytes after the CBOR item");
  return value;
}

// The same value whatever the key order: what "the readable fields are the statement" compares.
const sorted = (v) =>
  Array.isArray(v) ? v.map(sorted) : v && typeof v === "object" ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sorted(v[k])])) : v;

function deliveryStatement(store) {
  const [root] = boxes(store);
  const manifests = superbox(root).children.filter((b) => b.type === "jumb");
  if (!manifests.length) fail("the C2PA store holds no manifest");
  const active = superbox(manifests.at(-1)); // the active manifest is the store's last
  const assertions = active.children.map(superbox).find((b) => b.label === "c2pa.assertions");
  const statements = (assertions?.children ?? []).map(superbox).filter((b) => b.label === "io.stemvault.delivery");
  if (statements.length !== 1) fail("the Content Credentials carry no io.stemvault.delivery assertion (one)");
  const content = statements[0].children.find((b) => b.type === "cbor");
  if (!content) fail("the delivery assertion is not CBOR");
  return cbor(content.body);
}

function fromDelivery(data, wave, keyPem) {
  let store;
  let content;
  if (wave) {
    const chunks = riffChunks(data);
    if (chunks.filter((c) => c.id === "C2PA").length !== 1 || chunks.at(-1).id !== "C2PA")
      fail("the stem WAV's C2PA chunk must be one chunk, the last (none: the credentials were stripped)");
    store = chunks.at(-1).body;
    content = Buffer.from(data.subarray(0, store.byteOffset - data.byteOffset - 8));
    content.writeUInt32LE(content.length - 8, 4);
  } else {
    const { end, geob } = c2paTag(data, "mp3");
    if (!end) fail("the MP3 has no Content Credentials (no ID3v2 tag holding a C2PA store): they were stripped");
    let at = 1 + geob.indexOf(0, 1) + 1; // text encoding, then the MIME type
    const nul = geob[0] === 1 || geob[0] === 2 ? 2 : 1;
    for (let field = 0; field < 2; field++) {
      while (at < geob.length && geob.subarray(at, at + nul).some((b) => b !== 0)) at += nul;
      at += nul; // the file name, then the description
    }
    store = geob.subarray(at);
    content = data.subarray(end);
  }
  const statement = deliveryStatement(store);
  const block = statement?.signature;
  if (typeof block?.payload !== "string" || typeof block?.jws !== "string") fail("the delivery assertion carries no signed statement");
  const payload = Buffer.from(block.payload, "utf8");
  const kid = checkSignature(payload, block.jws, keyPem);
  const signed = JSON.parse(block.payload);
  const { signature, ...fields } = statement;
  if (JSON.stringify(sorted(fields)) !== JSON.stringify(sorted(signed))) fail("the delivery assertion's fields are not the statement it signs");
  if (signed.schema !== "stemvault.delivery/1") fail("the delivery statement is not schema stemvault.delivery/1");
  if (signed.format !== (wave ? "wav" : "mp3")) fail(`the statement is for a ${signed.format} file`);
  if (createHash("sha256").update(content).digest("hex") !== signed.content_sha256)
    fail("the audio does not match the signed statement: it was altered");
  return { kid, signed };
}

function fromFlac(whole) {
  const data = whole.subarray(c2paTagLength(whole));
  const blocks = [];
  let offset = 4;
  for (;;) {
    if (offset + 4 > data.length) fail("truncated FLAC metadata");
    const header = data[offset];
    const length = data.readUIntBE(offset + 1, 3);
    if (offset + 4 + length > data.length) fail("a FLAC metadata block runs past the end");
    blocks.push({ type: header & 0x7f, body: data.subarray(offset + 4, offset + 4 + length) });
    offset += 4 + length;
    if (header & 0x80) break;
  }
  const holders = blocks.filter((b) => b.type === 4);
  if (holders.length !== 1) fail("the file must have exactly one VORBIS_COMMENT block");
  if (blocks.at(-1) !== holders[0]) fail("a FLAC metadata block follows the manifest");
  const body = holders[0].body;
  let at = 4 + body.readUInt32LE(0);
  const count = body.readUInt32LE(at);
  at += 4;
  const comments = [];
  for (let i = 0; i < count; i++) {
    const length = body.readUInt32LE(at);
    if (at + 4 + length > body.length) fail("a Vorbis comment runs past its block");
    comments.push(body.subarray(at + 4, at + 4 + length));
    at += 4 + length;
  }
  if (at !== body.length) fail("bytes after the last Vorbis comment");
  const key = (c) => c.toString("latin1", 0, Math.max(c.indexOf(0x3d), 0)).toUpperCase();
  const ours = comments.filter((c) => ["STEMVAULT_MANIFEST", "STEMVAULT_MANIFEST_JWS"].includes(key(c)));
  const [manifest, jws] = comments.slice(-2);
  if (ours.length !== 2 || !manifest || !jws) fail("the file must have one manifest and one JWS comment");
  const manifestKey = "STEMVAULT_MANIFEST=";
  const jwsKey = "STEMVAULT_MANIFEST_JWS=";
  if (manifest.toString("latin1", 0, manifestKey.length) !== manifestKey || jws.toString("latin1", 0, jwsKey.length) !== jwsKey)
    fail("the manifest and its JWS must be the last two Vorbis comments, in that order");
  return { payload: manifest.subarray(manifestKey.length), jws: jws.subarray(jwsKey.length).toString("latin1") };
}

// Only the one encoding Buffer produces is accepted, so the text cannot vary for the same bytes.
function b64urlStrict(text, what) {
  const bytes = Buffer.from(text, "base64url");
  if (bytes.toString("base64url") !== text) fail(`the JWS ${what} is not canonical base64url`);
  return bytes;
}

function checkSignature(payload, jws, keyPem) {
  const key = createPublicKey(keyPem);
  if (key.asymmetricKeyType !== "ed25519") fail("the public key is not an Ed25519 key");
  const raw = key.export({ format: "der", type: "spki" }).subarray(-32);
  const expected = createHash("sha256").update(raw).digest("hex").slice(0, 16);
  const parts = jws.split(".");
  if (parts.length !== 3 || parts[1] !== "") fail("the JWS is not header..signature");
  const header = b64urlStrict(parts[0], "header").toString("utf8");
  const kid = JSON.parse(header).kid;
  if (header !== JSON.stringify({ alg: "EdDSA", kid })) fail(`the JWS header is not {"alg":"EdDSA","kid":...}: ${header}`);
  if (kid !== expected) fail(`the manifest is signed by key ${kid}, not by key ${expected}`);
  const signature = b64urlStrict(parts[2], "signature");
  if (signature.length !== 64) fail("the JWS signature is not 64 bytes");
  const signingInput = Buffer.from(`${parts[0]}.${payload.toString("base64url")}`, "ascii");
  if (!verify(null, signingInput, key, signature)) fail("the manifest signature does not verify");
  return kid;
}

function wavPcmSha256(chunks) {
  const fmt = chunks.find((c) => c.id === "fmt ")?.body;
  const data = chunks.find((c) => c.id === "data")?.body;
  if (!fmt || !data) fail("the WAV has no fmt or data chunk");
  const channels = fmt.readUInt16LE(2);
  const rate = fmt.readUInt32LE(4);
  if (fmt.readUInt16LE(14) !== 24) fail("the WAV is not 24-bit PCM");
  const ints = Buffer.alloc((data.length / 3) * 4);
  for (let i = 0, o = 0; i + 2 < data.length; i += 3, o += 4) ints.writeInt32LE(data.readIntLE(i, 3), o);
  return createHash("sha256").update(`${rate}:${channels}:`).update(ints).digest("hex");
}

function main([file, keyFile]) {
  if (!file || !keyFile) {
    console.error("usage: node tools/verify-manifest.mjs FILE.wav|FILE.flac|FILE.mp3 PUBLIC_KEY.pem");
    return 2;
  }
  const data = readFileSync(file);
  const magic = data.toString("latin1", 0, 4);
  const wave = magic === "RIFF" && data.toString("latin1", 8, 12) === "WAVE";
  const mp3 = (data[0] === 0xff && (data[1] & 0xe0) === 0xe0) || (magic.slice(0, 3) === "ID3" && c2paTag(data, "mp3").end > 0);
  if (mp3 || (wave && !riffChunks(data).some((c) => c.id === "svmf"))) {
    // A delivery made from the master: an MP3 or a stem WAV.
    const { kid, signed } = fromDelivery(data, wave, readFileSync(keyFile));
    const { kind, render_id, role_group, content_sha256, master } = signed;
    console.log(JSON.stringify({ ok: true, key_id: kid, kind, render_id, role_group, content_sha256, master, audio: "matches" }));
    return 0;
  }
  if (!wave && magic !== "fLaC" && magic.slice(0, 3) !== "ID3") fail("not a WAV, FLAC or MP3 file");
  const found = wave ? fromWav(data) : fromFlac(data);
  const kid = checkSignature(found.payload, found.jws, readFileSync(keyFile));
  const manifest = JSON.parse(found.payload.toString("utf8"));
  if (manifest === null || typeof manifest !== "object" || manifest.schema !== "stemvault.manifest/2")
    fail("the manifest is not a stemvault.manifest/2 object");
  let audio = "not checked (FLAC decoding needs a decoder)";
  if (wave) {
    if (wavPcmSha256(found.chunks) !== manifest.audio_sha256) fail("the audio does not match the manifest");
    audio = "matches";
  }
  console.log(JSON.stringify({ ok: true, key_id: kid, render_id: manifest.render_id, audio_sha256: manifest.audio_sha256, audio }));
  return 0;
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (error) {
  if (![Invalid, SyntaxError, RangeError, TypeError].some((kind) => error instanceof kind)) throw error;
  console.error(`FAILED: ${error.message}`);
  process.exitCode = 1;
}
