// Draws the app icons as PNG at build time (no binary blobs in git, no image tool needed): a
// white till receipt on the brand blue. "any" icons have rounded corners; the maskable icon is
// full-bleed with the receipt inside the central safe zone (a circle of 40 % radius), because
// launchers crop maskable icons to their own shape.
//
// Usage: node web/tools/make_icons.mjs OUTDIR
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

const BLUE = [11, 61, 145];
const WHITE = [255, 255, 255];
const INK = [11, 61, 145];
const GOLD = [255, 191, 71];

// Shapes in unit coordinates (0..1, y down).
function roundedRect(x, y, x0, y0, x1, y1, r) {
  if (x < x0 || x > x1 || y < y0 || y > y1) return false;
  const cx = Math.min(Math.max(x, x0 + r), x1 - r);
  const cy = Math.min(Math.max(y, y0 + r), y1 - r);
  return (x - cx) ** 2 + (y - cy) ** 2 <= r * r;
}

// The receipt: a paper strip with a zigzag tear at the bottom, three printed lines and a total.
function receipt(x, y, s) {
  // Map into the receipt's own box, centred, `s` = its height as a fraction of the icon.
  const w = s * 0.66;
  const x0 = 0.5 - w / 2;
  const y0 = 0.5 - s / 2;
  const u = (x - x0) / w;
  const v = (y - y0) / s;
  if (u < 0 || u > 1 || v < 0 || v > 1) return null;
  const teeth = 5;
  const tooth = ((u * teeth) % 1);
  const edge = 0.9 + 0.1 * (1 - Math.abs(tooth * 2 - 1));
  if (v > edge) return null;
  const line = (v0, u1) => v > v0 && v < v0 + 0.065 && u > 0.16 && u < u1;
  if (line(0.16, 0.84) || line(0.3, 0.7) || line(0.44, 0.78)) return INK;
  if (v > 0.6 && v < 0.76 && u > 0.16 && u < 0.84) return GOLD;
  return WHITE;
}

function pixel(x, y, maskable) {
  const inIcon = maskable || roundedRect(x, y, 0, 0, 1, 1, 0.18);
  if (!inIcon) return null;
  return receipt(x, y, maskable ? 0.56 : 0.72) ?? BLUE;
}

function render(size, maskable) {
  const sub = 4;  // 4x4 supersampling for smooth edges
  const rows = [];
  for (let py = 0; py < size; py++) {
    const row = Buffer.alloc(1 + size * 4);  // filter byte 0, then RGBA
    for (let px = 0; px < size; px++) {
      let r = 0; let g = 0; let b = 0; let a = 0;
      for (let sy = 0; sy < sub; sy++) {
        for (let sx = 0; sx < sub; sx++) {
          const c = pixel((px + (sx + 0.5) / sub) / size, (py + (sy + 0.5) / sub) / size, maskable);
          if (c) { r += c[0]; g += c[1]; b += c[2]; a += 1; }
        }
      }
      const o = 1 + px * 4;
      if (a) { row[o] = Math.round(r / a); row[o + 1] = Math.round(g / a); row[o + 2] = Math.round(b / a); }
      row[o + 3] = Math.round((a * 255) / (sub * sub));
    }
    rows.push(row);
  }
  return png(size, size, Buffer.concat(rows));
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const byte of buf) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}
function png(width, height, raw) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;   // bit depth
  ihdr[9] = 6;   // RGBA
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(raw, { level: 9 })), chunk('IEND', Buffer.alloc(0))]);
}

const out = process.argv[2];
if (!out) { console.error('usage: make_icons.mjs OUTDIR'); process.exit(2); }
fs.mkdirSync(out, { recursive: true });
for (const [name, size, maskable] of [['icon-192.png', 192, false], ['icon-512.png', 512, false],
  ['maskable-512.png', 512, true], ['maskable-192.png', 192, true]]) {
  fs.writeFileSync(path.join(out, name), render(size, maskable));
}
