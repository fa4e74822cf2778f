// Client message ids: the server processes an id once, so a re-sent message keeps its id.

let counter = 0;

/** A random version-4 UUID (wx has no crypto.randomUUID; Math.random is enough for uniqueness here). */
function newClientId(random = Math.random) {
  counter = (counter + 1) % 0x10000;
  const bytes = [];
  for (let i = 0; i < 16; i += 1) bytes.push(Math.floor(random() * 256));
  bytes[4] = (bytes[4] ^ (counter >> 8)) & 0xff; // two ids from one tick still differ
  bytes[5] = (bytes[5] ^ counter) & 0xff;
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = bytes.map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

module.exports = { newClientId };
