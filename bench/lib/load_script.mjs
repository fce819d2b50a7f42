// A classic script (not a module) loaded into a page, for the players that
// ship as one (mpegts.js sets window.mpegts). Shared by the bench pages
// bench/g2g/ and bench/sync/; every server of those pages (bench/g2g.mjs,
// bench/lib/syncbench.mjs, t/68's nginx) serves bench/lib/ at /lib/.

/** Appends <script src=src> to the head: resolves once it ran, rejects if it cannot be loaded. */
export function loadScript(src) {
  return new Promise((resolve, reject) => {
    const s = document.createElement('script');
    s.src = src;
    s.onload = resolve;
    s.onerror = () => reject(new Error(`cannot load ${src}`));
    document.head.appendChild(s);
  });
}
