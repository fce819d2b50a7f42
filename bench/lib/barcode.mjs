// The fixture's barcode, read in a page (bench/fixtures.sh: a strip at the
// top, 1/12 of the height, 16 blocks; blocks 0..11 the frame index's bits,
// most significant first, 12..15 white, black, white, black). The same read
// as bench/g2g/g2g.js's, for the pages that came after it (bench/sync/).
export const FIXTURE_FRAMES = 900;

const BW = 8;                                    // canvas pixels per block

/** A reader with its own small canvas: read(video) -> fixture frame index of the picture shown, or -1. */
export function barcodeReader() {
  const canvas = document.createElement('canvas');
  canvas.width = 16 * BW;
  canvas.height = 8;
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  return (video) => {
    const vw = video.videoWidth, vh = video.videoHeight;
    if (!vw || !vh) return -1;
    ctx.drawImage(video, 0, 0, vw, vh / 12, 0, 0, canvas.width, canvas.height);
    const px = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    let bits = 0;
    for (let k = 0; k < 16; k++) {
      let y = 0;
      const cx = k * BW + BW / 2;
      for (let dy = 3; dy <= 5; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const o = (dy * canvas.width + cx + dx) * 4;
          y += 0.299 * px[o] + 0.587 * px[o + 1] + 0.114 * px[o + 2];
        }
      }
      bits = (bits << 1) | (y / 9 > 128 ? 1 : 0);
    }
    if ((bits & 0xf) !== 0b1010) return -1;
    const index = bits >>> 4;
    return index < FIXTURE_FRAMES ? index : -1;
  };
}
