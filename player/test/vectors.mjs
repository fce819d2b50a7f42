// Test helper (not a test): codec configuration bytes taken from real encoder output.
// AVC_RECORD: avcC of fixtures/small.flv (libx264 High, 320x180 coded as 320x192, SPS with
// emulation prevention bytes). SPS_INTERLACED: libx264 interlaced 320x180 (ffprobe: 320x180, tt).
// SPS_444: libx264 yuv444p 322x182. HVCC_RECORD: hvcC of a libx265 320x180 Main file (VPS, SPS,
// PPS; x265's SEI array removed), mp4box.js reports it as hvc1.1.6.L60.90.

/** Bytes from a hex string (spaces allowed). */
export function fromHex(hex) {
  const h = hex.replace(/\s+/g, '');
  const out = new Uint8Array(h.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(h.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export const AVC_RECORD = fromHex(
  '0164000dffe1001a6764000dacd941419f9f011000000300100000030' +
  '3c0f142996001000468efbcb0fdf8f800');

export const SPS_INTERLACED = fromHex('67640015acd941433f260220000003002000000643e28532c0');
export const SPS_444 = fromHex('67f4000d919b282a33c7c5e022000003000200000300641e28532c');
const PPS = fromHex('68ebe3c44844');

export const HVCC_RECORD = fromHex(
  '0101600000009000000000003cf000fcfdf8f800000f03' +
  'a00001001840010c01ffff01600000030090000003000003003c959809' +
  'a10001002b42010101600000030090000003000003003ca00a080b9f796566924caf016808000003000800000300c840' +
  'a200010007' + '4401c172b46240');

/** An AVCDecoderConfigurationRecord holding one SPS and one PPS. */
export function avcRecordWith(sps) {
  return new Uint8Array([1, sps[1], sps[2], sps[3], 0xff, 0xe1, sps.length >> 8, sps.length & 0xff, ...sps,
    1, 0, PPS.length, ...PPS]);
}
